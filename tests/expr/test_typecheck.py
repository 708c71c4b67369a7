from __future__ import annotations

import pytest

from sos.errors import Diagnostic
from sos.expr.typecheck import check_expression, infer_type
from sos.expr.types import BOOLEAN, DATE, DATETIME, NUMBER, TEXT, ExprType, Scope, picklist
from tests.expr.helpers import ACCOUNT, LEAD, OPPORTUNITY, parse


def brief(diagnostic: Diagnostic) -> str:
    """'col-end_col message [code] fix: ...': the columns are on line 3 of b.yaml, the text starts at 10."""
    assert diagnostic.span is not None
    text = f"{diagnostic.span.col}-{diagnostic.span.end_col} {diagnostic.message} [{diagnostic.code}]"
    return f"{text} fix: {diagnostic.fix}" if diagnostic.fix else text


@pytest.mark.parametrize(
    ("scope", "text"),
    [
        pytest.param(OPPORTUNITY, "stage.is_open and close_date >= today()", id="design-example"),
        pytest.param(OPPORTUNITY, "stage >= 'proposal' and not budget_confirmed", id="stage-order"),
        pytest.param(OPPORTUNITY, "'proposal' <= stage", id="stage-order-reversed"),
        pytest.param(OPPORTUNITY, "stage = 'won' or stage in ['lost'] or stage not in ['discovery']",
                     id="stage-equal-in"),
        pytest.param(OPPORTUNITY, "stage.is_won or stage.is_lost or stage.is_closed", id="stage-predicates"),
        pytest.param(OPPORTUNITY, "loss_reason == 'No decision' or loss_reason in ['Price', 'Timing']",
                     id="picklist-values"),
        pytest.param(OPPORTUNITY, "loss_reason != pain", id="picklist-with-text-field"),
        pytest.param(OPPORTUNITY, "includes(competitors, 'Acme')", id="includes"),
        pytest.param(OPPORTUNITY, "is_blank(next_step) or is_blank(competitors) or is_blank(budget_confirmed)",
                     id="is-blank-anything"),
        pytest.param(OPPORTUNITY, "amount * (1 - discount / 100) > 1000", id="arithmetic"),
        pytest.param(OPPORTUNITY, "close_date <= today() + 90 and close_date - today() < 30", id="date-arithmetic"),
        pytest.param(OPPORTUNITY, "created_date >= today() - 7", id="datetime-with-date"),
        pytest.param(OPPORTUNITY, "now() - created_date > 1.5", id="datetime-difference"),
        pytest.param(OPPORTUNITY, "days_since(created_date) > 30 and days_since(close_date) < 0", id="days-since"),
        pytest.param(OPPORTUNITY, "len(next_step) >= 10", id="len"),
        pytest.param(OPPORTUNITY, "amount == null or economic_buyer != null or null == close_date", id="null"),
        pytest.param(OPPORTUNITY, "owner == 'rep@example.com'", id="user-with-text"),
        pytest.param(OPPORTUNITY, "account == account", id="same-reference"),
        pytest.param(OPPORTUNITY, "budget_confirmed == true", id="boolean-equality"),
        pytest.param(OPPORTUNITY, "-amount < -1", id="negation"),
        pytest.param(LEAD, "status == 'working' or status.is_converted", id="lead-status"),
        pytest.param(LEAD, "rating in ['Hot', 'Warm'] and employees > 50 and country != 'US'", id="lead-fields"),
        pytest.param(ACCOUNT, "annual_revenue > 1000000 and industry == 'Software'", id="account-fields"),
        pytest.param(OPPORTUNITY, "is_new() or is_changed(stage) and prior(stage) < 'proposal'", id="save"),
        pytest.param(OPPORTUNITY, "prior(amount) > amount or includes(prior(competitors), 'Acme')",
                     id="prior-values"),
        pytest.param(LEAD, "is_changed(status) and prior(status).is_converted", id="lead-save"),
    ],
)
def test_valid_expressions(scope: Scope, text: str) -> None:
    assert check_expression(parse(text), scope) == []


