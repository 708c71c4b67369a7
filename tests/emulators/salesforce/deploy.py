"""A file-based deploy: read the zip, validate every file, apply to a copy of the org.

The copy replaces the live org only if the deploy commits: never for checkOnly, and
not at all when any component fails under rollbackOnError (all-or-nothing).
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass, field
from collections.abc import Callable

from lxml import etree

from . import checks
from .naming import Candidate, Problem
from .org import CHILD_TYPES, Org, iso
from .schema import MetadataSchema
from .xmlutil import PARSER, kids, local, text

MAX_FILES = 10_000
MAX_ZIP_BYTES = 39 * 1024 * 1024
MAX_UNZIPPED_BYTES = 600 * 1024 * 1024

# mdapi folder → (metadata type, file suffix)
FOLDERS = {
    "objects": ("CustomObject", ".object"),
    "standardValueSets": ("StandardValueSet", ".standardValueSet"),
    "permissionsets": ("PermissionSet", ".permissionset"),
    "flows": ("Flow", ".flow"),
    "assignmentRules": ("AssignmentRules", ".assignmentRules"),
    "notificationtypes": ("CustomNotificationType", ".notiftype"),
}
FILE_OF_TYPE = {type_name: (folder, suffix) for folder, (type_name, suffix) in FOLDERS.items()}
ELEMENT_TYPES = {element: type_name for type_name, element in CHILD_TYPES.items()}
# A file that holds components of a child type (an object file, an object's assignment rules) → that type's element.
CONTAINERS = {"CustomObject": ELEMENT_TYPES, "AssignmentRules": {"assignmentRule": "AssignmentRule"}}
CONTAINER_OF = {child_type: container for container, types in CONTAINERS.items() for child_type in types.values()}
# Saves run in dependency order: value sets before the processes that list their values,
# fields before the rules and permission sets that name them.
SAVE_ORDER = ("CustomObject", "StandardValueSet", "CustomField", "BusinessProcess", "RecordType",
              "ValidationRule", "PermissionSet", "AssignmentRules", "AssignmentRule", "CustomNotificationType", "Flow")
DESTRUCTIVE_PRE = "destructiveChangesPre.xml"
DESTRUCTIVE_POST = ("destructiveChanges.xml", "destructiveChangesPost.xml")


@dataclass(frozen=True, slots=True)
class DeployOptions:
    check_only: bool = False
    rollback_on_error: bool = True
    ignore_warnings: bool = False
    allow_missing_files: bool = False
    purge_on_delete: bool = False
    single_package: bool = True
    test_level: str | None = None
    run_tests: tuple[str, ...] = ()


@dataclass
class DeployMessage:
    """One entry of componentSuccesses / componentFailures."""

    component_type: str
    file_name: str
    full_name: str
    success: bool
    created: bool = False
    changed: bool = False
    deleted: bool = False
    problem: str | None = None
    problem_type: str | None = None       # Error | Warning
    line: int | None = None
    column: int | None = None
    id: str | None = None
    created_date: str = ""


@dataclass
class DeployOutcome:
    """What checkDeployStatus reports once the deploy is done."""

    status: str                          # Succeeded | SucceededPartial | Failed
    successes: list[DeployMessage] = field(default_factory=list)
    failures: list[DeployMessage] = field(default_factory=list)
    total: int = 0
    deployed: int = 0
    errors: int = 0
    error_message: str | None = None
    error_status_code: str | None = None
    committed: bool = False

    @property
    def success(self) -> bool:
        return self.status == "Succeeded"


# Called with (type, fullName); returns a problem to force a failure (fault injection).
InjectedFailure = Callable[[str, str], str | None]


def run(org: Org, archive: bytes, options: DeployOptions, schema: MetadataSchema, *,
        inject: InjectedFailure, strict_order: bool = False) -> DeployOutcome:
    """Deploy `archive` into `org` (in place if it commits) and describe the result."""
    now = iso(org.clock())
    opened = _open(archive)
    if isinstance(opened, DeployOutcome):
        return opened
    bundle, names = opened
    work = org.copy()
    reader = _Reader(bundle, names, schema, strict_order, now)
    reader.read()
    failures = reader.failures
    selected, deletions = reader.select(options.allow_missing_files)
    failures += reader.selection_failures
    successes: list[DeployMessage] = [DeployMessage("", "package.xml", "package.xml", True, changed=True,
                                                    created_date=now)]
    failed_components: set[tuple[str, str]] = {(f.component_type, f.full_name.lower()) for f in failures}

    def delete_all(pairs: list[tuple[str, str, str]]) -> None:
        for type_name, full_name, file_name in pairs:
            problem = next(iter(checks.delete(work, type_name, full_name)), None)   # the first one counts
            if problem is None:
                successes.append(DeployMessage(type_name, file_name, full_name, True, deleted=True,
                                               changed=True, created_date=now))
            elif problem.warning:
                warned = _message(type_name, file_name, full_name, problem, now)
                warned.success = True
                successes.append(warned)
            else:
                failures.append(_message(type_name, file_name, full_name, problem, now))
                failed_components.add((type_name, full_name.lower()))

    delete_all(deletions["pre"])
    saved, refused = _save_all(work, selected, inject, failed_components, now)
    successes += saved
    failures += refused
    delete_all(deletions["post"])

    total = sum(len(v) for v in selected.values()) + len(deletions["pre"]) + len(deletions["post"])
    errors = len(failed_components)
    deployed = len(successes) - 1
    status = _status(bool(failures), options.rollback_on_error, deployed)
    commit = status != "Failed" and not options.check_only
    if commit:
        org.adopt(work)
    return DeployOutcome(status, successes, failures, total=max(total, errors), deployed=deployed, errors=errors,
                         committed=commit)


def _open(archive: bytes) -> tuple[zipfile.ZipFile, list[str]] | DeployOutcome:
    """The zip and its file names, or the failed deploy of a zip that is not one or is too big."""
    try:
        bundle = zipfile.ZipFile(io.BytesIO(archive))
        names = [n for n in bundle.namelist() if not n.endswith("/")]
    except zipfile.BadZipFile:
        return DeployOutcome("Failed", error_message="The deploy zip file is not a valid zip archive",
                             error_status_code="UNKNOWN_EXCEPTION")
    unzipped = sum(info.file_size for info in bundle.infolist())
    if len(names) > MAX_FILES or len(archive) > MAX_ZIP_BYTES or unzipped > MAX_UNZIPPED_BYTES:
        return DeployOutcome("Failed", error_message="The deploy zip exceeds 10,000 files, 39 MB compressed or "
                                                     "600 MB uncompressed", error_status_code="LIMIT_EXCEEDED")
    return bundle, names


def _save_all(work: Org, selected: dict[str, list[Candidate]], inject: InjectedFailure,
              failed_components: set[tuple[str, str]], now: str) -> tuple[list[DeployMessage], list[DeployMessage]]:
    """Save the selected components in Salesforce's order, but those already failed: (successes, failures)."""
    successes: list[DeployMessage] = []
    failures: list[DeployMessage] = []
    for type_name in SAVE_ORDER:
        for candidate in selected.get(type_name, []):
            if (candidate.type, candidate.full_name.lower()) in failed_components:
                continue
            problems, created = _save(work, candidate, inject)
            if problems:
                failed_components.add((candidate.type, candidate.full_name.lower()))
                failures += [_message(candidate.type, candidate.file_name, candidate.full_name, p, now)
                             for p in problems]
                continue
            stored = work.get(candidate.type, candidate.full_name)
            successes.append(DeployMessage(candidate.type, candidate.file_name, candidate.full_name, True,
                                           created=created, changed=not created, line=candidate.line,
                                           id=stored.id if stored else None, created_date=now))
    return successes, failures


