"""An mdapi package: the files one deploy carries, the components they hold, and the templates that write them.

lower/ decides what a package holds; this module is what it is (`Package`, `Component`,
`FieldSpec`) and how its XML is written (templates/*.xml.j2, package.xml). Equal packages
give equal bytes: files are rendered and zipped in a fixed order, with fixed timestamps.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any
from collections.abc import Iterable
from xml.sax.saxutils import escape

from sos.errors import Diagnostic
from sos.model.resources import Address

API_VERSION = "63.0"
ZIP_DATE = (1980, 1, 1, 0, 0, 0)


@dataclass(frozen=True, slots=True)
class Component:
    """One component of a package, as package.xml (or destructiveChanges.xml) names it."""

    # CustomField | ValidationRule | StandardValueSet | BusinessProcess | RecordType | PermissionSet
    type: str
    full_name: str       # "Opportunity.Budget_Confirmed__c", "OpportunityStage", "Opportunity.New_Business"
    address: Address | None   # the Model resource it comes from; None for derived ones (permission set, value sets)
    deleted: bool = False     # listed in destructiveChanges.xml


@dataclass(frozen=True, slots=True)
class Package:
    """An mdapi package: files by zip path, the components they hold, and what a reviewer should know."""

    files: dict[str, bytes]
    components: tuple[Component, ...]
    notes: tuple[Diagnostic, ...] = ()   # warnings: what deploying this does beyond the plan (value sets)
    api_version: str = API_VERSION

    def zip_bytes(self) -> bytes:
        """The deploy zip: sorted, fixed timestamps, so equal packages give equal bytes."""
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for name in sorted(self.files):
                archive.writestr(zipfile.ZipInfo(name, date_time=ZIP_DATE), self.files[name])
        return buffer.getvalue()


@dataclass(frozen=True, slots=True)
class PicklistValue:
    name: str
    default: bool


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """One CustomField as custom_field.xml.j2 writes it."""

    name: str
    type: str
    label: str
    description: str
    help: str = ""
    length: int | None = None
    precision: int | None = None
    scale: int | None = None
    default_value: str | None = None
    picklist_values: tuple[PicklistValue, ...] = ()
    visible_lines: int | None = None
    reference_to: str = ""
    relationship_name: str = ""
    relationship_label: str = ""
    formula: str = ""
    display_format: str = ""      # an AutoNumber's, such as {0}


def manifest(components: Iterable[Component], version: str | None) -> bytes:
    """package.xml (or, with no version, destructiveChanges.xml) listing `components` by type."""
    by_type: dict[str, set[str]] = {}
    for component in components:
        by_type.setdefault(component.type, set()).add(component.full_name)
    types = [{"name": name, "members": sorted(members, key=lambda m: (m.lower(), m))}
             for name, members in sorted(by_type.items())]
    return render("package.xml.j2", types=types, version=version)


def render(template: str, **context: Any) -> bytes:
    """One file of the package: templates/`template` rendered with `context`, as UTF-8."""
    return str(_templates().get_template(template).render(**context)).encode("utf-8")


def _xml_text(value: object) -> str:
    """Every `{{ }}` in a template: booleans as Salesforce writes them, text escaped for XML."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return escape(str(value))


@cache
def _templates() -> Any:
    import jinja2  # only builds need it (STYLE §1: heavy imports where used)

    return jinja2.Environment(loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
                              autoescape=False, finalize=_xml_text, trim_blocks=True, lstrip_blocks=True,
                              keep_trailing_newline=True, undefined=jinja2.StrictUndefined)