@pytest.mark.parametrize(
    ("scope", "text", "expected"),
    [
        pytest.param(OPPORTUNITY, "close_date >= todya()",
                     ["24-29 unknown function 'todya' [unknown-function] fix: did you mean 'today'?"],
                     id="unknown-function-points-at-name"),
        pytest.param(OPPORTUNITY, "amout > 0",
                     ["10-15 unknown field 'amout' on opportunity [unknown-name] fix: did you mean 'amount'?"],
                     id="unknown-field"),
        pytest.param(OPPORTUNITY, "budget_confirmd and True",
                     ["10-25 unknown field 'budget_confirmd' on opportunity [unknown-name] "
                      "fix: did you mean 'budget_confirmed'?",
                      "30-34 unknown field 'True' on opportunity [unknown-name] fix: did you mean 'true'?"],
                     id="unknown-fields-all-reported"),
        pytest.param(OPPORTUNITY, "today > close_date",
                     ["10-15 unknown field 'today' on opportunity [unknown-name] fix: call it: today()"],
                     id="function-without-parentheses"),
        pytest.param(LEAD, "stage.is_open", ["10-15 unknown field 'stage' on lead [unknown-name]"],
                     id="stage-on-lead"),
        pytest.param(ACCOUNT, "status == 'new'", ["10-16 unknown field 'status' on account [unknown-name]"],
                     id="status-on-account"),
        pytest.param(OPPORTUNITY, "stage.is_opne",
                     ["16-23 a stage has no attribute 'is_opne' [unknown-name] fix: did you mean 'is_open'?"],
                     id="unknown-stage-attribute"),
        pytest.param(OPPORTUNITY, "amount.is_open", ["17-24 a number has no attribute 'is_open' [unknown-name]"],
                     id="attribute-on-number"),
        pytest.param(OPPORTUNITY, "today(1) == close_date",
                     ["10-18 today() takes no arguments, got 1 [arity] fix: write it as today()"], id="arity-none"),
        pytest.param(OPPORTUNITY, "days_since() > 3",
                     ["10-22 days_since() takes 1 argument, got 0 [arity] fix: write it as days_since(created_date)"],
                     id="arity-one"),
        pytest.param(OPPORTUNITY, "includes(competitors)",
                     ["10-31 includes() takes 2 arguments, got 1 [arity] fix: write it as includes(field, 'value')"],
                     id="arity-two"),
        pytest.param(OPPORTUNITY, "close_date > 5", ["10-24 cannot compare a date with a number [type-mismatch]"],
                     id="date-with-number"),
        pytest.param(OPPORTUNITY, "amount == 'big'", ["10-25 cannot compare a number with text [type-mismatch]"],
                     id="number-with-text"),
        pytest.param(OPPORTUNITY, "amount and budget_confirmed",
                     ["10-16 'and' needs true/false values, got a number [type-mismatch]"], id="and-number"),
        pytest.param(OPPORTUNITY, "budget_confirmed or name",
                     ["30-34 'or' needs true/false values, got text [type-mismatch]"], id="or-text"),
        pytest.param(OPPORTUNITY, "not amount",
                     ["14-20 'not' needs a true/false value, got a number [type-mismatch]"], id="not-number"),
        pytest.param(OPPORTUNITY, "-name == 1", ["10-15 '-' needs a number, got text [type-mismatch]"],
                     id="negate-text"),
        pytest.param(OPPORTUNITY, "stage == 'proposl'",
                     ["19-28 unknown stage 'proposl' [unknown-stage] fix: did you mean 'proposal'?"],
                     id="unknown-stage"),
        pytest.param(OPPORTUNITY, "stage >= 'Proposal'",
                     ["19-29 unknown stage 'Proposal' [unknown-stage] fix: did you mean 'proposal'?"],
                     id="stage-key-not-label"),
        pytest.param(OPPORTUNITY, "stage in ['won', 'lsot', 1]",
                     ["27-33 unknown stage 'lsot' [unknown-stage] fix: did you mean 'lost'?",
                      "35-36 cannot compare a stage with a number [type-mismatch]"], id="stage-in-list"),
        pytest.param(OPPORTUNITY, "stage == name", ["10-23 cannot compare a stage with text [type-mismatch]"],
                     id="stage-with-text-field"),
        pytest.param(LEAD, "status == 'wrking' or status.is_convertd",
                     ["20-28 unknown lead status 'wrking' [unknown-status] fix: did you mean 'working'?",
                      "39-50 a lead status has no attribute 'is_convertd' [unknown-name] "
                      "fix: did you mean 'is_converted'?"], id="lead-status"),
        pytest.param(LEAD, "status > 'new'", ["10-24 '>' cannot order lead statuses [type-mismatch] fix: use == or in"],
                     id="status-has-no-order"),
        pytest.param(OPPORTUNITY, "loss_reason == 'Pricee'",
                     ["25-33 'Pricee' is not a value of loss_reason [unknown-value] fix: did you mean 'Price'?"],
                     id="unknown-picklist-value"),
        pytest.param(OPPORTUNITY, "loss_reason in ['Timing', 'timing']",
                     ["36-44 'timing' is not a value of loss_reason [unknown-value] fix: did you mean 'Timing'?"],
                     id="picklist-values-are-case-sensitive"),
        pytest.param(OPPORTUNITY, "'Pricy' == loss_reason",
                     ["10-17 'Pricy' is not a value of loss_reason [unknown-value] fix: did you mean 'Price'?"],
                     id="picklist-literal-on-the-left"),
        pytest.param(OPPORTUNITY, "loss_reason < 'Price'",
                     ["10-31 '<' cannot order picklist values [type-mismatch] fix: use == or in"],
                     id="picklist-has-no-order"),
        pytest.param(OPPORTUNITY, "name < 'm'", ["10-20 '<' cannot order text [type-mismatch] fix: use == or in"],
                     id="text-has-no-order"),
        pytest.param(OPPORTUNITY, "budget_confirmed > false",
                     ["10-34 '>' cannot order true/false values [type-mismatch] fix: use == or in"],
                     id="boolean-has-no-order"),
        pytest.param(OPPORTUNITY, "competitors == 'Acme'",
                     ["10-31 cannot compare a multi-select picklist with text [type-mismatch] "
                      "fix: test a multi-select picklist with includes(field, 'value')"], id="multi-picklist-equals"),
        pytest.param(OPPORTUNITY, "competitors in ['Acme']",
                     ["10-21 'in' cannot test a multi-select picklist [type-mismatch] "
                      "fix: test a multi-select picklist with includes(field, 'value')"], id="multi-picklist-in"),
        pytest.param(OPPORTUNITY, "includes(competitors, 'Acmee')",
                     ["32-39 'Acmee' is not a value of competitors [unknown-value] fix: did you mean 'Acme'?"],
                     id="includes-unknown-value"),
        pytest.param(OPPORTUNITY, "includes(loss_reason, 'Price')",
                     ["19-30 includes() needs a multi-select picklist, got a picklist value [type-mismatch]"],
                     id="includes-on-picklist"),
        pytest.param(OPPORTUNITY, "days_since(amount) > 1",
                     ["21-27 days_since() needs a date or a date and time, got a number [type-mismatch]"],
                     id="days-since-number"),
        pytest.param(OPPORTUNITY, "len(amount) > 1", ["14-20 len() needs text, got a number [type-mismatch]"],
                     id="len-number"),
        pytest.param(OPPORTUNITY, "close_date + close_date > today()",
                     ["10-33 cannot use '+' on a date and a date [type-mismatch]"], id="date-plus-date"),
        pytest.param(OPPORTUNITY, "amount * close_date > 1",
                     ["10-29 cannot use '*' on a number and a date [type-mismatch]"], id="number-times-date"),
        pytest.param(OPPORTUNITY, "name + 'x' == 'y'", ["10-20 cannot use '+' on text and text [type-mismatch]"],
                     id="no-text-concatenation"),
        pytest.param(OPPORTUNITY, "amount < null",
                     ["10-23 '<' cannot compare with null [type-mismatch] "
                      "fix: test for a blank value with is_blank(...)"],
                     id="order-null"),
        pytest.param(OPPORTUNITY, "stage in [null]",
                     ["20-24 a list for 'in' cannot hold null [type-mismatch] "
                      "fix: test for a blank value with is_blank(...)"], id="null-in-list"),
        pytest.param(OPPORTUNITY, "account == economic_buyer",
                     ["10-35 cannot compare a reference to account with a reference to contact [type-mismatch]"],
                     id="references-to-different-objects"),
        pytest.param(OPPORTUNITY, "[1] == [1]", ["10-20 cannot compare a list with a list [type-mismatch]"],
                     id="lists"),
        pytest.param(OPPORTUNITY, "amount",
                     ["10-16 a condition must be true or false, got a number [type-mismatch] "
                      "fix: compare it with something, e.g. amount > 0, or test it with is_blank(...)"],
                     id="not-a-condition"),
        pytest.param(OPPORTUNITY, "stage.is_open == 1 and todya() and amout",
                     ["10-28 cannot compare a true/false value with a number [type-mismatch]",
                      "33-38 unknown function 'todya' [unknown-function] fix: did you mean 'today'?",
                      "45-50 unknown field 'amout' on opportunity [unknown-name] fix: did you mean 'amount'?"],
                     id="every-problem-reported"),
        pytest.param(OPPORTUNITY, "is_changed(amount + 1)",
                     ["21-31 is_changed() takes a field, not a computed value [type-mismatch] "
                      "fix: write it as is_changed(stage)"], id="is-changed-of-a-computation"),
        pytest.param(OPPORTUNITY, "prior(prior(amount)) > 1",
                     ["16-29 prior() takes a field, not a computed value [type-mismatch] "
                      "fix: write it as prior(amount)"],
                     id="prior-of-prior"),
        pytest.param(OPPORTUNITY, "is_new(stage)",
                     ["10-23 is_new() takes no arguments, got 1 [arity] fix: write it as is_new()"], id="is-new-arity"),
        pytest.param(OPPORTUNITY, "prior(amount) == 'x'",
                     ["10-30 cannot compare a number with text [type-mismatch]"], id="prior-has-its-field-type"),
        pytest.param(OPPORTUNITY, "prior(stage) == 'wonn'",
                     ["26-32 unknown stage 'wonn' [unknown-stage] fix: did you mean 'won'?"], id="prior-stage-keys"),
        pytest.param(OPPORTUNITY, "todya() + amout > 1",
                     ["10-15 unknown function 'todya' [unknown-function] fix: did you mean 'today'?",
                      "20-25 unknown field 'amout' on opportunity [unknown-name] fix: did you mean 'amount'?"],
                     id="no-follow-on-errors"),
    ],
)
def test_type_errors(scope: Scope, text: str, expected: list[str]) -> None:
    assert [brief(d) for d in check_expression(parse(text), scope)] == expected


