"""What a new Salesforce org ships with: standard objects, their fields, standard values.

Field types use the Metadata API's FieldType names (`Text`, `Picklist`, `Lookup`, ...)
so standard and custom fields can be treated alike; `Id` is the record id.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class StandardField:
    name: str
    label: str
    type: str                          # Metadata API FieldType, or "Id"
    reference_to: str | None = None    # for Lookup
    relationship: str | None = None    # "Account" for AccountId
    picklist: str | None = None        # a StandardValueSet or a key of STATIC_PICKLISTS
    updateable: bool = True
    nillable: bool = True


@dataclass(frozen=True, slots=True)
class StandardObject:
    name: str
    label: str
    plural: str
    key_prefix: str
    fields: tuple[StandardField, ...] = field(default=())
    deployable: bool = True            # may hold custom fields, rules, processes


def _audit(*extra: StandardField) -> tuple[StandardField, ...]:
    return (
        StandardField("Id", "Record ID", "Id", updateable=False, nillable=False),
        *extra,
        StandardField("OwnerId", "Owner ID", "Lookup", reference_to="User", relationship="Owner", nillable=False),
        StandardField("IsDeleted", "Deleted", "Checkbox", updateable=False, nillable=False),
        StandardField("CreatedDate", "Created Date", "DateTime", updateable=False, nillable=False),
        StandardField("CreatedById", "Created By ID", "Lookup", reference_to="User", relationship="CreatedBy",
                      updateable=False, nillable=False),
        StandardField("LastModifiedDate", "Last Modified Date", "DateTime", updateable=False, nillable=False),
        StandardField("LastModifiedById", "Last Modified By ID", "Lookup", reference_to="User",
                      relationship="LastModifiedBy", updateable=False, nillable=False),
        StandardField("SystemModstamp", "System Modstamp", "DateTime", updateable=False, nillable=False),
    )


OBJECTS: dict[str, StandardObject] = {o.name: o for o in (
    StandardObject("Opportunity", "Opportunity", "Opportunities", "006", _audit(
        StandardField("Name", "Name", "Text", nillable=False),
        StandardField("AccountId", "Account ID", "Lookup", reference_to="Account", relationship="Account"),
        StandardField("RecordTypeId", "Record Type ID", "Lookup", reference_to="RecordType", relationship="RecordType"),
        StandardField("Description", "Description", "LongTextArea"),
        StandardField("StageName", "Stage", "Picklist", picklist="OpportunityStage", nillable=False),
        StandardField("Amount", "Amount", "Currency"),
        StandardField("Probability", "Probability (%)", "Percent"),
        StandardField("ExpectedRevenue", "Expected Amount", "Currency", updateable=False),
        StandardField("TotalOpportunityQuantity", "Quantity", "Number"),
        StandardField("CloseDate", "Close Date", "Date", nillable=False),
        StandardField("Type", "Opportunity Type", "Picklist", picklist="OpportunityType"),
        StandardField("NextStep", "Next Step", "Text"),
        StandardField("LeadSource", "Lead Source", "Picklist", picklist="LeadSource"),
        StandardField("IsClosed", "Closed", "Checkbox", updateable=False, nillable=False),
        StandardField("IsWon", "Won", "Checkbox", updateable=False, nillable=False),
        StandardField("ForecastCategory", "Forecast Category", "Picklist", picklist="ForecastCategory",
                      updateable=False),
        StandardField("ForecastCategoryName", "Forecast Category", "Picklist", picklist="ForecastCategoryName"),
        StandardField("LastStageChangeDate", "Last Stage Change Date", "DateTime", updateable=False),
        StandardField("FiscalYear", "Fiscal Year", "Number", updateable=False),
        StandardField("FiscalQuarter", "Fiscal Quarter", "Number", updateable=False),
        StandardField("LastActivityDate", "Last Activity", "Date", updateable=False),
    )),
    StandardObject("Lead", "Lead", "Leads", "00Q", _audit(
        StandardField("LastName", "Last Name", "Text", nillable=False),
        StandardField("FirstName", "First Name", "Text"),
        StandardField("Name", "Full Name", "Text", updateable=False),
        StandardField("Title", "Title", "Text"),
        StandardField("Company", "Company", "Text", nillable=False),
        StandardField("Email", "Email", "Email"),
        StandardField("Phone", "Phone", "Phone"),
        StandardField("Website", "Website", "Url"),
        StandardField("Description", "Description", "LongTextArea"),
        StandardField("LeadSource", "Lead Source", "Picklist", picklist="LeadSource"),
        StandardField("Status", "Status", "Picklist", picklist="LeadStatus", nillable=False),
        StandardField("Industry", "Industry", "Picklist", picklist="Industry"),
        StandardField("Rating", "Rating", "Picklist", picklist="Rating"),
        StandardField("AnnualRevenue", "Annual Revenue", "Currency"),
        StandardField("NumberOfEmployees", "Employees", "Number"),
        StandardField("City", "City", "Text"),
        StandardField("State", "State/Province", "Text"),
        StandardField("Country", "Country", "Text"),
        StandardField("RecordTypeId", "Record Type ID", "Lookup", reference_to="RecordType", relationship="RecordType"),
        StandardField("IsConverted", "Converted", "Checkbox", updateable=False, nillable=False),
        StandardField("ConvertedDate", "Converted Date", "Date", updateable=False),
        StandardField("ConvertedOpportunityId", "Converted Opportunity ID", "Lookup", reference_to="Opportunity",
                      relationship="ConvertedOpportunity", updateable=False),
        StandardField("LastActivityDate", "Last Activity", "Date", updateable=False),
    )),
    StandardObject("Account", "Account", "Accounts", "001", _audit(
        StandardField("Name", "Account Name", "Text", nillable=False),
        StandardField("Type", "Account Type", "Picklist", picklist="AccountType"),
        StandardField("ParentId", "Parent Account ID", "Lookup", reference_to="Account", relationship="Parent"),
        StandardField("RecordTypeId", "Record Type ID", "Lookup", reference_to="RecordType", relationship="RecordType"),
        StandardField("BillingCity", "Billing City", "Text"),
        StandardField("BillingState", "Billing State/Province", "Text"),
        StandardField("BillingCountry", "Billing Country", "Text"),
        StandardField("Phone", "Account Phone", "Phone"),
        StandardField("Website", "Website", "Url"),
        StandardField("Industry", "Industry", "Picklist", picklist="Industry"),
        StandardField("AnnualRevenue", "Annual Revenue", "Currency"),
        StandardField("NumberOfEmployees", "Employees", "Number"),
        StandardField("Rating", "Account Rating", "Picklist", picklist="Rating"),
        StandardField("Description", "Account Description", "LongTextArea"),
        StandardField("LastActivityDate", "Last Activity", "Date", updateable=False),
    )),
    StandardObject("Contact", "Contact", "Contacts", "003", _audit(
        StandardField("LastName", "Last Name", "Text", nillable=False),
        StandardField("FirstName", "First Name", "Text"),
        StandardField("Name", "Full Name", "Text", updateable=False),
        StandardField("AccountId", "Account ID", "Lookup", reference_to="Account", relationship="Account"),
        StandardField("RecordTypeId", "Record Type ID", "Lookup", reference_to="RecordType", relationship="RecordType"),
        StandardField("Title", "Title", "Text"),
        StandardField("Department", "Department", "Text"),
        StandardField("Email", "Email", "Email"),
        StandardField("Phone", "Business Phone", "Phone"),
        StandardField("MobilePhone", "Mobile Phone", "Phone"),
        StandardField("LeadSource", "Lead Source", "Picklist", picklist="LeadSource"),
        StandardField("MailingCity", "Mailing City", "Text"),
        StandardField("MailingCountry", "Mailing Country", "Text"),
        StandardField("Birthdate", "Birthdate", "Date"),
        StandardField("Description", "Contact Description", "LongTextArea"),
        StandardField("LastActivityDate", "Last Activity", "Date", updateable=False),
    )),
    # Reachable through relationships (Owner.Email, RecordType.DeveloperName), not deployable.
    StandardObject("User", "User", "Users", "005", (
        StandardField("Id", "User ID", "Id", updateable=False, nillable=False),
        StandardField("Username", "Username", "Text", nillable=False),
        StandardField("FirstName", "First Name", "Text"),
        StandardField("LastName", "Last Name", "Text", nillable=False),
        StandardField("Name", "Full Name", "Text", updateable=False),
        StandardField("Email", "Email", "Email", nillable=False),
        StandardField("IsActive", "Active", "Checkbox", nillable=False),
        StandardField("ProfileId", "Profile ID", "Lookup", reference_to="Profile", relationship="Profile"),
        StandardField("UserRoleId", "Role ID", "Lookup", reference_to="UserRole", relationship="UserRole"),
        StandardField("ManagerId", "Manager ID", "Lookup", reference_to="User", relationship="Manager"),
    ), deployable=False),
    # Object Reference, "Task": WhatId is an account, opportunity ...; WhoId a lead or contact (both polymorphic,
    # so no single related object is read through them here).
    StandardObject("Task", "Task", "Tasks", "00T", (
        StandardField("Id", "Activity ID", "Id", updateable=False, nillable=False),
        StandardField("Subject", "Subject", "Text"),
        StandardField("ActivityDate", "Due Date Only", "Date"),
        StandardField("Status", "Status", "Picklist", picklist="TaskStatus", nillable=False),
        StandardField("Priority", "Priority", "Picklist", picklist="TaskPriority"),
        StandardField("IsClosed", "Closed", "Checkbox", updateable=False, nillable=False),
        StandardField("WhatId", "Related To ID", "Lookup"),
        StandardField("WhoId", "Name ID", "Lookup"),
        StandardField("OwnerId", "Assigned To ID", "Lookup", reference_to="User", relationship="Owner",
                      nillable=False),
        StandardField("CreatedDate", "Created Date", "DateTime", updateable=False, nillable=False),
        StandardField("CreatedById", "Created By ID", "Lookup", reference_to="User", relationship="CreatedBy",
                      updateable=False, nillable=False),
        StandardField("Description", "Comments", "LongTextArea"),
        # Object Reference, "Task": CompletedDateTime, when the task was closed (UNVERIFIED: the API version it came
        # in, 46.0 as remembered; sos calls 63.0).
        StandardField("CompletedDateTime", "Completed Date/Time", "DateTime", updateable=False),
    ), deployable=False),
    StandardObject("RecordType", "Record Type", "Record Types", "012", (
        StandardField("Id", "Record Type ID", "Id", updateable=False, nillable=False),
        StandardField("Name", "Record Type Name", "Text"),
        StandardField("DeveloperName", "Record Type Name", "Text"),
        StandardField("SobjectType", "SObject Type Name", "Text"),
        StandardField("IsActive", "Active", "Checkbox"),
        StandardField("BusinessProcessId", "Business Process ID", "Lookup", reference_to="BusinessProcess"),
        StandardField("Description", "Description", "Text"),
    ), deployable=False),
)}

DEPLOYABLE_OBJECTS = tuple(name for name, obj in OBJECTS.items() if obj.deployable)

# StandardValueSet → the picklist field whose records use its values.
VALUE_SET_FIELDS: dict[str, tuple[str, str]] = {
    "OpportunityStage": ("Opportunity", "StageName"),
    "LeadStatus": ("Lead", "Status"),
}

# BusinessProcess on this object → the StandardValueSet its values come from.
PROCESS_VALUE_SETS: dict[str, str] = {"Opportunity": "OpportunityStage", "Lead": "LeadStatus"}

# (fullName, probability, forecastCategory, closed, won) for a new org (reference §6).
OPPORTUNITY_STAGES: tuple[tuple[str, int, str, bool, bool], ...] = (
    ("Prospecting", 10, "Pipeline", False, False),
    ("Qualification", 10, "Pipeline", False, False),
    ("Needs Analysis", 20, "Pipeline", False, False),
    ("Value Proposition", 50, "Pipeline", False, False),
    ("Id. Decision Makers", 60, "Pipeline", False, False),
    ("Perception Analysis", 70, "Pipeline", False, False),
    ("Proposal/Price Quote", 75, "Pipeline", False, False),
    ("Negotiation/Review", 90, "Pipeline", False, False),
    ("Closed Won", 100, "Closed", True, True),
    ("Closed Lost", 0, "Omitted", True, False),
)

# (fullName, default, converted)
LEAD_STATUSES: tuple[tuple[str, bool, bool], ...] = (
    ("Open - Not Contacted", True, False),
    ("Working - Contacted", False, False),
    ("Closed - Converted", False, True),
    ("Closed - Not Converted", False, False),
)

# Picklists the emulator serves in describe but does not let you deploy.
STATIC_PICKLISTS: dict[str, tuple[str, ...]] = {
    "TaskPriority": ("High", "Normal", "Low"),     # Task.Priority's values in a new org (Object Reference, Task)
    "OpportunityType": ("Existing Customer - Upgrade", "Existing Customer - Replacement",
                        "Existing Customer - Downgrade", "New Customer"),
    "AccountType": ("Prospect", "Customer - Direct", "Customer - Channel", "Channel Partner / Reseller",
                    "Installation Partner", "Technology Partner", "Other"),
    "LeadSource": ("Web", "Phone Inquiry", "Partner Referral", "Purchased List", "Other"),
    "Industry": ("Agriculture", "Banking", "Consulting", "Education", "Finance", "Healthcare",
                 "Manufacturing", "Media", "Retail", "Technology", "Other"),
    "Rating": ("Hot", "Warm", "Cold"),
    "ForecastCategory": ("Omitted", "Pipeline", "BestCase", "Forecast", "Closed"),
    "ForecastCategoryName": ("Omitted", "Pipeline", "Best Case", "Commit", "Closed"),
}

FORECAST_CATEGORY_NAMES = {"Omitted": "Omitted", "Pipeline": "Pipeline", "BestCase": "Best Case",
                           "MostLikely": "Most Likely", "Forecast": "Commit", "Closed": "Closed"}

# Metadata FieldType → (REST describe type, soapType).
DESCRIBE_TYPES: dict[str, tuple[str, str]] = {
    "Id": ("id", "tns:ID"),
    "Text": ("string", "xsd:string"),
    "TextArea": ("textarea", "xsd:string"),
    "LongTextArea": ("textarea", "xsd:string"),
    "Html": ("textarea", "xsd:string"),
    "EncryptedText": ("encryptedstring", "xsd:string"),
    "Email": ("email", "xsd:string"),
    "Phone": ("phone", "xsd:string"),
    "Url": ("url", "xsd:string"),
    "Checkbox": ("boolean", "xsd:boolean"),
    "Number": ("double", "xsd:double"),
    "Currency": ("currency", "xsd:double"),
    "Percent": ("percent", "xsd:double"),
    "Date": ("date", "xsd:date"),
    "DateTime": ("datetime", "xsd:dateTime"),
    "Time": ("time", "xsd:time"),
    "Picklist": ("picklist", "xsd:string"),
    "MultiselectPicklist": ("multipicklist", "xsd:string"),
    "Lookup": ("reference", "tns:ID"),
    "MasterDetail": ("reference", "tns:ID"),
    "AutoNumber": ("string", "xsd:string"),
}

# Standard fields a retrieve of CustomObject returns alongside the custom ones.
RETRIEVED_STANDARD_FIELDS: dict[str, tuple[tuple[str, str], ...]] = {
    "Opportunity": (("AccountId", "Lookup"), ("Amount", "Currency"), ("CloseDate", "Date"),
                    ("Description", "LongTextArea"), ("LeadSource", "Picklist"), ("Name", "Text"),
                    ("NextStep", "Text"), ("Probability", "Percent"), ("StageName", "Picklist"),
                    ("Type", "Picklist")),
    "Lead": (("Company", "Text"), ("Email", "Email"), ("Industry", "Picklist"), ("LeadSource", "Picklist"),
             ("Name", "Text"), ("Phone", "Phone"), ("Rating", "Picklist"), ("Status", "Picklist"),
             ("Title", "Text")),
    "Account": (("AnnualRevenue", "Currency"), ("Industry", "Picklist"), ("Name", "Text"),
                ("ParentId", "Hierarchy"), ("Phone", "Phone"), ("Rating", "Picklist"), ("Type", "Picklist"),
                ("Website", "Url")),
    "Contact": (("AccountId", "Lookup"), ("Email", "Email"), ("LeadSource", "Picklist"), ("Name", "Text"),
                ("Phone", "Phone"), ("Title", "Text")),
}
