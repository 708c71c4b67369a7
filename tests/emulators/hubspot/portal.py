"""One emulated HubSpot account (portal): property groups, properties, pipelines and records per object type.

Seeded as a new portal is (reference §4, §10, §11): the deal pipeline "default" with its seven stages (createdAt
epoch 0), the ticket pipeline "0", one property group per object and HubSpot-defined properties
(`hubspotDefined: true`, not archivable) such as `dealstage`, `pipeline` and the contact property `hs_lead_status`.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from .limits import Clock

OBJECT_TYPES = ("deals", "contacts", "companies")
# Activities: records under /crm/v3/objects/{objectType} too, but no property or pipeline routes here.
ACTIVITY_TYPES = ("tasks",)
RECORD_TYPES = OBJECT_TYPES + ACTIVITY_TYPES
PIPELINE_TYPES = ("deals", "tickets")
EPOCH = "1970-01-01T00:00:00Z"

# tier → most deal pipelines; Sales Hub Free 1, Starter 2 (reference §4), Professional 15, Enterprise 100
# (HubSpot's product catalog; UNVERIFIED numbers).
PIPELINE_CAPS = {"free": 1, "starter": 2, "professional": 15, "enterprise": 100}

DEFAULT_DEAL_STAGES = (
    ("appointmentscheduled", "Appointment Scheduled", "0.2", "false"),
    ("qualifiedtobuy", "Qualified To Buy", "0.4", "false"),
    ("presentationscheduled", "Presentation Scheduled", "0.6", "false"),
    ("decisionmakerboughtin", "Decision Maker Bought-In", "0.8", "false"),
    ("contractsent", "Contract Sent", "0.9", "false"),
    ("closedwon", "Closed Won", "1.0", "true"),
    ("closedlost", "Closed Lost", "0.0", "true"),
)
# Ticket stage ids "1"-"4" are UNVERIFIED (reference §4).
DEFAULT_TICKET_STAGES = (("1", "New", "OPEN"), ("2", "Waiting on contact", "OPEN"), ("3", "Waiting on us", "OPEN"),
                         ("4", "Closed", "CLOSED"))

# The deal's forecast category, the rep's call: hs_manual_forecast_category, labelled "Forecast category"
# (reference/hubspot.md, "stage forecast"; the property integrations read and write, with these values), its options
# those of HubSpot's knowledge base, "Forecast category": Not forecasted, Pipeline, Best case, Commit, Closed won
# (internal values UNVERIFIED).
FORECAST_CATEGORIES = (("OMIT", "Not forecasted"), ("PIPELINE", "Pipeline"), ("BEST_CASE", "Best case"),
                       ("COMMIT", "Commit"), ("CLOSED", "Closed won"))
# hs_task_status (the tasks guide: "either COMPLETED or NOT_STARTED").
TASK_STATUSES = (("NOT_STARTED", "Not started"), ("COMPLETED", "Completed"))

# hs_lead_status defaults (reference §10; internal values UNVERIFIED).
LEAD_STATUSES = (("NEW", "New"), ("OPEN", "Open"), ("IN_PROGRESS", "In Progress"), ("OPEN_DEAL", "Open Deal"),
                 ("UNQUALIFIED", "Unqualified"), ("ATTEMPTED_TO_CONTACT", "Attempted to Contact"),
                 ("CONNECTED", "Connected"), ("BAD_TIMING", "Bad Timing"))

GROUPS = {"deals": ("dealinformation", "Deal information"), "contacts": ("contactinformation", "Contact information"),
          "companies": ("companyinformation", "Company information"), "tasks": ("taskinformation", "Task information")}

# (name, label, type, fieldType, readOnlyValue, options); options None for non-enumerations.
_TEXT, _NUMBER, _DATETIME = ("string", "text"), ("number", "number"), ("datetime", "date")
BUILT_INS: dict[str, list[tuple[str, str, tuple[str, str], bool, tuple[tuple[str, str], ...] | None]]] = {
    "deals": [
        ("dealname", "Deal Name", _TEXT, False, None),
        ("amount", "Amount", _NUMBER, False, None),
        ("closedate", "Close Date", _DATETIME, False, None),
        ("pipeline", "Pipeline", ("enumeration", "select"), False, ()),     # options mirror the pipelines
        ("dealstage", "Deal Stage", ("enumeration", "select"), False, ()),  # options mirror every stage
        ("dealtype", "Deal Type", ("enumeration", "radio"),
         False, (("newbusiness", "New Business"), ("existingbusiness", "Existing Business"))),
        ("hubspot_owner_id", "Deal owner", ("enumeration", "select"), False, ()),
        ("createdate", "Create Date", _DATETIME, False, None),
        ("hs_lastmodifieddate", "Last Modified Date", _DATETIME, True, None),
        ("hs_object_id", "Record ID", _NUMBER, True, None),
        ("hs_next_step", "Next step", _TEXT, False, None),
        ("hs_manual_forecast_category", "Forecast category", ("enumeration", "select"), False, FORECAST_CATEGORIES),
        ("notes_last_updated", "Last Activity Date", _DATETIME, True, None),
    ],
    "contacts": [
        ("firstname", "First Name", _TEXT, False, None),
        ("lastname", "Last Name", _TEXT, False, None),
        ("email", "Email", _TEXT, False, None),
        ("hs_lead_status", "Lead Status", ("enumeration", "radio"), False, LEAD_STATUSES),
        ("hubspot_owner_id", "Contact owner", ("enumeration", "select"), False, ()),
        ("createdate", "Create Date", _DATETIME, False, None),
        ("lastmodifieddate", "Last Modified Date", _DATETIME, True, None),
        ("hs_object_id", "Record ID", _NUMBER, True, None),
        ("company", "Company Name", _TEXT, False, None),
        ("notes_last_updated", "Last Activity Date", _DATETIME, True, None),
    ],
    "companies": [
        ("name", "Company name", _TEXT, False, None),
        ("domain", "Company Domain Name", _TEXT, False, None),
        ("hubspot_owner_id", "Company owner", ("enumeration", "select"), False, ()),
        ("createdate", "Create Date", _DATETIME, False, None),
        ("hs_lastmodifieddate", "Last Modified Date", _DATETIME, True, None),
        ("hs_object_id", "Record ID", _NUMBER, True, None),
    ],
    # The tasks guide's properties; hs_createdate and hs_task_completion_date are HubSpot's own (UNVERIFIED names
    # beyond HubSpot's task property list).
    "tasks": [
        ("hs_timestamp", "Due date", _DATETIME, False, None),
        ("hs_task_subject", "Task Title", _TEXT, False, None),
        ("hs_task_status", "Task Status", ("enumeration", "select"), False, TASK_STATUSES),
        ("hubspot_owner_id", "Assigned to", ("enumeration", "select"), False, ()),
        ("hs_createdate", "Create Date", _DATETIME, True, None),
        ("hs_task_completion_date", "Completed at", _DATETIME, True, None),
        ("hs_lastmodifieddate", "Last Modified Date", _DATETIME, True, None),
        ("hs_object_id", "Record ID", _NUMBER, True, None),
    ],
}
# Built-ins whose options a portal may edit (hs_lead_status, dealtype); the rest are HubSpot's own.
EDITABLE_OPTIONS = {"hs_lead_status", "dealtype"}
# Options computed from other state, never stored or written through the properties API.
MIRRORED = {"pipeline", "dealstage"}
# The properties a record read returns when the caller names none (HubSpot's object guides).
DEFAULT_PROPERTIES = {
    "deals": ("amount", "closedate", "createdate", "dealname", "dealstage", "hs_lastmodifieddate", "hs_object_id",
              "pipeline"),
    "contacts": ("createdate", "email", "firstname", "hs_object_id", "lastmodifieddate", "lastname"),
    "companies": ("createdate", "domain", "hs_lastmodifieddate", "hs_object_id", "name"),
    "tasks": ("hs_createdate", "hs_lastmodifieddate", "hs_object_id"),
}
MODIFIED = {"deals": "hs_lastmodifieddate", "contacts": "lastmodifieddate", "companies": "hs_lastmodifieddate",
            "tasks": "hs_lastmodifieddate"}
CREATED = {"deals": "createdate", "contacts": "createdate", "companies": "createdate", "tasks": "hs_createdate"}


def iso(moment: datetime) -> str:
    """HubSpot's timestamps: ISO 8601, UTC, milliseconds, `Z`."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


