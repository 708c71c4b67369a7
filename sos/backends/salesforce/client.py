"""Metadata API deploy and retrieve, polled; REST queries; faults turned into clear, redacted messages.

Everything goes through simple-salesforce. Each call is retried when the session expired
(after connecting again, once) and when Salesforce limits requests for a while (bounded
exponential backoff); the org's daily API allowance used up is final at once. Waits go
through an injectable `sleep`, so tests never sleep for real. Every message that leaves this
module has passed through the authenticator's `Redactor`.
"""

from __future__ import annotations

import base64
import csv
import io
import json
import shlex
import sys
import time
import zipfile
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar
from collections.abc import Callable, Iterator, Sequence
from urllib.parse import quote
from xml.etree import ElementTree

from sos.errors import SosError
from sos.backends.salesforce.auth import Authenticator
from sos.backends.salesforce.mdxml import MD_NS

if TYPE_CHECKING:
    import requests
    from simple_salesforce import Salesforce

NS = {"mt": MD_NS}
T = TypeVar("T")

POLL_FIRST_WAIT = 1.0  # seconds before the second status check (the first is at once); doubled, capped
POLL_MAX_WAIT = 10.0
MAX_POLLS = 100  # about 16 minutes of waiting in all (1 + 2 + 4 + 8 + 10 × 95 s)
RATE_LIMIT_FIRST_WAIT = 2.0
RATE_LIMIT_RETRIES = 5  # 2 + 4 + 8 + 16 + 32 s of waiting, then give up
DONE_DEPLOY = {"Succeeded", "SucceededPartial", "Failed", "Canceled"}
# REQUEST_LIMIT_EXCEEDED with this message is the org's daily allowance, not a brief rate limit.
DAILY_LIMIT_MESSAGE = "TotalRequests Limit exceeded"
DAILY_LIMIT_WHY = ("Salesforce counts the API requests of all the org's integrations over a rolling 24 hours and "
                   "refuses more once the org's allowance is reached")
DAILY_LIMIT_FIX = ("wait: the allowance frees up as the requests of 24 hours ago age out of the rolling window "
                   "(it does not reset at midnight); see the org's use in Setup → Company Information (API Requests, "
                   "Last 24 Hours), or with `sos targets` once requests go through again, and find which integration "
                   "used it up")


def poll_waits(first: float = POLL_FIRST_WAIT, cap: float = POLL_MAX_WAIT) -> Callable[[int], float]:
    """The wait before status check number `n` (0-based): none, first, 2×first, 4×first, … at most `cap`.

    The first check is immediate: a small retrieve or deploy is often done by then.
    """
    return lambda n: 0.0 if n == 0 else min(cap, first * 2 ** min(n - 1, 30))


@dataclass(frozen=True, slots=True)
class ComponentFailure:
    """One component Salesforce refused in a deploy."""

    type: str
    full_name: str
    problem: str
    line: int | None = None
    file: str = ""


@dataclass(frozen=True, slots=True)
class DeployOutcome:
    id: str
    status: str
    success: bool
    check_only: bool
    deployed: int
    total: int
    failures: tuple[ComponentFailure, ...] = ()
    error: str = ""  # a deploy-level error (no component to blame)


@dataclass(frozen=True, slots=True)
class RetrieveOutcome:
    id: str
    files: dict[str, bytes]
    messages: tuple[tuple[str, str], ...] = ()  # (file name, problem), e.g. a named member that does not exist


