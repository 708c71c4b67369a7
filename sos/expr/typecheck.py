"""Type checking of rule expressions: unknown names, wrong types, bad stage and picklist values.

Every problem is reported (not only the first) at the exact sub-expression it is about.
A sub-expression that already has a problem gets no type, so one slip is reported once.
"""

from __future__ import annotations

from dataclasses import dataclass

from sos.errors import Diagnostic, Span, did_you_mean
from sos.expr.ast import (
    Arith,
    ArithOp,
    Attribute,
    BoolOp,
    Call,
    Compare,
    Expr,
    In,
    ListExpr,
    Literal,
    Name,
    Op,
    Unary,
    UnaryOp,
)
from sos.expr.types import (
    BOOLEAN,
    DATE,
    DATETIME,
    LIST,
    NULL,
    NUMBER,
    TEXT,
    ExprType,
    Kind,
    Scope,
    describe_kind,
)

ORDERING = frozenset({Op.LT, Op.LE, Op.GT, Op.GE})

# Attributes by the kind of value they are read from.
ATTRIBUTES: dict[Kind, tuple[str, ...]] = {
    Kind.STAGE: ("is_open", "is_won", "is_lost", "is_closed"),
    Kind.LEAD_STATUS: ("is_converted",),
}


@dataclass(frozen=True, slots=True)
class Signature:
    usage: str  # shown in fixes
    params: tuple[frozenset[Kind] | None, ...]  # the kinds each argument may have; None: any
    returns: ExprType | None  # None: the type of its argument


FUNCTIONS: dict[str, Signature] = {
    "today": Signature("today()", (), DATE),
    "now": Signature("now()", (), DATETIME),
    "is_blank": Signature("is_blank(field)", (None,), BOOLEAN),
    "days_since": Signature("days_since(created_date)", (frozenset({Kind.DATE, Kind.DATETIME}),), NUMBER),
    "len": Signature("len(name)", (frozenset({Kind.TEXT}),), NUMBER),
    "includes": Signature(
        "includes(field, 'value')", (frozenset({Kind.MULTI_PICKLIST}), frozenset({Kind.TEXT})), BOOLEAN
    ),
    # A save in progress: the record is new, or a field differs from its value before the save.
    "is_new": Signature("is_new()", (), BOOLEAN),
    "is_changed": Signature("is_changed(stage)", (None,), BOOLEAN),
    "prior": Signature("prior(amount)", (None,), None),
}
# Functions that read a field's value before the save: their argument is a field, nothing computed.
FIELD_HISTORY = frozenset({"is_changed", "prior"})
# Functions that read a save in progress: a rule that blocks saves has one; a query or an audit has none.
SAVE_FUNCTIONS = FIELD_HISTORY | {"is_new"}

_LITERAL_WORDS = ("true", "false", "null")
_OWN_FIELDS = {"stage": "only opportunities have a stage", "status": "only leads have a status"}
_ORDERED = frozenset({Kind.NUMBER, Kind.DATE, Kind.DATETIME, Kind.STAGE})
# Kinds whose values are named by string literals, which must name one that exists.
_KEYED = frozenset({Kind.STAGE, Kind.LEAD_STATUS, Kind.PICKLIST, Kind.MULTI_PICKLIST})
# Kinds that may be compared with each other, besides a kind with itself.
_COMPATIBLE = (
    frozenset({Kind.DATE, Kind.DATETIME}),
    frozenset({Kind.TEXT, Kind.USER}),
    frozenset({Kind.TEXT, Kind.PICKLIST}),
)
_BLANK_FIX = "test for a blank value with is_blank(...)"
_INCLUDES_FIX = "test a multi-select picklist with includes(field, 'value')"
_ARITH_WHY = "arithmetic works on numbers; a date plus or minus a number of days is a date; a date minus a date is days"


def check_expression(expr: Expr, scope: Scope, *, expect_boolean: bool = True,
                     record: dict[Expr, ExprType] | None = None) -> list[Diagnostic]:
    """Every problem in `expr` read in `scope`; when `expect_boolean`, it must be a condition.

    `record`, when given, receives the type of every node that has one (expr.annotate keeps it)."""
    checker = _Checker(scope, record)
    result = checker.type_of(expr)
    if expect_boolean and result is not None and result.kind is not Kind.BOOLEAN:
        checker.error(
            expr.span,
            f"a condition must be true or false, got {result.describe()}",
            "type-mismatch",
            fix="compare it with something, e.g. amount > 0, or test it with is_blank(...)",
        )
    return checker.problems


def infer_type(expr: Expr, scope: Scope) -> ExprType | None:
    """The type of `expr` in `scope`, or None when it has a problem check_expression reports."""
    return _Checker(scope).type_of(expr)


