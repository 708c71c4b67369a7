"""The diagnostic codes only the Pipedrive backend reports, declared in sos.codes' registry."""

from __future__ import annotations

from sos.codes import Code, declare
from sos.errors import Severity

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
    # What a blueprint becomes in Pipedrive (lint.py), and what a plan cannot do there.
    Code("pd-checkbox", "a checkbox field becomes a Yes/No dropdown: Pipedrive has no boolean field",
         Severity.WARNING),
    Code("pd-datetime", "a date and time field becomes a date field: Pipedrive has no date-and-time field",
         Severity.WARNING),
    Code("pd-lookup", "a lookup to an object Pipedrive has no field type for"),
    Code("pd-object", "fields or a pipeline of an object Pipedrive does not have"),
    Code("pd-won-stages", "several won stages: Pipedrive has one won status",
         Severity.WARNING),
    Code("pd-lost-stages", "several lost stages: Pipedrive has one lost status, told apart by lost reasons",
         Severity.WARNING),
    Code("pd-standard-required", "a stage requires a standard deal field, which Pipedrive's API cannot require",
         Severity.WARNING),
    Code("pd-checkbox-required", "a stage requires a checkbox: Pipedrive accepts No as an answer",
         Severity.WARNING),
    Code("pd-closed-required", "a field required only on won or lost deals, which Pipedrive cannot say",
         Severity.WARNING),
    Code("pd-stage-in-use", "deals are in a stage the plan deletes"),
    Code("pd-pipeline-in-use", "deals are in a pipeline the plan deletes (in any of its stages)"),
    Code("pd-not-managed", "a plan puts a stage or a stage requirement in a pipeline sos did not create"),
    Code("pd-stage-outcome", "a plan changes a stage between open and won or lost, which Pipedrive cannot do"),
    Code("pd-field-type", "a plan changes a field's type, which Pipedrive cannot do"),
    Code("pd-check-only", "Pipedrive has no check-only mode for `sos plan --validate`"),
)
