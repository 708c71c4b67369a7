"""The Metadata SOAP endpoint (/services/Soap/m/NN.N/...), dispatched on the body element.

File-based calls (deploy, checkDeployStatus, retrieve, checkRetrieveStatus) are async
jobs that finish after a set number of status polls; CRUD calls (readMetadata,
create/update/upsert/deleteMetadata, renameMetadata, listMetadata) answer at once,
at most 10 components (3 list queries) per call, each component on its own
(AllOrNoneHeader honoured).
"""

from __future__ import annotations

import base64
import binascii
import copy
import io
import zipfile
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from collections.abc import Sequence
from xml.sax.saxutils import escape

from lxml import etree

from . import checks, deploy, retrieve, standard
from .naming import Candidate, Problem
from .org import CHILD_TYPES, USER_ID, USER_NAME, Org, canonical_object, iso
from .schema import XSI_NS
from .xmlutil import child, elements, envelope, flag, fragment, kids, local, md, soap_fault, text

if TYPE_CHECKING:
    from .server import SalesforceEmulator

CRUD_LIMIT = 10
LIST_QUERY_LIMIT = 3
CRUD_TYPES = (*CHILD_TYPES, "StandardValueSet", "PermissionSet", "Flow", "CustomObject")


class SoapFault(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class DeployJob:
    id: str
    archive: bytes
    options: deploy.DeployOptions
    created: str
    stalled: bool
    polls: int = 0
    outcome: deploy.DeployOutcome | None = None
    completed: str | None = None


@dataclass
class RetrieveJob:
    id: str
    request: dict[str, list[str]]
    api_version: str
    single_package: bool
    polls: int = 0
    output: retrieve.RetrieveOutput | None = None
    zip_served: bool = False
    messages: list[tuple[str, str]] = field(default_factory=list)


class MetadataApi:
    """Answers Metadata API SOAP bodies; the server has already checked the session."""

    def __init__(self, emulator: SalesforceEmulator) -> None:
        self.emulator = emulator
        self.deploys: dict[str, DeployJob] = {}
        self.retrieves: dict[str, RetrieveJob] = {}

    @property
    def org(self) -> Org:
        return self.emulator.org

    def handle(self, operation: str, request: etree._Element, header: etree._Element | None) -> bytes:
        """The response envelope for one call; raises SoapFault for faults."""
        handler = getattr(self, f"_op_{operation}", None)
        if handler is None:
            raise SoapFault("INVALID_OPERATION", f"Not supported by the emulator: {operation}")
        all_or_none = False
        if header is not None:
            for element in header.iter():
                if isinstance(element.tag, str) and local(element) == "allOrNone":
                    all_or_none = (element.text or "").strip().lower() == "true"
        body = handler(request, all_or_none) if operation.endswith("Metadata") else handler(request)
        return envelope(f"<{operation}Response>{body}</{operation}Response>")

    # -- deploy -------------------------------------------------------------------------

    def _op_deploy(self, request: etree._Element) -> str:
        raw = "".join((text(request, "ZipFile") or "").split())
        try:
            archive = base64.b64decode(raw, validate=True)
        except (binascii.Error, ValueError) as error:
            raise SoapFault("INVALID_BASE64", "The ZipFile is not valid base64") from error
        options_el = child(request, "DeployOptions")
        options = _deploy_options(options_el) if options_el is not None else deploy.DeployOptions()
        job = DeployJob(self.org.new_id("deploy"), archive, options, iso(self.org.clock()),
                        stalled=self.emulator.faults.take_stall())
        self.deploys[job.id] = job
        return "<result>" + _pairs([("done", False), ("id", job.id), ("state", "Queued")]) + "</result>"

    def _op_checkDeployStatus(self, request: etree._Element) -> str:
        job = self.deploys.get(text(request, "asyncProcessId") or "")
        if job is None:
            raise SoapFault("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id")
        job.polls += 1
        include_details = flag(request, "includeDetails")
        if job.polls >= self.emulator.deploy_polls:
            self._finish(job)
        return "<result>" + self._deploy_result(job, include_details) + "</result>"

    def finish_deploys(self) -> None:
        """Every deploy still queued runs to its end, as Salesforce runs an accepted deploy whether or not anyone
        asks for its status (checkDeployStatus only reports it; Metadata API guide, "deploy()": the call is
        asynchronous and the deployment proceeds in the org). Stalled deploys stay stalled."""
        for job in self.deploys.values():
            self._finish(job)

    def _finish(self, job: DeployJob) -> None:
        if job.outcome is None and not job.stalled:
            job.outcome = deploy.run(self.org, job.archive, job.options, self.emulator.schema,
                                     inject=self.emulator.faults.component_problem,
                                     strict_order=self.emulator.strict_order)
            job.completed = iso(self.org.clock())

    def _op_cancelDeploy(self, request: etree._Element) -> str:
        job = self.deploys.get(text(request, "String") or text(request, "asyncProcessId") or "")
        if job is None:
            raise SoapFault("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id")
        if job.outcome is None:
            job.outcome = deploy.DeployOutcome("Canceled")
            job.completed = iso(self.org.clock())
        return "<result>" + _pairs([("done", True), ("id", job.id)]) + "</result>"

    def _deploy_result(self, job: DeployJob, include_details: bool) -> str:
        outcome = job.outcome
        done = outcome is not None
        details = ""
        if outcome is not None and include_details:
            details = "".join(_deploy_message("componentFailures", m) for m in outcome.failures)
            details += "".join(_deploy_message("componentSuccesses", m) for m in outcome.successes)
            details += "<runTestResult><numFailures>0</numFailures><numTestsRun>0</numTestsRun>" \
                       "<totalTime>0.0</totalTime></runTestResult>"
        status = outcome.status if outcome is not None else ("Pending" if job.polls <= 1 and not job.stalled
                                                             else "InProgress")
        pairs: list[tuple[str, object]] = [
            ("checkOnly", job.options.check_only), ("completedDate", job.completed),
            ("createdBy", USER_ID), ("createdByName", USER_NAME), ("createdDate", job.created),
        ]
        tail: list[tuple[str, object]] = [
            ("done", done),
            ("errorMessage", outcome.error_message if outcome else None),
            ("errorStatusCode", outcome.error_status_code if outcome else None),
            ("id", job.id), ("ignoreWarnings", job.options.ignore_warnings),
            ("lastModifiedDate", job.completed or job.created),
            ("numberComponentErrors", outcome.errors if outcome else 0),
            ("numberComponentsDeployed", outcome.deployed if outcome else 0),
            ("numberComponentsTotal", outcome.total if outcome else 0),
            ("numberTestErrors", 0), ("numberTestsCompleted", 0), ("numberTestsTotal", 0),
            ("rollbackOnError", job.options.rollback_on_error), ("runTestsEnabled", False),
            ("startDate", job.created if job.polls else None),
            ("stateDetail", None if done else "Processing Type: CustomObject"),
            ("status", status), ("success", bool(outcome and outcome.success)),
        ]
        return _pairs(pairs) + f"<details>{details}</details>" + _pairs(tail)

    # -- retrieve -----------------------------------------------------------------------

    def _op_retrieve(self, request: etree._Element) -> str:
        # simple-salesforce names the parameter as the WSDL does (retrieveRequest); jsforce, and with it the
        # Salesforce CLI, sends it as <request> (jsforce src/api/metadata.ts: _invoke('retrieve', {request})).
        spec = child(request, "retrieveRequest")
        if spec is None:
            spec = child(request, "request")
        if spec is None:
            raise SoapFault("INVALID_OPERATION", "retrieveRequest is required")
        wanted: dict[str, list[str]] = {}
        unpackaged = child(spec, "unpackaged")
        messages = []
        if unpackaged is not None:
            for types in kids(unpackaged, "types"):
                name = text(types, "name") or ""
                wanted.setdefault(name, []).extend((m.text or "").strip() for m in kids(types, "members"))
        for unsupported in ("packageNames", "specificFiles"):
            if kids(spec, unsupported):
                messages.append(("package.xml", f"Not supported by the emulator: {unsupported}"))
        version = text(spec, "apiVersion") or self.emulator.schema.version
        job = RetrieveJob(self.org.new_id("retrieve"), wanted, _version(version),
                          single_package=flag(spec, "singlePackage"), messages=messages)
        self.retrieves[job.id] = job
        return "<result>" + _pairs([("done", False), ("id", job.id), ("state", "Queued")]) + "</result>"

    def _op_checkRetrieveStatus(self, request: etree._Element) -> str:
        job = self.retrieves.get(text(request, "asyncProcessId") or "")
        if job is None:
            raise SoapFault("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id")
        job.polls += 1
        include_zip = flag(request, "includeZip", True)
        if job.output is None and job.polls >= self.emulator.retrieve_polls:
            job.output = retrieve.build(self.org, job.request, self.emulator.schema, api_version=job.api_version,
                                        single_package=job.single_package)
        if job.output is None:
            return "<result>" + _pairs([("done", False), ("id", job.id), ("status", "InProgress"),
                                        ("success", False)]) + "<zipFile></zipFile></result>"
        if include_zip and job.zip_served:
            raise SoapFault("INVALID_LOCATOR", f"Retrieve result {job.id} was already downloaded; the zip file is "
                                               "deleted from the server once it has been returned")
        properties = "".join(_file_property(p) for p in job.output.properties)
        messages = "".join(elements("messages", [("fileName", f), ("problem", p)])
                           for f, p in job.messages + job.output.messages)
        zip_text = ""
        if include_zip:
            zip_text = base64.b64encode(job.output.zip_bytes).decode()
            job.zip_served = True
        return ("<result>" + _pairs([("done", True)]) + properties + _pairs([("id", job.id)]) + messages
                + _pairs([("status", "Succeeded"), ("success", True)]) + f"<zipFile>{zip_text}</zipFile></result>")

    # -- CRUD ---------------------------------------------------------------------------

    def _op_readMetadata(self, request: etree._Element, all_or_none: bool) -> str:
        type_name = text(request, "type") or ""
        names = [(n.text or "").strip() for n in kids(request, "fullNames")]
        self._crud_limits(type_name, len(names))
        records = []
        for name in names:
            records.append(self._read_one(type_name, name))
        return "<result>" + "".join(records) + "</result>"

    def _read_one(self, type_name: str, full_name: str) -> str:
        if type_name == "CustomObject":
            obj = canonical_object(full_name)
            if obj is None or not standard.OBJECTS[obj].deployable:
                return '<records xsi:nil="true"/>'
            zipped = retrieve.build(self.org, {"CustomObject": [obj]}, self.emulator.schema,
                                    api_version=self.emulator.schema.version)
            raw = zipfile.ZipFile(io.BytesIO(zipped.zip_bytes)).read(f"objects/{obj}.object")
            root = etree.fromstring(raw)
            name_el = etree.Element(md("fullName"))
            name_el.text = obj
            root.insert(0, name_el)
            return fragment(root, "records", xsi_type="CustomObject")
        component = self.org.get(type_name, full_name)
        if component is None:
            return '<records xsi:nil="true"/>'
        body = copy.deepcopy(component.body)
        name_el = etree.Element(md("fullName"))
        name_el.text = component.full_name
        body.insert(0, name_el)
        return fragment(body, "records", xsi_type=type_name)

    def _op_createMetadata(self, request: etree._Element, all_or_none: bool) -> str:
        return self._save_all(request, all_or_none, mode="create")

    def _op_updateMetadata(self, request: etree._Element, all_or_none: bool) -> str:
        return self._save_all(request, all_or_none, mode="update")

    def _op_upsertMetadata(self, request: etree._Element, all_or_none: bool) -> str:
        return self._save_all(request, all_or_none, mode="upsert")

    def _save_all(self, request: etree._Element, all_or_none: bool, mode: str) -> str:
        items = kids(request, "metadata")
        types = {_xsi_type(item) for item in items}
        if len(types) > 1:
            raise SoapFault("INVALID_TYPE", "All components in one call must be of the same type: "
                                            + ", ".join(sorted(t or "?" for t in types)))
        type_name = (types.pop() if types else None) or ""
        self._crud_limits(type_name, len(items))
        work = self.org.copy() if all_or_none else self.org
        results = []
        failed = False
        for item in items:
            full_name, problems, created = self._save_one(work, type_name, item, mode)
            failed = failed or bool(problems)
            results.append((full_name, problems, created))
        if all_or_none and failed:
            results = [(n, p or [Problem("Rolled back because another component failed (AllOrNoneHeader)",
                                         "UNKNOWN_EXCEPTION")], False) for n, p, _ in results]
        elif all_or_none:
            self.org.adopt(work)
        out = []
        for full_name, problems, created in results:
            pairs = [("created", created)] if mode == "upsert" else []
            errors = "".join(elements("errors", [("message", p.message), ("statusCode", p.status_code)])
                             for p in problems)
            out.append("<result>" + _pairs(pairs) + errors + _pairs([("fullName", full_name),
                                                                     ("success", not problems)]) + "</result>")
        return "".join(out)

    def _save_one(self, work: Org, type_name: str, item: etree._Element, mode: str) -> tuple[str, list[Problem], bool]:
        full_name = text(item, "fullName") or ""
        if type_name not in checks.SAVE_CHECKS:
            return full_name, [Problem(f"Not supported by the emulator: {mode} of {type_name}", "INVALID_TYPE")], False
        standalone = copy.deepcopy(item)
        for attribute in list(standalone.attrib):
            del standalone.attrib[attribute]
        errors = self.emulator.schema.validate(standalone, type_name, strict_order=self.emulator.strict_order)
        if errors:
            return full_name, [Problem(e.message, "FIELD_INTEGRITY_EXCEPTION") for e in errors], False
        exists = work.get(type_name, full_name) is not None
        if mode == "create" and exists:
            return full_name, [Problem(f"There is already a {type_name} named {full_name}.",
                                       "DUPLICATE_DEVELOPER_NAME")], False
        if mode == "update" and not exists:
            return full_name, [Problem(f"In field: fullName - no {type_name} named {full_name} found",
                                       "INVALID_CROSS_REFERENCE_KEY")], False
        injected = self.emulator.faults.component_problem(type_name, full_name)
        if injected is not None:
            return full_name, [Problem(injected, "UNKNOWN_EXCEPTION")], False
        candidate = Candidate(type_name, full_name, standalone)
        problems, created = checks.save(work, candidate)
        return candidate.full_name, problems, created

    def _op_deleteMetadata(self, request: etree._Element, all_or_none: bool) -> str:
        type_name = text(request, "type") or ""
        names = [(n.text or "").strip() for n in kids(request, "fullNames")]
        self._crud_limits(type_name, len(names))
        out = []
        for name in names:
            problems = [p for p in checks.delete(self.org, type_name, name)]
            errors = "".join(elements("errors", [("message", p.message), ("statusCode", p.status_code)])
                             for p in problems)
            out.append("<result>" + errors + _pairs([("fullName", name), ("success", not problems)]) + "</result>")
        return "".join(out)

    def _op_renameMetadata(self, request: etree._Element, all_or_none: bool) -> str:
        type_name = text(request, "type") or ""
        old_name, new_name = text(request, "oldFullName") or "", text(request, "newFullName") or ""
        self._crud_limits(type_name, 1)
        existing = self.org.get(type_name, old_name)
        problems: list[Problem] = []
        if existing is None:
            problems = [Problem(f"In field: fullName - no {type_name} named {old_name} found",
                                "INVALID_CROSS_REFERENCE_KEY")]
        elif self.org.get(type_name, new_name) is not None:
            problems = [Problem(f"There is already a {type_name} named {new_name}.", "DUPLICATE_DEVELOPER_NAME")]
        else:
            work = self.org.copy()
            work.remove(type_name, old_name)
            problems, _ = checks.save(work, Candidate(type_name, new_name, copy.deepcopy(existing.body)))
            if not problems:
                work.renamed(existing, new_name)
                self.org.adopt(work)
        errors = "".join(elements("errors", [("message", p.message), ("statusCode", p.status_code)])
                         for p in problems)
        return "<result>" + errors + _pairs([("fullName", new_name), ("success", not problems)]) + "</result>"

    def _op_listMetadata(self, request: etree._Element, all_or_none: bool) -> str:
        queries = kids(request, "queries")
        if len(queries) > LIST_QUERY_LIMIT:
            raise SoapFault("INVALID_OPERATION", f"Too many queries: at most {LIST_QUERY_LIMIT} ListMetadataQuery "
                                                 f"per listMetadata call (got {len(queries)})")
        out = []
        for query in queries:
            type_name = text(query, "type") or ""
            if type_name not in self.emulator.schema.metadata_types:
                raise SoapFault("INVALID_TYPE", f"Unknown type: {type_name}")
            if type_name == "CustomObject":
                for obj in standard.DEPLOYABLE_OBJECTS:
                    out.append(_file_property(retrieve.FileProperty("CustomObject", obj, f"objects/{obj}.object",
                                                                    obj, iso(self.org.clock()), iso(self.org.clock())),
                                              tag="result", state=None))
                continue
            for component in self.org.of_type(type_name):
                folder_type = "CustomObject" if type_name in CHILD_TYPES else type_name
                folder, suffix = deploy.FILE_OF_TYPE.get(folder_type, (type_name, ""))
                stem = component.object if type_name in CHILD_TYPES else component.full_name
                prop = retrieve.FileProperty(type_name, component.full_name, f"{folder}/{stem}{suffix}",
                                             component.id, component.created, component.modified)
                out.append(_file_property(prop, tag="result"))
        return "".join(out)

    def _crud_limits(self, type_name: str, count: int) -> None:
        if type_name not in self.emulator.schema.metadata_types:
            raise SoapFault("INVALID_TYPE", f"Unknown type: {type_name}")
        if count > CRUD_LIMIT:
            raise SoapFault("LIMIT_EXCEEDED", f"Too many components: at most {CRUD_LIMIT} per call "
                                              f"(got {count})")


def operation_of(body: etree._Element | None) -> str:
    """The operation a SOAP body carries: its first child's local name."""
    if body is None:
        return "soap"
    first = kids(body)
    return local(first[0]) if first else "soap"


def _deploy_options(element: etree._Element) -> deploy.DeployOptions:
    return deploy.DeployOptions(
        check_only=flag(element, "checkOnly"),
        rollback_on_error=flag(element, "rollbackOnError"),
        ignore_warnings=flag(element, "ignoreWarnings"),
        allow_missing_files=flag(element, "allowMissingFiles"),
        purge_on_delete=flag(element, "purgeOnDelete"),
        single_package=flag(element, "singlePackage", True),
        test_level=text(element, "testLevel"),
        run_tests=tuple((e.text or "").strip() for e in kids(element, "runTests")),
    )


def _xsi_type(item: etree._Element) -> str | None:
    value = item.get(f"{{{XSI_NS}}}type")
    return value.split(":", 1)[-1] if value else None


def _version(raw: str) -> str:
    try:
        return f"{float(raw):.1f}"
    except ValueError:
        return raw


def _pairs(pairs: Sequence[tuple[str, object]]) -> str:
    out = []
    for key, value in pairs:
        if value is None:
            continue
        if isinstance(value, bool):
            value = "true" if value else "false"
        out.append(f"<{key}>{escape(str(value))}</{key}>")
    return "".join(out)


def _deploy_message(tag: str, message: deploy.DeployMessage) -> str:
    return f"<{tag}>" + _pairs([
        ("changed", message.changed), ("columnNumber", message.column), ("componentType", message.component_type),
        ("created", message.created), ("createdDate", message.created_date), ("deleted", message.deleted),
        ("fileName", message.file_name), ("fullName", message.full_name), ("id", message.id),
        ("lineNumber", message.line), ("problem", message.problem), ("problemType", message.problem_type),
        ("success", message.success),
    ]) + f"</{tag}>"


def _file_property(prop: retrieve.FileProperty, tag: str = "fileProperties", state: str | None = "unmanaged") -> str:
    return f"<{tag}>" + _pairs([
        ("createdById", USER_ID), ("createdByName", USER_NAME), ("createdDate", prop.created),
        ("fileName", prop.file_name), ("fullName", prop.full_name), ("id", prop.id),
        ("lastModifiedById", USER_ID), ("lastModifiedByName", USER_NAME), ("lastModifiedDate", prop.modified),
        ("manageableState", state if prop.type not in ("Package", "CustomObject") else None), ("type", prop.type),
    ]) + f"</{tag}>"


def fault_body(error: SoapFault) -> bytes:
    return soap_fault(error.code, error.message)