def _save(work: Org, candidate: Candidate, inject: InjectedFailure) -> tuple[list[Problem], bool]:
    """Save one component into `work`: its problems (none if saved), and whether it was created."""
    injected = inject(candidate.type, candidate.full_name)
    if injected is not None:
        return [Problem(injected, "UNKNOWN_EXCEPTION", candidate.line)], False
    if candidate.type == "CustomObject":
        return checks.check_custom_object(work, candidate), False
    if candidate.type == "AssignmentRules":
        return [], False        # a container: its rules are saved one by one
    return checks.save(work, candidate)


def _status(failed: bool, rollback_on_error: bool, deployed: int) -> str:
    if not failed:
        return "Succeeded"
    if rollback_on_error or deployed == 0:
        return "Failed"
    return "SucceededPartial"


def _message(type_name: str, file_name: str, full_name: str, problem: Problem, now: str) -> DeployMessage:
    return DeployMessage(type_name, file_name, full_name, False, problem=problem.message,
                         problem_type="Warning" if problem.warning else "Error", line=problem.line,
                         column=problem.column, created_date=now)


class _Reader:
    """Reads package.xml, destructive changes and component files out of the zip."""

    def __init__(self, bundle: zipfile.ZipFile, names: list[str], schema: MetadataSchema, strict_order: bool,
                 now: str) -> None:
        self.bundle = bundle
        self.names = names
        self.schema = schema
        self.strict_order = strict_order
        self.now = now
        self.failures: list[DeployMessage] = []
        self.selection_failures: list[DeployMessage] = []
        self.package: dict[str, list[str]] = {}
        self.destructive: dict[str, dict[str, list[str]]] = {}
        self.candidates: list[Candidate] = []       # every component found in a file
        self.invalid_files: set[str] = set()

    def read(self) -> None:
        if "package.xml" not in self.names:
            self.failures.append(DeployMessage("", "package.xml", "package.xml", False,
                                               problem="No package.xml found", problem_type="Error",
                                               created_date=self.now))
            return
        parsed = self._manifest("package.xml")
        if parsed is None:
            return
        self.package = parsed
        for name in (DESTRUCTIVE_PRE, *DESTRUCTIVE_POST):
            if name in self.names:
                manifest = self._manifest(name)
                if manifest is not None:
                    self.destructive[name] = manifest
        for name in self.names:
            if name == "package.xml" or name in (DESTRUCTIVE_PRE, *DESTRUCTIVE_POST):
                continue
            self._component_file(name)

    def _fail(self, type_name: str, file_name: str, full_name: str, problem: str, line: int | None = None,
              column: int | None = None) -> None:
        self.failures.append(DeployMessage(type_name, file_name, full_name, False, problem=problem,
                                           problem_type="Error", line=line, column=column, created_date=self.now))

    def _manifest(self, name: str) -> dict[str, list[str]] | None:
        root = self._parse(name, "", name)
        if root is None:
            return None
        if local(root) != "Package":
            self._fail("", name, name, f"Error parsing file: the root element of {name} must be Package")
            return None
        if name != "package.xml" and not kids(root, "version"):
            # destructiveChanges*.xml may omit <version> (reference §4.1); the XSD requires it.
            etree.SubElement(root, root.tag.replace("Package", "version")).text = "63.0"
        errors = self.schema.validate(root, "Package", strict_order=self.strict_order)
        for error in errors:
            self._fail("", name, name, error.message, error.line, error.column)
        if errors:
            return None
        manifest: dict[str, list[str]] = {}
        for types in kids(root, "types"):
            type_name = text(types, "name") or ""
            if type_name not in self.schema.metadata_types:
                self._fail("", name, name, f"Unknown type name '{type_name}' specified in {name}", types.sourceline)
                continue
            manifest.setdefault(type_name, []).extend((m.text or "").strip() for m in kids(types, "members"))
        return manifest

    def _parse(self, file_name: str, type_name: str, full_name: str) -> etree._Element | None:
        try:
            return etree.fromstring(self.bundle.read(file_name), PARSER)
        except etree.XMLSyntaxError as error:
            line, column = error.position
            self._fail(type_name, file_name, full_name, f"Error parsing file: {error.msg}", line, column)
            self.invalid_files.add(file_name)
            return None

    def _component_file(self, name: str) -> None:
        folder, _, rest = name.partition("/")
        spec = FOLDERS.get(folder)
        if spec is None or "/" in rest or not rest.endswith(spec[1]):
            self._fail("", name, name, f"Not supported by the emulator: file {name} (the emulator deploys mdapi "
                       "files objects/*.object, standardValueSets/*.standardValueSet, "
                       "permissionsets/*.permissionset, flows/*.flow, assignmentRules/*.assignmentRules, "
                       "notificationtypes/*.notiftype)")
            self.invalid_files.add(name)
            return
        type_name, suffix = spec
        full_name = rest[: -len(suffix)]
        root = self._parse(name, type_name, full_name)
        if root is None:
            return
        if local(root) != type_name:
            self._fail(type_name, name, full_name,
                       f"Error parsing file: expected root element {type_name}, found {local(root)}", root.sourceline)
            self.invalid_files.add(name)
            return
        errors = self.schema.validate(root, type_name, strict_order=self.strict_order)
        if errors:
            for error in errors:
                self._fail(type_name, name, full_name, error.message, error.line, error.column)
            self.invalid_files.add(name)
            return
        self.candidates.append(Candidate(type_name, full_name, root, name, root.sourceline))
        for element in kids(root) if type_name in CONTAINERS else ():
            child_type = CONTAINERS[type_name].get(local(element))
            if child_type is not None:
                inner = text(element, "fullName") or ""
                self.candidates.append(Candidate(child_type, f"{full_name}.{inner}", element, name,
                                                 element.sourceline))

    def select(self, allow_missing: bool) -> tuple[dict[str, list[Candidate]], dict[str, list[tuple[str, str, str]]]]:
        """The components package.xml names (by type), and the deletions before and after."""
        selected: dict[str, list[Candidate]] = {}
        chosen: set[int] = set()
        # Candidates indexed once (each list in file order), so a member is found without a scan.
        by_type: dict[str, list[Candidate]] = {}
        by_name: dict[tuple[str, str], list[Candidate]] = {}
        children: dict[str, list[tuple[int, Candidate]]] = {}    # lower-case object → (position, child)
        for position, candidate in enumerate(self.candidates):
            by_type.setdefault(candidate.type, []).append(candidate)
            by_name.setdefault((candidate.type, candidate.full_name.lower()), []).append(candidate)
            if candidate.type in CHILD_TYPES or candidate.type == "AssignmentRule":
                children.setdefault(candidate.full_name.split(".", 1)[0].lower(), []).append((position, candidate))
        for type_name, members in self.package.items():
            pool = by_type.get(type_name, [])
            for member in members:
                matches = pool if member == "*" else by_name.get((type_name, member.lower()), [])
                if type_name in CONTAINERS:
                    objects = {c.full_name.lower() for c in matches}
                    contained = set(CONTAINERS[type_name].values())
                    owned = sorted((pair for obj in objects for pair in children.get(obj, [])
                                    if pair[1].type in contained), key=lambda p: p[0])
                    matches = matches + [c for _, c in owned]
                if not matches and member != "*" and not allow_missing \
                        and not self._in_invalid_file(type_name, member):
                    self.selection_failures.append(DeployMessage(
                        type_name, "package.xml", member, False,
                        problem=f"An object '{member}' of type {type_name} was named in package.xml, but was not "
                                "found in zipped directory", problem_type="Error", created_date=self.now))
                for match in matches:
                    if id(match) not in chosen:
                        chosen.add(id(match))
                        selected.setdefault(match.type, []).append(match)
        self._duplicates(selected)
        return selected, self._deletions()

    def _deletions(self) -> dict[str, list[tuple[str, str, str]]]:
        """What the destructive manifests delete, before and after the saves: (type, member, file)."""
        deletions: dict[str, list[tuple[str, str, str]]] = {"pre": [], "post": []}
        for file_name, manifest in self.destructive.items():
            phase = "pre" if file_name == DESTRUCTIVE_PRE else "post"
            for type_name, members in manifest.items():
                deletions[phase] += [(type_name, m, _file_of(type_name, m)) for m in members]
        # Within one manifest, dependents go first: rules before the fields they read.
        rank = {name: index for index, name in enumerate(reversed(SAVE_ORDER))}
        for phase in deletions:
            deletions[phase].sort(key=lambda d: rank.get(d[0], -1))
        return deletions

    def _in_invalid_file(self, type_name: str, member: str) -> bool:
        folder, suffix = FILE_OF_TYPE.get(CONTAINER_OF.get(type_name, type_name), ("", ""))
        return f"{folder}/{member.split('.', 1)[0]}{suffix}" in self.invalid_files

    def _duplicates(self, selected: dict[str, list[Candidate]]) -> None:
        for type_name, candidates in selected.items():
            seen: set[str] = set()
            for candidate in list(candidates):
                key = candidate.full_name.lower()
                if key in seen:
                    self.selection_failures.append(DeployMessage(
                        type_name, candidate.file_name, candidate.full_name, False,
                        problem=f"Duplicate name '{candidate.full_name}' specified", problem_type="Error",
                        line=candidate.line, created_date=self.now))
                    candidates.remove(candidate)
                seen.add(key)


def _file_of(type_name: str, full_name: str) -> str:
    folder, suffix = FILE_OF_TYPE.get(CONTAINER_OF.get(type_name, type_name), (type_name, ""))
    return f"{folder}/{full_name.split('.', 1)[0] if type_name in CONTAINER_OF else full_name}{suffix}"
