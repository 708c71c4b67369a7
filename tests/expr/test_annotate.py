"""annotate type-checks once: every node keeps its type, and a dialect generates from those types."""

from __future__ import annotations

import pytest

from sos.backends.salesforce.standard_fields import expression_naming
from sos.expr.annotate import annotate
from sos.expr.ast import Name, walk
from sos.expr.dialects.sf_formula import SalesforceFormula
from sos.expr.typecheck import check_expression, infer_type
from tests.expr.helpers import LEAD, OPPORTUNITY, parse

TEXTS = ["stage >= 'proposal' and not budget_confirmed", "amount * (1 - discount / 100) > 1000",
         "loss_reason in ['Price', 'Timing'] or is_blank(next_step)", "days_since(created_date) > 30"]


@pytest.mark.parametrize("text", TEXTS)
def test_every_node_keeps_the_type_the_checker_gives_it(text: str) -> None:
    expr = parse(text)
    typed, problems = annotate(expr, OPPORTUNITY)
    assert problems == []
    for node in walk(expr):
        assert typed.type_of(node) == infer_type(node, OPPORTUNITY), node
    assert expr in typed.types and all(name in typed.types for name in walk(expr) if isinstance(name, Name))


@pytest.mark.parametrize("text", ["amount > 'x' and nope", "stage == 'nowhere'", "1 + 2"])
def test_the_problems_are_the_checkers(text: str) -> None:
    assert annotate(parse(text), OPPORTUNITY)[1] == check_expression(parse(text), OPPORTUNITY)


@pytest.mark.parametrize("text", TEXTS)
def test_a_dialect_reads_the_recorded_types(text: str) -> None:
    """The same formula from the typed tree as from inference, and no inference for a recorded node."""
    expr = parse(text)
    typed, _ = annotate(expr, OPPORTUNITY)
    stages = {"discovery": "Discovery", "evaluation": "Evaluation", "proposal": "Proposal", "won": "Won",
              "lost": "Lost"}
    names = {"budget_confirmed": "Budget_Confirmed__c", "discount": "Discount__c", "loss_reason": "Loss_Reason__c"}
    inferred = SalesforceFormula(OPPORTUNITY, expression_naming("opportunity", names, stages, {})).generate(expr)
    generator = SalesforceFormula(OPPORTUNITY, expression_naming("opportunity", names, stages, {}))
    assert generator.generate(typed) == inferred
    assert generator.type_of(expr) is typed.types[expr]


def test_a_lead_condition_is_typed_in_the_lead_scope() -> None:
    typed, problems = annotate(parse("status.is_converted"), LEAD)
    assert problems == [] and typed.type_of(typed.expr).kind.value == "boolean"
