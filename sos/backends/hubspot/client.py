"""HubSpot's CRM API for sos: paced under the portal's limits, retried when HubSpot asks for it, counted, redacted.

The generated APIs of hubspot-api-client serve pipelines, stages, property groups, properties and records; its
`api_request` serves what they do not (the token's portal and scopes). Every call:

- waits its turn under the burst limit (100 requests per rolling 10 s on the lowest tiers) and search's own
  5 per second, on an injectable clock and sleep, so tests never sleep for real;
- is retried after a 429 over the burst limit (after HubSpot's interval) and after a 5xx (bounded exponential
  backoff), each retry said on a progress line; the DAILY limit stops the command at once;
- is counted in `calls`, per endpoint, as HubSpot counts them against the limits (retries included).

Takes and returns HubSpot's JSON (`displayOrder`, `metadata`, …) as plain dicts. Every message that leaves this
module has passed through the connection's redaction, and no library exception is chained onto ours.
"""

from __future__ import annotations

import datetime
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import partial
from typing import Any, TypeVar

import requests
import urllib3
from hubspot import HubSpot
from hubspot.crm.associations.v4 import ApiException as AssociationsApiException
from hubspot.crm.objects import ApiException as ObjectsApiException
from hubspot.crm.owners import ApiException as OwnersApiException
from hubspot.crm.pipelines import ApiException as PipelinesApiException
from hubspot.crm.properties import ApiException as PropertiesApiException
from hubspot.utils.requests.http_request_builder import Request

from sos.backends.hubspot.auth import Connection
from sos.backends.hubspot.limits import (
    BURST_LIMIT,
    BURST_WINDOW,
    SEARCH_LIMIT,
    SEARCH_WINDOW,
    TRANSIENT,
    Refusal,
    Refused,
    RollingWindow,
    refusal_of,
)
from sos.errors import Diagnostic, SosError

T = TypeVar("T")

REQUEST_TIMEOUT = (10.0, 120.0)   # seconds to connect, and to wait for an answer: a stalled call never hangs CI
RATE_LIMIT_RETRIES = 5
SERVER_RETRIES = 4      # waits of 1, 2, 4 and 8 s, then give up
SERVER_FIRST_WAIT = 1.0
SERVER_MAX_WAIT = 60.0  # the most sos waits when HubSpot's Retry-After asks for longer
# The generated APIs' arguments that fill an endpoint's path, by the path's own names.
PATH_ARGUMENTS = {"objectType": "object_type", "pipelineId": "pipeline_id", "stageId": "stage_id",
                  "propertyName": "property_name", "fromObjectType": "from_object_type",
                  "toObjectType": "to_object_type"}
BATCH_SIZE = 100        # properties batch endpoints take at most 100 inputs
LIST_PAGE_SIZE = 100    # record lists (the objects guide)
# "Usage of this parameter [propertiesWithHistory] will reduce the maximum number of objects that can be read by a
# single request" (the objects' OpenAPI spec, as hubspot-api-client's basic_api quotes it); the spec gives no number.
# 50: "API allows max 50 items per call with property history" (dlt-hub/verified-sources, sources/hubspot, from
# calls to the real API); UNVERIFIED in HubSpot's own docs.
HISTORY_PAGE_SIZE = 50
OWNERS_PAGE_SIZE = 500  # UNVERIFIED: the owners spec gives `limit` (default 100) no maximum; 500 is commonly quoted
SEARCH_PAGE_SIZE = 200  # "The maximum number of supported objects per page is 200" (the CRM search guide)
SEARCH_CEILING = 10_000  # "limited to 10,000 total results for any given query" (the CRM search guide)
# The property HubSpot stamps at every change of a record, and at its creation (the objects guides' default
# properties; the tasks guide's hs_createdate UNVERIFIED as searchable).
LAST_MODIFIED = {"deals": "hs_lastmodifieddate", "contacts": "lastmodifieddate"}
CREATED = {"tasks": "hs_createdate"}
# "any batch read requests submitted to the Associations API may not exceed 1000 IDs" (the changelog "Bug Fix: Batch
# Read Limit for HubSpot Associations API", February 2025)
ASSOCIATIONS_BATCH_SIZE = 1000
DAILY_WHY = ("HubSpot counts every app's calls to the portal per day and refuses all of them once the "
             "portal's daily limit is reached; the count resets at midnight in the portal's time zone")
