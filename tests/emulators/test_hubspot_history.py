"""What the HubSpot emulator serves for the weekly reports, through the real client (hubspot-api-client over HTTP):
owners (the owners guide: `id` is what hubspot_owner_id holds, `userId` what a version's updatedByUserId holds),
tasks associated with deals and contacts (the tasks guide; its scopes are the contacts'; the associations v4 guide
and its batch read limit of 1,000 ids), batch reads of records by id, and records loaded with
a past (tests/emulators/hubspot/loader.py), their property history newest first."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hubspot.crm.associations.v4 import ApiException as AssociationError
from hubspot.crm.objects import ApiException as ObjectError
from hubspot.crm.owners import ApiException as OwnerError

from tests.emulators.hubspot import HubSpotEmulator
from tests.emulators.hubspot.loader import load_record
from tests.emulators.test_hubspot_emulator import Client, error, hs, hub, running

__all__ = ["hs", "hub", "running"]


def test_owners_name_each_owner_and_user_page_by_page(hub: HubSpotEmulator, hs: Client) -> None:
    made = [hub.portal.add_owner(f"rep{n}@example.com") for n in range(3)]
    first = hs.crm.owners.owners_api.get_page(limit=2)
    rest = hs.crm.owners.owners_api.get_page(limit=2, after=first.paging.next.after)
    assert [(o.id, o.user_id, o.email) for o in [*first.results, *rest.results]] == \
        [(owner, user, f"rep{n}@example.com") for n, (owner, user) in enumerate(made)]
    assert rest.paging is None
    hub.portal.deactivate_owner(made[1][0])
    assert [o.id for o in hs.crm.owners.owners_api.get_page().results] == [made[0][0], made[2][0]]
    [left] = hs.crm.owners.owners_api.get_page(archived=True).results
    assert (left.id, left.user_id, left.user_id_including_inactive) == (made[1][0], None, made[1][1])
    token = hub.add_token({"crm.objects.deals.read"})
    with pytest.raises(OwnerError) as refused:
        hub.client(token).crm.owners.owners_api.get_page()
    assert refused.value.status == 403
    assert error(refused.value)["errors"][0]["context"]["requiredGranularScopes"] == ["crm.objects.owners.read"]


def test_a_record_loaded_with_its_past_answers_each_version_by_its_user(hub: HubSpotEmulator, hs: Client) -> None:
    owner, user = hub.portal.add_owner("ana@example.com")
    deal = load_record(hub.portal, "deals", {"dealname": "Acme", "dealstage": "qualifiedtobuy", "amount": "100",
                                             "hubspot_owner_id": owner, "notes_last_updated": "2026-11-20"},
                       created="2026-11-02T09:00:00Z", by=user,
                       updates=[("2026-11-10T15:00:00Z", user, {"dealstage": "contractsent", "amount": "100"}),
                                ("2026-11-12T15:00:00Z", None, {"amount": "250"})])
    read = hs.crm.objects.basic_api.get_by_id("deals", deal, properties=["notes_last_updated", "createdate",
                                                                         "hs_lastmodifieddate"],
                                              properties_with_history=["dealstage", "amount"])
    history = {name: [(v.value, v.timestamp, v.source_type, v.updated_by_user_id) for v in versions]
               for name, versions in read.properties_with_history.items()}
    nov = lambda day, hour: datetime(2026, 11, day, hour, tzinfo=UTC)   # noqa: E731
    assert history == {
        "dealstage": [("contractsent", nov(10, 15), "CRM_UI", user), ("qualifiedtobuy", nov(2, 9), "CRM_UI", user)],
        "amount": [("250", nov(12, 15), "API", None), ("100", nov(2, 9), "CRM_UI", user)]}
    assert read.properties == {"notes_last_updated": "2026-11-20T00:00:00.000Z",
                               "createdate": "2026-11-02T09:00:00.000Z",
                               "hs_lastmodifieddate": "2026-11-12T15:00:00.000Z"}


def test_tasks_list_with_the_records_they_are_about(hub: HubSpotEmulator, hs: Client) -> None:
    (deal,) = hub.seed("deals", [{"dealname": "Acme", "dealstage": "qualifiedtobuy"}])
    (contact,) = hub.seed("contacts", [{"email": "jo@acme.example"}])
    task = load_record(hub.portal, "tasks", {"hs_task_subject": "Call back", "hs_timestamp": "2026-11-03",
                                             "hs_task_status": "NOT_STARTED"},
                       created="2026-11-02T09:00:00Z", by=None, associations={"deals": [deal]})
    other = load_record(hub.portal, "tasks", {"hs_task_subject": "First touch", "hs_timestamp": "2026-11-03",
                                              "hs_task_status": "COMPLETED",
                                              "hs_task_completion_date": "2026-11-02T10:00:00Z"},
                        created="2026-11-02T09:00:00Z", by=None, associations={"contacts": [contact]})
    page = hs.crm.objects.basic_api.get_page("tasks", properties=["hs_task_subject", "hs_task_completion_date"],
                                             associations=["deals", "contacts"])
    found = {t.id: (t.properties["hs_task_subject"], t.properties["hs_task_completion_date"],
                    {kind: [(a.id, a.type) for a in found.results] for kind, found in (t.associations or {}).items()})
             for t in page.results}
    assert found == {task: ("Call back", None, {"deals": [(deal, "task_to_deal")]}),
                     other: ("First touch", "2026-11-02T10:00:00.000Z", {"contacts": [(contact, "task_to_contact")]})}
    deals = hs.crm.objects.basic_api.get_page("deals", associations=["tasks"]).results
    assert [[a.id for a in d.associations["tasks"].results] for d in deals] == [[task]]
    token = hub.add_token({"crm.objects.deals.read"})
    with pytest.raises(ObjectError) as refused:
        hub.client(token).crm.objects.basic_api.get_page("tasks")
    assert refused.value.status == 403
    assert error(refused.value)["errors"][0]["context"]["requiredGranularScopes"] == \
        ["crm.objects.contacts.read", "crm.objects.contacts.write"]


def test_a_batch_read_answers_the_records_by_id_and_names_the_missing(hub: HubSpotEmulator, hs: Client) -> None:
    deals = hub.seed("deals", [{"dealname": f"Deal {n}", "dealstage": "qualifiedtobuy"} for n in range(2)])
    read = hs.crm.objects.batch_api.read("deals", {"inputs": [{"id": deals[1]}, {"id": "999"}],
                                                   "properties": ["dealname"], "propertiesWithHistory": ["dealstage"]})
    assert [(r.id, r.properties["dealname"], [v.value for v in r.properties_with_history["dealstage"]])
            for r in read.results] == [(deals[1], "Deal 1", ["qualifiedtobuy"])]
    assert [(e.category, e.context) for e in read.errors] == [("OBJECT_NOT_FOUND", {"ids": ["999"]})]
    with pytest.raises(ObjectError) as too_many:
        hs.crm.objects.batch_api.read("deals", {"inputs": [{"id": str(n)} for n in range(51)],
                                                "propertiesWithHistory": ["dealstage"]})
    assert too_many.value.status == 400
    assert "at most 50 inputs with propertiesWithHistory" in error(too_many.value)["message"]


def test_the_associations_api_reads_a_batch_of_tasks_deals(hub: HubSpotEmulator, hs: Client) -> None:
    (deal,) = hub.seed("deals", [{"dealname": "Acme", "dealstage": "qualifiedtobuy"}])
    task = load_record(hub.portal, "tasks", {"hs_task_subject": "Call", "hs_timestamp": "2026-11-03"},
                       created="2026-11-02T09:00:00Z", by=None, associations={"deals": [deal]})
    lonely = load_record(hub.portal, "tasks", {"hs_task_subject": "Alone", "hs_timestamp": "2026-11-03"},
                         created="2026-11-02T09:00:00Z", by=None)
    read = hs.crm.associations.v4.batch_api.get_page("tasks", "deals", {"inputs": [{"id": task}, {"id": lonely}]})
    assert [(r._from.id, [(t.to_object_id, [a.type_id for a in t.association_types]) for t in r.to])
            for r in read.results] == [(task, [(deal, [216])])]
    assert [e.context for e in read.errors] == [{"fromObjectId": [lonely]}]
    with pytest.raises(AssociationError) as too_many:
        hs.crm.associations.v4.batch_api.get_page("tasks", "deals", {"inputs": [{"id": str(n)} for n in range(1001)]})
    assert too_many.value.status == 400 and "at most 1000 inputs" in error(too_many.value)["message"]