@dataclass
class Portal:
    portal_id: int
    clock: Clock
    tier: str = "starter"
    groups: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    properties: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    pipelines: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    records: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    owners: list[dict[str, Any]] = field(default_factory=list)   # GET /crm/v3/owners (the owners guide's fields)
    _next_id: int = 1_000_000

    def __post_init__(self) -> None:
        for object_type in RECORD_TYPES:
            self.groups[object_type] = {}
            self.properties[object_type] = {}
            self.records[object_type] = {}
            name, label = GROUPS[object_type]
            self.groups[object_type][name] = {"name": name, "label": label, "displayOrder": -1, "archived": False}
            for built_in in BUILT_INS[object_type]:
                prop = _built_in(*built_in, group=name)
                self.properties[object_type][prop["name"]] = prop
        self.pipelines = {"deals": {"default": _default_deal_pipeline()}, "tickets": {"0": _default_ticket_pipeline()}}

    @property
    def pipeline_cap(self) -> int:
        return PIPELINE_CAPS[self.tier]

    def new_id(self) -> str:
        self._next_id += 1
        return str(self._next_id)

    def now(self) -> str:
        return iso(self.clock())

    def add_owner(self, email: str) -> tuple[str, int]:
        """A user of the portal and the owner HubSpot makes for it: (owner id, user id)."""
        owner_id, user_id = self.new_id(), 9_000_000 + len(self.owners)
        first, _, last = email.partition("@")[0].partition(".")
        self.owners.append({"id": owner_id, "email": email, "type": "PERSON", "firstName": first.title(),
                            "lastName": last.title(), "userId": user_id, "userIdIncludingInactive": user_id,
                            "createdAt": EPOCH, "updatedAt": EPOCH, "archived": False, "teams": []})
        return owner_id, user_id

    def deactivate_owner(self, owner_id: str) -> None:
        """The owner's user is deactivated: the owner is archived (listed with `archived=true`) and its userId is
        left out, userIdIncludingInactive kept (the owners guide; UNVERIFIED beyond the field names)."""
        owner = next(o for o in self.owners if o["id"] == owner_id)
        owner.update(archived=True, userId=None)

    def live_pipelines(self, object_type: str) -> list[dict[str, Any]]:
        return [p for p in self.pipelines[object_type].values() if not p["archived"]]

    def stage_pipeline(self, stage_id: str) -> dict[str, Any] | None:
        """The live deal pipeline holding a live stage with this id."""
        for pipeline in self.live_pipelines("deals"):
            stage = pipeline["stages"].get(stage_id)
            if stage is not None and not stage["archived"]:
                return pipeline
        return None

    def options_of(self, object_type: str, prop: dict[str, Any]) -> list[dict[str, Any]]:
        if object_type == "deals" and prop["name"] == "pipeline":
            return [_option(p["id"], p["label"], p["displayOrder"]) for p in ordered(self.live_pipelines("deals"))]
        if object_type == "deals" and prop["name"] == "dealstage":
            return [_option(s["id"], s["label"], s["displayOrder"])
                    for p in ordered(self.live_pipelines("deals")) for s in ordered(live_stages(p))]
        return copy.deepcopy(prop["options"])

    def deals_in(self, stage_ids: set[str]) -> int:
        return sum(1 for deal in self.records["deals"].values()
                   if not deal["archived"] and deal["properties"].get("dealstage") in stage_ids)


