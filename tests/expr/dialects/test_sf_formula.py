"""Salesforce formulas and SOQL, sqlglot style: one expression, the text each dialect writes.

The evaluator is the meaning; the generated formula must agree with it on every record,
checked with hypothesis through the Salesforce emulator's formula evaluator (tests/emulators/salesforce/formula.py),
which reads records by the org's field types as Salesforce documents them.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal
from collections.abc import Mapping

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from sos.backends.salesforce.names import salesforce_field_name
from sos.backends.salesforce.standard_fields import STANDARD_PICKLISTS, api_names_for, expression_naming
from sos.errors import SosError
from sos.expr.ast import BoolOp, Call, Expr, Logic, Name, transform
from sos.expr.dialects.base import Generator
from sos.expr.dialects.evaluate import evaluate
from sos.expr.dialects.sf_formula import FORMULA_LIMIT, SalesforceFormula, quote
from sos.expr.dialects.soql import Soql
from sos.expr.typecheck import check_expression
from sos.expr.types import Kind, Scope
from tests.emulators.salesforce.formula import Context, FormulaError, FormulaRuntimeError, check, fires
from tests.emulators.salesforce.formula import evaluate as evaluate_formula
from tests.emulators.salesforce.formula_types import check_condition
from tests.emulators.salesforce import soql as soql_engine
from tests.emulators.salesforce.org import FieldInfo
from tests.emulators.salesforce.rest import _getter as rest_getter
from tests.expr.helpers import ACCOUNT, LEAD, OPPORTUNITY, parse

CUSTOM_FIELDS = (
    "budget_confirmed", "pain", "discount", "signed_on", "economic_buyer", "loss_reason", "competitors", "rating",
)
API_NAMES = {key: salesforce_field_name(key) for key in CUSTOM_FIELDS}
STAGE_VALUES = {
    "discovery": "Discovery", "evaluation": "Evaluation", "proposal": "Proposal", "won": "Closed Won",
    "lost": "Closed Lost",
}
STATUS_VALUES = {"new": "New", "working": "Working", "qualified": "Qualified", "disqualified": "Disqualified"}
# 03:00 GMT on 2 June is still 1 June for a user eight hours west of GMT: TODAY() and DATEVALUE(NOW()) differ
NOW = datetime.datetime(2024, 6, 2, 3, 0)
USER_OFFSET = datetime.timedelta(hours=-8)
TODAY = (NOW + USER_OFFSET).date()


@dataclass(frozen=True)
class Unsupported:
    """The dialect refuses the expression, with these messages (any, when none are given)."""

    messages: tuple[str, ...] = ()


def generator(dialect: str, scope: Scope) -> Generator:
    make = {"sf_formula": SalesforceFormula, "soql": Soql}[dialect]
    return make(scope, expression_naming(scope.object, API_NAMES, STAGE_VALUES, STATUS_VALUES))


Expected = str | Unsupported | type[Unsupported]


def check_all(text: str, write: Mapping[str, Expected], scope: Scope = OPPORTUNITY) -> None:
    """`text` (which must check clean in `scope`) is written as `write` says in each dialect."""
    expr = parse(text)
    assert check_expression(expr, scope) == []
    for dialect, expected in write.items():
        if expected is Unsupported or isinstance(expected, Unsupported):
            with pytest.raises(SosError) as info:
                generator(dialect, scope).generate(expr)
            assert {d.code for d in info.value.diagnostics} == {"unsupported"}, dialect
            if isinstance(expected, Unsupported) and expected.messages:
                assert tuple(d.message for d in info.value.diagnostics) == expected.messages, dialect
        else:
            assert generator(dialect, scope).generate(expr) == expected, dialect


TWO_FIELDS = Unsupported(("SOQL cannot compare two fields",))
ARITHMETIC = Unsupported(("SOQL cannot do arithmetic",))

WRITE = [
    # the STYLE.md examples
    pytest.param("amount > 1000 and stage >= 'proposal'", {
        "sf_formula": "AND(IF(ISBLANK(Amount), FALSE, Amount > 1000), OR(ISPICKVAL(StageName, 'Proposal'), ISPICKVAL(StageName, 'Closed Won')))",
        "soql": "Amount > 1000 AND StageName IN ('Proposal', 'Closed Won')",
    }, OPPORTUNITY, id="style-example"),
    pytest.param("amount > discount", {"sf_formula": "IF(OR(ISBLANK(Amount), ISBLANK(Discount__c)), FALSE, Amount > Discount__c)", "soql": TWO_FIELDS}, OPPORTUNITY,
                 id="two-fields"),
    # stages
    pytest.param("stage.is_open", {"sf_formula": "NOT(IsClosed)", "soql": "IsClosed = false"}, OPPORTUNITY,
                 id="is-open"),
    pytest.param("stage.is_won", {"sf_formula": "IsWon", "soql": "IsWon = true"}, OPPORTUNITY, id="is-won"),
    pytest.param("stage.is_lost", {
        "sf_formula": "AND(IsClosed, NOT(IsWon))", "soql": "(IsClosed = true AND IsWon = false)",
    }, OPPORTUNITY, id="is-lost"),
    pytest.param("stage.is_closed", {"sf_formula": "IsClosed", "soql": "IsClosed = true"}, OPPORTUNITY,
                 id="is-closed"),
    pytest.param("stage == 'proposal'", {
        "sf_formula": "ISPICKVAL(StageName, 'Proposal')", "soql": "StageName = 'Proposal'",
    }, OPPORTUNITY, id="stage-equals-by-label"),
    pytest.param("'proposal' == stage", {
        "sf_formula": "ISPICKVAL(StageName, 'Proposal')", "soql": "StageName = 'Proposal'",
    }, OPPORTUNITY, id="stage-on-the-right"),
    pytest.param("stage != 'won'", {
        "sf_formula": "NOT(ISPICKVAL(StageName, 'Closed Won'))", "soql": "StageName != 'Closed Won'",
    }, OPPORTUNITY, id="stage-not-equal-needs-no-blank-guard"),
    pytest.param("stage in ['won', 'lost']", {
        "sf_formula": "OR(ISPICKVAL(StageName, 'Closed Won'), ISPICKVAL(StageName, 'Closed Lost'))",
        "soql": "StageName IN ('Closed Won', 'Closed Lost')",
    }, OPPORTUNITY, id="stage-in"),
    pytest.param("stage not in ['won', 'lost']", {
        "sf_formula": "NOT(OR(ISPICKVAL(StageName, 'Closed Won'), ISPICKVAL(StageName, 'Closed Lost')))",
        "soql": "StageName NOT IN ('Closed Won', 'Closed Lost')",
    }, OPPORTUNITY, id="stage-not-in"),
    pytest.param("stage < 'proposal'", {
        "sf_formula": "OR(ISPICKVAL(StageName, 'Discovery'), ISPICKVAL(StageName, 'Evaluation'))",
        "soql": "StageName IN ('Discovery', 'Evaluation')",
    }, OPPORTUNITY, id="stage-before"),
    pytest.param("stage >= 'lost'", {
        "sf_formula": "ISPICKVAL(StageName, 'Closed Lost')", "soql": "StageName IN ('Closed Lost')",
    }, OPPORTUNITY, id="stage-lost-only-itself"),
    pytest.param("stage > 'won'", {"sf_formula": "FALSE", "soql": "Id = null"}, OPPORTUNITY, id="stage-nothing-after"),
    pytest.param("is_blank(stage)", {"sf_formula": "ISBLANK(TEXT(StageName))", "soql": "StageName = null"},
                 OPPORTUNITY, id="stage-blank"),
    # picklists
    pytest.param("loss_reason == 'Price'", {
        "sf_formula": "ISPICKVAL(Loss_Reason__c, 'Price')", "soql": "Loss_Reason__c = 'Price'",
    }, OPPORTUNITY, id="picklist-equals"),
    pytest.param("loss_reason != 'Price'", {
        "sf_formula": "AND(NOT(ISBLANK(TEXT(Loss_Reason__c))), NOT(ISPICKVAL(Loss_Reason__c, 'Price')))",
        "soql": "(Loss_Reason__c != 'Price' AND Loss_Reason__c != null)",
    }, OPPORTUNITY, id="picklist-not-equal-is-false-when-blank"),
    pytest.param("loss_reason in ['Price', 'Timing']", {
        "sf_formula": "OR(ISPICKVAL(Loss_Reason__c, 'Price'), ISPICKVAL(Loss_Reason__c, 'Timing'))",
        "soql": "Loss_Reason__c IN ('Price', 'Timing')",
    }, OPPORTUNITY, id="picklist-in"),
    pytest.param("loss_reason in ['Price']", {
        "sf_formula": "ISPICKVAL(Loss_Reason__c, 'Price')", "soql": "Loss_Reason__c IN ('Price')",
    }, OPPORTUNITY, id="picklist-in-one"),
    pytest.param("loss_reason not in ['Price', 'Timing']", {
        "sf_formula": "AND(NOT(ISBLANK(TEXT(Loss_Reason__c))), "
                      "NOT(OR(ISPICKVAL(Loss_Reason__c, 'Price'), ISPICKVAL(Loss_Reason__c, 'Timing'))))",
        "soql": "(Loss_Reason__c NOT IN ('Price', 'Timing') AND Loss_Reason__c != null)",
    }, OPPORTUNITY, id="picklist-not-in"),
    pytest.param("loss_reason in []", {"sf_formula": "FALSE", "soql": "Id = null"}, OPPORTUNITY, id="in-nothing"),
    pytest.param("loss_reason not in []", {
        "sf_formula": "NOT(ISBLANK(TEXT(Loss_Reason__c)))", "soql": "Loss_Reason__c != null",
    }, OPPORTUNITY, id="not-in-nothing"),
    pytest.param("lead_source == 'Web'", {"sf_formula": "ISPICKVAL(LeadSource, 'Web')", "soql": "LeadSource = 'Web'"},
                 OPPORTUNITY, id="standard-picklist-sos-reads-as-text"),
    pytest.param("len(lead_source) > 2", {"sf_formula": "LEN(TEXT(LeadSource)) > 2", "soql": Unsupported},
                 OPPORTUNITY, id="standard-picklist-as-text"),
    # blanks
    pytest.param("is_blank(pain)", {"sf_formula": "ISBLANK(Pain__c)", "soql": "Pain__c = null"}, OPPORTUNITY,
                 id="blank-text"),
    pytest.param("is_blank(loss_reason)", {
        "sf_formula": "ISBLANK(TEXT(Loss_Reason__c))", "soql": "Loss_Reason__c = null",
    }, OPPORTUNITY, id="blank-picklist"),
    pytest.param("is_blank(budget_confirmed)", {
        "sf_formula": "NOT(Budget_Confirmed__c)", "soql": "Budget_Confirmed__c = false",
    }, OPPORTUNITY, id="blank-checkbox-is-unchecked"),
    pytest.param("is_blank(amount)", {"sf_formula": "ISBLANK(Amount)", "soql": "Amount = null"}, OPPORTUNITY,
                 id="blank-number"),
    pytest.param("is_blank(close_date)", {"sf_formula": "ISBLANK(CloseDate)", "soql": "CloseDate = null"},
                 OPPORTUNITY, id="blank-date"),
    pytest.param("is_blank(competitors)", {
        "sf_formula": "ISBLANK(Competitors__c)", "soql": "Competitors__c = null",
    }, OPPORTUNITY, id="blank-multi-picklist"),
    pytest.param("is_blank(owner)", {"sf_formula": "ISBLANK(OwnerId)", "soql": "OwnerId = null"}, OPPORTUNITY,
                 id="blank-user"),
    pytest.param("is_blank(amount > 1)", {"sf_formula": "NOT(IF(ISBLANK(Amount), FALSE, Amount > 1))", "soql": "NOT (Amount > 1)"},
                 OPPORTUNITY, id="blank-condition-is-false"),
    pytest.param("is_blank(amount + 1)", {"sf_formula": "ISBLANK(Amount + 1)", "soql": Unsupported}, OPPORTUNITY,
                 id="blank-arithmetic"),
    pytest.param("amount == null", {"sf_formula": "ISBLANK(Amount)", "soql": "Amount = null"}, OPPORTUNITY,
                 id="equals-null"),
    pytest.param("null != amount", {"sf_formula": "NOT(ISBLANK(Amount))", "soql": "Amount != null"}, OPPORTUNITY,
                 id="null-on-the-left"),
    pytest.param("loss_reason == null", {
        "sf_formula": "ISBLANK(TEXT(Loss_Reason__c))", "soql": "Loss_Reason__c = null",
    }, OPPORTUNITY, id="picklist-equals-null"),
    pytest.param("budget_confirmed == null", {
        "sf_formula": "NOT(Budget_Confirmed__c)", "soql": "Budget_Confirmed__c = false",
    }, OPPORTUNITY, id="checkbox-is-never-null"),
    pytest.param("economic_buyer != null", {
        "sf_formula": "NOT(ISBLANK(Economic_Buyer__c))", "soql": "Economic_Buyer__c != null",
    }, OPPORTUNITY, id="lookup-not-null"),
    # checkboxes and conditions
    pytest.param("budget_confirmed", {"sf_formula": "Budget_Confirmed__c", "soql": "Budget_Confirmed__c = true"},
                 OPPORTUNITY, id="checkbox"),
    pytest.param("budget_confirmed == true", {
        "sf_formula": "Budget_Confirmed__c", "soql": "Budget_Confirmed__c = true",
    }, OPPORTUNITY, id="checkbox-equals-true"),
    pytest.param("false == budget_confirmed", {
        "sf_formula": "NOT(Budget_Confirmed__c)", "soql": "Budget_Confirmed__c = false",
    }, OPPORTUNITY, id="checkbox-equals-false"),
    pytest.param("budget_confirmed != true", {
        "sf_formula": "NOT(Budget_Confirmed__c)", "soql": "Budget_Confirmed__c = false",
    }, OPPORTUNITY, id="checkbox-not-true"),
    pytest.param("not budget_confirmed", {
        "sf_formula": "NOT(Budget_Confirmed__c)", "soql": "NOT (Budget_Confirmed__c = true)",
    }, OPPORTUNITY, id="not-checkbox"),
    pytest.param("budget_confirmed in [true]", {
        "sf_formula": "Budget_Confirmed__c", "soql": "Budget_Confirmed__c = true",
    }, OPPORTUNITY, id="checkbox-in"),
    pytest.param("(amount > 1) == false", {"sf_formula": "NOT(IF(ISBLANK(Amount), FALSE, Amount > 1))", "soql": "NOT (Amount > 1)"},
                 OPPORTUNITY, id="condition-equals-false"),
    pytest.param("(amount > 1) == (discount > 2)", {
        "sf_formula": "(IF(ISBLANK(Amount), FALSE, Amount > 1)) = (IF(ISBLANK(Discount__c), FALSE, Discount__c > 2))",
        "soql": Unsupported(("SOQL cannot compare two conditions",)),
    }, OPPORTUNITY, id="two-conditions"),
    pytest.param("true == false", {"sf_formula": "FALSE", "soql": "Id = null"}, OPPORTUNITY, id="constant"),
    # logic
    pytest.param("budget_confirmed or amount > 1 and discount < 5", {
        "sf_formula": "OR(Budget_Confirmed__c, AND(IF(ISBLANK(Amount), FALSE, Amount > 1), IF(ISBLANK(Discount__c), FALSE, Discount__c < 5)))",
        "soql": "Budget_Confirmed__c = true OR (Amount > 1 AND Discount__c < 5)",
    }, OPPORTUNITY, id="and-inside-or"),
    pytest.param("not (amount > 5 or stage.is_won) and stage.is_lost", {
        "sf_formula": "AND(NOT(OR(IF(ISBLANK(Amount), FALSE, Amount > 5), IsWon)), AND(IsClosed, NOT(IsWon)))",
        "soql": "NOT (Amount > 5 OR IsWon = true) AND (IsClosed = true AND IsWon = false)",
    }, OPPORTUNITY, id="not-or"),
    pytest.param("(stage.is_won or budget_confirmed) and amount > 0", {
        "sf_formula": "AND(OR(IsWon, Budget_Confirmed__c), IF(ISBLANK(Amount), FALSE, Amount > 0))",
        "soql": "(IsWon = true OR Budget_Confirmed__c = true) AND Amount > 0",
    }, OPPORTUNITY, id="or-inside-and"),
    # text and users
    pytest.param("name == 'Acme'", {"sf_formula": "Name = 'Acme'", "soql": "Name = 'Acme'"}, OPPORTUNITY,
                 id="text-equals"),
    pytest.param("name != 'Acme'", {
        "sf_formula": "AND(NOT(ISBLANK(Name)), Name <> 'Acme')", "soql": "(Name != 'Acme' AND Name != null)",
    }, OPPORTUNITY, id="text-not-equal-is-false-when-blank"),
    pytest.param("name == ''", {
        "sf_formula": "AND(NOT(ISBLANK(Name)), Name = '')",
        "soql": Unsupported(("SOQL cannot tell empty text from a blank field; use is_blank(...)",)),
    }, OPPORTUNITY, id="text-equals-empty-is-never-true"),
    pytest.param("name == pain", {
        "sf_formula": "AND(NOT(ISBLANK(Name)), NOT(ISBLANK(Pain__c)), Name = Pain__c)", "soql": TWO_FIELDS,
    }, OPPORTUNITY, id="text-fields"),
    pytest.param("name in ['a', 'b']", {
        "sf_formula": "OR(Name = 'a', Name = 'b')", "soql": "Name IN ('a', 'b')",
    }, OPPORTUNITY, id="text-in"),
    pytest.param("name not in ['a']", {
        "sf_formula": "AND(NOT(ISBLANK(Name)), NOT(Name = 'a'))", "soql": "(Name NOT IN ('a') AND Name != null)",
    }, OPPORTUNITY, id="text-not-in"),
    pytest.param("pain == 'it\\'s \\\\ \"ok\"\\n'", {
        "sf_formula": "Pain__c = 'it\\'s \\\\ \"ok\"\\n'", "soql": "Pain__c = 'it\\'s \\\\ \"ok\"\\n'",
    }, OPPORTUNITY, id="escapes"),
    pytest.param("owner == 'rep@example.com'", {
        "sf_formula": "Owner.Username = 'rep@example.com'", "soql": "Owner.Username = 'rep@example.com'",
    }, OPPORTUNITY, id="user-by-username"),
    pytest.param("owner != 'rep@example.com'", {
        "sf_formula": "AND(NOT(ISBLANK(Owner.Username)), Owner.Username <> 'rep@example.com')",
        "soql": "(Owner.Username != 'rep@example.com' AND Owner.Username != null)",
    }, OPPORTUNITY, id="user-not-equal"),
    pytest.param("includes(competitors, 'Acme')", {
        "sf_formula": "INCLUDES(Competitors__c, 'Acme')", "soql": "Competitors__c INCLUDES ('Acme')",
    }, OPPORTUNITY, id="includes"),
    # numbers and dates
    pytest.param("1000 < amount", {"sf_formula": "IF(ISBLANK(Amount), FALSE, 1000 < Amount)", "soql": "Amount > 1000"}, OPPORTUNITY,
                 id="soql-puts-the-field-first"),
    pytest.param("amount >= 5000.50 and amount <= 10000", {
        "sf_formula": "AND(IF(ISBLANK(Amount), FALSE, Amount >= 5000.5), IF(ISBLANK(Amount), FALSE, Amount <= 10000))", "soql": "Amount >= 5000.5 AND Amount <= 10000",
    }, OPPORTUNITY, id="numbers"),
    pytest.param("amount != 5", {"sf_formula": "IF(ISBLANK(Amount), FALSE, Amount <> 5)", "soql": "(Amount != 5 AND Amount != null)"},
                 OPPORTUNITY, id="number-not-equal"),
    pytest.param("amount > -5", {"sf_formula": "IF(ISBLANK(Amount), FALSE, Amount > -5)", "soql": "Amount > -5"}, OPPORTUNITY,
                 id="negative-number"),
    # a percent is the number people type; a formula reads it as a fraction (Help, "Tips for Using Number
    # Formula Fields"; reference "Facts checked" #1), SOQL as typed
    pytest.param("probability > 15", {
        "sf_formula": "IF(ISBLANK(Probability), FALSE, Probability * 100 > 15)", "soql": "Probability > 15",
    }, OPPORTUNITY, id="percent"),
    pytest.param("is_blank(probability) or probability / 2 < 10", {
        "sf_formula": "OR(ISBLANK(Probability), IF(ISBLANK((Probability * 100 / 2)), FALSE, "
                      "(Probability * 100 / 2) < 10))",
        "soql": ARITHMETIC,
    }, OPPORTUNITY, id="percent-in-arithmetic"),
    # division by zero stops the save in Salesforce; in sos it is blank
    pytest.param("amount / discount > 2", {
        "sf_formula": "IF(ISBLANK(IF(BLANKVALUE(Discount__c, 0) = 0, NULL, Amount / Discount__c)), FALSE, "
                      "IF(BLANKVALUE(Discount__c, 0) = 0, NULL, Amount / Discount__c) > 2)",
        "soql": ARITHMETIC,
    }, OPPORTUNITY, id="division-by-a-field"),
    # ISPICKVAL(X, '') is true on a blank; in sos a blank never equals ''
    pytest.param("lead_source == ''", {"sf_formula": "FALSE", "soql": Unsupported}, OPPORTUNITY,
                 id="standard-picklist-equals-empty-text"),
    pytest.param("lead_source != ''", {"sf_formula": "NOT(ISBLANK(TEXT(LeadSource)))", "soql": Unsupported},
                 OPPORTUNITY, id="standard-picklist-not-empty-text"),
    pytest.param("amount * (1 - discount / 100) >= 5000", {
        "sf_formula": "IF(ISBLANK(Amount * (1 - (Discount__c / 100))), FALSE, Amount * (1 - (Discount__c / 100)) >= 5000)", "soql": ARITHMETIC,
    }, OPPORTUNITY, id="arithmetic"),
    pytest.param("amount - (discount - 1) > (amount - discount) - 1", {
        "sf_formula": "IF(OR(ISBLANK(Amount - (Discount__c - 1)), ISBLANK(Amount - Discount__c - 1)), FALSE, Amount - (Discount__c - 1) > Amount - Discount__c - 1)",
        "soql": Unsupported(("SOQL cannot do arithmetic",) * 2),
    }, OPPORTUNITY, id="arithmetic-grouping"),
    pytest.param("-amount < 0", {"sf_formula": "IF(ISBLANK(-Amount), FALSE, -Amount < 0)", "soql": ARITHMETIC}, OPPORTUNITY, id="negation"),
    pytest.param("close_date >= today()", {"sf_formula": "IF(ISBLANK(CloseDate), FALSE, CloseDate >= TODAY())", "soql": "CloseDate >= TODAY"},
                 OPPORTUNITY, id="today"),
    pytest.param("close_date < today() + 30", {"sf_formula": "IF(ISBLANK(CloseDate), FALSE, CloseDate < TODAY() + 30)", "soql": ARITHMETIC},
                 OPPORTUNITY, id="date-arithmetic"),
    pytest.param("close_date - today() <= 14", {"sf_formula": "IF(ISBLANK(CloseDate - TODAY()), FALSE, CloseDate - TODAY() <= 14)", "soql": ARITHMETIC},
                 OPPORTUNITY, id="days-between"),
    pytest.param("created_date < now()", {
        "sf_formula": "IF(ISBLANK(CreatedDate), FALSE, CreatedDate < NOW())",
        "soql": Unsupported(("SOQL has no value for the current date and time",)),
    }, OPPORTUNITY, id="now"),
    pytest.param("created_date >= today()", {
        "sf_formula": "IF(ISBLANK(CreatedDate), FALSE, DATEVALUE(CreatedDate) >= TODAY())",
        "soql": Unsupported(("SOQL compares a date and time with TODAY in the user's time zone, not in UTC",)),
    }, OPPORTUNITY, id="datetime-vs-date"),
    pytest.param("close_date > created_date", {
        "sf_formula": "IF(OR(ISBLANK(CloseDate), ISBLANK(CreatedDate)), FALSE, CloseDate > DATEVALUE(CreatedDate))", "soql": TWO_FIELDS,
    }, OPPORTUNITY, id="date-vs-datetime-field"),
    pytest.param("close_date - created_date > 2", {
        "sf_formula": "IF(ISBLANK(CloseDate - DATEVALUE(CreatedDate)), FALSE, CloseDate - DATEVALUE(CreatedDate) > 2)", "soql": ARITHMETIC,
    }, OPPORTUNITY, id="date-minus-datetime"),
    pytest.param("now() - created_date > 30.5", {"sf_formula": "IF(ISBLANK(NOW() - CreatedDate), FALSE, NOW() - CreatedDate > 30.5)", "soql": ARITHMETIC},
                 OPPORTUNITY, id="datetime-minus-datetime"),
    pytest.param("days_since(close_date) > 30", {
        "sf_formula": "IF(ISBLANK(TODAY() - CloseDate), FALSE, TODAY() - CloseDate > 30)",
        "soql": Unsupported(("SOQL cannot compute days_since(); it compares a field with a value",)),
    }, OPPORTUNITY, id="days-since"),
    pytest.param("days_since(created_date) > 30", {
        "sf_formula": "IF(ISBLANK(FLOOR(NOW() - CreatedDate)), FALSE, FLOOR(NOW() - CreatedDate) > 30)", "soql": Unsupported,
    }, OPPORTUNITY, id="days-since-datetime"),
    pytest.param("days_since(close_date) * 2 > -days_since(signed_on + 1)", {
        "sf_formula": "IF(OR(ISBLANK((TODAY() - CloseDate) * 2), ISBLANK(-(TODAY() - (Signed_On__c + 1)))), FALSE, (TODAY() - CloseDate) * 2 > -(TODAY() - (Signed_On__c + 1)))", "soql": Unsupported,
    }, OPPORTUNITY, id="days-since-grouping"),
    pytest.param("len(name) < 3", {
        "sf_formula": "LEN(Name) < 3", "soql": Unsupported(("SOQL cannot measure the length of text",)),
    }, OPPORTUNITY, id="len"),
    # leads, accounts
    pytest.param("status == 'working'", {"sf_formula": "ISPICKVAL(Status, 'Working')", "soql": "Status = 'Working'"},
                 LEAD, id="lead-status"),
    pytest.param("status.is_converted", {"sf_formula": "ISPICKVAL(Status, 'Qualified')", "soql": "Status IN ('Qualified')"}, LEAD,
                 id="lead-converted"),
    pytest.param("rating in ['Hot', 'Warm']", {
        "sf_formula": "OR(ISPICKVAL(Rating__c, 'Hot'), ISPICKVAL(Rating__c, 'Warm'))",
        "soql": "Rating__c IN ('Hot', 'Warm')",
    }, LEAD, id="lead-picklist"),
    pytest.param("employees >= 250 and industry == 'Retail'", {
        "sf_formula": "AND(IF(ISBLANK(NumberOfEmployees), FALSE, NumberOfEmployees >= 250), ISPICKVAL(Industry, 'Retail'))",
        "soql": "NumberOfEmployees >= 250 AND Industry = 'Retail'",
    }, LEAD, id="lead-standard-fields"),
    pytest.param("name == 'Ada'", {
        "sf_formula": Unsupported(("a Salesforce validation rule cannot read a lead's Name (a compound field)",)),
        "soql": "Name = 'Ada'",
    }, LEAD, id="lead-name-is-compound"),
    pytest.param("owner == 'rep@example.com'", {
        "sf_formula": "Owner:User.Username = 'rep@example.com'", "soql": "Owner.Username = 'rep@example.com'",
    }, LEAD, id="lead-owner-may-be-a-queue"),
    pytest.param("country == 'FR' and type != 'Partner'", {
        "sf_formula": "AND(BillingCountry = 'FR', AND(NOT(ISBLANK(TEXT(Type))), NOT(ISPICKVAL(Type, 'Partner'))))",
        "soql": "BillingCountry = 'FR' AND (Type != 'Partner' AND Type != null)",
    }, ACCOUNT, id="account"),
]


@pytest.mark.parametrize(("text", "write", "scope"), WRITE)
def test_write(text: str, write: dict[str, str | Unsupported], scope: Scope) -> None:
    check_all(text, write, scope)


def test_every_problem_is_reported_at_its_span() -> None:
    expr = parse("includes(competitors, pain) or stage == 'nope' or pain == 'x'")
    names = {key: name for key, name in API_NAMES.items() if key != "pain"}
    with pytest.raises(SosError) as info:
        SalesforceFormula(OPPORTUNITY, expression_naming("opportunity", names, STAGE_VALUES, {})).generate(expr)
    assert [d.headline() for d in info.value.diagnostics] == [
        "b.yaml:3:32: error: INCLUDES needs the value written in the rule, in quotes [unsupported]",
        "b.yaml:3:50: error: no Salesforce stage value is known for stage 'nope' [unsupported]",
        "b.yaml:3:60: error: no Salesforce API name is known for field 'pain' [unsupported]",
    ]


def test_error_condition() -> None:
    formula = generator("sf_formula", OPPORTUNITY)
    assert isinstance(formula, SalesforceFormula)
    assert formula.error_condition(parse("stage.is_open"), parse("close_date >= today()")) == (
        "AND(NOT(IsClosed), NOT(IF(ISBLANK(CloseDate), FALSE, CloseDate >= TODAY())))"
    )
    assert formula.error_condition(None, parse("amount > 0")) == "NOT(IF(ISBLANK(Amount), FALSE, Amount > 0))"


def test_error_condition_reports_both_expressions_together() -> None:
    formula = SalesforceFormula(OPPORTUNITY, expression_naming("opportunity", {}, STAGE_VALUES, {}))
    with pytest.raises(SosError) as info:
        formula.error_condition(parse("budget_confirmed"), parse("pain == 'x'"))
    assert [d.message for d in info.value.diagnostics] == [
        "no Salesforce API name is known for field 'budget_confirmed'",
        "no Salesforce API name is known for field 'pain'",
    ]


@pytest.mark.parametrize(
    ("size", "headline"),
    [
        pytest.param(FORMULA_LIMIT - 17, None, id="at-the-limit"),
        pytest.param(FORMULA_LIMIT - 16,
                     "b.yaml:3:10: error: this rule is too big for a Salesforce validation rule: its formula is "
                     "3,901 characters, 1 over the limit of 3,900 [formula-too-long]", id="one-over"),
        pytest.param(FORMULA_LIMIT,
                     "b.yaml:3:10: error: this rule is too big for a Salesforce validation rule: its formula is "
                     "3,917 characters, 17 over the limit of 3,900 [formula-too-long]", id="over"),
    ],
)
def test_formula_size_limit(size: int, headline: str | None) -> None:
    """`NOT(Pain__c = '')` is 17 characters; the text fills the rest."""
    require = parse(f"pain == '{'x' * size}'")
    formula = generator("sf_formula", OPPORTUNITY)
    assert isinstance(formula, SalesforceFormula)
    if headline is None:
        assert len(formula.error_condition(None, require)) == FORMULA_LIMIT
        return
    with pytest.raises(SosError) as info:
        formula.error_condition(None, require)
    assert [d.headline() for d in info.value.diagnostics] == [headline]
    assert info.value.diagnostics[0].fix == "split it into several smaller rules"


def test_formula_size_limit_points_at_the_bigger_expression() -> None:
    when = parse("pain == 'short'")
    require = parse("name in [" + ", ".join(f"'{i:0>95}'" for i in range(40)) + "]")
    formula = generator("sf_formula", OPPORTUNITY)
    assert isinstance(formula, SalesforceFormula)
    with pytest.raises(SosError) as info:
        formula.error_condition(when, require)
    [diagnostic] = info.value.diagnostics
    assert diagnostic.span == require.span and diagnostic.code == "formula-too-long"


def test_quote() -> None:
    assert quote("it's a \\ \"b\"\n\t") == "'it\\'s a \\\\ \"b\"\\n\\t'"


# -- the formula means what the evaluator means ------------------------------------------------

PICKLIST_VALUES = ("Price", "Timing", "Competitor", "No decision")
TEXTS = ("''", "'a'", "'b'", "'ab'", "'it\\'s'", "'a\\\\b'")
USERS = ("rep@example.com", "boss@example.com")


def conditions(*, soql: bool = False) -> st.SearchStrategy[str]:
    """Conditions over OPPORTUNITY, well typed by construction; with `soql`, only what SOQL can say."""
    comparison = st.sampled_from(["==", "!=", "<", "<=", ">", ">="])
    equality = st.sampled_from(["==", "!="])
    stage_key = st.sampled_from(list(STAGE_VALUES))
    value = st.sampled_from(PICKLIST_VALUES)
    values = st.lists(value, max_size=3).map(lambda vs: "[" + ", ".join(f"'{v}'" for v in vs) + "]")
    text = st.sampled_from([t for t in TEXTS if not (soql and t == "''")])
    texts = st.lists(text, max_size=3).map(lambda ts: "[" + ", ".join(ts) + "]")
    within = st.sampled_from(["in", "not in"])
    whole: st.SearchStrategy[str] = st.deferred(  # a whole number of days: a date's arithmetic stays whole
        lambda: st.one_of(
            st.sampled_from(["discount", "3", "0", "len(name)", "days_since(close_date)", "days_since(created_date)"]),
            st.tuples(whole, st.sampled_from(["+", "-"]), whole).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
            whole.map(lambda w: f"({w} * 2)"),
            whole.map(lambda w: f"-{w}"),
        )
    )
    number: st.SearchStrategy[str] = st.deferred(
        lambda: st.one_of(
            st.sampled_from(["amount", "probability", "2.5", "len(lead_source)", "(close_date - created_date)",
                             "(now() - created_date)", "(signed_on - close_date)"]),
            whole,
            st.tuples(number, st.sampled_from(["+", "-", "*", "/"]), number).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        )
    )
    day: st.SearchStrategy[str] = st.deferred(
        lambda: st.one_of(
            st.sampled_from(["close_date", "signed_on", "today()"]),
            st.tuples(day, st.sampled_from(["+", "-"]), whole).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        )
    )
    moment: st.SearchStrategy[str] = st.deferred(
        lambda: st.one_of(
            st.sampled_from(["created_date", "now()"]),
            st.tuples(moment, st.sampled_from(["+", "-"]), number).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        )
    )
    simple = [
        st.sampled_from([
            "stage.is_open", "stage.is_won", "stage.is_lost", "stage.is_closed", "budget_confirmed",
            "budget_confirmed == true", "budget_confirmed != false", "is_blank(budget_confirmed)",
            "budget_confirmed == null", "is_blank(stage)", "is_blank(loss_reason)", "loss_reason != null",
            "is_blank(pain)", "pain == null", "is_blank(lead_source)", "is_blank(competitors)",
            "competitors != null", "is_blank(owner)", "economic_buyer == null", "amount == null",
            "close_date != null", "created_date == null", "is_blank(amount)", "is_blank(signed_on)",
            "includes(competitors, 'Acme')", "includes(competitors, 'Initech')",
            "lead_source == 'Web'", "lead_source != 'Web'", "lead_source in ['Web', 'Phone']",
            "lead_source not in ['Web']", "close_date >= today()", "today() < close_date", "amount > -5",
        ]),
        st.tuples(comparison, stage_key).map(lambda t: f"stage {t[0]} '{t[1]}'"),
        st.tuples(within, st.lists(stage_key, max_size=3)).map(
            lambda t: f"stage {t[0]} [{', '.join(repr(k) for k in t[1])}]"
        ),
        st.tuples(equality, value).map(lambda t: f"loss_reason {t[0]} '{t[1]}'"),
        st.tuples(within, values).map(lambda t: f"loss_reason {t[0]} {t[1]}"),
        st.tuples(st.sampled_from(["name", "pain"]), equality, text).map(" ".join),
        st.tuples(st.sampled_from(["name", "pain"]), within, texts).map(" ".join),
        st.tuples(equality, st.sampled_from(USERS)).map(lambda t: f"owner {t[0]} '{t[1]}'"),
        st.tuples(within, st.lists(st.sampled_from(USERS), max_size=2)).map(
            lambda t: f"owner {t[0]} [{', '.join(repr(u) for u in t[1])}]"
        ),
        st.tuples(st.sampled_from(["amount", "discount", "probability"]), comparison,
                  st.sampled_from(["0", "7", "2.5", "-3", "100"])).map(" ".join),
        st.tuples(st.sampled_from(["amount", "discount"]), within,
                  st.lists(st.sampled_from(["0", "7", "2.5"]), max_size=3)).map(
            lambda t: f"{t[0]} {t[1]} [{', '.join(t[2])}]"
        ),
    ]
    if not soql:
        simple += [
            st.tuples(number, comparison, number).map(" ".join),
            st.tuples(day, comparison, day).map(" ".join),
            st.tuples(moment, comparison, moment).map(" ".join),
            st.tuples(day, comparison, moment).map(" ".join),
            st.tuples(st.sampled_from(["name", "pain", "next_step"]), equality,
                      st.sampled_from(["name", "pain", "next_step"])).map(" ".join),
            st.sampled_from(["len(pain) > 1", "len(lead_source) == 0", "is_blank(amount + discount)",
                             "is_blank(days_since(created_date))", "(amount > 1) == (discount > 2)"]),
        ]
    condition: st.SearchStrategy[str] = st.deferred(
        lambda: st.one_of(
            *simple,
            condition.map(lambda c: f"not ({c})"),
            st.tuples(condition, st.sampled_from(["and", "or"]), condition).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
            st.tuples(condition, equality, st.sampled_from(["true", "false"])).map(lambda t: f"({t[0]}) {t[1]} {t[2]}"),
        )
    )
    return condition


def records() -> st.SearchStrategy[dict[str, object]]:
    """OPPORTUNITY records as the evaluator takes them; every deal has a known stage (StageName is required)."""
    blank_text = st.sampled_from([None, ""])
    text = st.one_of(blank_text, st.text(alphabet="ab'\\", min_size=1, max_size=3))
    # Salesforce keeps dates from 1700 to 4000; amounts stay small enough that a date plus them does too
    dates = {"min_value": datetime.date(1900, 1, 1), "max_value": datetime.date(2100, 12, 31)}
    moments = {"min_value": datetime.datetime(1900, 1, 1), "max_value": datetime.datetime(2100, 12, 31)}
    # boundaries: the days around today, and moments around midnight GMT and the user's midnight
    near_today = st.integers(-3, 3).map(lambda days: TODAY + datetime.timedelta(days=days))
    near_now = st.sampled_from([-1, 0, 1]).flatmap(lambda days: st.sampled_from([
        NOW.replace(hour=0, minute=0) + datetime.timedelta(days=days, seconds=seconds)
        for seconds in (-1, 0, 1, 8 * 3600 - 1, 8 * 3600, 8 * 3600 + 1)]))
    return st.fixed_dictionaries(
        {"stage": st.sampled_from(list(STAGE_VALUES))},
        optional={
            "amount": st.one_of(st.none(), st.integers(-10**5, 10**5), st.floats(-1e5, 1e5).map(lambda f: round(f, 2))),
            "discount": st.one_of(st.none(), st.integers(-5, 100)),
            "probability": st.one_of(st.none(), st.sampled_from([0, 2.5, 7, 14.99, 15, 100]), st.integers(0, 100)),
            "close_date": st.one_of(st.none(), near_today, st.dates(**dates)),
            "signed_on": st.one_of(st.none(), near_today, st.dates(**dates)),
            "created_date": st.one_of(st.none(), near_now, st.datetimes(**moments)),
            "budget_confirmed": st.one_of(st.none(), st.booleans()),
            "loss_reason": st.one_of(blank_text, st.sampled_from(PICKLIST_VALUES)),
            "lead_source": st.one_of(blank_text, st.sampled_from(["Web", "Phone", "Partner"])),
            "competitors": st.one_of(st.none(), st.lists(st.sampled_from(["Acme", "Globex", "Initech"]), unique=True)),
            "owner": st.one_of(blank_text, st.sampled_from(USERS)),
            "economic_buyer": st.one_of(blank_text, st.just("003000000000001AAA")),
            "name": text,
            "pain": text,
            "next_step": text,
        },
    )


OUTCOMES = {stage.key: stage.outcome for stage in OPPORTUNITY.stages}
# The emulator's fields for OPPORTUNITY: what types the formula evaluator reads the record by.
FIELD_TYPES = {
    Kind.BOOLEAN: "Checkbox", Kind.NUMBER: "Number", Kind.DATE: "Date", Kind.DATETIME: "DateTime",
    Kind.PICKLIST: "Picklist", Kind.STAGE: "Picklist", Kind.LEAD_STATUS: "Picklist",
    Kind.MULTI_PICKLIST: "MultiselectPicklist",
    Kind.TEXT: "Text", Kind.USER: "Lookup", Kind.REFERENCE: "Lookup",
}


def emulator_fields(scope: Scope) -> dict[str, FieldInfo]:
    names = api_names_for(scope.object, API_NAMES)
    fields = {"isclosed": FieldInfo("IsClosed", "Closed", "Checkbox", False),
              "iswon": FieldInfo("IsWon", "Won", "Checkbox", False),
              "laststagechangedate": FieldInfo("LastStageChangeDate", "Last Stage Change Date", "DateTime", False)}
    for key, field_type in scope.fields.items():
        if key not in names:   # days_in_stage: counted from LastStageChangeDate
            continue
        kind = "Percent" if field_type.percent else FIELD_TYPES[field_type.kind]
        if names[key] in STANDARD_PICKLISTS[scope.object]:
            kind = "Picklist"
        user = field_type.kind is Kind.USER  # OwnerId: Owner.Username reads the user's
        fields[names[key].lower()] = FieldInfo(names[key], key, kind, custom=names[key].endswith("__c"),
                                               reference_to="User" if user else None,
                                               relationship=names[key].removesuffix("Id") if user else None)
    return fields


FIELDS = emulator_fields(OPPORTUNITY)
USER_FIELDS = {"username": FieldInfo("Username", "Username", "Text", False)}


def deploy_problems(formula: str) -> list[str]:
    """What the emulator refuses when a validation rule with this error condition is deployed on Opportunity:
    unknown names, misplaced picklists and type errors, in the branches a record never reaches too."""
    def fields_of(obj: str) -> dict[str, FieldInfo]:
        return FIELDS if obj == "Opportunity" else USER_FIELDS
    return check(formula, "Opportunity", fields_of) or check_condition(formula, "Opportunity", fields_of)


def salesforce_record(record: Mapping[str, object]) -> dict[str, object]:
    """`record` as the REST API holds it, by API name: blanks null, a checkbox true or false, stages by
    their stored value, multi-select values `;`-joined, a percent as typed; the stage's IsClosed and IsWon
    derived, the owner's Username under Owner."""
    names = api_names_for("opportunity", API_NAMES)
    held: dict[str, object] = {}
    for key, field_type in OPPORTUNITY.fields.items():
        if key not in names:   # days_in_stage: counted from LastStageChangeDate
            continue
        raw = record.get(key)
        if field_type.kind is Kind.BOOLEAN:
            raw = bool(raw)  # a checkbox is never null
        elif field_type.kind is Kind.STAGE:
            raw = STAGE_VALUES[str(raw)]
        elif field_type.kind is Kind.MULTI_PICKLIST:
            raw = ";".join(raw or []) or None  # type: ignore[arg-type]
        held[names[key]] = None if raw == "" else raw  # the REST API holds blank text as null
    held["Owner"] = {"Username": held["OwnerId"]}
    held["IsClosed"] = OUTCOMES[str(record["stage"])] in ("won", "lost")
    held["IsWon"] = OUTCOMES[str(record["stage"])] == "won"
    return held


