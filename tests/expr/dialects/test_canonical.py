from __future__ import annotations

import pytest

from sos.expr.ast import Literal
from sos.expr.dialects.canonical import to_text
from tests.expr.helpers import locate, parse, shape


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("stage.is_open and close_date >= today()", "stage.is_open and close_date >= today()",
                     id="unchanged"),
        pytest.param("a = \"x\"", "a == 'x'", id="canonical-equals-and-quotes"),
        pytest.param("((a)) and (b)", "a and b", id="needless-parentheses-dropped"),
        pytest.param("is_new( ) or (is_changed( stage ) and prior(stage)=\"won\")",
                     "is_new() or is_changed(stage) and prior(stage) == 'won'", id="save-functions"),
        pytest.param("not (a and b) or c", "not (a and b) or c", id="needed-parentheses-kept"),
        pytest.param("a or (b or c)", "a or (b or c)", id="grouping-kept"),
        pytest.param("(a or b) and c", "(a or b) and c", id="or-inside-and"),
        pytest.param("(not a) == b", "(not a) == b", id="not-inside-compare"),
        pytest.param("-(1 + 2) * 3 - (4 - 5)", "-(1 + 2) * 3 - (4 - 5)", id="arithmetic"),
        pytest.param("(1 - 2) - 3", "1 - 2 - 3", id="left-associative"),
        pytest.param("x  not in  [1,2.5,'a']", "x not in [1, 2.5, 'a']", id="not-in"),
        pytest.param("'it\\'s' == \"a\\\\b\\n\"", "'it\\'s' == 'a\\\\b\\n'", id="escapes"),
        pytest.param("f(a,g(b)).c", "f(a, g(b)).c", id="calls-and-attributes"),
        pytest.param("true != false or x == null", "true != false or x == null", id="keywords"),
    ],
)
def test_to_text(text: str, expected: str) -> None:
    written = to_text(parse(text))
    assert written == expected
    assert shape(parse(written)) == shape(parse(text))


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param(1e20, "100000000000000000000.0", id="big-float"),
        pytest.param(1e-7, "0.0000001", id="small-float"),
        pytest.param(2.5, "2.5", id="float"),
        pytest.param(-3, "-3", id="negative"),
    ],
)
def test_numbers_are_written_so_the_grammar_reads_them(value: float, expected: str) -> None:
    assert to_text(Literal(locate(0, 1), value)) == expected