def live_stages(pipeline: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for s in pipeline["stages"].values() if not s["archived"]]


def ordered(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """displayOrder, ties alphabetically by label (the pipelines API's rule)."""
    return sorted(items, key=lambda item: (item["displayOrder"], item["label"]))


def _option(value: str, label: str, order: int) -> dict[str, Any]:
    return {"label": label, "value": value, "displayOrder": order, "hidden": False}


def _built_in(name: str, label: str, kind: tuple[str, str], read_only_value: bool,
              options: tuple[tuple[str, str], ...] | None, *, group: str) -> dict[str, Any]:
    return {
        "name": name, "label": label, "type": kind[0], "fieldType": kind[1], "description": "", "groupName": group,
        "options": [_option(value, text, i) for i, (value, text) in enumerate(options or ())],
        "displayOrder": -1, "calculated": False, "externalOptions": False, "hasUniqueValue": False, "hidden": False,
        "hubspotDefined": True, "formField": False, "archived": False, "createdAt": EPOCH, "updatedAt": EPOCH,
        "modificationMetadata": {"archivable": False, "readOnlyDefinition": True, "readOnlyValue": read_only_value,
                                 "readOnlyOptions": name not in EDITABLE_OPTIONS},
    }


def _stage(stage_id: str, label: str, order: int, metadata: dict[str, str]) -> dict[str, Any]:
    return {"id": stage_id, "label": label, "displayOrder": order, "metadata": metadata,
            "writePermissions": "CRM_PERMISSIONS_ENFORCEMENT", "archived": False, "createdAt": EPOCH,
            "updatedAt": EPOCH}


def _default_deal_pipeline() -> dict[str, Any]:
    stages = {sid: _stage(sid, label, i, {"isClosed": closed, "probability": probability})
              for i, (sid, label, probability, closed) in enumerate(DEFAULT_DEAL_STAGES)}
    return {"id": "default", "label": "Sales Pipeline", "displayOrder": 0, "archived": False, "createdAt": EPOCH,
            "updatedAt": EPOCH, "stages": stages}


def _default_ticket_pipeline() -> dict[str, Any]:
    stages = {sid: _stage(sid, label, i, {"ticketState": state})
              for i, (sid, label, state) in enumerate(DEFAULT_TICKET_STAGES)}
    return {"id": "0", "label": "Support Pipeline", "displayOrder": 0, "archived": False, "createdAt": EPOCH,
            "updatedAt": EPOCH, "stages": stages}