DAILY_FIX = ("run the command again after midnight in the portal's time zone; the call logs of the portal's apps in "
             "HubSpot show which app spent them")


@dataclass(frozen=True)
class Account:
    """Who the token is: the portal (hub) it belongs to and the scopes its app was granted."""

    portal_id: int
    scopes: frozenset[str]


class HubSpotClient:
    """One portal's API, checked to be the target's portal before anything else is read."""

    def __init__(self, connection: Connection, *, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep, progress: Callable[[str], None] | None = None,
                 burst_limit: int = BURST_LIMIT, timeout: tuple[float, float] = REQUEST_TIMEOUT) -> None:
        self.connection = connection
        self.timeout = timeout
        self.clock, self.sleep = clock, sleep
        sink = progress or (lambda line: None)
        self.progress: Callable[[str], None] = lambda line: sink(connection.redact(line))
        self.calls: Counter[str] = Counter()
        self._burst_window = RollingWindow(burst_limit, BURST_WINDOW)
        self._search_window = RollingWindow(SEARCH_LIMIT, SEARCH_WINDOW)
        self._account: Account | None = None
        # retry=False: urllib3 retries nothing by itself, so every request is paced and counted here.
        self.hs = HubSpot(access_token=connection.token, host=connection.api_url, base_url=connection.api_url,
                          retry=False)

    # -- who the token is ----------------------------------------------------------------

    def whoami(self) -> Account:
        """The token's portal and scopes (one call, then remembered); SosError if it is not the target's portal.

        From HubSpot's private-app token introspection (developers.hubspot.com/docs/api/private-apps):
        POST /oauth/v2/private-apps/get/access-token-info {"tokenKey"} → {hubId, scopes, …}."""
        if self._account is None:
            operation = "POST /oauth/v2/private-apps/get/access-token-info"
            info = self._call(operation, lambda: self._api_request(
                "POST", "/oauth/v2/private-apps/get/access-token-info", body={"tokenKey": self.connection.token}),
                operation)
            account = Account(int(info["hubId"]), frozenset(info.get("scopes") or ()))
            wanted = self.connection.portal_id
            if wanted is not None and account.portal_id != wanted:
                raise self._fail(f"the token in {self.connection.token_env} belongs to HubSpot portal "
                                 f"{account.portal_id}, not to portal {wanted} (the target's portal_id); nothing was "
                                 "read or changed", "hs-wrong-portal",
                                 fix=f"export the token of portal {wanted}'s app in "
                                     f"{self.connection.token_env}, or correct portal_id")
            self._account = account
        return self._account

    def require_scopes(self, scopes: Iterable[str], purpose: str) -> None:
        """SosError naming every scope in `scopes` the token lacks, before a call would be refused for it."""
        missing = sorted(set(scopes) - self.whoami().scopes)
        if missing:
            raise _missing_scopes(missing, purpose, self.connection.token_env)

    # -- pipelines and stages ----------------------------------------------------------------
    # The library builds a new API client (and connection) on each `self.hs.crm…` access. Reusing one would keep
    # connections alive, which the emulator's answers (headers and body sent apart) slow to 40 ms a call.

    def pipelines(self, object_type: str) -> list[dict[str, Any]]:
        """Every pipeline of `object_type` with its stages, in one call."""
        api = self.hs.crm.pipelines.pipelines_api
        return self._results("GET /crm/v3/pipelines/{objectType}", api.get_all, object_type=object_type)

    def create_pipeline(self, object_type: str, pipeline: dict[str, Any]) -> dict[str, Any]:
        api = self.hs.crm.pipelines.pipelines_api
        return self._json("POST /crm/v3/pipelines/{objectType}", api.create, object_type=object_type,
                          pipeline_input=pipeline)

    def update_pipeline(self, object_type: str, pipeline_id: str, changes: dict[str, Any]) -> dict[str, Any]:
        api = self.hs.crm.pipelines.pipelines_api
        return self._json("PATCH /crm/v3/pipelines/{objectType}/{pipelineId}", api.update, object_type=object_type,
                          pipeline_id=pipeline_id, pipeline_patch_input=changes)

    def archive_pipeline(self, object_type: str, pipeline_id: str) -> None:
        """Refused while deals are in its stages (v3 archives them anyway unless asked to check)."""
        api = self.hs.crm.pipelines.pipelines_api
        self._send("DELETE /crm/v3/pipelines/{objectType}/{pipelineId}", api.archive, object_type=object_type,
                   pipeline_id=pipeline_id, validate_deal_stage_usages_before_delete=True)

    def create_stage(self, object_type: str, pipeline_id: str, stage: dict[str, Any]) -> dict[str, Any]:
        api = self.hs.crm.pipelines.pipeline_stages_api
        return self._json("POST /crm/v3/pipelines/{objectType}/{pipelineId}/stages", api.create,
                          object_type=object_type, pipeline_id=pipeline_id, pipeline_stage_input=stage)

    def update_stage(self, object_type: str, pipeline_id: str, stage_id: str,
                     changes: dict[str, Any]) -> dict[str, Any]:
        api = self.hs.crm.pipelines.pipeline_stages_api
        return self._json("PATCH /crm/v3/pipelines/{objectType}/{pipelineId}/stages/{stageId}", api.update,
                          object_type=object_type, pipeline_id=pipeline_id, stage_id=stage_id,
                          pipeline_stage_patch_input=changes)

    def archive_stage(self, object_type: str, pipeline_id: str, stage_id: str) -> None:
        """Refused while deals are in it. The generated API has no argument for that check, so api_request sends it."""
        self.whoami()
        path = f"/crm/v3/pipelines/{object_type}/{pipeline_id}/stages/{stage_id}"
        self._call("DELETE /crm/v3/pipelines/{objectType}/{pipelineId}/stages/{stageId}", lambda: self._api_request(
            "DELETE", path, query={"validateDealStageUsagesBeforeDelete": "true"}), f"DELETE {path}")

    # -- property groups and properties ----------------------------------------------------

    def groups(self, object_type: str) -> list[dict[str, Any]]:
        """Every property group of `object_type`, in one call."""
        api = self.hs.crm.properties.groups_api
        return self._results("GET /crm/v3/properties/{objectType}/groups", api.get_all, object_type=object_type)

    def create_group(self, object_type: str, group: dict[str, Any]) -> dict[str, Any]:
        api = self.hs.crm.properties.groups_api
        return self._json("POST /crm/v3/properties/{objectType}/groups", api.create, object_type=object_type,
                          property_group_create=group)

    def properties(self, object_type: str, *, archived: bool = False) -> list[dict[str, Any]]:
        """Every property of `object_type`, HubSpot's own included, in one call (the archived ones instead)."""
        api = self.hs.crm.properties.core_api
        return self._results("GET /crm/v3/properties/{objectType}", api.get_all, object_type=object_type,
                             archived=archived)

    def property(self, object_type: str, name: str) -> dict[str, Any]:
        api = self.hs.crm.properties.core_api
        return self._json("GET /crm/v3/properties/{objectType}/{propertyName}", api.get_by_name,
                          object_type=object_type, property_name=name)

    def create_properties(self, object_type: str, properties: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Create `properties` with the batch endpoint, 100 a call; the created properties."""
        api = self.hs.crm.properties.batch_api
        created: list[dict[str, Any]] = []
        for batch in _batches(properties):
            answer = self._json("POST /crm/v3/properties/{objectType}/batch/create", api.create,
                                object_type=object_type, batch_input_property_create={"inputs": batch})
            created += answer["results"]
            if answer.get("errors"):    # 207: HubSpot made the others
                refused = "; ".join(f"{', '.join((e.get('context') or {}).get('name') or ['?'])}: {e.get('message')}"
                                    for e in answer["errors"])
                raise PartlyMade(Diagnostic(None, self.connection.redact(
                    f"HubSpot refused {len(answer['errors'])} of the {len(batch)} properties of POST "
                    f"/crm/v3/properties/{object_type}/batch/create ({refused})"), "hs-api-error"),
                    [p["name"] for p in created])
        return created

    def update_property(self, object_type: str, name: str, changes: dict[str, Any]) -> dict[str, Any]:
        """Change one property; HubSpot replaces the whole option list when `changes` has `options`."""
        api = self.hs.crm.properties.core_api
        return self._json("PATCH /crm/v3/properties/{objectType}/{propertyName}", api.update,
                          object_type=object_type, property_name=name, property_update=changes)

    def archive_properties(self, object_type: str, names: list[str]) -> None:
        """Archive the properties `names` with the batch endpoint, 100 a call."""
        api = self.hs.crm.properties.batch_api
        for batch in _batches(names):
            self._send("POST /crm/v3/properties/{objectType}/batch/archive", api.archive, object_type=object_type,
                       batch_input_property_name={"inputs": [{"name": name} for name in batch]})

    # -- records ---------------------------------------------------------------------------

    def records(self, object_type: str, properties: list[str], with_history: list[str] | None = None,
                associations: list[str] | None = None) -> Iterator[dict[str, Any]]:
        """Every record of `object_type` with `properties` (and the history of `with_history`, and the ids of the
        records of the `associations` object types it is associated with), page after page (100 a call; 50 with
        history)."""
        after: str | None = None
        extra = {**({"properties_with_history": with_history} if with_history else {}),
                 **({"associations": associations} if associations else {})}
        while True:
            cursor = {"after": after} if after else {}
            page = self._json("GET /crm/v3/objects/{objectType}", self.hs.crm.objects.basic_api.get_page,
                              object_type=object_type, limit=HISTORY_PAGE_SIZE if with_history else LIST_PAGE_SIZE,
                              properties=properties, **extra, **cursor)
            yield from page["results"]
            after = _next_page(page)
            if after is None:
                return

    def owners(self, *, archived: bool = False) -> list[dict[str, Any]]:
        """Every owner of the portal, or every archived one (a deactivated user's: it still owns records), 500 a
        call (the owners guide: id is what hubspot_owner_id holds; userId, or userIdIncludingInactive for an
        inactive user, what a property version's updatedByUserId holds; email)."""
        found: list[dict[str, Any]] = []
        after: str | None = None
        while True:
            cursor = {"after": after} if after else {}
            page = self._json("GET /crm/v3/owners/", self.hs.crm.owners.owners_api.get_page, limit=OWNERS_PAGE_SIZE,
                              archived=archived, **cursor)
            found += page["results"]
            after = _next_page(page)
            if after is None:
                return found

    def history_since(self, object_type: str, since_ms: int, with_history: list[str]) -> Iterator[dict[str, Any]]:
        """The records of `object_type` whose history of `with_history` may hold a version at or after `since_ms`
        (milliseconds since the epoch), with that history, in the fewest calls: when few were modified since, a search
        finds their ids (200 a call) and a batch read reads them (50 a call with history); else every record is listed
        (50 a call). A version at or after `since_ms` modified the record then, so the search misses none; two counts
        (one search call each) choose. HubSpot's search index may lag a change by seconds (the search guide): a
        change made while the report runs may be missed."""
        modified = [{"filters": [{"propertyName": LAST_MODIFIED[object_type], "operator": "GTE",
                                  "value": str(since_ms)}]}]
        changed, every = self.count(object_type, modified), self.count(object_type, [])
        searched = -(-changed // SEARCH_PAGE_SIZE) + -(-changed // HISTORY_PAGE_SIZE)
        found = None if searched >= -(-every // HISTORY_PAGE_SIZE) else \
            self._found(object_type, {"filterGroups": modified, "properties": ["hs_object_id"]})
        if found is None:
            yield from self.records(object_type, ["hs_object_id"], with_history)
            return
        for start in range(0, len(found), HISTORY_PAGE_SIZE):
            # a record archived since the search has no history left to read: HubSpot answers 207 without it
            yield from self._json("POST /crm/v3/objects/{objectType}/batch/read", self.hs.crm.objects.batch_api.read,
                                  object_type=object_type, batch_read_input_simple_public_object_id={
                                      "inputs": [{"id": r["id"]} for r in found[start:start + HISTORY_PAGE_SIZE]],
                                      "properties": ["hs_object_id"], "propertiesWithHistory": with_history})["results"]

    def created_since(self, object_type: str, since_ms: int, properties: list[str],
                      associated: str) -> Iterator[dict[str, Any]]:
        """The records of `object_type` created at or after `since_ms` (milliseconds since the epoch), with
        `properties` and the ids of the `associated` records they are associated with (as a list call answers them),
        in the fewest calls: when few were created since, a search finds them (200 a call) and the associations API
        reads their associations (1,000 records a call); else every record is listed with its associations (100 a
        call). Two counts (one search call each) choose."""
        created = [{"filters": [{"propertyName": CREATED[object_type], "operator": "GTE", "value": str(since_ms)}]}]
        found, every = self.count(object_type, created), self.count(object_type, [])
        searched = -(-found // SEARCH_PAGE_SIZE) + -(-found // ASSOCIATIONS_BATCH_SIZE)
        records = None if searched >= -(-every // LIST_PAGE_SIZE) else \
            self._found(object_type, {"filterGroups": created, "properties": properties})
        if records is None:
            for record in self.records(object_type, [*properties, CREATED[object_type]], associations=[associated]):
                if _millis(str((record.get("properties") or {}).get(CREATED[object_type]) or "")) >= since_ms:
                    yield record
            return
        linked = self._associated(object_type, associated, [str(r["id"]) for r in records])
        for record in records:
            ids = linked.get(str(record["id"]), [])
            yield {**record, "associations": {associated: {"results": [{"id": i} for i in ids]}}}

    def _found(self, object_type: str, query: dict[str, Any]) -> list[dict[str, Any]] | None:
        """Every record the search `query` finds; None when they are more than a search pages through."""
        try:
            return list(self.search(object_type, query))
        except TooManyToSearch:
            return None

    def _associated(self, source: str, target: str, ids: list[str]) -> dict[str, list[str]]:
        """Each of `ids` (records of `source`) → the ids of the `target` records associated with it."""
        linked: dict[str, list[str]] = {}
        pending: list[dict[str, str]] = [{"id": i} for i in ids]
        while pending:
            batch, pending = pending[:ASSOCIATIONS_BATCH_SIZE], pending[ASSOCIATIONS_BATCH_SIZE:]
            answer = self._json("POST /crm/v4/associations/{fromObjectType}/{toObjectType}/batch/read",
                                self.hs.crm.associations.v4.batch_api.get_page, from_object_type=source,
                                to_object_type=target,
                                batch_input_public_fetch_associations_batch_request={"inputs": batch})
            for result in answer["results"]:   # an id with none is an error of the 207: it has none
                record = str(result["from"]["id"])
                linked.setdefault(record, []).extend(str(t["toObjectId"]) for t in result.get("to") or ())
                after = _next_page(result)
                if after:
                    pending.append({"id": record, "after": after})
        return linked

    def search(self, object_type: str, query: dict[str, Any]) -> Iterator[dict[str, Any]]:
        """Every record a CRM search `query` (`filterGroups`, `properties`, `sorts` …) finds, 200 a call.

        HubSpot reads no further than the first 10,000 matches of a query ("Attempting to page beyond 10,000 will
        result in a 400 error", the search guide): a query matching more raises TooManyToSearch before any page."""
        after: str | None = None
        while True:
            cursor = {"after": after} if after else {}
            page = self._search_page(object_type, {**query, "limit": SEARCH_PAGE_SIZE, **cursor})
            if int(page.get("total") or 0) > SEARCH_CEILING:
                raise TooManyToSearch(int(page["total"]))
            yield from page["results"]
            after = _next_page(page)
            if after is None:
                return

    def count(self, object_type: str, filter_groups: list[dict[str, Any]]) -> int:
        """How many records match `filter_groups`, in one search call."""
        return int(self._search_page(object_type, {"filterGroups": filter_groups, "limit": 1})["total"])

    def _search_page(self, object_type: str, body: dict[str, Any]) -> dict[str, Any]:
        return self._json("POST /crm/v3/objects/{objectType}/search", self.hs.crm.objects.search_api.do_search,
                          object_type=object_type, public_object_search_request=body)

    # -- sending -----------------------------------------------------------------------------

    def _json(self, operation: str, method: Callable[..., Any], **arguments: Any) -> dict[str, Any]:
        """HubSpot's JSON answer to a generated API's `method` (its models turned back into camelCase keys)."""
        answer = self._send(operation, method, **arguments)
        return dict(method.__self__.api_client.sanitize_for_serialization(answer))  # type: ignore[attr-defined]

    def _results(self, operation: str, method: Callable[..., Any], **arguments: Any) -> list[dict[str, Any]]:
        return list(self._json(operation, method, **arguments)["results"])

    def _send(self, operation: str, method: Callable[..., Any], **arguments: Any) -> Any:
        """Call a generated API's `method`, once the token is known to be the target portal's."""
        self.whoami()
        path = operation.format(**{name: arguments.get(argument) for name, argument in PATH_ARGUMENTS.items()})
        return self._call(operation, partial(method, **arguments, _request_timeout=self.timeout), path)

    def _api_request(self, method: str, path: str, body: dict[str, Any] | None = None,
                     query: dict[str, str] | None = None) -> Any:
        """A call the generated APIs do not cover, built by the library's `api_request` builder; its JSON, if any."""
        # Sent here rather than by api_request, which sends without a timeout (a stalled call would hang CI) and
        # prints a failed connection to stdout, where it would corrupt sos's output (`--format json`).
        request = Request(self.hs.config, {"method": method, "path": path, "qs": query or {},
                                           **({"body": body} if body is not None else {})})
        response = requests.request(request.get_method(), request.get_url(), timeout=self.timeout,
                                    **request.get_options_for_sending())
        if response.status_code >= 400:
            raise Refused(response.status_code, response.text, response.headers)
        return response.json() if response.content else None

    def _call(self, operation: str, request: Callable[[], T], path: str) -> T:
        """One call: paced, counted per `operation`, retried when HubSpot asks; every failure a redacted SosError
        naming the call by its `path` (`GET /crm/v3/pipelines/deals`)."""
        limited = failed = 0
        while True:
            self._pace(operation)
            self.calls[operation] += 1
            try:
                return request()
            except (Refused, PipelinesApiException, PropertiesApiException, ObjectsApiException,
                    OwnersApiException, AssociationsApiException) as exc:
                refusal = refusal_of(exc)
            except (urllib3.exceptions.HTTPError, requests.RequestException) as exc:
                raise self._fail(f"no answer from HubSpot at {self.connection.api_url} to {path} "
                                 f"({type(exc).__name__})", "hs-unreachable",
                                 fix="check the network and api_url, then run the command again") from None
            if refusal.status == 429 and refusal.policy != "DAILY":
                self._wait_out_burst(path, refusal, limited)
                limited += 1
            elif refusal.status in TRANSIENT:
                self._back_off(path, refusal, failed)
                failed += 1
            else:
                raise self._final(path, refusal) from None

    def _pace(self, operation: str) -> None:
        windows = [self._burst_window, self._search_window] if operation.endswith("/search") else [self._burst_window]
        for window in windows:
            pause = window.wait(self.clock())
            if pause >= 1:
                self.progress(f"Pacing under HubSpot's limit of {window.limit} requests per "
                              f"{window.seconds:g} s: waiting {pause:.1f} s…")
            if pause:
                self.sleep(pause)
        now = self.clock()
        for window in windows:
            window.record(now)

    def _wait_out_burst(self, operation: str, refusal: Refusal, limited: int) -> None:
        if limited >= RATE_LIMIT_RETRIES:
            raise self._fail(f"HubSpot kept refusing {operation} over its {refusal.policy} limit; gave up after "
                             f"{limited + 1} tries", "hs-rate-limited",
                             why="other apps in the portal are spending its shared burst limit",
                             fix="run the command again in a minute") from None
        pause = refusal.interval
        self.progress(f"HubSpot is limiting requests ({refusal.policy}) on {operation}; retrying in {pause:g} s "
                      f"(retry {limited + 1} of {RATE_LIMIT_RETRIES})…")
        self.sleep(pause)

    def _back_off(self, operation: str, refusal: Refusal, failed: int) -> None:
        if failed >= SERVER_RETRIES:
            raise self._fail(f"HubSpot answered {operation} with {refusal.summary()} {failed + 1} times in a row; "
                             "gave up", "hs-unavailable", why=refusal.support_note(),
                             fix="see status.hubspot.com, and run the command again later") from None
        pause = min(refusal.retry_after, SERVER_MAX_WAIT) or SERVER_FIRST_WAIT * 2 ** failed
        self.progress(f"HubSpot answered {operation} with {refusal.summary()}; retrying in {pause:g} s "
                      f"(retry {failed + 1} of {SERVER_RETRIES})…")
        self.sleep(pause)

    def _final(self, operation: str, refusal: Refusal) -> SosError:
        token_env = self.connection.token_env
        if refusal.status == 429:
            return self._fail(f"the HubSpot portal's daily API limit is used up (HubSpot answered {operation} with "
                              f"{refusal.summary()}); sos stopped at once", "hs-daily-limit", why=DAILY_WHY,
                              fix=DAILY_FIX)
        if refusal.status == 401:
            return self._fail(f"HubSpot refused the access token in {token_env} ({refusal.summary()}): it is "
                              "wrong, or its app's token was rotated or the app deleted", "hs-auth-failed",
                              fix="copy the app's access token again from its Auth tab in HubSpot (Development → "
                                  f"Legacy apps, or Projects, → the app → Auth) and `export {token_env}=<the token>`")
        if refusal.category == "MISSING_SCOPES":
            return _missing_scopes(refusal.required_scopes or ["(HubSpot did not name them)"], operation, token_env)
        redact = self.connection.redact
        return HubSpotApiError(Diagnostic(None, redact(f"HubSpot refused {operation}: {refusal.summary()}"),
                                          "hs-api-error", why=redact(refusal.support_note())),
                               refusal.status, refusal.category)

    def _fail(self, message: str, code: str, fix: str = "", why: str = "") -> SosError:
        redact = self.connection.redact
        return SosError(Diagnostic(None, redact(message), code, why=redact(why), fix=redact(fix)))


class TooManyToSearch(Exception):
    """A search matches more records than HubSpot lets a query page through."""


class HubSpotApiError(SosError):
    """HubSpot refused a call (not for limits, auth or scopes); `status` and `category` tell the backend which."""

    def __init__(self, diagnostic: Diagnostic, status: int, category: str) -> None:
        super().__init__(diagnostic)
        self.status, self.category = status, category


class PartlyMade(SosError):
    """HubSpot made some of a batch and refused the rest; `made` names what it made."""

    def __init__(self, diagnostic: Diagnostic, made: list[str]) -> None:
        super().__init__(diagnostic)
        self.made = made


def _missing_scopes(missing: list[str], purpose: str, token_env: str) -> SosError:
    return SosError(Diagnostic(
        None, f"the HubSpot app whose token is in {token_env} lacks the scope"
              f"{'s' if len(missing) > 1 else ''} {', '.join(missing)}, needed for {purpose}", "hs-missing-scopes",
        fix=f"add {', '.join(missing)} to the app's scopes (a private app: its Scopes tab, then commit the change; a "
            "developer-platform app: its configuration, then upload the project again) and run the command again"))


def _batches(items: list[T]) -> Iterator[list[T]]:
    for start in range(0, len(items), BATCH_SIZE):
        yield items[start:start + BATCH_SIZE]


def _millis(moment: str) -> int:
    """A HubSpot date and time (ISO 8601) in milliseconds since the epoch; blank: -1."""
    if not moment:
        return -1
    return int(datetime.datetime.fromisoformat(moment.replace("Z", "+00:00")).timestamp() * 1000)


def _next_page(page: dict[str, Any]) -> str | None:
    after = ((page.get("paging") or {}).get("next") or {}).get("after")
    return str(after) if after else None
