"""A HubSpot task is done when its status says so: hs_task_status, "either COMPLETED or NOT_STARTED" (the tasks guide,
developers.hubspot.com/docs/api/crm/tasks, "Properties"). The History sos reads the tasks on deals through takes the
moment from the completion date, or from the task's last change when HubSpot holds none, and never calls a task that
a rep reopened done, whatever completion date it kept."""

from __future__ import annotations

from datetime import UTC, datetime

from sos.backends.hubspot.client import HubSpotClient
from sos.backends.hubspot.history import PortalHistory
from tests.emulators.hubspot import HubSpotEmulator
from tests.emulators.hubspot.loader import load_record


def test_a_task_is_done_when_its_status_is_completed(hub: HubSpotEmulator, client: HubSpotClient) -> None:
    owner, user = hub.portal.add_owner("ana@example.com")
    [deal] = hub.seed("deals", [{"dealname": "Acme", "dealstage": "qualifiedtobuy"}])

    def task(subject: str, status: str, completed: str | None = None,
             updates: tuple[tuple[str, int | None, dict[str, object]], ...] = ()) -> str:
        return load_record(hub.portal, "tasks", {"hs_task_subject": subject, "hs_timestamp": "2026-12-01",
                                                 "hubspot_owner_id": owner, "hs_task_status": status,
                                                 "hs_task_completion_date": completed},
                           created="2026-11-28T09:00:00Z", by=user, updates=updates, associations={"deals": [deal]})

    done = task("Call", "COMPLETED", "2026-11-29T12:00:00Z")
    reopened = task("Demo", "NOT_STARTED", "2026-11-29T10:00:00Z")
    by_integration = task("Email", "NOT_STARTED", updates=(("2026-11-30T08:00:00Z", None,
                                                            {"hs_task_status": "COMPLETED"}),))

    found = {a.id: (a.record, a.subject, a.owner, a.completed)
             for a in PortalHistory(client).activities("opportunity", datetime(2026, 11, 27, tzinfo=UTC))}
    assert found == {done: (deal, "Call", "ana@example.com", datetime(2026, 11, 29, 12, tzinfo=UTC)),
                     reopened: (deal, "Demo", "ana@example.com", None),
                     by_integration: (deal, "Email", "ana@example.com", datetime(2026, 11, 30, 8, tzinfo=UTC))}
