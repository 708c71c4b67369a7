"""How semantic keys become CRM API names (shared by checks and backends)."""

from __future__ import annotations

from collections.abc import Mapping

SALESFORCE_NAME_LIMIT = 40  # characters before the __c suffix (shared/reference/salesforce.md §10)
SALESFORCE_LABEL_LIMIT = 40  # a custom field's label (reference §5)
REQUIREMENT_RULE_SUFFIX = "__required"  # ends the keys of the rules made from stages' `require`


def salesforce_field_name(key: str, api_names: Mapping[str, str] | None = None) -> str:
    """`budget_confirmed` → `Budget_Confirmed__c`, unless the blueprint overrides it."""
    override = (api_names or {}).get("salesforce") or (api_names or {}).get("*")
    if override:
        return override
    return "_".join(part.capitalize() for part in key.split("_")) + "__c"


def salesforce_name_problem(name: str) -> str:
    """Why Salesforce would refuse `name` as a custom field's API name, or ''."""
    base = name[:-3] if name.endswith("__c") else name
    if not name.endswith("__c"):
        return "custom field names end in __c"
    if len(base) > SALESFORCE_NAME_LIMIT:
        return f"it is {len(base)} characters before __c; Salesforce allows {SALESFORCE_NAME_LIMIT}"
    if not base[:1].isalpha() or not base.replace("_", "").isalnum() or not base.isascii():
        return "it must start with a letter and use only letters, digits and underscores"
    if "__" in base or base.endswith("_"):
        return "Salesforce forbids double underscores and a trailing underscore"
    return ""
