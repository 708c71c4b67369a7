"""Names sos keeps for itself in the model, whatever the CRM (each backend names things in its CRM itself)."""

from __future__ import annotations

REQUIREMENT_RULE_SUFFIX = "__required"  # ends the keys of the rules made from stages' `require`
EXIT_SUFFIX = "__exit"  # ends the keys of the stage requirements made from stages' `require_to_leave`
