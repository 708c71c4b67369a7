from __future__ import annotations

from typing import ClassVar

import pytest

from sos.errors import SosError
from sos.expr.ast import BoolOp, Call, Compare, Expr, ListExpr, Literal, Name
from sos.expr.dialects.base import Generator, Rewrite, expand_stage_order, node_kind
from sos.expr.dialects.canonical import to_text
from sos.expr.types import StageInfo, scope_for
from tests.expr.helpers import LEAD, OPPORTUNITY, locate, parse


class Shouting(Generator):
    """A toy dialect: names in capitals, `and` only, no lists, one function."""

    DIALECT = "Shouting"
    TRANSFORMS: ClassVar = {
        Name: lambda g, n: n.name.upper(),
        Literal: lambda g, n: repr(n.value),
    }
    FUNCTIONS: ClassVar = {"today": lambda g, n: "TODAY()"}

    def gen_compare(self, node: Compare) -> str:
        return f"{self.gen(node.left)} {node.op.value} {self.gen(node.right)}"

    def gen_bool_op(self, node: BoolOp) -> str:
        operands = ", ".join(self.gen(operand) for operand in node.operands)
        if node.op.value != "and":
            return self.unsupported(node, "Shouting has no 'or'")
        return f"AND({operands})"


class ShoutingInOrder(Shouting):
    PREPROCESS: ClassVar[tuple[Rewrite, ...]] = (expand_stage_order,)

    def gen_in(self, node: Expr) -> str:
        return self.unsupported(node, "Shouting has no 'in'")


def test_generate_dispatches_to_transforms_methods_and_functions() -> None:
    written = Shouting().generate(parse("amount > 1 and close_date == today()"))
    assert written == "AND(AMOUNT > 1, CLOSE_DATE == TODAY())"


def test_everything_unsupported_is_reported_at_its_span() -> None:
    with pytest.raises(SosError) as info:
        Shouting().generate(parse("a == 1 or b in [1] or now() == c"))
    assert [d.headline() for d in info.value.diagnostics] == [
        "b.yaml:3:10: error: Shouting has no 'or' [unsupported]",
        "b.yaml:3:20: error: Shouting cannot express this part of the expression [unsupported]",
        "b.yaml:3:32: error: Shouting has no now() [unsupported]",
    ]


def test_preprocess_rewrites_before_generating() -> None:
    with pytest.raises(SosError) as info:
        ShoutingInOrder(OPPORTUNITY).generate(parse("amount > 1 and stage > 'proposal'"))
    assert [d.headline() for d in info.value.diagnostics] == [
        "b.yaml:3:25: error: Shouting has no 'in' [unsupported]"
    ]


def test_preprocess_needs_a_scope() -> None:
    with pytest.raises(ValueError, match="needs a scope"):
        ShoutingInOrder().generate(parse("a"))


@pytest.mark.parametrize(
    ("node", "kind"),
    [
        pytest.param(Name(locate(0, 1), "a"), "name", id="one-word"),
        pytest.param(parse("a and b"), "bool_op", id="two-words"),
        pytest.param(ListExpr(locate(0, 1), ()), "list_expr", id="list-expr"),
        pytest.param(Call(locate(0, 1), "f", (), locate(0, 1)), "call", id="call"),
    ],
)
def test_node_kind(node: Expr, kind: str) -> None:
    assert node_kind(node) == kind


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("stage >= 'proposal'", "stage in ['proposal', 'won']", id="at-or-after-means-open-or-won"),
        pytest.param("stage > 'proposal'", "stage in ['won']", id="after"),
        pytest.param("stage < 'proposal'", "stage in ['discovery', 'evaluation']", id="before"),
        pytest.param("stage <= 'discovery'", "stage in ['discovery']", id="at-or-before-first"),
        pytest.param("'evaluation' < stage", "stage in ['proposal', 'won']", id="literal-on-the-left"),
        pytest.param("stage < 'won'", "stage in ['discovery', 'evaluation', 'proposal']", id="before-won"),
        pytest.param("stage >= 'won'", "stage in ['won']", id="at-or-after-won"),
        pytest.param("stage > 'won'", "false", id="nothing-after-won"),
        pytest.param("stage >= 'lost'", "stage in ['lost']", id="lost-only-equals-itself"),
        pytest.param("stage <= 'lost'", "stage in ['lost']", id="lost-only-equals-itself-from-below"),
        pytest.param("stage > 'lost'", "false", id="nothing-after-lost"),
        pytest.param("stage < 'lost'", "false", id="nothing-before-lost"),
        pytest.param("stage.is_open and not stage >= 'won'", "stage.is_open and not stage in ['won']",
                     id="nested"),
        pytest.param("stage == 'proposal'", "stage == 'proposal'", id="equality-untouched"),
        pytest.param("stage >= 'nope'", "stage >= 'nope'", id="unknown-key-untouched"),
        pytest.param("amount >= 10", "amount >= 10", id="not-a-stage"),
        pytest.param("name >= 'proposal'", "name >= 'proposal'", id="text-that-looks-like-a-stage"),
    ],
)
def test_expand_stage_order(text: str, expected: str) -> None:
    assert to_text(expand_stage_order(parse(text), OPPORTUNITY)) == expected


def test_expand_stage_order_keeps_the_comparison_span() -> None:
    expanded = expand_stage_order(parse("amount > 1 and stage > 'proposal'"), OPPORTUNITY)
    assert isinstance(expanded, BoolOp)
    assert expanded.operands[1].span == locate(15, 33)


def test_expand_stage_order_leaves_lead_status_alone() -> None:
    expr = parse("status == 'new'")
    assert expand_stage_order(expr, LEAD) == expr


def test_expand_stage_order_puts_won_after_every_open_stage_and_keeps_pipeline_order() -> None:
    scope = scope_for("opportunity", {}, stages=(
        StageInfo("qualify"), StageInfo("lost_early", "lost"), StageInfo("won", "won"), StageInfo("negotiate"),
        StageInfo("lost", "lost"),
    ))
    assert to_text(expand_stage_order(parse("stage >= 'negotiate'"), scope)) == "stage in ['won', 'negotiate']"
    assert to_text(expand_stage_order(parse("stage < 'won'"), scope)) == "stage in ['qualify', 'negotiate']"
    assert to_text(expand_stage_order(parse("stage > 'qualify'"), scope)) == "stage in ['won', 'negotiate']"
