from __future__ import annotations

import pytest

from sos.errors import SosError
from sos.expr.ast import Attribute, BoolOp, Call, Compare, Literal, Logic, Name, Op, walk
from sos.expr.parse import MAX_DEPTH
from tests.expr.helpers import locate, parse, shape


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("a or b and c", "(or a (and b c))", id="and-binds-tighter-than-or"),
        pytest.param("a and b or c", "(or (and a b) c)", id="and-then-or"),
        pytest.param("a or b or c", "(or a b c)", id="or-flattens"),
        pytest.param("(a or b) and c", "(and (or a b) c)", id="parentheses"),
        pytest.param("a or (b or c)", "(or a (or b c))", id="parentheses-keep-shape"),
        pytest.param("not a and b", "(and (not a) b)", id="not-binds-tighter-than-and"),
        pytest.param("not a == b", "(not (== a b))", id="not-looser-than-compare"),
        pytest.param("not not a", "(not (not a))", id="not-not"),
        pytest.param("a = 1", "(== a 1)", id="single-equals"),
        pytest.param("a != 1 and b <= 2 and c >= 3 and d < 4 and e > 5",
                     "(and (!= a 1) (<= b 2) (>= c 3) (< d 4) (> e 5))", id="all-comparisons"),
        pytest.param("a + b * c - d / e", "(- (+ a (* b c)) (/ d e))", id="arithmetic-precedence"),
        pytest.param("a - b - c", "(- (- a b) c)", id="left-associative"),
        pytest.param("-a * b", "(* (- a) b)", id="unary-minus-binds-tightest"),
        pytest.param("a - -1", "(- a (- 1))", id="minus-minus"),
        pytest.param("a + 1 > b", "(> (+ a 1) b)", id="arithmetic-inside-compare"),
        pytest.param("x in ['a', \"b\"]", "(in x ['a' 'b'])", id="in-list"),
        pytest.param("x not in []", "(not in x [])", id="not-in-empty-list"),
        pytest.param("not x in [1]", "(not (in x [1]))", id="not-before-in"),
        pytest.param("x + 1 in [2, 3]", "(in (+ x 1) [2 3])", id="in-after-arithmetic"),
        pytest.param("stage.is_open", "stage.is_open", id="attribute"),
        pytest.param("status.is_converted or stage.is_won", "(or status.is_converted stage.is_won)", id="attributes"),
        pytest.param("today()", "today()", id="call-no-args"),
        pytest.param("f(a, g(b, 1))", "f(a g(b 1))", id="nested-calls"),
        pytest.param("1.5 + 20", "(+ 1.5 20)", id="numbers"),
        pytest.param("true and false or null", "(or (and True False) None)", id="keywords"),
        pytest.param("android and notable or index", "(or (and android notable) index)", id="keyword-prefixed-names"),
        pytest.param("  a\n  and\tb  ", "(and a b)", id="whitespace"),
        pytest.param("[1, [2]]", "[1 [2]]", id="nested-list"),
        pytest.param("Amount > 1", "(> Amount 1)", id="capitalised-name-parses"),
        pytest.param("(" * 60 + "a" + ")" * 60, "a", id="deep-parentheses"),
    ],
)
def test_parse_shape(text: str, expected: str) -> None:
    assert shape(parse(text)) == expected


@pytest.mark.parametrize(
    ("text", "value"),
    [
        pytest.param("'it\\'s'", "it's", id="escaped-single-quote"),
        pytest.param('"say \\"hi\\""', 'say "hi"', id="escaped-double-quote"),
        pytest.param("'a\\\\b'", "a\\b", id="escaped-backslash"),
        pytest.param("'line\\nnext\\ttab'", "line\nnext\ttab", id="newline-and-tab"),
        pytest.param("\"it's\"", "it's", id="single-inside-double"),
        pytest.param("''", "", id="empty"),
        pytest.param("'No decision'", "No decision", id="spaces"),
    ],
)
def test_string_literals(text: str, value: str) -> None:
    assert parse(text) == Literal(locate(0, len(text)), value)


def test_spans_point_into_the_yaml() -> None:
    expr = parse("stage.is_open and close_date >= todya()")
    assert isinstance(expr, BoolOp) and expr.op is Logic.AND
    assert expr.span == locate(0, 39)
    attribute, compare = expr.operands
    assert attribute == Attribute(locate(0, 13), Name(locate(0, 5), "stage"), "is_open", locate(6, 13))
    assert isinstance(compare, Compare) and compare.op is Op.GE
    assert compare.span == locate(18, 39)
    assert compare.right == Call(locate(32, 39), "todya", (), locate(32, 37))


def test_a_parenthesised_operand_starts_at_its_parenthesis() -> None:
    assert parse("(a) and b").span == locate(0, 9)


