"""The Pipedrive REST API over `requests`: v2 wherever it exists, paging, retries, calls and token cost counted.

Pipedrive has no official Python SDK (its SDKs are Node and PHP, reference/pipedrive.md §2), so this is a thin
`requests.Session` with a configurable base URL. API v2 covers pipelines, stages and the fields of deals, persons
and organizations ("Pipedrive API v2 overview", https://pipedrive.readme.io/docs/pipedrive-api-v2: "Fields API
(ActivityFields, DealFields, OrganizationFields, PersonFields, ProductFields)", "Pipelines and Stages API"); v1
only for what v2 lacks: the current user (`/users/me`) and lead labels.

Before any other call, the token's company is checked against the target's `company_domain`, so a token for
another client's account never reads (or changes) it. A 429 is waited out as `Retry-After` asks, a few times;
a spent daily budget stops at once; a 5xx is retried with backoff (a create only on 503, so nothing is made twice).
Waits go through an injectable `sleep`. The token travels only in the `x-api-token` header, and every message
passes through `redact`.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import requests

from sos.backends.pipedrive.auth import TOKEN_HOW, Connection
from sos.errors import Diagnostic, SosError

ME = "/api/v1/users/me"                  # the Users API has no v2
PIPELINES = "/api/v2/pipelines"
STAGES = "/api/v2/stages"
FIELDS = {"deal": "/api/v2/dealFields", "person": "/api/v2/personFields",
          "organization": "/api/v2/organizationFields"}
LEAD_LABELS = "/api/v1/leadLabels"       # no v2 endpoint; an unpaged list
# What the weekly reports read beside the deals (history.py)
USERS = "/api/v1/users"
LEADS = "/api/v1/leads"
ACTIVITIES = "/api/v2/activities"
CHANGELOG = "/api/v1/deals/{id}/changelog"
# Each of those reads → the scope Pipedrive's API reference lists for it, and what it reads: a 403 names them.
READ_SCOPES = {f"GET {USERS}": ("users:read", "the company's users"), f"GET {LEADS}": ("leads:read", "leads"),
               f"GET {ACTIVITIES}": ("activities:read", "activities"),
               f"GET {CHANGELOG}": ("recents:read", "the deals' change logs")}
INCLUDE_FIELDS = "ui_visibility,important_fields,required_fields"   # returned only when asked (reference §6.2)

PAGE_SIZE = 500                          # the most either paging allows (reference §3)
REQUEST_TIMEOUT = (10, 60)               # seconds to connect, and to wait for an answer
RATE_LIMIT_RETRIES = 5
RATE_LIMIT_WAIT = 2                      # seconds, when a 429 carries no Retry-After: the burst window's length
LONGEST_RATE_WAIT = 60                   # a longer Retry-After is the daily budget, whatever the body says
SERVER_RETRIES = 3
SERVER_FIRST_WAIT = 1.0                  # seconds before the first retry after a 5xx; doubled each time
HIDDEN = "[redacted]"

# Token cost per call (https://pipedrive.readme.io/docs/core-api-concepts-rate-limiting: v1 single GET 2, list GET
# 20, update 10; the API reference lists GET /api/v2/stages at 5 and GET /api/v2/stages/{id} at 1). UNVERIFIED:
# v1 DELETE 6 and the other v2 costs, taken at half the v1 cost, the page saying v2 is cheaper.
COSTS = {(1, "get"): 2, (1, "list"): 20, (1, "write"): 10, (1, "delete"): 6,
         (2, "get"): 1, (2, "list"): 10, (2, "write"): 5, (2, "delete"): 3}
DOCUMENTED_COSTS = {f"GET {STAGES}": 5}


def token_cost(method: str, endpoint: str) -> int:
    """What one call to `endpoint` (a template: `/api/v2/stages/{id}`) spends of the company's daily budget."""
    operation = f"{method} {endpoint}"
    if operation in DOCUMENTED_COSTS:
        return DOCUMENTED_COSTS[operation]
    version = 2 if endpoint.startswith("/api/v2/") else 1
    if method == "GET":
        return COSTS[(version, "get" if endpoint.endswith("}") or endpoint == ME else "list")]
    return COSTS[(version, "delete" if method == "DELETE" else "write")]


