"""Records from a CSV export of any CRM: each column mapped to a field key by the field's label or key (case,
spaces and punctuation aside: "Close Date" is close_date), or by `--map "Column=field"`; each value read by its
field's type. Every bad row is reported at once, by line, and then nothing is loaded."""

from __future__ import annotations

import csv
import datetime
import re
from dataclasses import replace
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from sos.errors import Diagnostic, SosError, Span, did_you_mean
from sos.expr.dialects.sql import encode
from sos.expr.types import ExprType, Kind, Scope
from sos.model.resources import Kind as ResourceKind
from sos.model.resources import Model

if TYPE_CHECKING:
    import _csv

# What CRMs' exports call a standard field where neither its key nor its label says it.
EXPORT_NAMES = {
    "opportunity": {"opportunityname": "name", "dealname": "name", "dealstage": "stage", "opportunityowner": "owner",
                    "dealowner": "owner", "accountname": "account", "stageduration": "days_in_stage"},
    "lead": {"leadstatus": "status", "leadowner": "owner"},
    "account": {"accountname": "name", "accountowner": "owner"},
    "contact": {"contactowner": "owner", "accountname": "account"},
}
DATE_FORMATS = ("%Y-%m-%d", "%m/%d/%Y")          # ISO, and the US form most CRMs export
MOMENT_FORMATS = ("%m/%d/%Y %H:%M", "%m/%d/%Y %I:%M %p")
TRUE, FALSE = ("true", "yes", "y", "1", "x", "checked"), ("false", "no", "n", "0", "", "unchecked")
PROGRESS_EVERY = 10_000


def normal(name: str) -> str:
    """A column name or a field's label or key, without case, spaces or punctuation."""
    return re.sub(r"[^a-z0-9]", "", name.lower())


def read_csv(path: Path, model: Model, scope: Scope, overrides: Mapping[str, str], *, today: datetime.date,
             progress: Callable[[str], None]) -> tuple[list[dict[str, object]], list[str]]:
    """The rows (as the store holds them) of the records in the CSV file at `path`, and the columns no field takes.
    Raises SosError with every problem: a column mapped twice or to no field, and each bad row by line."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise SosError(f"{path}: no such file", "file-missing") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SosError(Diagnostic(Span(str(path), 1, 1), f"cannot read {path.name}: {exc}", "csv-unreadable",
                                  fix="save the export as CSV in UTF-8")) from None
    lines = text.splitlines(keepends=True)
    reader = csv.reader(lines)
    try:
        header = next(reader, None)
        if not header:
            raise SosError(Diagnostic(Span(str(path), 1, 1), f"{path.name} is empty: no header row", "csv-bad-row"))
        fields = _columns(path, header, model, scope, overrides)
        rows, problems = _rows(path, lines, reader, header, fields, _readers(fields, model, scope), scope, today,
                               progress)
    except csv.Error as exc:
        raise SosError(Diagnostic(Span(str(path), reader.line_num or 1, 1), f"{path.name} is not CSV: {exc}",
                                  "csv-unreadable", fix="export the records as CSV again")) from None
    if problems:
        rows_bad = len({d.span.line for d in problems if d.span})
        problems.append(Diagnostic(None, f"{rows_bad} bad row{'s' * (rows_bad != 1)} in {path.name}: nothing was "
                                         "loaded", "csv-bad-row",
                                   fix="correct the rows above (or map their columns with --map), then load again"))
        raise SosError(problems)
    return rows, [column for column, key in zip(header, fields, strict=True) if not key]


def _rows(path: Path, lines: list[str], reader: _csv.Reader, header: list[str], fields: list[str],
          readers: Mapping[str, Callable[[str], object]], scope: Scope, today: datetime.date,
          progress: Callable[[str], None]) -> tuple[list[dict[str, object]], list[Diagnostic]]:
    """The rows the reader's records make, and what is wrong with the bad ones, each at its line."""
    rows, problems = [], []
    start = reader.line_num + 1
    for read, cells in enumerate(reader, 1):
        line, start = start, reader.line_num + 1
        if not any(cell.strip() for cell in cells):
            continue
        where = Span(str(path), line, 1)
        if len(cells) > len(header):
            problems.append(Diagnostic(where, f"{len(cells)} cells where the header has {len(header)} columns",
                                       "csv-bad-row", fix="quote the values that hold a comma"))
            continue
        record = _record(where, lines[line - 1], cells, header, fields, readers)
        try:
            if isinstance(record, dict):
                rows.append(encode(record, scope, today=today))
            else:
                problems.extend(record)
        except SosError as exc:
            problems.extend(Diagnostic(where, d.message, "csv-bad-row") for d in exc.diagnostics)
        if read % PROGRESS_EVERY == 0:
            progress(f"read {read:,} rows")
    return rows, problems


def _record(where: Span, text: str, cells: list[str], header: list[str], fields: list[str],
            readers: Mapping[str, Callable[[str], object]]) -> dict[str, object] | list[Diagnostic]:
    """The record a row holds (field key → value), or what is wrong with its cells, each at its column."""
    record: dict[str, object] = {}
    bad = []
    columns = _cell_columns(text)
    for index, (cell, key) in enumerate(zip(cells, fields, strict=False)):
        if not key:
            continue
        try:
            record[key] = readers[key](cell.strip())
        except ValueError as exc:
            col = columns[index] if index < len(columns) else 1
            bad.append(Diagnostic(replace(where, col=col), f"{header[index]}: {exc}", "csv-bad-row"))
    return bad or record


