"""Salesforce API names of the standard fields sos knows (sos.expr.types.STANDARD_FIELD_TYPES), and the Naming
the Salesforce dialects (formula, SOQL) read an object's fields and values through.

Custom fields are named by names.salesforce_field_name (`budget_confirmed` → `Budget_Confirmed__c`,
or the blueprint's `api_name`); `api_names_for` puts both together.
"""

from __future__ import annotations

from collections.abc import Mapping

from sos.expr.dialects.base import Naming

# object → sos field key → Salesforce API name; one entry per key of STANDARD_FIELD_TYPES but days_in_stage, which
# Salesforce does not hold: the dialects count it from LastStageChangeDate (sf_formula.STAGE_ENTERED).
STANDARD_API_NAMES: dict[str, dict[str, str]] = {
    "opportunity": {
        "name": "Name",
        "amount": "Amount",
        "close_date": "CloseDate",
        "stage": "StageName",
        "owner": "OwnerId",
        "created_date": "CreatedDate",
        "next_step": "NextStep",
        "probability": "Probability",
        "forecast_category": "ForecastCategoryName",
        "last_activity_date": "LastActivityDate",
        "lead_source": "LeadSource",
        "account": "AccountId",
        "description": "Description",
        "type": "Type",
    },
    "lead": {
        "first_name": "FirstName",
        "last_name": "LastName",
        "name": "Name",
        "company": "Company",
        "email": "Email",
        "phone": "Phone",
        "title": "Title",
        "status": "Status",
        "last_activity_date": "LastActivityDate",
        "lead_source": "LeadSource",
        "industry": "Industry",
        "country": "Country",
        "state": "State",
        "city": "City",
        "employees": "NumberOfEmployees",
        "annual_revenue": "AnnualRevenue",
        "website": "Website",
        "owner": "OwnerId",
        "created_date": "CreatedDate",
        "description": "Description",
    },
    "account": {
        "name": "Name",
        "industry": "Industry",
        "employees": "NumberOfEmployees",
        "annual_revenue": "AnnualRevenue",
        "country": "BillingCountry",
        "state": "BillingState",
        "type": "Type",
        "website": "Website",
        "owner": "OwnerId",
        "created_date": "CreatedDate",
        "description": "Description",
    },
    "contact": {
        "first_name": "FirstName",
        "last_name": "LastName",
        "name": "Name",
        "email": "Email",
        "phone": "Phone",
        "title": "Title",
        "account": "AccountId",
        "lead_source": "LeadSource",
        "owner": "OwnerId",
        "created_date": "CreatedDate",
        "description": "Description",
    },
}

# Standard fields sos reads as text that are picklists in Salesforce (besides StageName and
# Status, which sos types as stage and lead_status): a formula reads them through ISPICKVAL or
# TEXT(), never with `=` ("StageName = 'Proposal'" does not compile; reference §9).
STANDARD_PICKLISTS: dict[str, frozenset[str]] = {
    "opportunity": frozenset({"LeadSource", "Type", "ForecastCategoryName"}),
    "lead": frozenset({"LeadSource", "Industry"}),
    "account": frozenset({"Industry", "Type"}),
    "contact": frozenset({"LeadSource"}),
}

# Compound fields a validation rule cannot read (API 20.0+: "validation rules can't have compound
# fields ... first and last names"); SOQL can. UNVERIFIED for formulas beyond that sentence.
FORMULA_COMPOUND_FIELDS: dict[str, frozenset[str]] = {
    "lead": frozenset({"Name"}),
    "contact": frozenset({"Name"}),
}


# The values Salesforce stores for sos's forecast category keys: ForecastCategoryName holds the category's name
# ("Best Case", "Commit"; reference §6: the UI's "Commit" is the API's `Forecast`), which SOQL and formulas compare.
FORECAST_CATEGORY_NAMES = {"pipeline": "Pipeline", "best_case": "Best Case", "commit": "Commit", "closed": "Closed",
                           "omitted": "Omitted"}
TEXT_VALUES: dict[str, dict[str, dict[str, str]]] = {"opportunity": {"forecast_category": FORECAST_CATEGORY_NAMES}}


def api_names_for(object: str, custom: Mapping[str, str]) -> dict[str, str]:
    """Field key → API name for `object`: its standard fields, then `custom` (which wins on a clash)."""
    return {**STANDARD_API_NAMES[object], **custom}


def expression_naming(object: str, custom: Mapping[str, str], stage_values: Mapping[str, str],
                      status_values: Mapping[str, str]) -> Naming:
    """The Naming of `object` for the Salesforce dialects: API names of its standard fields and of `custom` (field
    key → API name), and the values Salesforce stores for stage and lead status keys."""
    return Naming(api_names_for(object, custom), stage_values, status_values,
                  STANDARD_PICKLISTS.get(object, frozenset()), FORMULA_COMPOUND_FIELDS.get(object, frozenset()),
                  TEXT_VALUES.get(object, {}))