class _Checker:
    def __init__(self, scope: Scope, record: dict[Expr, ExprType] | None = None) -> None:
        self.scope = scope
        self.problems: list[Diagnostic] = []
        self.record = record

    def type_of(self, node: Expr) -> ExprType | None:
        found = self._type_of(node)
        if self.record is not None and found is not None:
            self.record[node] = found
        return found

    def error(self, span: Span, message: str, code: str, *, why: str = "", fix: str = "") -> None:
        self.problems.append(Diagnostic(span, message, code, why=why, fix=fix))

    def _type_of(self, node: Expr) -> ExprType | None:  # noqa: C901 - one arm per expression node type
        match node:
            case Literal(value=value):
                return _literal_type(value)
            case Name():
                return self._name(node)
            case Attribute():
                return self._attribute(node)
            case ListExpr(items=items):
                for item in items:
                    self.type_of(item)
                return LIST
            case Unary():
                return self._unary(node)
            case BoolOp(op=op, operands=operands):
                for operand in operands:
                    self._expect_boolean(operand, f"'{op.value}' needs true/false values")
                return BOOLEAN
            case Compare(op=op, left=left, right=right):
                left_type, right_type = self.type_of(left), self.type_of(right)
                if left_type and right_type:
                    self._compare(op, left, left_type, right, right_type, node.span)
                return BOOLEAN
            case In():
                self._in(node)
                return BOOLEAN
            case Arith():
                return self._arith(node)
            case Call():
                return self._call(node)
        raise TypeError(f"not an expression node: {node!r}")

    def _expect_boolean(self, node: Expr, needs: str) -> None:
        found = self.type_of(node)
        if found and found.kind is not Kind.BOOLEAN:
            self.error(node.span, f"{needs}, got {found.describe()}", "type-mismatch")

    def _name(self, node: Name) -> ExprType | None:
        found = self.scope.fields.get(node.name)
        if found is not None:
            return found
        why = _OWN_FIELDS.get(node.name, "")
        if why:
            fix = ""  # the near miss ('state' for 'stage') would mislead
        elif node.name in FUNCTIONS:
            fix = f"call it: {node.name}()"
        else:
            fix = did_you_mean(node.name, [*self.scope.fields, *_LITERAL_WORDS])
        self.error(node.span, f"unknown field '{node.name}' on {self.scope.object}", "unknown-name", why=why, fix=fix)
        return None

    def _attribute(self, node: Attribute) -> ExprType | None:
        owner = self.type_of(node.value)
        if owner is None:
            return None
        allowed = ATTRIBUTES.get(owner.kind, ())
        if node.attr in allowed:
            return BOOLEAN
        why = "" if allowed else "only stage (stage.is_open, ...) and status (status.is_converted) have attributes"
        self.error(
            node.attr_span,
            f"{owner.describe()} has no attribute '{node.attr}'",
            "unknown-name",
            why=why,
            fix=did_you_mean(node.attr, allowed),
        )
        return None

    def _unary(self, node: Unary) -> ExprType | None:
        if node.op is UnaryOp.NOT:
            self._expect_boolean(node.operand, "'not' needs a true/false value")
            return BOOLEAN
        found = self.type_of(node.operand)
        if found and found.kind is not Kind.NUMBER:
            self.error(node.span, f"'-' needs a number, got {found.describe()}", "type-mismatch")
            return None
        return found

    def _compare(self, op: Op, left: Expr, left_type: ExprType, right: Expr, right_type: ExprType, span: Span) -> None:
        """Check `left op right`; problems that are about the pair are reported at `span`."""
        kinds = {left_type.kind, right_type.kind}
        if Kind.NULL in kinds:
            if op in ORDERING:
                self.error(span, f"'{op.value}' cannot compare with null", "type-mismatch", fix=_BLANK_FIX)
            return
        if Kind.MULTI_PICKLIST in kinds:
            message = f"cannot compare {left_type.describe()} with {right_type.describe()}"
            self.error(span, message, "type-mismatch", fix=_INCLUDES_FIX)
            return
        keyed = _keyed_pair(left, left_type, right) or _keyed_pair(right, right_type, left)
        if keyed is None and not _comparable(left_type, right_type):
            self.error(span, f"cannot compare {left_type.describe()} with {right_type.describe()}", "type-mismatch")
            return
        ordered = {keyed[1].kind} if keyed else kinds
        if op in ORDERING and not ordered <= _ORDERED:
            self.error(
                span,
                f"'{op.value}' cannot order {_plural(ordered - _ORDERED)}",
                "type-mismatch",
                why="'<', '<=', '>' and '>=' work on numbers, dates and stages (by pipeline order)",
                fix="use == or in",
            )
        if keyed:
            self._check_key(*keyed)

    def _check_key(self, keyed: Expr, keyed_type: ExprType, literal: Literal) -> None:
        """A stage, lead status or picklist compared with a string: it must name one that exists."""
        value = str(literal.value)
        if keyed_type.kind is Kind.STAGE:
            known = [stage.key for stage in self.scope.stages]
            message, code = f"unknown stage '{value}'", "unknown-stage"
        elif keyed_type.kind is Kind.LEAD_STATUS:
            known = [status.key for status in self.scope.statuses]
            message, code = f"unknown lead status '{value}'", "unknown-status"
        else:
            known = list(keyed_type.values)
            field = keyed.name if isinstance(keyed, Name) else "this picklist"
            message, code = f"'{value}' is not a value of {field}", "unknown-value"
        if value not in known:
            why = f"the choices are: {', '.join(known)}" if known else "there are no choices to compare with"
            self.error(literal.span, message, code, why=why, fix=did_you_mean(value, known))

    def _in(self, node: In) -> None:
        operand_type = self.type_of(node.operand)
        item_types = [self.type_of(item) for item in node.options.items]
        if operand_type is None:
            return
        if operand_type.kind is Kind.MULTI_PICKLIST:
            self.error(
                node.operand.span, "'in' cannot test a multi-select picklist", "type-mismatch", fix=_INCLUDES_FIX
            )
            return
        for item, item_type in zip(node.options.items, item_types, strict=True):
            if item_type and item_type.kind is Kind.NULL:
                self.error(item.span, "a list for 'in' cannot hold null", "type-mismatch", fix=_BLANK_FIX)
            elif item_type:
                self._compare(Op.EQ, node.operand, operand_type, item, item_type, item.span)

    def _arith(self, node: Arith) -> ExprType | None:
        left, right = self.type_of(node.left), self.type_of(node.right)
        if left is None or right is None:
            return None
        result = _arith_type(node.op, left.kind, right.kind)
        if result is None:
            self.error(
                node.span,
                f"cannot use '{node.op.value}' on {left.describe()} and {right.describe()}",
                "type-mismatch",
                why=_ARITH_WHY,
            )
        return result

    def _call(self, node: Call) -> ExprType | None:
        arg_types = [self.type_of(arg) for arg in node.args]
        signature = FUNCTIONS.get(node.func)
        if signature is None:
            why = f"the functions are: {', '.join(f'{name}()' for name in FUNCTIONS)}"
            self.error(
                node.func_span,
                f"unknown function '{node.func}'",
                "unknown-function",
                why=why,
                fix=did_you_mean(node.func, FUNCTIONS),
            )
            return None
        if len(node.args) != len(signature.params):
            self.error(
                node.span,
                f"{node.func}() takes {_count(len(signature.params))}, got {len(node.args)}",
                "arity",
                fix=f"write it as {signature.usage}",
            )
            return signature.returns
        if node.func in FIELD_HISTORY and not isinstance(node.args[0], Name):
            self.error(node.args[0].span, f"{node.func}() takes a field, not a computed value", "type-mismatch",
                       why="only a field has a value from before the save", fix=f"write it as {signature.usage}")
            return None
        for arg, found, kinds in zip(node.args, arg_types, signature.params, strict=True):
            if found and kinds is not None and found.kind not in kinds:
                needs = " or ".join(describe_kind(kind) for kind in sorted(kinds))
                self.error(arg.span, f"{node.func}() needs {needs}, got {found.describe()}", "type-mismatch")
        if node.func == "includes" and arg_types[0] and arg_types[0].kind is Kind.MULTI_PICKLIST:
            keyed = _keyed_pair(node.args[0], arg_types[0], node.args[1])
            if keyed:
                self._check_key(*keyed)
        return signature.returns if signature.returns is not None else arg_types[0]


