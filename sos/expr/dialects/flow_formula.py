"""The Flow formula dialect: a record-triggered Flow's entry condition ("Formula Evaluates to True").

Flow formulas are Salesforce formulas (sf_formula.py: the same functions, operators, blank handling and
picklist reading) with one difference in syntax: a field of the triggering record is a merge field,
`{!$Record.StageName}`, never a bare API name (Help, "Flow Formula Resource" and "Considerations for Formulas
in Flows"; a cross-object field reads `{!$Record.Owner:User.Username}` the same way). ISNEW(), ISCHANGED() and
PRIORVALUE() are accepted only in a record-triggered flow's entry formula (Help, "Formula Operators and
Functions in Flows"), which is the one place this dialect writes. `days_in_stage` is not offered: a Flow
cadence on time in stage would be a scheduled path, not an entry condition.
"""

from __future__ import annotations

from sos.expr.ast import Attribute, Expr, Name
from sos.expr.dialects.sf_formula import SalesforceFormula, username_reference
from sos.expr.types import Kind


def merge_field(reference: str) -> str:
    """`StageName` → `{!$Record.StageName}`."""
    return f"{{!$Record.{reference}}}"


class FlowFormula(SalesforceFormula):
    """AST → a Flow entry-condition formula on the triggering record ($Record)."""

    DIALECT = "a Salesforce Flow formula"

    def gen_name(self, node: Name) -> str:
        if self.is_days_in_stage(node):
            return self.unsupported(node, "a Flow entry condition cannot read days_in_stage; use a "
                                          "stage_age_over trigger for time in a stage")
        return super().gen_name(node)

    def field(self, node: Name) -> str:
        return merge_field(super().field(node))

    def as_text(self, node: Expr) -> str:
        if isinstance(node, Name) and self.kind(node) is Kind.USER and node.name in self.api_names:
            return merge_field(username_reference(self.object, self.api_names[node.name], formula=True))
        return super().as_text(node)

    def gen_attribute(self, node: Attribute) -> str:
        text = super().gen_attribute(node)
        if isinstance(node.value, Name):     # is_open, is_won ...: IsClosed and IsWon of the record
            for name in ("IsClosed", "IsWon"):
                text = text.replace(name, merge_field(name))
        return text
