"""What an audit asks of a CRM's records: for each rule, stage requirement and stage time limit of a Model, which
records break it, as one typed condition a backend lowers to its own query language (SQL, SOQL, a search filter)
or evaluates page by page."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass

from sos.errors import Span
from sos.expr.annotate import TypedExpr, annotate
from sos.expr.ast import BoolOp, Call, Compare, Expr, Literal, Logic, Name, Op, Unary, UnaryOp, walk
from sos.expr.parse import parse_expression
from sos.expr.types import Scope
from sos.model.exprs import exprs_of, model_scope, pipeline_object
from sos.model.resources import Address, Kind, Model, Resource

# The functions a check calls that read a save in progress, not a stored record: such a check cannot be audited.
SAVE_FUNCTIONS = ("is_new", "is_changed", "prior")

# Which records a plan's impact counts: the ones still in play.
OPEN_RECORDS = {"opportunity": "stage.is_open", "lead": "not status.is_converted"}


@dataclass(frozen=True, slots=True)
class Check:
    """Which records of `object` break the resource at `address`: those matching `breaks`.

    `title` is what a sales leader reads ("Proposal needs: Budget confirmed.", a rule's message, "Over 30 days in
    Discovery"); `enforce` is how the CRM enforces it (always, on_stage_change, audit; `limit` for a stage's time
    limit, which never blocks).
    """

    address: Address
    object: str
    title: str
    breaks: TypedExpr
    enforce: str
    origin: Span | None = None

    @property
    def blocks(self) -> bool:
        """Whether the CRM refuses a save that breaks it."""
        return self.enforce in ("always", "on_stage_change")


def checks_of(model: Model, kinds: Iterable[Kind] = (Kind.STAGE_REQUIREMENT, Kind.RULE, Kind.STAGE),
              *, only: Collection[Address] | None = None, open_only: bool = False) -> list[Check]:
    """The checks of every rule, stage requirement and stage `max_days` in `model` (of `kinds`; `only` those at
    these addresses), in model order. `open_only`: only the records still in play (open deals, unconverted leads),
    as a plan's impact counts them."""
    scopes: dict[str, Scope] = {}
    found: list[Check] = []
    wanted = set(kinds)
    for resource in model:
        if resource.address.kind not in wanted or not resource.managed:
            continue
        if only is not None and resource.address not in only:
            continue
        check = _check(resource, model, scopes)
        if check is not None:
            found.append(_open_only(check) if open_only else check)
    return found


def _check(resource: Resource, model: Model, scopes: dict[str, Scope]) -> Check | None:
    address, attrs = resource.address, resource.attrs
    if address.kind is Kind.STAGE:
        if not attrs.get("max_days"):
            return None
        obj = pipeline_object(model, address.scope)
        scope = _scope(model, obj, scopes)
        where = resource.origin or Span(str(address), 1, 1)
        in_stage = Compare(where, Op.EQ, Name(where, "stage"), Literal(where, address.key))
        over = Compare(where, Op.GT, Name(where, "days_in_stage"), Literal(where, int(attrs["max_days"])))
        label = attrs.get("label", address.key)
        return Check(address, obj, f"Over {attrs['max_days']} days in {label}",
                     annotate(BoolOp(where, Logic.AND, (in_stage, over)), scope)[0], "limit", resource.origin)
    obj = pipeline_object(model, address.scope) if address.kind is Kind.STAGE_REQUIREMENT else address.scope
    exprs = resource.exprs or exprs_of(resource, model, scopes)
    require = exprs["require"].expr
    broken: Expr = Unary(require.span, UnaryOp.NOT, require)
    if "when" in exprs:
        broken = BoolOp(require.span, Logic.AND, (exprs["when"].expr, broken))
    title = str(attrs.get("message") or attrs.get("description") or address.key)
    return Check(address, obj, title, annotate(broken, _scope(model, obj, scopes))[0],
                 str(attrs.get("enforce", "always")), resource.origin)


def reads_a_save(check: Check) -> bool:
    """Whether the check reads a save in progress (is_new(), is_changed(), prior()): stored records cannot say."""
    return any(isinstance(node, Call) and node.func in SAVE_FUNCTIONS for node in walk(check.breaks.expr))


def _open_only(check: Check) -> Check:
    where = check.origin or Span(str(check.address), 1, 1)
    still_open = parse_expression(OPEN_RECORDS[check.object], lambda start, end: where)
    breaks = BoolOp(where, Logic.AND, (still_open, check.breaks.expr))
    return Check(check.address, check.object, check.title, annotate(breaks, check.breaks.scope)[0], check.enforce,
                 check.origin)


def _scope(model: Model, obj: str, scopes: dict[str, Scope]) -> Scope:
    if obj not in scopes:
        scopes[obj] = model_scope(model, obj)
    return scopes[obj]