def _literal_type(value: object) -> ExprType:
    if value is None:
        return NULL
    if isinstance(value, bool):
        return BOOLEAN
    if isinstance(value, (int, float)):
        return NUMBER
    return TEXT


def _keyed_pair(keyed: Expr, keyed_type: ExprType, other: Expr) -> tuple[Expr, ExprType, Literal] | None:
    """(stage, its type, 'proposal') when `keyed` is a stage, status or picklist and `other` a string literal."""
    if keyed_type.kind in _KEYED and isinstance(other, Literal) and isinstance(other.value, str):
        return keyed, keyed_type, other
    return None


def _comparable(left: ExprType, right: ExprType) -> bool:
    if left.kind is Kind.LIST or right.kind is Kind.LIST:
        return False
    if left.kind is Kind.REFERENCE or right.kind is Kind.REFERENCE:
        return left == right
    return left.kind is right.kind or any({left.kind, right.kind} <= group for group in _COMPATIBLE)


def _arith_type(op: ArithOp, left: Kind, right: Kind) -> ExprType | None:
    dates = {Kind.DATE: DATE, Kind.DATETIME: DATETIME}
    if left is Kind.NUMBER and right is Kind.NUMBER:
        return NUMBER
    if op is ArithOp.ADD and left in dates and right is Kind.NUMBER:
        return dates[left]
    if op is ArithOp.ADD and left is Kind.NUMBER and right in dates:
        return dates[right]
    if op is ArithOp.SUB and left in dates and right is Kind.NUMBER:
        return dates[left]
    if op is ArithOp.SUB and left in dates and right in dates:
        return NUMBER
    return None


def _plural(kinds: set[Kind]) -> str:
    names = {
        Kind.TEXT: "text",
        Kind.PICKLIST: "picklist values",
        Kind.LEAD_STATUS: "lead statuses",
        Kind.BOOLEAN: "true/false values",
    }
    return " or ".join(names.get(kind, f"{kind.value}s") for kind in sorted(kinds))


def _count(n: int) -> str:
    return "no arguments" if n == 0 else f"{n} argument" if n == 1 else f"{n} arguments"
