"""What sos's things are called in Salesforce: objects, field types, forecast categories, and API names.

A name sos makes keeps Salesforce's rules for developer names (≤ 40 characters, letters,
digits and single underscores); where a key cannot say it exactly, a stable hash of what
the component is stands in for the words that do not fit.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any
from collections.abc import Mapping, Sequence

from sos.model.automation import StageAgeOver, automation_of, stage_limits
from sos.model.resources import Address, Kind, Model, Resource
from sos.naming import EXIT_SUFFIX, REQUIREMENT_RULE_SUFFIX

if TYPE_CHECKING:
    from sos.backends.salesforce.read import LiveOrg

OBJECTS = {"lead": "Lead", "contact": "Contact", "account": "Account", "opportunity": "Opportunity"}
PLURALS = {"lead": "Leads", "contact": "Contacts", "account": "Accounts", "opportunity": "Opportunities"}
STAGE_SET, STATUS_SET = "OpportunityStage", "LeadStatus"
PERMISSION_SET = "Sos_Managed_Fields"
NOTIFICATION_TYPE = "Sos_Cadence"       # the CustomNotificationType every notify flow sends through
NOTIFICATION_FILE = f"notificationtypes/{NOTIFICATION_TYPE}.notiftype"

FIELD_TYPES = {"text": "Text", "long_text": "LongTextArea", "number": "Number", "currency": "Currency",
               "percent": "Percent", "checkbox": "Checkbox", "date": "Date", "datetime": "DateTime",
               "picklist": "Picklist", "multi_picklist": "MultiselectPicklist", "lookup": "Lookup",
               "email": "Email", "phone": "Phone", "url": "Url"}
BLUEPRINT_TYPES = {sf: bp for bp, sf in FIELD_TYPES.items()}
NUMERIC_TYPES = ("number", "currency", "percent")    # the field types with a precision and a scale
# Salesforce's UI calls `Forecast` "Commit" (reference §6, WSDL ForecastCategories).
FORECASTS = {"pipeline": "Pipeline", "best_case": "BestCase", "commit": "Forecast", "closed": "Closed",
             "omitted": "Omitted"}
BLUEPRINT_FORECASTS = {sf: bp for bp, sf in FORECASTS.items()} | {"MostLikely": "best_case"}

NAME_LIMIT = 40    # characters of a developer name, and of a custom field's before __c (reference §10)
LABEL_LIMIT = 40   # characters of a custom field's label (reference §5)


def _words(key: str) -> list[str]:
    return [word.capitalize() for word in key.split("_") if word]


def developer_name(words: Sequence[str], identity: str, *, exact: bool = True, limit: int = NAME_LIMIT) -> str:
    """`words` joined by underscores, the Salesforce name rules kept (≤ `limit`, no double underscores).

    When the words do not say exactly what `identity` is (`exact=False`), or are too long,
    whole words are dropped from the end and a stable hash of `identity` is appended.
    """
    name = "_".join(words)
    if exact and len(name) <= limit:
        return name
    suffix = hashlib.sha1(identity.encode()).hexdigest()[:6]
    room = limit - len(suffix) - 1
    kept = list(words)
    while len(kept) > 1 and len("_".join(kept)) > room:
        kept.pop()
    return "_".join(kept)[:room].rstrip("_") + "_" + suffix


def rule_api_name(key: str) -> str:
    """`close_date_not_past` → `Sos_Close_Date_Not_Past`; a stage-requirement rule
    `new_business__proposal__required` → `Sos_New_Business_Proposal_<hash>` (its key does not fit the name rules)."""
    generated = key.endswith(REQUIREMENT_RULE_SUFFIX)
    base = key[: -len(REQUIREMENT_RULE_SUFFIX)] if generated else key
    exact = not generated and "__" not in key and not key.endswith("_")
    return developer_name(["Sos", *_words(base)], f"rule {key}", exact=exact)


FLOW_NAME_LIMIT = 80   # characters of a Flow's API name (Metadata API, Flow: fullName)


def flow_name(address: Address) -> str:
    """The Flow a cadence becomes: `opportunity.mutual_action_plan` → `Sos_Opportunity_Mutual_Action_Plan`."""
    return developer_name(["Sos", *_words(address.scope), *_words(address.key)], f"cadence {address}",
                          exact="__" not in address.key and not address.key.endswith("_"), limit=FLOW_NAME_LIMIT)


def cadence_flow_names(model: Model, resource: Resource) -> dict[str, str | None]:
    """The Flows a cadence becomes, each with the stage it watches: one (None) for a cadence on an event, one per
    watched stage for a `stage_age_over` cadence (`Sos_Opportunity_Stale_Deal_In_Discovery`)."""
    trigger = automation_of(resource).trigger if resource.attrs else None
    if not isinstance(trigger, StageAgeOver):
        return {flow_name(resource.address): None}
    address = resource.address
    names: dict[str, str | None] = {}
    for stage in stage_limits(model, trigger):
        # Two names could only be the same words if a cadence's key held the word "in" itself.
        exact = all("__" not in key and not key.endswith("_") for key in (address.key, stage)) \
            and "in" not in address.key.split("_")
        names[developer_name(["Sos", *_words(address.scope), *_words(address.key), "In", *_words(stage)],
                             f"cadence {address} in {stage}", exact=exact, limit=FLOW_NAME_LIMIT)] = stage
    return names


def validation_rule_name(address: Address) -> str:
    """The ValidationRule name of a rule or a stage requirement (`new_business.proposal` →
    `Sos_New_Business_Proposal_<hash>`, the name the rules sos made from stages' `require` always had)."""
    if address.kind is Kind.STAGE_REQUIREMENT:
        return rule_api_name(f"{address.scope}__{address.key}{REQUIREMENT_RULE_SUFFIX}")
    return rule_api_name(address.key)


def describe(address: Address) -> str:
    """How a message names a resource: `rule close_date_not_past`, `the required fields of stage proposal (pipeline
    new_business)`."""
    if address.kind is Kind.STAGE_REQUIREMENT and address.key.endswith(EXIT_SUFFIX):
        return f"the fields needed to leave stage {address.key.removesuffix(EXIT_SUFFIX)} (pipeline {address.scope})"
    if address.kind is Kind.STAGE_REQUIREMENT:
        return f"the required fields of stage {address.key} (pipeline {address.scope})"
    return f"{address.kind.value.replace('_', ' ')} {address.key}"


def process_api_name(key: str) -> str:
    """The BusinessProcess and RecordType name of a pipeline: `new_business` → `New_Business`."""
    return developer_name(_words(key), f"pipeline {key}", exact="__" not in key and not key.endswith("_"))


def salesforce_field_name(key: str, api_names: Mapping[str, str] | None = None) -> str:
    """`budget_confirmed` → `Budget_Confirmed__c`, unless the blueprint's `api_name:` says otherwise for
    salesforce (or for every CRM, `*`)."""
    override = (api_names or {}).get("salesforce") or (api_names or {}).get("*")
    if override:
        return override
    return "_".join(part.capitalize() for part in key.split("_")) + "__c"


def field_name_problem(name: str) -> str:
    """Why Salesforce would refuse `name` as a custom field's API name, or ''."""
    base = name[:-3] if name.endswith("__c") else name
    if not name.endswith("__c"):
        return "custom field names end in __c"
    if len(base) > NAME_LIMIT:
        return f"it is {len(base)} characters before __c; Salesforce allows {NAME_LIMIT}"
    if not base[:1].isalpha() or not base.replace("_", "").isalnum() or not base.isascii():
        return "it must start with a letter and use only letters, digits and underscores"
    if "__" in base or base.endswith("_"):
        return "Salesforce forbids double underscores and a trailing underscore"
    return ""


def field_api_name(resource: Resource) -> str:
    """`Budget_Confirmed__c`, or the blueprint's `api_name` for Salesforce."""
    return salesforce_field_name(resource.address.key, resource.attrs.get("api_names"))


def stage_value_name(address: Address, attrs: Mapping[str, Any], live: LiveOrg | None) -> str:
    """The value Salesforce stores (StageName, Status) for a stage or lead status: the org's, else its label."""
    found = live.names.get(address) if live is not None else None
    return found or str(attrs.get("label") or address.key)