def stderr_progress(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


class SalesforceClient:
    """One org, connected lazily; deploy / retrieve / query / limits with retries and clear errors."""

    def __init__(self, auth: Authenticator, *, sleep: Callable[[float], None] = time.sleep,
                 progress: Callable[[str], None] | None = None, max_polls: int = MAX_POLLS,
                 wait: Callable[[int], float] | None = None, rate_limit_retries: int = RATE_LIMIT_RETRIES) -> None:
        self.auth = auth
        self.sleep = sleep
        sink = progress or (lambda line: None)
        self.progress: Callable[[str], None] = lambda line: sink(self.redact(line))
        self.max_polls = max_polls
        self.wait = wait or poll_waits()
        self.rate_limit_retries = rate_limit_retries
        self._sf: Salesforce | None = None
        self.calls: Counter[str] = Counter()   # API calls made (retries too), by operation

    # -- connection ----------------------------------------------------------------------

    @property
    def sf(self) -> Salesforce:
        if self._sf is None:
            self._sf = self.auth.connect()
        return self._sf

    @property
    def instance_url(self) -> str:
        return f"https://{self.sf.sf_instance}"

    def redact(self, text: str) -> str:
        return self.auth.redact(text)

    def _fail(self, message: str, code: str, fix: str = "", why: str = "") -> SosError:
        from sos.errors import Diagnostic

        return SosError(Diagnostic(None, self.redact(message), code, why=self.redact(why), fix=self.redact(fix)))

    def call(self, operation: str, function: Callable[[Salesforce], T]) -> T:
        """Run one API call, connecting again once on an expired session and backing off on rate limits."""
        renewed = False
        limited = 0
        while True:
            sf = self.sf
            self.calls[operation] += 1
            try:
                result = function(sf)
            except SosError:
                raise
            except Exception as exc:  # noqa: BLE001 — every library failure becomes a redacted SosError
                kind, detail = classify(exc)
                if kind == "session":
                    self._log_in_again(detail, renewed)
                    renewed = True
                    continue
                if kind == "rate":
                    self._back_off(detail, limited)
                    limited += 1
                    continue
                raise self._final_failure(kind, detail, operation) from None
            self.auth.redact.add(sf.session_id)  # simple-salesforce may have logged in again by itself
            return result

    def _log_in_again(self, detail: str, renewed: bool) -> None:
        if not self.auth.renewable:
            raise self._fail("the Salesforce access token has expired or is not valid (Salesforce "
                             f"answered {detail})", "sf-session-expired",
                             fix=self.auth.renew_hint()) from None
        if renewed:
            raise self._fail("Salesforce refused the session again right after logging in again "
                             f"({detail}); check that the user may use the API", "sf-session-expired",
                             fix="check the user's profile has API Enabled") from None
        self.progress("Salesforce session expired; logging in again…")
        self._sf = None

    def _back_off(self, detail: str, limited: int) -> None:
        """Wait before retry number `limited + 1`, twice as long as the last; give up after rate_limit_retries."""
        if limited >= self.rate_limit_retries:
            waited = sum(RATE_LIMIT_FIRST_WAIT * 2 ** n for n in range(limited))
            raise self._fail(f"Salesforce is refusing requests for now ({detail}); gave up after "
                             f"{limited + 1} tries over {waited:.0f} s", "sf-rate-limited",
                             fix="wait a few minutes and run the command again; `sos targets` shows "
                                 "the org's daily API use") from None
        pause = RATE_LIMIT_FIRST_WAIT * 2 ** limited
        self.progress(f"Salesforce is limiting requests ({detail}); retrying in {pause:.0f} s…")
        self.sleep(pause)

    def _final_failure(self, kind: str, detail: str, operation: str) -> SosError:
        if kind == "daily":   # final at once: it lifts over hours, and every retry spends more of it
            return self._fail(f"the org's daily API allowance is used up (Salesforce answered {detail})",
                              "sf-daily-limit", why=DAILY_LIMIT_WHY, fix=DAILY_LIMIT_FIX)
        if kind == "network":
            return self._fail(f"could not reach Salesforce at {self.instance_url} during {operation}: "
                              f"{detail}", "sf-unreachable")
        return self._fail(f"Salesforce {operation} failed: {detail}", "sf-api-error")

    # -- REST ----------------------------------------------------------------------------

    def query(self, soql: str) -> list[dict[str, Any]]:
        """Every record `soql` selects (following nextRecordsUrl pages)."""
        return list(self.call("query", lambda sf: sf.query_all(soql))["records"])

    def count(self, soql_object: str) -> int:
        """How many records of `soql_object` the org holds (one COUNT() query)."""
        return int(self.call("query", lambda sf: sf.query(f"SELECT COUNT() FROM {soql_object}"))["totalSize"])

    def query_pages(self, soql: str) -> Iterator[list[dict[str, Any]]]:
        """The records `soql` selects, a page (up to 2,000 records) at a time: one call per page."""
        answer = self.call("query", lambda sf: sf.query(soql))
        yield list(answer["records"])
        while not answer["done"]:
            answer = self._next_page(answer["nextRecordsUrl"])
            yield list(answer["records"])

    def _next_page(self, url: str) -> dict[str, Any]:
        """The next page of a query's records, at its nextRecordsUrl."""
        return dict(self.call("query", lambda sf: sf.query_more(url, identifier_is_url=True)))

    def bulk_query(self, soql: str, *, what: str) -> Iterator[list[dict[str, Any]]]:
        """The records `soql` selects, read by one Bulk API 2.0 query job: created, polled until JobComplete, then
        its results a set at a time (CSV; a set as large as Salesforce lists, Sforce-Locator naming the next).
        Each record is shaped as a REST query's (`Owner.Username` as row["Owner"]["Username"]) with every value
        text as the CSV has it, None for an empty field."""
        job = self.call("bulkQueryCreate", lambda sf: sf.restful("jobs/query", method="POST",
                                                                 json={"operation": "query", "query": soql})) or {}
        job_id = str(job["id"])
        for poll in range(self.max_polls):
            if self.wait(poll):
                self.sleep(self.wait(poll))
            job = self.call("bulkQueryJob", lambda sf: sf.restful(f"jobs/query/{job_id}")) or {}
            state = job.get("state")
            self.progress(f"Reading {what} with Bulk API query job {job_id}… {state}")
            if state in ("Failed", "Aborted"):
                raise self._fail(f"Salesforce's Bulk API query job {job_id} ended {state}: "
                                 f"{job.get('errorMessage') or 'no reason given'}", "sf-bulk-query-failed",
                                 why=f"sos reads {what} this way to count the checks SOQL cannot say",
                                 fix="run the command again; if it fails again, see the job in Setup → Bulk Data "
                                     "Load Jobs")
            if state == "JobComplete":
                break
        else:
            raise self._fail(f"Salesforce has not finished Bulk API query job {job_id} after {self.max_polls} "
                             "status checks", "sf-bulk-query-stalled", fix="try again later; Salesforce may be busy")
        locator = ""
        while locator != "null":
            answer = self._results_set(job_id, locator)
            locator = answer.headers.get("Sforce-Locator") or "null"
            yield [_nested(row) for row in csv.DictReader(io.StringIO(answer.content.decode("utf-8")))]

    def _results_set(self, job_id: str, locator: str) -> requests.Response:
        """One set of a query job's results: the first, or the one `locator` names. Through simple-salesforce's
        request method, which `restful` wraps: `restful` reads only JSON and hides the Sforce-Locator header."""
        params = {"locator": locator} if locator else {}
        return self.call("bulkQueryResults", lambda sf: sf._call_salesforce(
            "GET", f"{sf.base_url}jobs/query/{job_id}/results", params=params, headers={"Accept": "text/csv"}))

    def composite_queries(self, queries: Sequence[str]) -> list[list[dict[str, Any]] | str]:
        """Up to five SOQL queries in one Composite call (records.py says why five): for each, its records (later
        pages followed, a call each) or the message of Salesforce's refusal."""
        version = self.sf.sf_version
        body = {"allOrNone": False, "compositeRequest": [
            {"method": "GET", "url": f"/services/data/v{version}/query?q={quote(soql, safe='')}",
             "referenceId": f"q{index}"} for index, soql in enumerate(queries)]}
        answer: dict[str, Any] = self.call(
            "composite", lambda sf: sf.restful("composite", method="POST", data=json.dumps(body)) or {})
        found: list[list[dict[str, Any]] | str] = []
        for result in answer["compositeResponse"]:
            reply = result["body"]
            if result["httpStatusCode"] >= 300:
                # a SOQL error's message quotes the query over several lines; its last line says what is wrong
                said = [f"{e.get('errorCode')}: {str(e.get('message')).strip().splitlines()[-1]}" for e in reply]
                found.append(self.redact("; ".join(said)))
                continue
            records = list(reply["records"])
            while not reply["done"]:
                reply = self._next_page(reply["nextRecordsUrl"])
                records += reply["records"]
            found.append(records)
        return found

    def limits(self) -> dict[str, Any]:
        return dict(self.call("limits", lambda sf: sf.limits()))

    def assign_permission_set(self, name: str) -> bool:
        """Assign the permission set `name` to the user sos runs as, unless it is already; whether it assigned it.

        The user comes from the UserInfo endpoint (Help, "Query for User Information"), which answers for the
        access token's own user whatever way sos logged in.
        """
        userinfo = f"{self.instance_url}/services/oauth2/userinfo"
        user = str(self.call("userinfo", lambda sf: sf._call_salesforce("GET", userinfo).json())["user_id"])
        found = self.query(f"SELECT Id FROM PermissionSet WHERE Name = '{name}'")
        if not found:
            return False
        permission_set = str(found[0]["Id"])
        if self.query(f"SELECT Id FROM PermissionSetAssignment WHERE AssigneeId = '{user}' "
                      f"AND PermissionSetId = '{permission_set}'"):
            return False
        # simple-salesforce types every attribute as SFType | SFBulkType | SFBulk2Type; an sObject name is an SFType
        self.call("assign", lambda sf: sf.PermissionSetAssignment.create(  # type: ignore[operator]
            {"AssigneeId": user, "PermissionSetId": permission_set}))
        return True

    # -- Metadata API: CRUD ----------------------------------------------------------------

    def rename(self, type_name: str, old: str, new: str) -> None:
        """renameMetadata (reference §3.4): the component keeps its id under its new name, a field its data."""
        self.call("renameMetadata", lambda sf: getattr(sf.mdapi, type_name).rename(old, new))

    # -- Metadata API: retrieve ------------------------------------------------------------

    def retrieve(self, members: dict[str, list[str]], *, what: str = "") -> RetrieveOutcome:
        """One unpackaged retrieve of `members` ({type: [names]}), polled until Salesforce has the zip."""
        async_id, _ = self.call("retrieve", lambda sf: sf.mdapi.retrieve("sos", unpackaged=members,
                                                                          single_package=True))
        if not async_id:
            raise self._fail("Salesforce did not start the retrieve (no id in its answer)", "sf-api-error")
        label = what or plural(sum(len(v) for v in members.values()), "component")
        for poll in range(self.max_polls):
            if self.wait(poll):
                self.sleep(self.wait(poll))
            result = self.call("checkRetrieveStatus",
                               lambda sf: sf.mdapi.retrieve_retrieve_result(async_id, "true"))
            status = result.findtext("mt:status", "", NS)
            done = result.findtext("mt:done", "", NS).lower() == "true"
            self.progress(f"Retrieving {label}… {status or 'InProgress'}")
            if status == "Failed":
                message = result.findtext("mt:errorMessage", "", NS) or "no reason given"
                raise self._fail(f"Salesforce could not retrieve the org's configuration (retrieve {async_id}): "
                                 f"{message}", "sf-retrieve-failed")
            if done:
                for file_name, problem in _retrieve_messages(result):
                    if not problem.endswith("cannot be found"):   # a component sos has not made yet is normal
                        self.progress(f"Salesforce said about the retrieve: {file_name}: {problem}")
                encoded = result.findtext("mt:zipFile", "", NS)
                if not encoded:
                    raise self._fail(f"Salesforce finished retrieve {async_id} but sent no zip file",
                                     "sf-retrieve-failed", fix="run the command again")
                return RetrieveOutcome(async_id, _unzip(encoded), _retrieve_messages(result))
        raise self._fail(f"Salesforce has not finished retrieve {async_id} after {self.max_polls} status checks",
                         "sf-retrieve-stalled", fix="try again later; Salesforce may be busy")

    # -- Metadata API: deploy --------------------------------------------------------------

    def deploy(self, zip_bytes: bytes, *, check_only: bool = False, components: int = 0) -> DeployOutcome:
        """One deploy of `zip_bytes` (rollbackOnError, singlePackage), polled until it is done."""
        def start(sf: Salesforce) -> tuple[str | None, str | None]:
            return sf.mdapi.deploy(io.BytesIO(zip_bytes), sandbox=False, checkOnly=check_only,
                                   rollbackOnError=True, singlePackage=True)

        deploy_id, _ = self.call("deploy", start)
        if not deploy_id:
            raise self._fail("Salesforce did not start the deploy (no id in its answer)", "sf-api-error")
        return self.wait_for_deploy(deploy_id, check_only=check_only, components=components)

    def wait_for_deploy(self, deploy_id: str, *, check_only: bool = False, components: int = 0) -> DeployOutcome:
        """Poll deploy `deploy_id` until it is done. Salesforce runs an accepted deploy whether or not anyone
        polls it, so a poll that fails (session, rate limit, network) or never sees the end is ApplyUnknown,
        never a failure: the deploy may still complete."""
        from sos.backends.base import ApplyInterrupted, ApplyUnknown
        from sos.errors import Diagnostic

        verb = "Validating" if check_only else "Deploying"
        try:
            for poll in range(self.max_polls):
                if self.wait(poll):
                    self.sleep(self.wait(poll))
                result = self.call("checkDeployStatus", lambda sf: sf.mdapi._retrieve_deploy_result(deploy_id))
                outcome = _deploy_outcome(deploy_id, result, check_only)
                total = outcome.total or components
                self.progress(f"{verb} {plural(components or total, 'component')}… {outcome.status} "
                              f"({outcome.deployed}/{total})")
                if result.findtext("mt:done", "", NS).lower() == "true" or outcome.status in DONE_DEPLOY:
                    return outcome
        except SosError as exc:
            lost = exc.diagnostics[0].message
        except KeyboardInterrupt:
            if check_only:
                raise
            raise ApplyInterrupted(deploy_id) from None
        else:
            lost = f"it had not finished after {self.max_polls} status checks"
        if check_only:   # a validation changes nothing and is not in the history: there is nothing to resume
            fix = f"see validation {deploy_id} in Setup → Deployment Status, or run `sos plan --validate` again"
        else:
            fix = (f"run `sos apply --resume {shlex.quote(deploy_id)}` to wait for it and record its outcome (or see "
                   "it in Setup → Deployment Status); `sos plan` shows what the org holds now")
        raise ApplyUnknown(Diagnostic(
            None, self.redact(f"deploy {deploy_id} was submitted to Salesforce and may still complete, but sos "
                              f"could not learn its outcome: {lost}"), "sf-deploy-unknown",
            why="Salesforce runs a deploy it accepted to its end whether or not sos is still asking", fix=fix),
            deploy_id)


def classify(exc: BaseException) -> tuple[str, str]:
    """('session' | 'daily' | 'rate' | 'auth' | 'network' | 'error', a short description without the request).

    'daily' is the org's daily API allowance used up; 'rate' a limit that lifts within seconds or minutes
    (HTTP 429, 503, or REQUEST_LIMIT_EXCEEDED for another limit, such as concurrent requests).
    """
    import requests
    from simple_salesforce.exceptions import SalesforceAuthenticationFailed, SalesforceError

    if isinstance(exc, SalesforceAuthenticationFailed):
        return "auth", f"{exc.code}: {exc.auth_message}"
    if isinstance(exc, SalesforceError):
        code, message = _error_code(exc.content)
        message = message.removeprefix(f"{code}: ") if code else message
        detail = f"HTTP {exc.status}" + (f" {code}" if code else "") + (f": {message}" if message else "")
        if exc.status == 401 or code == "INVALID_SESSION_ID":
            return "session", detail
        if code == "REQUEST_LIMIT_EXCEEDED" and DAILY_LIMIT_MESSAGE.lower() in message.lower():
            return "daily", detail
        if exc.status in (429, 503) or code in ("REQUEST_LIMIT_EXCEEDED", "SERVER_UNAVAILABLE"):
            return "rate", detail
        return "error", detail
    if isinstance(exc, requests.RequestException):
        return "network", type(exc).__name__
    return "error", f"{type(exc).__name__}: {exc}"


def _error_code(content: Any) -> tuple[str, str]:
    """errorCode and message of a REST error list, or faultcode and faultstring of a SOAP fault."""
    if isinstance(content, bytes):
        content = content.decode("utf-8", "replace")
    if isinstance(content, list) and content and isinstance(content[0], dict):
        return str(content[0].get("errorCode", "")), str(content[0].get("message", ""))
    if isinstance(content, dict):
        return str(content.get("errorCode") or content.get("error") or ""), str(content.get("message") or "")
    text = str(content or "")
    if "<" in text:
        try:
            root = ElementTree.fromstring(text)
        except ElementTree.ParseError:
            return "", text[:200]
        fault_code = next((e.text or "" for e in root.iter() if e.tag.rsplit("}", 1)[-1] == "faultcode"), "")
        fault_text = next((e.text or "" for e in root.iter() if e.tag.rsplit("}", 1)[-1] == "faultstring"), "")
        return fault_code.rsplit(":", 1)[-1], fault_text
    try:
        return _error_code(json.loads(text))
    except (json.JSONDecodeError, RecursionError):
        return "", text[:200]


def _nested(row: dict[str, str]) -> dict[str, Any]:
    """A Bulk API CSV row shaped as a REST query's record: `Owner.Username` nested, an empty field None."""
    record: dict[str, Any] = {}
    for column, value in row.items():
        *parents, name = column.split(".")
        target = record
        for parent in parents:
            target = target.setdefault(parent, {})
        target[name] = value if value != "" else None
    return record


def plural(count: int, word: str) -> str:
    return f"{count:,} {word}{'' if count == 1 else 's'}"


def _int(element: ElementTree.Element, name: str) -> int:
    try:
        return int(element.findtext(f"mt:{name}", "0", NS) or 0)
    except ValueError:
        return 0


def _deploy_outcome(deploy_id: str, result: ElementTree.Element, check_only: bool) -> DeployOutcome:
    failures = []
    for failure in result.findall("mt:details/mt:componentFailures", NS):
        line = failure.findtext("mt:lineNumber", "", NS)
        failures.append(ComponentFailure(
            type=failure.findtext("mt:componentType", "", NS), full_name=failure.findtext("mt:fullName", "", NS),
            problem=failure.findtext("mt:problem", "", NS), line=int(line) if line.isdigit() else None,
            file=failure.findtext("mt:fileName", "", NS)))
    status = result.findtext("mt:status", "", NS) or "Pending"
    error = result.findtext("mt:errorMessage", "", NS) or ""
    return DeployOutcome(id=deploy_id, status=status, success=result.findtext("mt:success", "", NS) == "true",
                         check_only=check_only, deployed=_int(result, "numberComponentsDeployed"),
                         total=_int(result, "numberComponentsTotal"), failures=tuple(failures), error=error)


def _retrieve_messages(result: ElementTree.Element) -> tuple[tuple[str, str], ...]:
    # RetrieveResult.messages sit directly under result (simple-salesforce looks under details/).
    found = result.findall("mt:messages", NS) + result.findall("mt:details/mt:messages", NS)
    return tuple((m.findtext("mt:fileName", "", NS), m.findtext("mt:problem", "", NS)) for m in found)


def _unzip(encoded: str) -> dict[str, bytes]:
    """The retrieved files by path, at the package root (a leading `unpackaged/` is stripped)."""
    archive = zipfile.ZipFile(io.BytesIO(base64.b64decode(encoded)))
    files = {}
    for name in archive.namelist():
        if name.endswith("/"):
            continue
        files[name.removeprefix("unpackaged/")] = archive.read(name)
    return files
