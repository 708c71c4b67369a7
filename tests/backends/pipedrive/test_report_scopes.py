"""A read the weekly reports make that Pipedrive refuses (HTTP 403) says which scope it needs.

Pipedrive's API reference lists the scope of each endpoint (the emulator's routes.py holds them): a deal's changelog
`recents:read`, activities `activities:read`, users `users:read`; a token without it gets 403 "Scope and URL
mismatch" (reference/pipedrive.md §2). The emulator refuses a scoped token by those lists.
"""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from sos.cli import cli
from tests.backends.pipedrive.conftest import SMALL, Repo
from tests.emulators.pipedrive import PipedriveEmulator
from tests.emulators.pipedrive.loader import load_deal

EVERY_READ = {"deals:read", "contacts:read", "leads:read", "users:read", "activities:read", "recents:read"}


@pytest.mark.parametrize("command, missing, operation, what", [
    ("review", "recents:read", "GET /api/v1/deals/{id}/changelog", "the deals' change logs"),
    ("trace", "activities:read", "GET /api/v2/activities", "activities"),
    ("forecast", "users:read", "GET /api/v1/users", "the company's users"),
])
def test_a_refused_report_read_names_the_scope_it_needs(repo: Repo, pipedrive: PipedriveEmulator, command: str,
                                                         missing: str, operation: str, what: str) -> None:
    repo.write(SMALL).sos("apply", "--auto-approve")
    account = pipedrive.account
    stage = min(s.id for s in account.stages.values() if not s.is_deleted)
    user = int(account.user["id"])
    load_deal(account, {"title": "Moved", "stage_id": stage, "owner_id": user, "value": 1000},
              created="2026-11-02T10:00:00Z", updates=[("2026-11-03T10:00:00Z", user, {"value": 5000})])
    token = pipedrive.oauth_token(EVERY_READ - {missing})
    repo.monkeypatch.chdir(repo.root)
    # as of a pinned day: the deal was saved in the week before, so the review reads its changelog
    result = CliRunner().invoke(cli, [command, "--target", "pd", "--today", "2026-11-06"],
                                env={"PIPEDRIVE_API_TOKEN": token, "NO_COLOR": "1"})
    assert result.exit_code == 1, result.output
    assert result.stderr.splitlines()[-2:] == [
        f"error: Pipedrive refused {operation} (HTTP 403: Scope and URL mismatch) [pd-forbidden]",
        f"  fix: the token must be allowed to read {what} (Pipedrive's scope {missing}): use the API token of an "
        "admin of the company, or of a user whose permission set allows it"]
    assert token not in result.output
