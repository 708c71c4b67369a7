"""The Pipedrive client against the strict emulator over real HTTP: the token's company checked first, v2 reads,
both pagings, writes, every fault (429 with Retry-After, the daily budget, 5xx, 401, another company), the calls
and token cost it counts, and the token never shown."""

from __future__ import annotations

import logging
import socket
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from sos.backends.pipedrive.auth import Connection, connection
from sos.backends.pipedrive.client import FIELDS, PIPELINES, STAGES, Company, PipedriveClient
from sos.backends.pipedrive.history import CHANGELOG
from sos.errors import SosError, Span
from sos.target import Target
from tests.emulators.pipedrive import ManualClock, PipedriveEmulator
from tests.emulators.pipedrive.loader import load_deal

START = datetime(2026, 12, 4, 15, 0, tzinfo=UTC)   # nine hours before the daily budget resets at midnight UTC
ORIGIN = Span("sos.yaml", 4, 3)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def pipedrive(clock: ManualClock) -> Iterator[PipedriveEmulator]:
    """A fresh company on its own emulator, whose time moves only when the client waits."""
    with PipedriveEmulator(clock=clock) as emulator:
        yield emulator
    assert emulator.internal_errors == []


class Run:
    """A client on the emulator, with the waits it asked for (the emulator's clock moves by them) and its lines."""

    def __init__(self, emulator: PipedriveEmulator, token: str | None = None, page_size: int = 500, **options: Any):
        self.clock = emulator.clock
        assert isinstance(self.clock, ManualClock)
        self.waits: list[float] = []
        self.lines: list[str] = []
        target = Target("acme", "pipedrive", {"company_domain": "acme", "api_url": emulator.api_url, **options},
                        ORIGIN)
        self.connection = connection(target, {"PIPEDRIVE_API_TOKEN": token or emulator.api_token})
        self.client = PipedriveClient(self.connection, sleep=self.wait, progress=self.lines.append,
                                      page_size=page_size)

    def wait(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.clock.advance(seconds)

    def refused(self, call: Any, code: str) -> SosError:
        with pytest.raises(SosError) as caught:
            call()
        assert [d.code for d in caught.value.diagnostics] == [code]
        return caught.value


@pytest.fixture
def run(pipedrive: PipedriveEmulator) -> Run:
    return Run(pipedrive)


def emulator_names(counts: Counter[str]) -> Counter[str]:
    """The client's endpoint names as the emulator counts them (it names v1 calls /v1/..., as on api.pipedrive.com)."""
    return Counter({name.replace(" /api/v1/", " /v1/"): n for name, n in counts.items()})


# -- connecting --------------------------------------------------------------------------------


def test_whoami_names_the_company_of_the_token(pipedrive: PipedriveEmulator, run: Run) -> None:
    assert run.client.whoami() == Company(1, "acme", "Acme Inc.")
    assert pipedrive.calls == Counter({"GET /v1/users/me": 1})


def test_a_token_of_another_company_is_refused_before_anything_is_read(pipedrive: PipedriveEmulator) -> None:
    _, globex_token = pipedrive.add_company("globex")
    run = Run(pipedrive, token=globex_token)
    error = run.refused(run.client.pipelines, "pd-wrong-company")
    assert error.diagnostics[0].message == (
        "the API token in PIPEDRIVE_API_TOKEN belongs to the Pipedrive company 'globex', not to 'acme' "
        "(company_domain of the target); sos read nothing from it")
    assert pipedrive.calls == Counter({"GET /v1/users/me": 1})
    assert globex_token not in str(error)


def test_the_company_is_checked_once_per_client(pipedrive: PipedriveEmulator, run: Run) -> None:
    run.client.pipelines()
    run.client.stages()
    assert pipedrive.calls == Counter({"GET /v1/users/me": 1, "GET /api/v2/pipelines": 1, "GET /api/v2/stages": 1})


def test_a_missing_token_names_the_variable_and_how_to_make_one() -> None:
    target = Target("acme", "pipedrive", {"company_domain": "acme"}, ORIGIN)
    with pytest.raises(SosError) as caught:
        connection(target, {})
    [diagnostic] = caught.value.diagnostics
    assert diagnostic.headline() == ("sos.yaml:4:3: error: no Pipedrive API token for target 'acme': the environment "
                                     "variable PIPEDRIVE_API_TOKEN is not set [pd-token-missing]")
    assert "Settings → Personal preferences → API" in diagnostic.fix
    assert "export PIPEDRIVE_API_TOKEN=<token>" in diagnostic.fix


def test_token_env_names_another_variable(pipedrive: PipedriveEmulator) -> None:
    target = Target("acme", "pipedrive", {"company_domain": "acme", "token_env": "ACME_PIPEDRIVE",
                                          "api_url": pipedrive.api_url}, ORIGIN)
    with pytest.raises(SosError, match="the environment variable ACME_PIPEDRIVE is not set"):
        connection(target, {"PIPEDRIVE_API_TOKEN": pipedrive.api_token})
    client = PipedriveClient(connection(target, {"ACME_PIPEDRIVE": pipedrive.api_token}))
    assert client.whoami().domain == "acme"


def test_the_api_url_defaults_to_the_company_domain_and_plain_http_only_reaches_this_machine() -> None:
    environ = {"PIPEDRIVE_API_TOKEN": "t" * 40}
    found = connection(Target("acme", "pipedrive", {"company_domain": "Acme"}, ORIGIN), environ)
    assert (found.api_url, found.company_domain) == ("https://acme.pipedrive.com", "acme")
    target = Target("acme", "pipedrive", {"company_domain": "acme", "api_url": "http://proxy.example.com"}, ORIGIN)
    with pytest.raises(SosError) as caught:
        connection(target, environ)
    assert caught.value.diagnostics[0].headline() == (
        "sos.yaml:4:3: error: api_url 'http://proxy.example.com' of target 'acme' is not an https:// URL "
        "[pd-target]")


def test_a_target_without_company_domain_says_what_to_write() -> None:
    with pytest.raises(SosError) as caught:
        connection(Target("acme", "pipedrive", {}, ORIGIN), {"PIPEDRIVE_API_TOKEN": "t" * 40})
    assert caught.value.diagnostics[0].headline() == (
        "sos.yaml:4:3: error: target 'acme' needs `company_domain:`, the name in the company's address (acme for "
        "https://acme.pipedrive.com) [pd-target]")


# -- reads, paging, writes ---------------------------------------------------------------------


def test_reads_use_api_v2_and_v1_only_where_v2_has_no_endpoint(pipedrive: PipedriveEmulator, run: Run) -> None:
    assert [p["name"] for p in run.client.pipelines()] == ["Pipeline"]
    assert [s["id"] for s in run.client.stages()] == sorted(pipedrive.account.stages)
    deal_fields = run.client.fields("deal")
    assert {f["field_code"] for f in deal_fields} == {f.code for f in pipedrive.account.fields["deal"]}
    assert all("required_fields" in f and "ui_visibility" in f for f in deal_fields)   # include_fields asked
    assert run.client.fields("person") and run.client.fields("organization")
    assert {label["name"] for label in run.client.lead_labels()} == {"Hot", "Warm", "Cold"}
    assert set(pipedrive.calls) == {"GET /v1/users/me", "GET /api/v2/pipelines", "GET /api/v2/stages",
                                    "GET /api/v2/dealFields", "GET /api/v2/personFields",
                                    "GET /api/v2/organizationFields", "GET /v1/leadLabels"}


def test_the_stages_of_every_pipeline_come_in_one_call_by_pipeline_and_order(pipedrive: PipedriveEmulator,
                                                                              run: Run) -> None:
    renewals = run.client.post(PIPELINES, {"name": "Renewals"})["id"]
    run.client.post(STAGES, {"name": "Renewal due", "pipeline_id": renewals})
    run.client.post(STAGES, {"name": "Contracting", "pipeline_id": 1})
    assert [(s["pipeline_id"], s["name"]) for s in run.client.stages()][-3:] == [
        (1, "Negotiations Started"), (1, "Contracting"), (renewals, "Renewal due")]
    assert pipedrive.calls["GET /api/v2/stages"] == 1


def test_v2_lists_are_read_by_cursor_across_pages(pipedrive: PipedriveEmulator) -> None:
    run = Run(pipedrive, page_size=2)
    for name in ("Renewals", "Partners", "Expansion", "Enterprise"):
        run.client.post(PIPELINES, {"name": name})
    assert [p["name"] for p in run.client.pipelines()] == ["Pipeline", "Renewals", "Partners", "Expansion",
                                                           "Enterprise"]
    assert pipedrive.calls["GET /api/v2/pipelines"] == 3


def test_v1_lists_are_read_by_start_and_limit_across_pages(pipedrive: PipedriveEmulator) -> None:
    run = Run(pipedrive, page_size=5)
    fields = list(run.client.paged("/api/v1/dealFields"))
    assert [f["key"] for f in fields] == [f.code for f in pipedrive.account.fields["deal"]]
    assert len(fields) > 10
    assert pipedrive.calls["GET /v1/dealFields"] == -(-len(fields) // 5)


def test_writes_go_to_the_endpoint_with_its_ids(pipedrive: PipedriveEmulator, run: Run) -> None:
    pipeline = run.client.post(PIPELINES, {"name": "Renewals", "is_deal_probability_enabled": True})
    stage = run.client.post(STAGES, {"name": "Discovery", "pipeline_id": pipeline["id"], "deal_probability": 10})
    run.client.post(STAGES, {"name": "Demo", "pipeline_id": pipeline["id"]})
    run.client.patch(STAGES + "/{id}", {"is_deal_rot_enabled": True, "days_to_rotten": 14}, id=stage["id"])
    held = pipedrive.account.stages[stage["id"]]
    assert (held.name, held.pipeline_id, held.is_deal_rot_enabled, held.days_to_rotten) == (
        "Discovery", pipeline["id"], True, 14)
    field = run.client.post(FIELDS["deal"], {"field_name": "Budget", "field_type": "enum",
                                             "options": [{"label": "Yes"}, {"label": "No"}]})
    run.client.post(FIELDS["deal"] + "/{code}/options", [{"label": "Unknown"}], code=field["field_code"])
    assert [o.label for o in pipedrive.account.field("deal", field["field_code"]).options] == ["Yes", "No", "Unknown"]
    assert run.client.delete(STAGES + "/{id}", id=stage["id"]) == {"id": stage["id"]}
    assert pipedrive.account.stages[stage["id"]].is_deleted


def test_a_refused_call_says_what_pipedrive_said(pipedrive: PipedriveEmulator, run: Run) -> None:
    error = run.refused(lambda: run.client.post(STAGES, {"name": "Lost", "pipeline_id": 999}), "pd-api-error")
    assert error.diagnostics[0].message == "Pipedrive refused POST /api/v2/stages (HTTP 404: Pipeline not found)"
    assert pipedrive.calls["POST /api/v2/stages"] == 1


# -- counting ----------------------------------------------------------------------------------


def test_calls_and_token_cost_are_counted_per_endpoint_as_pipedrive_counts_them(pipedrive: PipedriveEmulator,
                                                                                run: Run) -> None:
    run.client.pipelines()
    run.client.stages()
    run.client.fields("deal")
    run.client.lead_labels()
    pipeline = run.client.post(PIPELINES, {"name": "Renewals"})
    run.client.patch(PIPELINES + "/{id}", {"name": "Renewal"}, id=pipeline["id"])
    run.client.delete(PIPELINES + "/{id}", id=pipeline["id"])
    assert emulator_names(run.client.calls) == pipedrive.calls
    assert emulator_names(run.client.token_cost) == pipedrive.costs
    assert run.client.token_cost["GET /api/v2/stages"] == 5     # documented cost (reference §8)
    assert run.client.usage == f"8 Pipedrive API calls, {pipedrive.tokens_spent} tokens of the daily budget"


# -- rate limits -------------------------------------------------------------------------------


def test_a_429_burst_is_waited_out_as_retry_after_asks(pipedrive: PipedriveEmulator, run: Run,
                                                       clock: ManualClock) -> None:
    run.client.company()
    clock.advance(1.5)   # half a second left of the 2-second window: Retry-After 1, then 2 for the next window
    pipedrive.faults.rate_limit(times=2)
    assert [p["name"] for p in run.client.pipelines()] == ["Pipeline"]
    assert run.waits == [1, 2]
    assert run.lines == [
        f"Pipedrive is limiting requests (HTTP 429: Rate limit exceeded); waiting {wait} s as its Retry-After asks, "
        f"then retrying (retry {n} of 5)…" for n, wait in ((1, 1), (2, 2))]
    assert run.client.calls["GET /api/v2/pipelines"] == 3
    assert run.client.token_cost["GET /api/v2/pipelines"] == pipedrive.costs["GET /api/v2/pipelines"] == 10


def test_the_burst_window_of_a_real_run_is_waited_out(pipedrive: PipedriveEmulator, run: Run) -> None:
    stage_id = min(pipedrive.account.stages)
    for _ in range(25):   # 20 requests a 2-second window (the entry plan's burst limit)
        assert run.client.get(STAGES + "/{id}", id=stage_id)["id"] == stage_id
    assert run.waits == [2]
    assert run.client.calls["GET /api/v2/stages/{id}"] == 26   # 25 answers and the one 429


def test_a_burst_limit_that_does_not_lift_stops_after_the_retries(pipedrive: PipedriveEmulator, run: Run) -> None:
    run.client.company()
    pipedrive.faults.rate_limit(times=10)
    error = run.refused(run.client.stages, "pd-rate-limited")
    assert error.diagnostics[0].message == ("Pipedrive kept limiting requests (GET /api/v2/stages answered HTTP 429: "
                                            "Rate limit exceeded, 6 times); sos stopped")
    assert run.waits == [2] * 5


def test_a_spent_daily_budget_stops_at_once_and_changes_nothing_more(pipedrive: PipedriveEmulator, run: Run) -> None:
    run.client.company()
    pipeline_id = next(iter(pipedrive.account.pipelines))
    pipedrive.limits.daily_budget = pipedrive.tokens_spent + 2 * 5   # two more writes
    made = []

    def add_stages() -> None:
        for name in ("Discovery", "Demo", "Proposal", "Negotiation"):
            made.append(run.client.post(STAGES, {"name": name, "pipeline_id": pipeline_id})["name"])

    error = run.refused(add_stages, "pd-daily-budget")
    [diagnostic] = error.diagnostics
    assert diagnostic.message == (
        "Pipedrive's daily API limit for 'acme' is used up: Daily token budget exceeded (HTTP 429 on "
        "POST /api/v2/stages); it resets in 9 h 0 min")
    assert diagnostic.why.startswith("sos stopped at once and sent nothing after this call, so nothing more was "
                                     "changed in Pipedrive")
    assert made == ["Discovery", "Demo"]
    assert [s.name for s in pipedrive.account.stages.values() if s.pipeline_id == pipeline_id][-2:] == made
    assert pipedrive.calls["POST /api/v2/stages"] == 3 and run.waits == []


def test_a_429_for_the_daily_budget_is_never_waited_out(pipedrive: PipedriveEmulator, run: Run) -> None:
    run.client.company()
    pipedrive.faults.rate_limit(daily=True)
    error = run.refused(run.client.pipelines, "pd-daily-budget")
    assert "it resets in 9 h 0 min" in error.diagnostics[0].message
    assert run.waits == [] and pipedrive.calls["GET /api/v2/pipelines"] == 1


def test_the_daily_post_and_put_allowance_of_a_token_stops_at_once_too(pipedrive: PipedriveEmulator,
                                                                        run: Run) -> None:
    pipedrive.limits.daily_writes = 1
    run.client.post(PIPELINES, {"name": "Renewals"})
    error = run.refused(lambda: run.client.post(PIPELINES, {"name": "Partners"}), "pd-daily-budget")
    assert error.diagnostics[0].message == (
        "Pipedrive's daily API limit for 'acme' is used up: Daily POST/PUT request limit exceeded (HTTP 429 on "
        "POST /api/v2/pipelines); it resets in 9 h 0 min")
    assert [p.name for p in pipedrive.account.pipelines.values()] == ["Pipeline", "Renewals"] and run.waits == []


# -- server errors -----------------------------------------------------------------------------


def test_a_5xx_is_retried_with_backoff_until_pipedrive_answers(pipedrive: PipedriveEmulator, run: Run) -> None:
    run.client.company()
    pipedrive.faults.server_error(times=2, status=502)
    assert [p["name"] for p in run.client.pipelines()] == ["Pipeline"]
    assert run.waits == [1, 2]
    assert run.lines == ["Pipedrive answered HTTP 502 (Internal server error); retrying in 1 s (retry 1 of 3)…",
                         "Pipedrive answered HTTP 502 (Internal server error); retrying in 2 s (retry 2 of 3)…"]


def test_a_5xx_that_persists_stops_after_the_retries(pipedrive: PipedriveEmulator, run: Run) -> None:
    run.client.company()
    pipedrive.faults.server_error(times=10, status=503)
    error = run.refused(run.client.stages, "pd-server-error")
    assert error.diagnostics[0].message == ("Pipedrive kept failing on GET /api/v2/stages (HTTP 503: Internal server "
                                            "error; 4 tries over 7 s)")
    assert run.waits == [1, 2, 4] and pipedrive.calls["GET /api/v2/stages"] == 4


def test_a_create_that_failed_is_not_sent_again(pipedrive: PipedriveEmulator, run: Run) -> None:
    run.client.company()
    pipedrive.faults.server_error(times=1, status=500, writes_only=True)
    error = run.refused(lambda: run.client.post(PIPELINES, {"name": "Renewals"}), "pd-server-error")
    assert error.diagnostics[0].message == ("Pipedrive failed on POST /api/v2/pipelines (HTTP 500: Internal server "
                                            "error); it may or may not have made it, so sos did not send it again")
    assert pipedrive.calls["POST /api/v2/pipelines"] == 1 and run.waits == []


def test_a_create_refused_with_503_is_sent_again_and_made_once(pipedrive: PipedriveEmulator, run: Run) -> None:
    run.client.company()
    pipedrive.faults.server_error(times=1, status=503, writes_only=True)
    run.client.post(PIPELINES, {"name": "Renewals"})
    assert [p.name for p in pipedrive.account.pipelines.values()] == ["Pipeline", "Renewals"]
    assert run.waits == [1]


# -- the token ---------------------------------------------------------------------------------


def test_a_revoked_token_says_so_and_how_to_make_another(pipedrive: PipedriveEmulator, run: Run) -> None:
    pipedrive.revoke(pipedrive.api_token)
    error = run.refused(run.client.pipelines, "pd-auth-failed")
    [diagnostic] = error.diagnostics
    assert diagnostic.message == ("Pipedrive refused the API token in PIPEDRIVE_API_TOKEN (HTTP 401: unauthorized "
                                  "access): it is wrong, or was revoked or regenerated")
    assert "Settings → Personal preferences → API" in diagnostic.fix
    assert run.waits == []


def test_a_401_after_the_company_check_is_the_same_clear_error(pipedrive: PipedriveEmulator, run: Run) -> None:
    run.client.company()
    pipedrive.faults.unauthorized()
    run.refused(run.client.stages, "pd-auth-failed")
    assert pipedrive.calls["GET /api/v2/stages"] == 1


def test_an_unreachable_pipedrive_is_named(pipedrive: PipedriveEmulator) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    run = Run(pipedrive, api_url=f"http://127.0.0.1:{closed}")
    error = run.refused(run.client.pipelines, "pd-unreachable")
    assert error.diagnostics[0].message == (f"could not reach Pipedrive at http://127.0.0.1:{closed} (GET "
                                            "/api/v1/users/me): ConnectionError")


@contextmanager
def stand_in(status: int, headers: dict[str, str], body: bytes = b"") -> Iterator[str]:
    """The URL of a server on this machine that answers every GET alike, as a misconfigured proxy might."""
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:   # noqa: N802 — the base class's name
            self.send_response(status)
            for name, value in {**headers, "Content-Length": str(len(body))}.items():
                self.send_header(name, value.replace("{path}", self.path))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    with ThreadingHTTPServer(("127.0.0.1", 0), Handler) as server:
        threading.Thread(target=server.serve_forever, daemon=True).start()
        yield f"http://127.0.0.1:{server.server_address[1]}"
        server.shutdown()


def test_a_redirect_is_not_followed_with_the_token(pipedrive: PipedriveEmulator) -> None:
    with stand_in(307, {"Location": pipedrive.api_url + "{path}"}) as url:
        run = Run(pipedrive, api_url=url)
        error = run.refused(run.client.pipelines, "pd-api-error")
    assert error.diagnostics[0].message == (
        f"Pipedrive answered GET /api/v1/users/me with a redirect (HTTP 307) to {pipedrive.api_url}/api/v1/users/me; "
        "sos does not follow it, so that the token goes nowhere else")
    assert pipedrive.calls == Counter()


def test_an_api_url_that_is_not_pipedrive_is_named(pipedrive: PipedriveEmulator) -> None:
    with stand_in(200, {"Content-Type": "application/json"}, b'{"success": true, "data": null}') as url:
        run = Run(pipedrive, api_url=url)
        error = run.refused(run.client.pipelines, "pd-api-error")
    assert error.diagnostics[0].message == "Pipedrive's answer to GET /api/v1/users/me names no company"


def test_a_429_that_asks_to_wait_over_a_minute_is_never_waited_out(pipedrive: PipedriveEmulator) -> None:
    # The body of Pipedrive's 429 for a spent budget is UNVERIFIED (reference §8); its Retry-After to the next day
    # tells it apart from the 2-second window whatever the body says.
    body = b'{"success": false, "error": "Too Many Requests", "data": null}'
    with stand_in(429, {"Retry-After": "3600", "Content-Type": "application/json"}, body) as url:
        run = Run(pipedrive, api_url=url)
        error = run.refused(run.client.pipelines, "pd-daily-budget")
    assert error.diagnostics[0].message == ("Pipedrive's daily API limit for 'acme' is used up: Too Many Requests "
                                            "(HTTP 429 on GET /api/v1/users/me); it resets in 1 h 0 min")
    assert run.waits == []


def test_a_429_without_retry_after_waits_one_burst_window(pipedrive: PipedriveEmulator) -> None:
    with stand_in(429, {}) as url:
        run = Run(pipedrive, api_url=url)
        run.refused(run.client.pipelines, "pd-rate-limited")
    assert run.waits == [2] * 5
    assert run.lines[0] == ("Pipedrive is limiting requests (HTTP 429: Too Many Requests); waiting 2 s, a burst "
                            "window (it sent no Retry-After), then retrying (retry 1 of 5)…")


def test_the_token_never_shows(pipedrive: PipedriveEmulator, caplog: pytest.LogCaptureFixture,
                               capsys: pytest.CaptureFixture[str]) -> None:
    caplog.set_level(logging.DEBUG)
    token = pipedrive.api_token
    run = Run(pipedrive)
    run.client.company()
    texts: list[str] = [repr(run.client), repr(run.connection), str(run.connection)]
    # Pipedrive names unknown keys in its answer: a token pasted into a request comes back in the error.
    for failing in (lambda: run.client.post(FIELDS["deal"], {"field_name": "x", "field_type": "varchar", token: 1}),
                    lambda: (pipedrive.faults.rate_limit(times=1), pipedrive.faults.rate_limit(daily=True),
                             run.client.pipelines()),
                    lambda: (pipedrive.faults.server_error(times=9), run.client.stages()),
                    lambda: (pipedrive.revoke(token), run.client.lead_labels())):
        with pytest.raises(SosError) as caught:
            failing()
        texts += [str(caught.value), repr(caught.value), *(d.why + d.fix for d in caught.value.diagnostics)]
    texts += run.lines + [caplog.text, *capsys.readouterr()]
    assert "Invalid field(s) in the payload: [redacted]" in texts[3]
    assert [text for text in texts if token in text] == []


def test_the_connection_keeps_the_token_out_of_its_repr() -> None:
    found = Connection("https://acme.pipedrive.com", "acme", "PIPEDRIVE_API_TOKEN", "s3cr3t-token-value")
    assert "s3cr3t" not in repr(found)


def test_a_deals_changelog_is_read_by_cursor_across_pages(pipedrive: PipedriveEmulator) -> None:
    """GET /v1/deals/{id}/changelog is a v1 endpoint paged by cursor: `cursor` and `limit` in, `additional_data.
    next_cursor` out (Node SDK v32.2.1, DealsApi getDealChangelog; tests/emulators/pipedrive/history.py). Every item
    is read, not the first page alone."""
    account = pipedrive.account
    owner = account.user["id"]
    deal = load_deal(account, {"title": "Acme", "owner_id": owner, "stage_id": next(iter(account.stages)),
                               "value": 100}, created="2026-11-01T09:00:00Z",
                     updates=[(f"2026-11-0{day}T09:00:00Z", owner, {"value": 100 * day}) for day in range(2, 7)])
    run = Run(pipedrive, page_size=2)
    items = list(run.client.paged(CHANGELOG, id=deal))
    assert [(i["field_key"], i["old_value"], i["new_value"]) for i in items] == \
        [("value", "100", "200"), ("value", "200", "300"), ("value", "300", "400"), ("value", "400", "500"),
         ("value", "500", "600")]
    assert pipedrive.calls["GET /v1/deals/{id}/changelog"] == 3