@dataclass(frozen=True, slots=True)
class Company:
    """The company an API token belongs to."""

    id: int
    domain: str
    name: str


class PipedriveClient:
    """One company's API: `get`/`post`/`patch`/`delete`/`paged` on endpoint templates, counted per endpoint.

    `calls` and `token_cost` count, per endpoint (`GET /api/v2/stages/{id}`), the HTTP requests sent and the
    tokens they spent (a request refused with 401 or 429 spends none); one client serves one command.
    """

    def __init__(self, connection: Connection, *, sleep: Callable[[float], None] = time.sleep,
                 progress: Callable[[str], None] | None = None, page_size: int = PAGE_SIZE) -> None:
        self.connection = connection
        self.sleep = sleep
        sink = progress or (lambda line: None)
        self.progress: Callable[[str], None] = lambda line: sink(self.redact(line))
        self.page_size = page_size
        self.calls: Counter[str] = Counter()
        self.token_cost: Counter[str] = Counter()
        self.session = requests.Session()
        self.session.headers["x-api-token"] = connection.token
        self._company: Company | None = None

    def __repr__(self) -> str:
        return f"PipedriveClient({self.connection.api_url!r}, company_domain={self.connection.company_domain!r})"

    def redact(self, text: str) -> str:
        return text.replace(self.connection.token, HIDDEN)

    @property
    def usage(self) -> str:
        """`12 Pipedrive API calls, 87 tokens of the daily budget`, for a command's last line and for bench."""
        return f"{sum(self.calls.values())} Pipedrive API calls, {sum(self.token_cost.values())} tokens of the " \
               "daily budget"

    # -- the company --------------------------------------------------------------------------

    def whoami(self) -> Company:
        """The company the token belongs to, from the token's user (GET /api/v1/users/me)."""
        data = self._send("GET", ME, ME)["data"]
        if not isinstance(data, dict) or not data.get("company_domain"):
            raise self._fail(f"Pipedrive's answer to GET {ME} names no company", "pd-api-error",
                             fix="check api_url: it must be Pipedrive's address, or a proxy that passes calls on")
        return Company(int(data.get("company_id") or 0), str(data["company_domain"]),
                       str(data.get("company_name") or ""))

    def company(self) -> Company:
        """The target's company, once the token is known to belong to it; a token of another is refused."""
        if self._company is None:
            company = self.whoami()
            if company.domain.lower() != self.connection.company_domain:
                raise self._fail(f"the API token in {self.connection.token_env} belongs to the Pipedrive company "
                                 f"'{company.domain}', not to '{self.connection.company_domain}' (company_domain "
                                 "of the target); sos read nothing from it", "pd-wrong-company",
                                 fix=f"set {self.connection.token_env} to a token of a user of "
                                     f"'{self.connection.company_domain}' ({TOKEN_HOW}), or correct "
                                     "company_domain")
            self._company = company
        return self._company

    # -- calls --------------------------------------------------------------------------------

    def get(self, endpoint: str, params: Mapping[str, Any] | None = None, **ids: object) -> Any:
        return self.request("GET", endpoint, ids, params=params)["data"]

    def post(self, endpoint: str, body: Any, **ids: object) -> Any:
        return self.request("POST", endpoint, ids, body=body)["data"]

    def patch(self, endpoint: str, body: Any, **ids: object) -> Any:
        return self.request("PATCH", endpoint, ids, body=body)["data"]

    def delete(self, endpoint: str, body: Any = None, **ids: object) -> Any:
        return self.request("DELETE", endpoint, ids, body=body)["data"]

    def paged(self, endpoint: str, params: Mapping[str, Any] | None = None, **ids: object) -> Iterator[Any]:
        """Every item of a list, `page_size` a call: by cursor (`next_cursor`) on v2 and on the v1 lists that answer
        one (a deal's changelog), else v1's `start`/`limit`."""
        query: dict[str, Any] = {**(params or {}), "limit": self.page_size}
        while True:
            more = self.request("GET", endpoint, ids, params=query)
            yield from more["data"] or ()
            extra = more.get("additional_data") or {}
            if endpoint.startswith("/api/v2/") or "next_cursor" in extra:
                if not extra.get("next_cursor"):
                    return
                query["cursor"] = extra["next_cursor"]
            else:
                # Real v1 lists nest these under `pagination`; the SDK's field-list model has them bare (§3).
                pagination = extra.get("pagination", extra)
                if not pagination.get("more_items_in_collection"):
                    return
                query["start"] = pagination.get("next_start", query.get("start", 0) + self.page_size)

    def request(self, method: str, endpoint: str, ids: Mapping[str, object], *,
                params: Mapping[str, Any] | None = None, body: Any = None) -> dict[str, Any]:
        """The answer's envelope (`success`, `data`, `additional_data`) to `endpoint` with `ids` filled in, once
        the company is checked."""
        self.company()   # checked before anything else is read
        return self._send(method, endpoint.format(**ids), endpoint, params, body)

    # -- the common reads ---------------------------------------------------------------------

    def pipelines(self) -> list[dict[str, Any]]:
        return list(self.paged(PIPELINES))

    def stages(self) -> list[dict[str, Any]]:
        """The stages of every pipeline, read in one list (deleted ones too), by pipeline and then order."""
        return sorted(self.paged(STAGES), key=lambda stage: (stage["pipeline_id"], stage["order_nr"]))

    def fields(self, entity: str) -> list[dict[str, Any]]:
        """The fields of deals, persons or organizations, with their per-stage and visibility settings."""
        return list(self.paged(FIELDS[entity], {"include_fields": INCLUDE_FIELDS}))

    def lead_labels(self) -> list[dict[str, Any]]:
        return list(self.get(LEAD_LABELS))

    # -- one request, retried -----------------------------------------------------------------

    def _send(self, method: str, path: str, endpoint: str, params: Mapping[str, Any] | None = None,
              body: Any = None) -> dict[str, Any]:
        """One call to `path`, counted under `endpoint`, the template it was filled from."""
        operation = f"{method} {endpoint}"
        url = self.connection.api_url + path
        limited = failed = 0
        while True:
            try:
                # Never redirected: requests would carry the x-api-token header to wherever Pipedrive pointed.
                response = self.session.request(method, url, params=params, json=body, timeout=REQUEST_TIMEOUT,
                                                allow_redirects=False)
            except requests.RequestException as exc:
                raise self._fail(f"could not reach Pipedrive at {self.connection.api_url} ({operation}): "
                                 f"{type(exc).__name__}", "pd-unreachable",
                                 fix="check the network, and api_url if the target sets one") from None
            self.calls[operation] += 1
            status = response.status_code
            if status not in (401, 429):
                self.token_cost[operation] += token_cost(method, endpoint)
            if status == 429:
                self._wait_out_rate_limit(response, operation, limited)
                limited += 1
            elif status >= 500:
                self._wait_out_server_error(response, method, operation, failed)
                failed += 1
            else:
                return self._envelope(response, operation)

    def _wait_out_rate_limit(self, response: requests.Response, operation: str, limited: int) -> None:
        detail = _detail(response)
        retry_after = _retry_after(response)
        if "daily" in detail.lower() or (retry_after or 0) > LONGEST_RATE_WAIT:
            raise self._daily_budget_spent(detail, operation, retry_after)
        if limited >= RATE_LIMIT_RETRIES:
            raise self._fail(f"Pipedrive kept limiting requests ({operation} answered HTTP 429: {detail}, "
                             f"{limited + 1} times); sos stopped", "pd-rate-limited",
                             why="other integrations of the company may be using the same short-window limit",
                             fix="run the command again in a minute")
        wait = retry_after or RATE_LIMIT_WAIT
        why = " as its Retry-After asks" if retry_after else ", a burst window (it sent no Retry-After)"
        self.progress(f"Pipedrive is limiting requests (HTTP 429: {detail}); waiting {wait} s{why}, then retrying "
                      f"(retry {limited + 1} of {RATE_LIMIT_RETRIES})…")
        self.sleep(wait)

    def _daily_budget_spent(self, detail: str, operation: str, retry_after: int | None) -> SosError:
        resets = f"it resets in {_duration(retry_after)}" if retry_after else "it resets at the start of the day"
        return self._fail(
            f"Pipedrive's daily API limit for '{self.connection.company_domain}' is used up: {detail} (HTTP 429 on "
            f"{operation}); {resets}", "pd-daily-budget",
            why="sos stopped at once and sent nothing after this call, so nothing more was changed in Pipedrive; "
                "the token budget is the company's, shared by every user, app and integration (and each API token "
                "may also make 10,000 POST and PUT requests a day)",
            # Company settings → Usage: https://intercom.help/pipedrive/en/articles/12313457
            fix="run the command again once the budget resets; Pipedrive's Company settings → Usage shows what "
                "spent it")

    def _wait_out_server_error(self, response: requests.Response, method: str, operation: str,
                               failed: int) -> None:
        status, detail = response.status_code, _detail(response)
        # A create that failed may still have been made; only 503 (not served at all) is safe to send again.
        if method == "POST" and status != 503:
            raise self._fail(f"Pipedrive failed on {operation} (HTTP {status}: {detail}); it may or may not have "
                             "made it, so sos did not send it again", "pd-server-error",
                             fix="run `sos plan` to see what Pipedrive holds now, then apply again")
        if failed >= SERVER_RETRIES:
            waited = sum(SERVER_FIRST_WAIT * 2 ** n for n in range(failed))
            raise self._fail(f"Pipedrive kept failing on {operation} (HTTP {status}: {detail}; {failed + 1} tries "
                             f"over {waited:.0f} s)", "pd-server-error",
                             fix="Pipedrive may be having trouble; run the command again later")
        wait = SERVER_FIRST_WAIT * 2 ** failed
        self.progress(f"Pipedrive answered HTTP {status} ({detail}); retrying in {wait:.0f} s "
                      f"(retry {failed + 1} of {SERVER_RETRIES})…")
        self.sleep(wait)

    def _envelope(self, response: requests.Response, operation: str) -> dict[str, Any]:
        status, detail = response.status_code, _detail(response)
        if status == 401:
            raise self._fail(f"Pipedrive refused the API token in {self.connection.token_env} (HTTP 401: {detail}): "
                             "it is wrong, or was revoked or regenerated", "pd-auth-failed",
                             fix=f"{TOKEN_HOW}, and set {self.connection.token_env} to it")
        if status == 403:
            scope, what = READ_SCOPES.get(operation, ("", ""))
            raise self._fail(f"Pipedrive refused {operation} (HTTP 403: {detail})", "pd-forbidden",
                             fix=f"the token must be allowed to read {what} (Pipedrive's scope {scope}): use the API "
                                 "token of an admin of the company, or of a user whose permission set allows it"
                             if scope else "the token's user must be an admin of the company, or have a permission "
                                           "set that manages pipelines and fields")
        if 300 <= status < 400:
            raise self._fail(f"Pipedrive answered {operation} with a redirect (HTTP {status}) to "
                             f"{response.headers.get('Location', 'nowhere')}; sos does not follow it, so that the "
                             "token goes nowhere else", "pd-api-error",
                             fix="set api_url to the address Pipedrive answers at, if you trust the redirect")
        envelope = _json(response)
        if not 200 <= status < 300 or envelope is None or envelope.get("success") is not True:
            raise self._fail(f"Pipedrive refused {operation} (HTTP {status}: {detail})", "pd-api-error")
        return envelope

    def _fail(self, message: str, code: str, why: str = "", fix: str = "") -> SosError:
        return SosError(Diagnostic(None, self.redact(message), code, why=self.redact(why), fix=self.redact(fix)))


def _json(response: requests.Response) -> dict[str, Any] | None:
    try:
        body = response.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def _detail(response: requests.Response) -> str:
    """The error Pipedrive gave (`error` of the envelope), else the HTTP reason."""
    body = _json(response) or {}
    return str(body.get("error") or response.reason or "no reason given")[:300]


def _retry_after(response: requests.Response) -> int | None:
    value = response.headers.get("Retry-After", "")
    return int(value) if value.isdigit() else None


def _duration(seconds: int) -> str:
    hours, minutes = divmod((seconds + 59) // 60, 60)
    return f"{hours} h {minutes} min" if hours else f"{minutes} min"