def _columns(path: Path, header: list[str], model: Model, scope: Scope, overrides: Mapping[str, str]) -> list[str]:
    """The field key of each column ('' for a column no field takes), by --map first, then by label or key."""
    by_name = {**{normal(key): key for key in scope.fields}, **EXPORT_NAMES.get(scope.object, {})}
    for field in model.of_kind(ResourceKind.FIELD):
        if field.address.scope == scope.object and field.attrs.get("label"):
            by_name.setdefault(normal(str(field.attrs["label"])), field.address.key)
    problems = []
    mapped = {normal(column): key for column, key in overrides.items()}
    for column, key in overrides.items():
        if normal(column) not in {normal(h) for h in header}:
            problems.append(Diagnostic(None, f"--map names the column '{column}', which {path.name} does not have",
                                       "csv-column", fix=did_you_mean(column, header) or f"its columns: "
                                       f"{', '.join(header)}"))
        if key not in scope.fields:
            problems.append(Diagnostic(None, f"--map maps '{column}' to '{key}', which is not a field of "
                                             f"{scope.object}", "csv-column",
                                       fix=did_you_mean(key, scope.fields) or "map it to a field key"))
    fields = [mapped.get(normal(column), by_name.get(normal(column), "")) for column in header]
    taken: dict[str, str] = {}
    for column, key in zip(header, fields, strict=True):
        if key and key in taken:
            problems.append(Diagnostic(Span(str(path), 1, 1), f"the columns '{taken[key]}' and '{column}' both map "
                                       f"to {key}", "csv-column", fix=f'choose one with --map "{column}=OTHER_FIELD"'
                                       f" or rename a column"))
        taken.setdefault(key, column)
    if problems:
        raise SosError(problems)
    return fields


def _readers(fields: list[str], model: Model, scope: Scope) -> dict[str, Callable[[str], object]]:
    return {key: _reader(key, scope.fields[key], model, scope) for key in fields if key}


def _reader(key: str, field_type: ExprType, model: Model, scope: Scope) -> Callable[[str], object]:
    """How a cell becomes a value of the field `key` (ValueError saying why it cannot)."""
    match field_type.kind:
        case Kind.NUMBER:
            return _number
        case Kind.BOOLEAN:
            return _checkbox
        case Kind.DATE:
            return _date
        case Kind.DATETIME:
            return _moment
        case Kind.MULTI_PICKLIST:
            return lambda cell: [v.strip() for v in cell.split(";") if v.strip()] or None
        case Kind.STAGE | Kind.LEAD_STATUS:
            return _choice(key, _stage_names(model, scope) if field_type.kind is Kind.STAGE else _status_names(model))
    return lambda cell: cell or None


def _number(cell: str) -> float | int | None:
    if not cell:
        return None
    plain = re.sub(r"[\s,$€£%]", "", cell)
    if plain.startswith("(") and plain.endswith(")"):   # accounting's negative
        plain = "-" + plain[1:-1]
    try:
        number = float(plain)
    except ValueError:
        raise ValueError(f"'{cell}' is not a number") from None
    return int(number) if number.is_integer() and "." not in plain else number


def _checkbox(cell: str) -> bool:
    if cell.lower() in TRUE:
        return True
    if cell.lower() in FALSE:
        return False
    raise ValueError(f"'{cell}' is not a checkbox value (true or false, yes or no, 1 or 0)")


def _date(cell: str) -> datetime.date | None:
    if not cell:
        return None
    for form in DATE_FORMATS:
        try:
            return datetime.datetime.strptime(cell, form).date()
        except ValueError:
            continue
    raise ValueError(f"'{cell}' is not a date (write 2026-03-31 or 3/31/2026)")


def _moment(cell: str) -> datetime.datetime | None:
    if not cell:
        return None
    try:
        return datetime.datetime.fromisoformat(cell)
    except ValueError:
        pass
    for form in (*MOMENT_FORMATS, *DATE_FORMATS):
        try:
            return datetime.datetime.strptime(cell, form)
        except ValueError:
            continue
    raise ValueError(f"'{cell}' is not a date and time (write 2026-03-31T14:05:00Z or 3/31/2026 2:05 PM)")


def _choice(key: str, names: dict[str, str]) -> Callable[[str], str | None]:
    """A stage or a lead status, by its key or its label."""
    def read(cell: str) -> str | None:
        if not cell:
            return None
        found = names.get(normal(cell))
        if found is None:
            known = list(dict.fromkeys(names.values()))
            raise ValueError(f"'{cell}' is not a {key} the blueprint has ({', '.join(known)})")
        return found
    return read


def _stage_names(model: Model, scope: Scope) -> dict[str, str]:
    names = {normal(stage.key): stage.key for stage in scope.stages}
    for stage in scope.stages:
        for resource in model.of_kind(ResourceKind.STAGE):
            if resource.address.key == stage.key and resource.attrs.get("label"):
                names.setdefault(normal(str(resource.attrs["label"])), stage.key)
    return names


def _status_names(model: Model) -> dict[str, str]:
    statuses = model.of_kind(ResourceKind.LEAD_STATUS)
    names = {normal(r.address.key): r.address.key for r in statuses}
    names.update({normal(str(r.attrs["label"])): r.address.key for r in statuses if r.attrs.get("label")
                  and normal(str(r.attrs["label"])) not in names})
    return names


def _cell_columns(line: str) -> list[int]:
    """The column (from 1) where each cell of a CSV line starts."""
    starts, quoted = [1], False
    for index, char in enumerate(line):
        if char == '"':
            quoted = not quoted
        elif char == "," and not quoted:
            starts.append(index + 2)
    return starts