def context(record: Mapping[str, object]) -> Context:
    """The emulator's view of `record`, saved by a user eight hours west of GMT."""
    return Context(salesforce_record(record), FIELDS, NOW.replace(tzinfo=datetime.UTC), USER_OFFSET,
                   related=lambda path: record.get("owner") or None)


def in_salesforce(formula: str, record: Mapping[str, object], *, verdict: bool = False) -> object:
    """What the emulator's formula evaluator makes of `formula` for `record` (with `verdict`, whether a rule
    with this error condition fires), once the emulator would deploy it. Generated arithmetic can leave the
    calendar Salesforce keeps (1700 to 4000), where sos says blank and Salesforce's behaviour is not
    documented: such examples are discarded."""
    assert deploy_problems(formula) == [], formula
    try:
        value = fires(formula, context(record)) if verdict else evaluate_formula(formula, context(record))
    except FormulaRuntimeError as error:
        assume(str(error) != "Date out of range")
        raise
    return float(value) if isinstance(value, Decimal) else value


# 500 generated expressions, each with a generated record, for each agreement below (400 rules of two).
AGREEMENT = settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@AGREEMENT
@given(conditions(), records())
def test_the_formula_agrees_with_the_evaluator(text: str, record: dict[str, object]) -> None:
    expr = parse(text)
    assert check_expression(expr, OPPORTUNITY) == []
    try:
        formula = generator("sf_formula", OPPORTUNITY).generate(expr)
    except SosError as error:   # a large generated condition can pass Salesforce's size limit (tested above)
        assume(error.diagnostics[0].code != "formula-too-long")
        raise
    expected = evaluate(expr, record, OPPORTUNITY, today=TODAY, now=NOW)
    assert in_salesforce(formula, record) == expected, (text, formula, record)


