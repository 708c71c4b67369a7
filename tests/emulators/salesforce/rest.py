"""REST under /services/data/vNN.N/: query, queryAll, query paging, describe, limits, Tooling query,
record create (including PermissionSetAssignment), composite. Errors are JSON lists, as Salesforce sends them."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from collections.abc import Mapping
from datetime import datetime, timezone
from email.utils import format_datetime, parsedate_to_datetime
from typing import TYPE_CHECKING

from . import assignment, bulk, composite, flows, formula, soql, standard
from .history import HISTORY_OBJECTS, record_history
from .org import USER_ID, FieldInfo, Org, canonical_object
from .schema import MetadataSchema
from .standard import DESCRIBE_TYPES
from .tables import MASTER_RECORD_TYPE_ID, Table, rest_table, tooling_table
from .xmlutil import flag, text

if TYPE_CHECKING:
    from .server import SalesforceEmulator

DEFAULT_BATCH = 2000
JSON_TYPE = "application/json;charset=UTF-8"


@dataclass
class Reply:
    status: int
    body: bytes
    content_type: str = JSON_TYPE
    headers: dict[str, str] = field(default_factory=dict)


def json_reply(status: int, payload: object) -> Reply:
    return Reply(status, json.dumps(payload, indent=2).encode())


def error_reply(status: int, code: str, message: str, fields: list[str] | None = None) -> Reply:
    entry: dict[str, object] = {"message": message, "errorCode": code}
    if fields is not None:
        entry["fields"] = fields
    return json_reply(status, [entry])


def unmodified_since(record: Mapping[str, object], headers: Mapping[str, str]) -> Reply | None:
    """The If-Unmodified-Since precondition of a write to a record (REST API Developer Guide, "Conditional Request
    Headers"): 412 Precondition Failed, nothing written, when the record's LastModifiedDate is later than the HTTP
    date given (compared to the second: an HTTP date has none finer); 400 when the value is no HTTP date. The
    error codes are UNVERIFIED (the guide gives the statuses only); the bodies are the REST error list."""
    given = next((v for k, v in headers.items() if k.lower() == "if-unmodified-since"), None)
    if given is None:
        return None
    try:
        since = parsedate_to_datetime(given)
    except (TypeError, ValueError):
        since = None
    if since is None or since.tzinfo is None:
        return error_reply(400, "INVALID_HEADER_TYPE", f"Invalid If-Unmodified-Since header: {given}")
    modified = datetime.fromisoformat(str(record["LastModifiedDate"]).replace("Z", "+00:00").replace("+0000", "+00:00"))
    if modified.replace(microsecond=0) > since:
        return error_reply(412, "PRECONDITION_FAILED", "The record has been modified since "
                                                       f"{format_datetime(since, usegmt=True)}")
    return None


def not_found() -> Reply:
    return error_reply(404, "NOT_FOUND", "The requested resource does not exist")


def operation(method: str, path: str) -> str:
    """The name a REST call is counted under (`emulator.calls`)."""
    parts = [p for p in path.split("/") if p]
    if not parts:
        return "resources"
    head = parts[0]
    if head in ("query", "queryAll"):
        return "queryMore" if len(parts) > 1 else head
    if head == "tooling" and len(parts) > 1 and parts[1] == "query":
        return "tooling_query"
    if head in ("limits", "composite"):
        return head
    if parts[:2] == ["jobs", "query"]:
        return bulk.operation(method, parts[2:])
    if head == "sobjects":
        if len(parts) == 1:
            return "describeGlobal"
        if len(parts) == 3 and parts[2] == "describe":
            return "describe"
        if method == "POST" and len(parts) == 2:
            return "create"
        return "sobject" if len(parts) == 2 else "record"
    return "rest"


class RestApi:
    """Answers REST calls from the emulator's org; the server has already authenticated them."""

    def __init__(self, emulator: SalesforceEmulator) -> None:
        self.emulator = emulator
        self.cursors: dict[str, list[dict[str, object]]] = {}
        self.bulk = bulk.BulkQueries(self)

    @property
    def org(self) -> Org:
        return self.emulator.org

    @property
    def schema(self) -> MetadataSchema:
        return self.emulator.schema

    def handle(self, method: str, path: str, params: Mapping[str, str], body: bytes,
               headers: Mapping[str, str], version: str) -> Reply:
        parts = [p for p in path.split("/") if p]
        if not parts:
            return json_reply(200, {name: f"/services/data/v{version}/{name}" for name in
                                    ("sobjects", "query", "queryAll", "limits", "tooling", "composite")})
        head = parts[0]
        if head in ("query", "queryAll") and method == "GET":
            if len(parts) == 2:
                return self._more(parts[1], version)
            return self._query(params.get("q", ""), version, headers, tooling=False)
        if head == "tooling" and parts[1:2] == ["query"] and method == "GET":
            if len(parts) == 3:
                return self._more(parts[2], version)
            return self._query(params.get("q", ""), version, headers, tooling=True)
        if head == "limits" and method == "GET":
            return json_reply(200, self._limits())
        if parts == ["composite"] and method == "POST":
            return composite.run(self, body, headers, version)
        if head == "sobjects":
            return self._sobjects(method, parts[1:], body, version, headers)
        if parts[:2] == ["jobs", "query"]:
            return self.bulk.handle(method, parts[2:], params, body, version)
        return not_found()

    # -- query --------------------------------------------------------------------------

    def _query(self, text_: str, version: str, headers: Mapping[str, str], *, tooling: bool) -> Reply:
        try:
            query, table, rows = self.select(text_, tooling=tooling)
        except soql.SoqlError as error:
            return error_reply(400, error.code, error.message)
        one_row = {(item.field or "").lower() for item in query.items} & table.one_row_columns
        if one_row and len(rows) > 1:
            return error_reply(400, "MALFORMED_QUERY", (
                "When retrieving results with Metadata or FullName fields, the query qualifications must specify "
                f"no more than one row for retrieval. Result size: {len(rows)}"))
        if query.count_only:
            return json_reply(200, {"totalSize": len(rows), "done": True, "records": []})
        records = [self._shape(query, table, row, version) for row in rows]
        batch = _batch_size(headers)
        if query.group_by and len(records) > batch:
            # SOQL and SOSL Reference, "Considerations When Using GROUP BY": a query with GROUP BY cannot use
            # queryMore(); past one batch (2,000 rows at most) the filter must be narrowed. UNVERIFIED: the REST
            # error's code and message (the stricter reading: the query is refused, not cut short).
            return error_reply(400, "MALFORMED_QUERY", "Aggregate query does not support queryMore(), use LIMIT to "
                                                       "restrict the results to a single batch")
        payload = {"totalSize": len(records), "done": True, "records": records[:batch]}
        if len(records) > batch:
            locator = self.org.new_id("query")
            self.cursors[locator] = records
            payload["done"] = False
            payload["nextRecordsUrl"] = f"/services/data/v{version}/{'tooling/' if tooling else ''}query/" \
                                        f"{locator}-{batch}"
        if tooling:
            payload = {"size": len(records), "totalSize": len(records), "done": payload["done"],
                       "queryLocator": None, "entityTypeName": table.name, **payload}
        return json_reply(200, payload)

    def select(self, text_: str, *, tooling: bool = False) -> tuple[soql.Query, Table, list[dict[str, object]]]:
        """The query `text_`, the table it reads and the rows it selects (raises soql.SoqlError)."""
        query = soql.parse(text_)
        table = (tooling_table(self.org, query.object, self.schema) if tooling
                 else rest_table(self.org, query.object, self.emulator.field_visible))
        if table is None:
            raise soql.SoqlError("INVALID_TYPE", _pointer_at(query, query.object, (
                f"sObject type '{query.object}' is not supported. If you are attempting to use a custom "
                "object, be sure to append the '__c' after the entity name. Please reference your WSDL or "
                "the describe call for the appropriate names.")))
        self._check_columns(query, table)
        user_now = self.org.clock().astimezone(timezone(self.emulator.user_offset))  # date literals: their day
        return query, table, soql.run(query, table.rows, _getter, user_now)

    def _more(self, cursor: str, version: str) -> Reply:
        locator, _, offset_text = cursor.rpartition("-")
        records = self.cursors.get(locator)
        if records is None or not offset_text.isdigit():
            return error_reply(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
        offset = int(offset_text)
        batch = DEFAULT_BATCH if offset % DEFAULT_BATCH == 0 else offset
        page = records[offset:offset + batch]
        payload: dict[str, object] = {"totalSize": len(records), "done": offset + batch >= len(records),
                                      "records": page}
        if not payload["done"]:
            payload["nextRecordsUrl"] = f"/services/data/v{version}/query/{locator}-{offset + batch}"
        else:
            self.cursors.pop(locator, None)
        return json_reply(200, payload)

    def _check_columns(self, query: soql.Query, table: Table) -> None:
        names: list[tuple[str, int]] = [(item.field, item.column) for item in query.items if item.field]
        names += [(name, _column_of(query.text, name)) for name in query.group_by]
        names += [(name, _column_of(query.text, name)) for name, _, _ in query.order_by
                  if not (query.aggregated and any((i.alias or "").lower() == name.lower() for i in query.items))]
        names += [(name, _column_of(query.text, name)) for name in soql.field_names(query.where)]
        for name, column in names:
            if name.lower() not in table.columns:
                raise soql.SoqlError("INVALID_FIELD", (
                    f"\n{query.text}\n{' ' * column}^\nERROR at Row:1:Column:{column + 1}\n"
                    f"No such column '{name}' on entity '{table.name}'. If you are attempting to use a custom "
                    "field, be sure to append the '__c' after the custom field name. Please reference your WSDL or "
                    "the describe call for the appropriate names."))

    def _shape(self, query: soql.Query, table: Table, row: dict[str, object], version: str) -> dict[str, object]:
        if query.aggregated:
            out: dict[str, object] = {"attributes": {"type": "AggregateResult"}}
            for key, value in row.items():
                canonical = table.columns.get(key.lower(), key).rsplit(".", 1)[-1]
                out[canonical] = value
            return out
        record_id = row.get("Id") or row.get("DurableId")
        out = {"attributes": {"type": table.name,
                              "url": f"/services/data/v{version}/{table.url_base}/{table.name}/{record_id}"}}
        for item in query.items:
            canonical = table.columns[(item.field or "").lower()]
            value = _getter(row, canonical)
            if "." in canonical:
                head, tail = canonical.split(".", 1)
                nested = out.setdefault(head, {"attributes": {"type": head}})
                if isinstance(nested, dict):
                    nested[tail] = value
                if _getter(row, head) is None:
                    out[head] = None
            else:
                out[canonical] = value
        return out

    # -- limits, sobjects ---------------------------------------------------------------

    def _limits(self) -> dict[str, object]:
        used = self.emulator.api_usage
        maximum = self.emulator.daily_api_max
        return {
            "DailyApiRequests": {"Max": maximum, "Remaining": max(maximum - used, 0)},
            "DailyAsyncApexExecutions": {"Max": 250000, "Remaining": 250000},
            "DailyBulkApiBatches": {"Max": 15000, "Remaining": 15000},
            "DailyBulkV2QueryJobs": {"Max": 10000, "Remaining": 10000},
            "DataStorageMB": {"Max": 5, "Remaining": 5},
            "FileStorageMB": {"Max": 20, "Remaining": 20},
            "ConcurrentAsyncGetReportInstances": {"Max": 200, "Remaining": 200},
        }

    def _sobjects(self, method: str, parts: list[str], body: bytes, version: str,
                  headers: Mapping[str, str]) -> Reply:
        if not parts:
            if method != "GET":
                return error_reply(405, "METHOD_NOT_ALLOWED", f"HTTP Method '{method}' not allowed. Allowed are GET")
            return json_reply(200, {"encoding": "UTF-8", "maxBatchSize": 200,
                                    "sobjects": [self._summary(o, version) for o in standard.OBJECTS]})
        if parts[0] == "PermissionSetAssignment" and method == "POST" and len(parts) == 1:
            return self._assign(body)
        history = next((name for name in HISTORY_OBJECTS if name.lower() == parts[0].lower()), None)
        if history is not None and method in ("POST", "PATCH", "DELETE"):
            verb = {"POST": "inserted", "PATCH": "updated", "DELETE": "deleted"}[method]
            return error_reply(400, "INVALID_TYPE_FOR_OPERATION",
                               f"entity type cannot be {verb}: {HISTORY_OBJECTS[history]}")
        obj = canonical_object(parts[0])
        if obj is None:
            return not_found()
        if len(parts) == 2 and parts[1] == "describe" and method == "GET":
            return json_reply(200, self._describe(obj, version))
        if len(parts) == 1 and method == "GET":
            return json_reply(200, {"objectDescribe": self._summary(obj, version), "recentItems": []})
        if len(parts) == 1 and method == "POST" and standard.OBJECTS[obj].deployable:
            return self._create(obj, body, headers)
        if len(parts) == 2 and method in ("PATCH", "GET") and standard.OBJECTS[obj].deployable:
            return self._record(method, obj, parts[1], body, version, headers)
        return not_found()

    def _record(self, method: str, obj: str, record_id: str, body: bytes, version: str,
                headers: Mapping[str, str]) -> Reply:
        """PATCH or GET /sobjects/{obj}/{id}."""
        record = self.org.records[obj].get(record_id)
        if record is None:
            return not_found()
        if method == "PATCH":
            return unmodified_since(record, headers) or self._update(obj, record_id, body)
        return json_reply(200, {"attributes": {"type": obj, "url": f"/services/data/v{version}/sobjects/"
                                                                    f"{obj}/{record_id}"}, **record})

    def _summary(self, obj: str, version: str) -> dict[str, object]:
        info = standard.OBJECTS[obj]
        return {"name": obj, "label": info.label, "labelPlural": info.plural, "custom": False,
                "keyPrefix": info.key_prefix, "createable": info.deployable, "updateable": info.deployable,
                "deletable": info.deployable, "queryable": True, "layoutable": info.deployable,
                "urls": {"sobject": f"/services/data/v{version}/sobjects/{obj}",
                         "describe": f"/services/data/v{version}/sobjects/{obj}/describe"}}

    def _describe(self, obj: str, version: str) -> dict[str, object]:
        fields = [f for f in self.org.object_fields(obj).values()
                  if not f.custom or self.emulator.field_visible(obj, f)]
        record_types = [c for c in self.org.of_type("RecordType", obj)]
        infos = [{"active": True, "available": True, "defaultRecordTypeMapping": not record_types,
                  "developerName": "Master", "master": True, "name": "Master",
                  "recordTypeId": MASTER_RECORD_TYPE_ID, "urls": {}}]
        infos += [{"active": flag(c.body, "active"), "available": True, "defaultRecordTypeMapping": False,
                   "developerName": c.name, "master": False, "name": text(c.body, "label"), "recordTypeId": c.id,
                   "urls": {"layout": f"/services/data/v{version}/sobjects/{obj}/describe/layouts/{c.id}"}}
                  for c in record_types]
        children = []
        for custom in self.org.of_type("CustomField"):
            if (text(custom.body, "referenceTo") or "").lower() == obj.lower():
                children.append({"cascadeDelete": text(custom.body, "deleteConstraint") == "Cascade",
                                 "childSObject": custom.object, "field": custom.name,
                                 "relationshipName": text(custom.body, "relationshipName")})
        return {**self._summary(obj, version), "fields": [self._describe_field(obj, f) for f in fields],
                "recordTypeInfos": infos, "childRelationships": children}

    def _describe_field(self, obj: str, info: FieldInfo) -> dict[str, object]:
        describe_type, soap_type = DESCRIBE_TYPES.get(info.type, ("string", "xsd:string"))
        if info.formula is not None:
            describe_type, soap_type = DESCRIBE_TYPES.get(info.type, ("string", "xsd:string"))
        editable = info.updateable and self.emulator.field_editable(obj, info)
        length = info.length or (255 if describe_type in ("string", "picklist", "multipicklist", "email", "url",
                                                          "phone", "textarea") else 0)
        if info.type == "Id":
            length = 18
        out = {
            "name": info.name, "label": info.label, "type": describe_type, "custom": info.custom,
            "length": length if describe_type not in ("double", "currency", "percent", "boolean", "date",
                                                     "datetime") else 0,
            "precision": info.precision or 0, "scale": info.scale or 0, "digits": 0,
            "nillable": info.nillable, "createable": editable, "updateable": editable,
            "calculated": info.formula is not None, "calculatedFormula": info.formula,
            "defaultValue": (info.default_value.lower() == "true") if info.type == "Checkbox" and
            info.default_value else None,
            "defaultedOnCreate": info.type == "Checkbox" or not info.nillable,
            "inlineHelpText": info.help_text,
            "referenceTo": [info.reference_to] if info.reference_to else [],
            "relationshipName": info.relationship,
            "restrictedPicklist": info.restricted, "dependentPicklist": False, "controllerName": None,
            "unique": info.unique, "externalId": info.external_id, "soapType": soap_type,
            "extraTypeInfo": "plaintextarea" if info.type == "LongTextArea" else None,
            "picklistValues": [{"active": active, "defaultValue": default, "label": label, "validFor": None,
                                "value": value} for value, label, active, default in info.picklist_values
                               if active],
        }
        if info.type == "Checkbox":
            out["defaultValue"] = bool(out["defaultValue"])
        return out

    def _create(self, obj: str, body: bytes, headers: Mapping[str, str] | None = None) -> Reply:
        written = self._written(obj, body)
        if isinstance(written, Reply):
            return written
        clean, fields = written
        if obj == "Lead" and "Status" not in clean:
            default = next((v.full_name for v in self.org.value_set("LeadStatus") if v.default and v.active), None)
            clean["Status"] = default
        missing = [f.name for f in fields.values() if f.required and clean.get(f.name) in (None, "")]
        if missing:
            return error_reply(400, "REQUIRED_FIELD_MISSING", f"Required fields are missing: [{', '.join(missing)}]",
                               missing)
        record = self.org.new_record(obj, clean)
        refused = self._validation_rules(obj, record, None)
        if refused is not None:
            return refused
        if obj == "Lead":   # after the save, as Salesforce runs assignment rules (assignment.py)
            auto_assign = next((v for k, v in (headers or {}).items() if k.lower() == "sforce-auto-assign"), None)
            assignment.assign(self.org, obj, record, auto_assign, lambda saved: formula.Context(
                saved, self.org.object_fields(obj), self.org.clock(), self.emulator.user_offset, None,
                lambda path: self._related(obj, saved, path)))
        try:
            effects = flows.run(self.org, obj, record, None, lambda: self.context(obj, record, None))
        except flows.FlowFailure as failure:
            return error_reply(400, "CANNOT_EXECUTE_FLOW_TRIGGER", str(failure), [])
        self.org.records[obj][str(record["Id"])] = record
        record_history(self.org, obj, None, record)
        for effect in effects:
            effect()
        return json_reply(201, {"id": record["Id"], "success": True, "errors": []})

    def _update(self, obj: str, record_id: str, body: bytes) -> Reply:
        written = self._written(obj, body)
        if isinstance(written, Reply):
            return written
        clean, fields = written
        blanked = [f.name for f in fields.values() if f.required and f.name in clean and clean[f.name] in (None, "")]
        if blanked:
            return error_reply(400, "REQUIRED_FIELD_MISSING", f"Required fields are missing: [{', '.join(blanked)}]",
                               blanked)
        prior = self.org.records[obj][record_id]
        record = self.org.updated_record(obj, record_id, clean)
        refused = self._validation_rules(obj, record, prior)
        if refused is not None:
            return refused
        try:
            effects = flows.run(self.org, obj, record, prior, lambda: self.context(obj, record, prior))
        except flows.FlowFailure as failure:
            return error_reply(400, "CANNOT_EXECUTE_FLOW_TRIGGER", str(failure), [])
        self.org.records[obj][record_id] = record
        record_history(self.org, obj, prior, record)
        for effect in effects:
            effect()
        return Reply(204, b"", content_type="")

    def _validation_rules(self, obj: str, record: Mapping[str, object],
                          prior: Mapping[str, object] | None) -> Reply | None:
        """Run the object's active validation rules on a save; the refusal, as Salesforce sends it, or None.

        Every active rule runs on every save, API writes included, and a rule whose error condition is
        TRUE refuses it: 400 [{"message", "errorCode": "FIELD_CUSTOM_VALIDATION_EXCEPTION", "fields"}]
        (reference §9). A run-time error in a rule (division by zero) stops the save too (UNVERIFIED shape).
        """
        context = self.context(obj, record, prior)
        errors: list[dict[str, object]] = []
        for rule in self.org.of_type("ValidationRule", obj):
            if not flag(rule.body, "active"):
                continue
            try:
                rejected = formula.fires(text(rule.body, "errorConditionFormula") or "", context)
            except formula.FormulaRuntimeError as error:
                return error_reply(400, "FIELD_CUSTOM_VALIDATION_EXCEPTION",
                                   f"Error: Invalid Data. Review all error messages below to correct your data. "
                                   f"{error} in validation rule {rule.name}")
            if rejected:
                display = text(rule.body, "errorDisplayField")
                errors.append({"message": text(rule.body, "errorMessage") or "",
                               "errorCode": "FIELD_CUSTOM_VALIDATION_EXCEPTION",
                               "fields": [display] if display else []})
        return json_reply(400, errors) if errors else None

    def context(self, obj: str, record: Mapping[str, object], prior: Mapping[str, object] | None) -> formula.Context:
        """What a validation rule or a flow's formula reads on a save of `record`."""
        return formula.Context(record, self.org.object_fields(obj), self.org.clock(), self.emulator.user_offset,
                               prior, lambda path: self._related(obj, record, path))

    def _related(self, obj: str, record: Mapping[str, object], path: str) -> object:
        """A cross-object reference a formula reads: the running user's Username through OwnerId, or
        a RecordType's DeveloperName; anything else the emulator does not model is null."""
        head, _, last = path.partition(".")
        if head.split(":", 1)[0].lower() == "owner" and last.lower() == "username":
            user = self.org.records["User"].get(str(record.get("OwnerId")))
            return user["Username"] if user is not None else None
        if head.lower() == "recordtype" and last.lower() == "developername":
            found = next((c for c in self.org.of_type("RecordType", obj) if c.id == record.get("RecordTypeId")), None)
            return found.name if found else None
        return None

    def _written(self, obj: str, body: bytes) -> tuple[dict[str, object], dict[str, FieldInfo]] | Reply:
        """The fields a create or update writes, by API name, and the object's fields; or why it is refused."""
        try:
            values = json.loads(body or b"{}")
            if not isinstance(values, dict):
                raise ValueError
        except ValueError:
            return error_reply(400, "JSON_PARSER_ERROR", "Unexpected JSON body")
        fields = {k: f for k, f in self.org.object_fields(obj).items()
                  if not f.custom or self.emulator.field_visible(obj, f)}
        clean: dict[str, object] = {}
        for key, value in values.items():
            info = fields.get(key.lower())
            if info is None:
                return error_reply(400, "INVALID_FIELD", f"No such column '{key}' on sobject of type {obj}")
            if not info.updateable or not self.emulator.field_editable(obj, info):
                return error_reply(400, "INVALID_FIELD_FOR_INSERT_UPDATE",
                                   f"Unable to create/update fields: {info.name}. Please check the security "
                                   "settings of this field and verify that it is read/write for your profile or "
                                   "permission set.", [info.name])
            if info.restricted and value is not None and info.type == "Picklist" and \
                    str(value).lower() not in {v.lower() for v, _, active, _ in info.picklist_values if active}:
                return error_reply(400, "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                                   f"{info.label}: bad value for restricted picklist field: {value}", [info.name])
            clean[info.name] = value
        return clean, fields

    def _assign(self, body: bytes) -> Reply:
        try:
            values = json.loads(body or b"{}")
        except ValueError:
            return error_reply(400, "JSON_PARSER_ERROR", "Unexpected JSON body")
        assignee, permission_set = values.get("AssigneeId"), values.get("PermissionSetId")
        if assignee != USER_ID:
            return error_reply(400, "INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", ["AssigneeId"])
        if not any(c.id == permission_set for c in self.org.of_type("PermissionSet")):
            return error_reply(400, "INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", ["PermissionSetId"])
        existing = self.org.records["PermissionSetAssignment"]
        if any(a["AssigneeId"] == assignee and a["PermissionSetId"] == permission_set for a in existing.values()):
            return error_reply(400, "DUPLICATE_VALUE", "Duplicate PermissionSetAssignment: this permission set is "
                                                       "already assigned to the user", ["PermissionSetId"])
        record_id = self.org.new_id("PermissionSetAssignment")
        existing[record_id] = {"Id": record_id, "AssigneeId": assignee, "PermissionSetId": permission_set}
        return json_reply(201, {"id": record_id, "success": True, "errors": []})


def _getter(row: Mapping[str, object], path: str) -> object:
    current: object = row
    for part in path.split("."):
        if not isinstance(current, Mapping):
            return None
        if part in current:    # the usual case: the path spelled as the object defines it
            current = current[part]
            continue
        match = next((k for k in current if k.lower() == part.lower()), None)
        if match is None:
            return None
        current = current[match]
    return current


def _batch_size(headers: Mapping[str, str]) -> int:
    option = headers.get("Sforce-Query-Options", "")
    for part in option.split(","):
        key, _, value = part.strip().partition("=")
        if key.strip().lower() == "batchsize" and value.strip().isdigit():
            return min(max(int(value), 200), DEFAULT_BATCH)
    return DEFAULT_BATCH


def _column_of(text_: str, name: str) -> int:
    index = text_.lower().find(name.lower())
    return max(index, 0)


def _pointer_at(query: soql.Query, name: str, message: str) -> str:
    column = _column_of(query.text, name)
    return f"\n{query.text}\n{' ' * column}^\nERROR at Row:1:Column:{column + 1}\n{message}"