def test_errors_say_why() -> None:
    [stage] = check_expression(parse("stage >= 'proposl'"), OPPORTUNITY)
    assert stage.why == "the choices are: discovery, evaluation, proposal, won, lost"
    [wrong_object] = check_expression(parse("stage.is_open"), LEAD)
    assert wrong_object.why == "only opportunities have a stage"


def test_a_value_need_not_be_a_condition() -> None:
    assert check_expression(parse("amount * 2"), OPPORTUNITY, expect_boolean=False) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("amount + 1", NUMBER, id="number"),
        pytest.param("close_date + 30", DATE, id="date-plus-days"),
        pytest.param("30 + close_date", DATE, id="days-plus-date"),
        pytest.param("close_date - today()", NUMBER, id="date-minus-date"),
        pytest.param("now() - 1", DATETIME, id="datetime-minus-days"),
        pytest.param("stage.is_open", BOOLEAN, id="stage-predicate"),
        pytest.param("name", TEXT, id="text"),
        pytest.param("loss_reason", picklist(["Price", "Timing", "Competitor", "No decision"]), id="picklist"),
        pytest.param("len(name) / 2", NUMBER, id="len"),
        pytest.param("amout + 1", None, id="unknown-name-has-no-type"),
        pytest.param("prior(close_date)", DATE, id="prior-of-a-date"),
        pytest.param("is_changed(name)", BOOLEAN, id="is-changed"),
    ],
)
def test_infer_type(text: str, expected: ExprType | None) -> None:
    assert infer_type(parse(text), OPPORTUNITY) == expected
