"""Expressions in plain English, as the playbook prints them for reps: labels, never keys or code."""

from __future__ import annotations

import datetime
import re

import pytest

from sos.expr.annotate import annotate
from sos.expr.ast import Call, Op, walk
from sos.expr.dialects.evaluate import evaluate
from sos.expr.dialects.words import Wording, to_words
from sos.expr.typecheck import FUNCTIONS
from tests.expr.helpers import LEAD, OPPORTUNITY, parse

DEAL = Wording("deal", fields={"budget_confirmed": "Budget confirmed", "close_date": "Close date", "amount": "Amount",
                               "signed_on": "Signed on", "loss_reason": "Loss reason", "pain": "Pain",
                               "competitors": "Competitors", "discount": "Discount %", "stage": "Stage"},
                stages={"discovery": "Discovery", "proposal": "Proposal", "won": "Closed Won", "lost": "Closed Lost"},
                lost=frozenset({"lost"}))
LEADS = Wording("lead", fields={"status": "Status", "rating": "Rating", "country": "Country"},
                statuses={"qualified": "Qualified", "disqualified": "Disqualified", "working": "Working"})

CASES = [
    # comparisons, each operator; numbers and dates read differently
    ("amount > 0", "Amount is more than 0"),
    ("amount >= 1000", "Amount is at least 1000"),
    ("amount < 50", "Amount is less than 50"),
    ("discount <= 15", "Discount % is at most 15"),
    ("amount == 0", "Amount is 0"),
    ("amount != 0", "Amount is filled in and not 0"),
    ("signed_on != close_date", "Signed on and Close date are filled in and differ"),
    ("not (amount > 5)", "Amount is blank or at most 5"),
    ("not (signed_on < close_date)", "Signed on or Close date is blank, or Signed on is on or after Close date"),
    ("0 < amount", "Amount is more than 0"),
    ("close_date >= today()", "Close date is today or later"),
    ("close_date <= today()", "Close date is today or earlier"),
    ("close_date > today()", "Close date is after today"),
    ("close_date < today() - 7", "Close date is before 7 days ago"),
    ("close_date <= today() + 60", "Close date is on or before 60 days from today"),
    ("signed_on >= close_date", "Signed on is on or after Close date"),
    ("days_since(created_date) > 30", "the days since Created date is more than 30"),
    ("len(pain) >= 20", "the length of Pain is at least 20"),
    ("not (len(pain) > 5)", "the length of Pain is at most 5"),     # a blank text's length is 0, never blank
    ("amount * 2 > discount + 1", "Amount × 2 is more than Discount % + 1"),
    ("amount / (discount - 1) > 3", "Amount ÷ (Discount % − 1) is more than 3"),
    ("-amount < 0", "−Amount is less than 0"),
    # stages and statuses by their labels, in pipeline order
    ("stage == 'proposal'", "Stage is Proposal"),
    ("stage != 'lost'", "Stage is not Closed Lost"),
    ("stage >= 'proposal'", "Stage is Proposal or later (not lost)"),
    ("stage > 'discovery'", "Stage is past Discovery (not lost)"),
    ("not (stage > 'discovery')", "Stage is lost or Discovery or before"),
    ("stage >= 'lost'", "Stage is Closed Lost"),
    ("stage > 'lost'",
     "Stage is past Closed Lost, which never holds (a lost stage is neither before nor after another)"),
    ("stage < 'proposal'", "Stage is before Proposal (not lost)"),
    ("stage <= 'proposal'", "Stage is Proposal or before (not lost)"),
    ("stage not in ['discovery', 'proposal']", "Stage is neither Discovery nor Proposal"),
    ("stage in ['discovery', 'proposal']", "Stage is Discovery or Proposal"),
    ("stage.is_open", "the deal is open"),
    ("not stage.is_won", "the deal is not won"),
    ("stage.is_lost or stage.is_closed", "the deal is lost or the deal is closed"),
    # checkboxes, blanks, lists
    ("budget_confirmed", "Budget confirmed is ticked"),
    ("budget_confirmed == true", "Budget confirmed is ticked"),
    ("not budget_confirmed", "Budget confirmed is not ticked"),
    ("budget_confirmed != true", "Budget confirmed is not ticked"),
    ("is_blank(pain)", "Pain is blank"),
    ("not is_blank(pain)", "Pain is filled in"),
    ("pain == null", "Pain is blank"),
    ("pain != null", "Pain is filled in"),
    # an unticked checkbox counts as blank (evaluate.py)
    ("is_blank(budget_confirmed)", "Budget confirmed is not ticked"),
    ("not is_blank(budget_confirmed)", "Budget confirmed is ticked"),
    ("budget_confirmed == null", "Budget confirmed is not ticked"),
    ("budget_confirmed != null", "Budget confirmed is ticked"),
    ("loss_reason == 'Price'", "Loss reason is “Price”"),
    ("loss_reason not in ['Price', 'Timing']", "Loss reason is filled in and neither “Price” nor “Timing”"),
    ("loss_reason not in ['Price', 'Timing', 'Competitor']",
     "Loss reason is filled in and none of “Price”, “Timing” and “Competitor”"),
    ("not (loss_reason in ['Price'])", "Loss reason is blank or not “Price”"),
    ("not (loss_reason not in ['Price'])", "Loss reason is blank or “Price”"),
    ("includes(competitors, 'Acme')", "Competitors includes “Acme”"),
    # changes during a save
    ("is_new()", "the deal is being created"),
    ("not is_new()", "the deal already exists"),
    ("is_changed(stage)", "Stage is being changed"),
    ("not is_changed(amount)", "Amount is not being changed"),
    ("prior(amount) > amount", "Amount before this change is more than Amount"),
    ("now() > created_date", "now is after Created date"),
    # grouping follows the expression
    ("stage.is_open and (amount > 0 or budget_confirmed)",
     "the deal is open and (Amount is more than 0 or Budget confirmed is ticked)"),
    ("amount > 0 and close_date >= today() and not is_blank(pain)",
     "Amount is more than 0 and Close date is today or later and Pain is filled in"),
    ("not (amount > 0 and budget_confirmed)", "not (Amount is more than 0 and Budget confirmed is ticked)"),
]