@settings(AGREEMENT, max_examples=400)
@given(conditions(), conditions(), records())
def test_the_error_condition_rejects_exactly_the_violators(when: str, require: str, record: dict[str, object]) -> None:
    formula = generator("sf_formula", OPPORTUNITY)
    assert isinstance(formula, SalesforceFormula)
    try:
        text = formula.error_condition(parse(when), parse(require))
    except SosError as error:   # two large generated conditions can pass Salesforce's size limit (tested above)
        assume(error.diagnostics[0].code != "formula-too-long")
        raise
    violates = evaluate(parse(when), record, OPPORTUNITY, today=TODAY, now=NOW) is True and evaluate(
        parse(require), record, OPPORTUNITY, today=TODAY, now=NOW
    ) is not True
    rejects = in_salesforce(text, record, verdict=True)
    assert rejects == violates, (when, require, text, record)


@pytest.mark.parametrize("status", [status.key for status in LEAD.statuses])
@pytest.mark.parametrize("text", ["status.is_converted", "not status.is_converted"])
def test_a_converted_status_is_not_a_converted_lead(text: str, status: str) -> None:
    """`status.is_converted` asks whether the status is one marked converted; IsConverted, whether the
    record was converted (Lead object reference), which a lead in a converted status need not be."""
    formula = generator("sf_formula", LEAD).generate(parse(text))
    held = {"Status": STATUS_VALUES[status], "IsConverted": False}
    fields = {**emulator_fields(LEAD), "isconverted": FieldInfo("IsConverted", "Converted", "Checkbox", False)}
    found = evaluate_formula(formula, Context(held, fields, NOW.replace(tzinfo=datetime.UTC)))
    assert found == evaluate(parse(text), {"status": status}, LEAD, today=TODAY, now=NOW), formula


