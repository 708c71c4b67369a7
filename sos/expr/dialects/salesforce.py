"""What the Salesforce dialects (formula, SOQL) share: literals, naming maps, stored picklist values."""

from __future__ import annotations

from decimal import Decimal
from collections.abc import Mapping

from sos.expr.ast import Expr, Literal
from sos.expr.dialects.base import Generator
from sos.expr.dialects.salesforce_names import api_names_for
from sos.expr.types import Kind, Scope


def quote(text: str) -> str:
    """A string literal as formulas and SOQL both write it: single quotes, backslash escapes."""
    escaped = (
        text.replace("\\", "\\\\").replace("'", "\\'").replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t")
    )
    return f"'{escaped}'"


def number(value: int | float) -> str:
    """A number as written: never in exponent form."""
    if isinstance(value, float):
        text = format(Decimal(repr(value)), "f")
        return text if "." in text else f"{text}.0"
    return str(value)


class SalesforceGenerator(Generator):
    """A Salesforce dialect: `api_names` maps field keys to API names (standard fields by default);
    `stage_values` and `status_values` map stage and lead status keys to the values Salesforce stores."""

    def __init__(
        self,
        scope: Scope,
        api_names: Mapping[str, str],
        stage_values: Mapping[str, str] | None = None,
        status_values: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(scope)
        self.api_names = api_names_for(scope.object, api_names)
        self.stage_values = dict(stage_values or {})
        self.status_values = dict(status_values or {})

    def kind(self, node: Expr) -> Kind | None:
        found = self.type_of(node)
        return found.kind if found else None

    def stored_value(self, field: Expr, literal: Literal, value: str) -> str:
        """The value Salesforce stores for a stage or status key (other text as written)."""
        kind = self.kind(field)
        if kind is Kind.STAGE:
            if value not in self.stage_values:
                return self.unsupported(literal, f"no Salesforce stage value is known for stage '{value}'")
            return self.stage_values[value]
        if kind is Kind.LEAD_STATUS:
            if value not in self.status_values:
                return self.unsupported(literal, f"no Salesforce status value is known for lead status '{value}'")
            return self.status_values[value]
        return value
