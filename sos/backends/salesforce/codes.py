"""The diagnostic codes only the Salesforce backend reports, declared in sos.codes' registry."""

from __future__ import annotations

from sos.codes import Code, declare
from sos.errors import Severity

declare(
    # Login.
    Code("sf-auth-missing", "no Salesforce credentials for the target"),
    Code("sf-auth-incomplete", "some of the Salesforce credentials are missing"),
    Code("sf-auth-domain", "the client credentials flow needs the org's My Domain"),
    Code("sf-auth-key", "SF_PRIVATE_KEY_FILE is not a readable file"),
    Code("sf-auth-url", "the instance URL does not start with https://"),
    Code("sf-auth-failed", "Salesforce refused the login"),
    Code("sf-cli-missing", "the target logs in through the sf CLI, which is not installed"),
    Code("sf-cli-failed", "`sf org display` could not run"),
    Code("sf-cli-no-org", "the sf CLI has no usable login for the org"),
    # Calls.
    Code("sf-unreachable", "Salesforce could not be reached"),
    Code("sf-api-error", "a Salesforce API call failed"),
    Code("sf-session-expired", "the access token has expired or is not valid"),
    Code("sf-rate-limited", "Salesforce kept refusing requests for now"),
    Code("sf-daily-limit", "the org's daily API allowance is used up"),
    Code("sf-retrieve-failed", "Salesforce could not retrieve the org's configuration"),
    Code("sf-retrieve-stalled", "a retrieve did not finish within the status checks"),
    Code("sf-bulk-query-failed", "a Bulk API query job reading records failed"),
    Code("sf-bulk-query-stalled", "a Bulk API query job did not finish within the status checks"),
    Code("sf-deploy-failed", "a deploy failed, so none of it was applied"),
    Code("sf-rename-keeps-value", "a renamed stage or lead status keeps the picklist value its records hold",
         Severity.WARNING),
    Code("sf-deploy-unknown", "a deploy was submitted but its outcome is not known"),
    # What Salesforce would refuse, or what it would change beyond the blueprint.
    Code("api-name", "a field's Salesforce API name is not valid"),
    Code("api-name-collision", "two fields become the same Salesforce API name"),
    Code("label-too-long", "a field label is longer than Salesforce allows"),
    Code("salesforce-type", "a field type sos cannot create in Salesforce"),
    Code("salesforce-formula-length", "a rule becomes a formula longer than Salesforce allows"),
    Code("salesforce-description", "a description too long once sos's ownership mark is added"),
    Code("salesforce-forecast", "a stage has a forecast category Salesforce refuses for its outcome"),
    Code("salesforce-picklist-semicolon", "a picklist value contains ';'"),
    Code("salesforce-picklist-size", "a picklist has more values than Salesforce allows"),
    Code("salesforce-picklist-value-length", "a picklist value is longer than Salesforce allows"),
    Code("reserved-name", "a field takes a name sos keeps for its own fields"),
    Code("stage-in-use", "records are in a stage the plan removes"),
    Code("stage-value-conflict", "two stages become the same Salesforce stage value"),
    Code("default-status", "a different lead status becomes the default", Severity.WARNING),
    Code("audit-only", "a rule is deployed inactive: it reports, never blocks", Severity.WARNING),
    Code("sf-assignee-missing", "a route or cadence names a user or queue the org does not have"),
    Code("sf-assignee-inactive", "a route or cadence names an inactive Salesforce user"),
    Code("sf-notification-too-long", "a notify cadence's message is longer than a Salesforce notification holds"),
    Code("sf-cadence-not-run", "a cadence on a lead or deal that Salesforce does not run", Severity.WARNING),
    Code("sf-assignment-rule-active", "the org's own lead assignment rule is active"),
    Code("value-set-replaces", "a standard value set is replaced by the blueprint's values", Severity.WARNING),
)