def soql_matches(where: str, record: Mapping[str, object]) -> bool:
    """Whether the emulator's SOQL engine finds `record` with this WHERE clause."""
    query = soql_engine.parse(f"SELECT Id FROM Opportunity WHERE {where}")
    user_now = NOW.replace(tzinfo=datetime.UTC).astimezone(datetime.timezone(USER_OFFSET))
    return bool(soql_engine.run(query, [{"Id": "006Em0000000001AAA", **salesforce_record(record)}], rest_getter,
                               user_now))


@AGREEMENT
@given(conditions(soql=True), records())
def test_soql_the_formula_and_the_evaluator_agree(text: str, record: dict[str, object]) -> None:
    """The three readings of one rule: the sandbox's evaluator, the emulator's SOQL engine running the
    generated WHERE clause (date literals counted from the user's day), and the emulator's formula
    evaluator running the generated formula."""
    expr = parse(text)
    expected = evaluate(expr, record, OPPORTUNITY, today=TODAY, now=NOW)
    where = generator("soql", OPPORTUNITY).generate(expr)
    formula = generator("sf_formula", OPPORTUNITY).generate(expr)
    assert (soql_matches(where, record), in_salesforce(formula, record)) == (expected, expected), (
        text, where, formula, record)


@pytest.mark.parametrize(
    "formula",
    [
        pytest.param("StageName = 'Proposal'", id="picklist-compared-with-equals"),
        pytest.param("ISBLANK(Loss_Reason__c)", id="picklist-blank-without-text"),
        pytest.param("CloseDate > CreatedDate", id="date-vs-datetime"),
        pytest.param("Name > 'a'", id="text-ordered"),
        pytest.param("AND(Amount, TRUE)", id="number-as-condition"),
        pytest.param("Nope__c = 1", id="unknown-field"),
    ],
)
def test_the_interpreter_refuses_what_salesforce_would_not_compile(formula: str) -> None:
    with pytest.raises(FormulaError):
        evaluate_formula(formula, context({"stage": "proposal", "amount": 1, "close_date": TODAY,
                                          "created_date": NOW}))