LEAD_CASES = [
    ("status == 'disqualified'", "Status is Disqualified"),
    ("status.is_converted", "the lead is converted"),
    ("rating in ['Hot', 'Warm']", "Rating is “Hot” or “Warm”"),
]


@pytest.mark.parametrize(("text", "words"), CASES)
def test_a_deal_condition_reads_as_a_sentence(text: str, words: str) -> None:
    typed, problems = annotate(parse(text), OPPORTUNITY)
    assert not problems
    assert to_words(typed, DEAL) == words


@pytest.mark.parametrize(("text", "words"), LEAD_CASES)
def test_a_lead_condition_reads_as_a_sentence(text: str, words: str) -> None:
    typed, problems = annotate(parse(text), LEAD)
    assert not problems
    assert to_words(typed, LEADS) == words


def test_every_function_and_operator_of_the_language_has_words() -> None:
    """A function or operator added to the language without words here would print as code to a rep."""
    parsed = [parse(text) for text, _ in CASES + LEAD_CASES]
    functions = {node.func for expr in parsed for node in walk(expr) if isinstance(node, Call)}
    assert functions == set(FUNCTIONS)
    written = " ".join(text for text, _ in CASES)
    assert all(re.search(rf"\s{re.escape(op.value)}\s", written) for op in Op)
    assert not any(re.search(r"[a-z]+_[a-z]+|\w\(", words) for _, words in CASES + LEAD_CASES)


# What the sentence says of a blank field or a lost deal, checked against the evaluator (the semantics every dialect
# matches, sos/expr/dialects/evaluate.py's docstring): a comparison, `in` or `not in` with a blank operand is false, so
# `not (…)` of one is true; a lost stage is before or after no other stage.
BLANK_CASES = ["amount != 0", "signed_on != close_date", "loss_reason not in ['Price', 'Timing']",
               "not (amount > 5)", "not (loss_reason in ['Price'])", "not (loss_reason not in ['Price'])",
               "not (signed_on < close_date)", "amount > 5", "loss_reason in ['Price']"]
LOST_CASES = ["stage >= 'proposal'", "stage > 'discovery'", "stage < 'won'", "stage <= 'proposal'",
              "not (stage > 'discovery')", "not (stage <= 'proposal')", "stage >= 'lost'", "stage > 'lost'"]


@pytest.mark.parametrize("text", BLANK_CASES)
def test_the_words_say_what_a_blank_field_does(text: str) -> None:
    holds = evaluate(parse(text), {"stage": "discovery"}, OPPORTUNITY, today=datetime.date(2026, 12, 5))
    words = to_words(annotate(parse(text), OPPORTUNITY)[0], DEAL)
    assert bool(re.search(r"is blank,? or", words)) == holds, words
    if not holds and text.startswith(("amount !=", "signed_on !=", "loss_reason not in")):
        assert "filled in" in words, words


@pytest.mark.parametrize("text", LOST_CASES)
def test_the_words_say_what_a_lost_deal_does(text: str) -> None:
    holds = evaluate(parse(text), {"stage": "lost"}, OPPORTUNITY, today=datetime.date(2026, 12, 5))
    words = to_words(annotate(parse(text), OPPORTUNITY)[0], DEAL)
    says_lost_holds = words.startswith("Stage is lost or") or words == "Stage is Closed Lost"
    says_lost_fails = words.endswith("(not lost)") or "never holds" in words
    assert (says_lost_holds, says_lost_fails) == (holds, not holds), words


@pytest.mark.parametrize("text", ["is_blank(budget_confirmed)", "not is_blank(budget_confirmed)",
                                  "budget_confirmed == null", "budget_confirmed != null"])
def test_the_words_say_what_an_unticked_checkbox_does(text: str) -> None:
    holds = evaluate(parse(text), {"budget_confirmed": False}, OPPORTUNITY, today=datetime.date(2026, 12, 5))
    words = to_words(annotate(parse(text), OPPORTUNITY)[0], DEAL)
    assert words == f"Budget confirmed is {'not ticked' if holds else 'ticked'}"
