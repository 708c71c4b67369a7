"""The diagnostic codes only the Pipedrive backend reports, declared in sos.codes' registry."""

from __future__ import annotations

from sos.codes import Code, declare

declare(
    # Connecting.
    Code("pd-target", "a Pipedrive target's company_domain, api_url or token_env is missing or not valid"),
    Code("pd-token-missing", "the environment variable that holds the Pipedrive API token is not set"),
    Code("pd-auth-failed", "Pipedrive refused the API token (wrong or revoked)"),
    Code("pd-wrong-company", "the API token belongs to another Pipedrive company than the target's"),
    # Calls.
    Code("pd-forbidden", "Pipedrive refused a call the token's user may not make"),
    Code("pd-rate-limited", "Pipedrive kept limiting requests after the retries"),
    Code("pd-daily-budget", "the company's daily Pipedrive API token budget (or a token's daily writes) is used up"),
    Code("pd-server-error", "Pipedrive kept failing (HTTP 5xx), or failed on a create it may have made"),
    Code("pd-unreachable", "Pipedrive could not be reached"),
    Code("pd-api-error", "Pipedrive refused a call"),
)