@pytest.mark.parametrize(
    ("text", "headline", "fix"),
    [
        pytest.param("", "b.yaml:3:10: error: expression is empty [expr-syntax]",
                     "write a condition, e.g. amount > 0", id="empty"),
        pytest.param("   ", "b.yaml:3:10: error: expression is empty [expr-syntax]",
                     "write a condition, e.g. amount > 0", id="blank"),
        pytest.param("amount >", "b.yaml:3:18: error: expression ends too early; expected a value [expr-syntax]",
                     "", id="missing-operand"),
        pytest.param("amount > ", "b.yaml:3:18: error: expression ends too early; expected a value [expr-syntax]",
                     "", id="missing-operand-trailing-space"),
        pytest.param("close_date >= today(",
                     "b.yaml:3:30: error: expression ends too early; expected a value [expr-syntax]", "",
                     id="unclosed-call"),
        pytest.param("(a or b", "b.yaml:3:17: error: expression ends too early; expected ')' [expr-syntax]",
                     "add ')' to close the '(' at column 10", id="unclosed-parenthesis"),
        pytest.param("stage in ['won', 'lost'",
                     "b.yaml:3:33: error: expression ends too early; expected ']' [expr-syntax]",
                     "add ']' to close the '[' at column 19", id="unclosed-list"),
        pytest.param("a not", "b.yaml:3:15: error: expression ends too early; expected 'in' [expr-syntax]", "",
                     id="not-without-in"),
        pytest.param("stage.", "b.yaml:3:16: error: expression ends too early; expected a name after '.' [expr-syntax]",
                     "", id="dot-at-end"),
        pytest.param("a)", "b.yaml:3:11: error: unexpected ')' in expression [expr-syntax]",
                     "remove it, or add the '(' it closes", id="unmatched-parenthesis"),
        pytest.param("f(a,)", "b.yaml:3:14: error: unexpected ')' in expression [expr-syntax]", "",
                     id="trailing-comma"),
        pytest.param("amount 5", "b.yaml:3:17: error: unexpected '5' in expression [expr-syntax]",
                     "an operator is missing before '5', e.g. 'and', '==' or '+'", id="missing-operator"),
        pytest.param("[1 2]", "b.yaml:3:13: error: unexpected '2' in expression [expr-syntax]",
                     "a ',' or an operator is missing before '2', e.g. 'and', '==' or '+'", id="missing-comma"),
        pytest.param("a == 'x' 'y'", "b.yaml:3:19: error: unexpected 'y' in expression [expr-syntax]",
                     "an operator is missing before 'y', e.g. 'and', '==' or '+'", id="unexpected-string"),
        pytest.param("a AND b", "b.yaml:3:12: error: unexpected 'AND' in expression [expr-syntax]",
                     "write 'and' in lower case", id="upper-case-and"),
        pytest.param("a Or b", "b.yaml:3:12: error: unexpected 'Or' in expression [expr-syntax]",
                     "write 'or' in lower case", id="mixed-case-or"),
        pytest.param("a < b < c", "b.yaml:3:16: error: unexpected '<' in expression [expr-syntax]",
                     "comparisons do not chain; join two of them with 'and', e.g. a < b and b < c", id="chained"),
        pytest.param("a = = b", "b.yaml:3:14: error: unexpected '=' in expression [expr-syntax]", "",
                     id="double-equals-spaced"),
        pytest.param("== a", "b.yaml:3:10: error: unexpected '==' in expression [expr-syntax]", "",
                     id="leading-operator"),
        pytest.param("a in b", "b.yaml:3:15: error: unexpected 'b' in expression [expr-syntax]",
                     "'in' takes a list in brackets, e.g. stage in ['won', 'lost']", id="in-without-list"),
        pytest.param("x not in (1, 2)", "b.yaml:3:19: error: unexpected '(' in expression [expr-syntax]",
                     "'in' takes a list in brackets, e.g. stage in ['won', 'lost']", id="in-with-parentheses"),
        pytest.param("stage.is_open()", "b.yaml:3:23: error: unexpected '(' in expression [expr-syntax]", "",
                     id="calling-an-attribute"),
        pytest.param("a && b", "b.yaml:3:12: error: unexpected character '&' in expression [expr-syntax]",
                     "write 'and'", id="ampersands"),
        pytest.param("a || b", "b.yaml:3:12: error: unexpected character '|' in expression [expr-syntax]",
                     "write 'or'", id="bars"),
        pytest.param("!a", "b.yaml:3:10: error: unexpected character '!' in expression [expr-syntax]",
                     "write 'not', or '!=' for 'not equal'", id="bang"),
        pytest.param("a @ b", "b.yaml:3:12: error: unexpected character '@' in expression [expr-syntax]", "",
                     id="stray-character"),
        pytest.param("name == 'abc", "b.yaml:3:18: error: string is not closed [expr-syntax]",
                     "add the closing '", id="unclosed-single-quote"),
        pytest.param('name == "abc', "b.yaml:3:18: error: string is not closed [expr-syntax]",
                     'add the closing "', id="unclosed-double-quote"),
        pytest.param("1" + "0" * 18, "b.yaml:3:10: error: number is too large (18 digits at most) [expr-syntax]", "",
                     id="large-number"),
        pytest.param("999999999999999999.99",
                     "b.yaml:3:10: error: number is too large (18 digits at most) [expr-syntax]", "",
                     id="large-float"),
        pytest.param("-" * (MAX_DEPTH + 1) + "1",
                     f"b.yaml:3:10: error: expression is nested too deeply (more than {MAX_DEPTH} levels) "
                     "[expr-syntax]", "split it into simpler rules", id="too-deep"),
    ],
)
def test_syntax_errors(text: str, headline: str, fix: str) -> None:
    with pytest.raises(SosError) as info:
        parse(text)
    [diagnostic] = info.value.diagnostics
    assert (diagnostic.headline(), diagnostic.fix) == (headline, fix)


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        pytest.param("a b", 12, 13, id="token"),
        pytest.param("a AND b", 12, 15, id="word"),
        pytest.param("name == 'abc", 18, 22, id="unclosed-string-to-the-end"),
        pytest.param("amount >", 18, 18, id="at-the-end"),
    ],
)
def test_syntax_error_spans(text: str, start: int, end: int) -> None:
    with pytest.raises(SosError) as info:
        parse(text)
    span = info.value.diagnostics[0].span
    assert span is not None and (span.col, span.end_col) == (start, end)


def test_walk_visits_parents_before_children_left_to_right() -> None:
    kinds = [type(node).__name__ for node in walk(parse("not a == f(1)"))]
    assert kinds == ["Unary", "Compare", "Name", "Call", "Literal"]