# -- a save in progress: is_new(), is_changed(f), prior(f) ---------------------------------------------------------

HISTORY_FIELDS = ("stage", "amount", "discount", "probability", "close_date", "created_date", "budget_confirmed",
                  "loss_reason", "lead_source", "pain", "name", "competitors")


def read_before_the_save(expr: Expr) -> Expr:
    """`expr` with every field read as it was before the save: `amount` → `prior(amount)`."""
    def rewrite(node: Expr) -> Expr:
        return Call(node.span, "prior", (node,), node.span) if isinstance(node, Name) else node
    return transform(expr, rewrite)


@settings(AGREEMENT, max_examples=400)
@given(conditions(), st.sampled_from(HISTORY_FIELDS), st.sampled_from(["and", "or"]), records(),
       st.one_of(st.none(), records()))
def test_a_save_in_progress_reads_the_same_in_the_formula_and_the_evaluator(
        text: str, changed: str, logic: str, record: dict[str, object], prior: dict[str, object] | None) -> None:
    """On insert (`prior` None) and on update: a generated condition read over the prior values, joined with
    is_changed() of a field and is_new(), means the same to sos's evaluator as to the emulator's formula engine
    (ISNEW, ISCHANGED and PRIORVALUE as Salesforce Help documents them)."""
    past = read_before_the_save(parse(text))
    expr = parse(f"is_changed({changed}) {logic} not is_new()")
    expr = BoolOp(expr.span, Logic(logic), (expr, past))
    assert check_expression(expr, OPPORTUNITY) == []
    try:
        formula = generator("sf_formula", OPPORTUNITY).generate(expr)
    except SosError as error:   # a prior owner has no username to read; a big condition can pass the size limit
        assume(error.diagnostics[0].code not in ("unsupported", "formula-too-long"))
        raise
    assert deploy_problems(formula) == [], formula
    expected = evaluate(expr, record, OPPORTUNITY, today=TODAY, now=NOW, prior=prior)
    held = context(record)
    held.prior = salesforce_record(prior) if prior is not None else None
    try:
        found = evaluate_formula(formula, held)
    except FormulaRuntimeError as error:
        assume(str(error) != "Date out of range")
        raise
    assert found == expected, (formula, record, prior)


