"""The diagnostic codes only the HubSpot backend reports, declared in sos.codes' registry."""

from __future__ import annotations

from sos.codes import Code, declare
from sos.errors import Severity

declare(
    # Connecting.
    Code("hs-token-missing", "the environment variable that holds the HubSpot access token is not set"),
    Code("hs-api-url", "`api_url` would send the HubSpot token unencrypted, or is not a URL"),
    Code("hs-portal-id", "`portal_id` is not a HubSpot portal (hub) id"),
    Code("hs-wrong-portal", "the access token belongs to another HubSpot portal than the target's `portal_id`"),
    Code("hs-auth-failed", "HubSpot refused the access token"),
    Code("hs-missing-scopes", "the HubSpot app lacks scopes the command needs"),
    # Calls.
    Code("hs-unreachable", "HubSpot could not be reached, or did not answer in time"),
    Code("hs-rate-limited", "HubSpot kept refusing requests over its burst limit"),
    Code("hs-daily-limit", "the portal's daily API limit is used up"),
    Code("hs-unavailable", "HubSpot kept answering with a server error"),
    Code("hs-api-error", "HubSpot refused a call"),
    Code("hs-no-dry-run", "`sos plan --validate` cannot ask HubSpot whether it would accept a plan", Severity.WARNING),
)
declare(
    # Blueprints.
    Code("hs-lookup", "a lookup field has no HubSpot property; sos leaves it out of HubSpot", Severity.WARNING),
    Code("hs-property-name", "a field's HubSpot property name is not one HubSpot allows, or two fields share it"),
    Code("hs-stage-in-use", "deals are in a stage the plan removes; HubSpot refuses to archive it"),
    Code("hs-probability", "HubSpot holds a stage's probability in tenths; the blueprint's is rounded",
         Severity.WARNING),
)