@pytest.mark.parametrize(("text", "formula"), [
    ("is_new()", "ISNEW()"),
    ("is_changed(stage)", "ISCHANGED(StageName)"),
    ("prior(stage) == 'proposal'", "ISPICKVAL(PRIORVALUE(StageName), 'Proposal')"),
    ("prior(stage).is_open", "OR(ISPICKVAL(PRIORVALUE(StageName), 'Discovery'), "
                             "ISPICKVAL(PRIORVALUE(StageName), 'Evaluation'), "
                             "ISPICKVAL(PRIORVALUE(StageName), 'Proposal'))"),
    ("prior(loss_reason) != 'Price'", "AND(NOT(ISBLANK(TEXT(PRIORVALUE(Loss_Reason__c)))), "
                                      "NOT(ISPICKVAL(PRIORVALUE(Loss_Reason__c), 'Price')))"),
    ("includes(prior(competitors), 'Acme')", "INCLUDES(PRIORVALUE(Competitors__c), 'Acme')"),
    ("prior(amount) > amount", "IF(OR(ISBLANK(PRIORVALUE(Amount)), ISBLANK(Amount)), FALSE, "
                               "PRIORVALUE(Amount) > Amount)"),
    ("prior(probability) > 10", "IF(ISBLANK(PRIORVALUE(Probability)), FALSE, PRIORVALUE(Probability) * 100 > 10)"),
])
def test_a_save_in_progress_in_a_formula(text: str, formula: str) -> None:
    """Picklists' prior values go through ISPICKVAL or TEXT (Help, "PRIORVALUE": ISPICKVAL(PRIORVALUE(f), v),
    INCLUDES(PRIORVALUE(f), v)); a prior stage's outcome is a test of the prior stage, not IsClosed."""
    check_all(text, {"sf_formula": formula, "soql": Unsupported})


def test_a_prior_owner_cannot_be_read_in_a_formula() -> None:
    with pytest.raises(SosError) as info:
        generator("sf_formula", OPPORTUNITY).generate(parse("prior(owner) == 'rep@example.com'"))
    assert [d.headline() for d in info.value.diagnostics] == [
        "b.yaml:3:10: error: a Salesforce formula cannot read the prior value of a user here [unsupported]"]
