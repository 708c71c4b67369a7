"""What one retrieve says: the members to ask for, and the retrieved files read back into a Model.

The mirror of lower/: each kind Salesforce holds is read back by its own module (fields.py,
rules.py, pipelines.py, values.py; derived.py for the permission set). `parse_retrieved` reads
the files of a retrieve into a `LiveOrg`: the org in sos's terms (components with sos's mark
become managed resources, look-alikes of desired ones unmanaged resources) and in the org's
(every stage and lead-status value, names, formulas), so that compile → build_package →
parse_retrieved gives the Model again for the kinds Salesforce holds.
"""

from __future__ import annotations

from collections.abc import Mapping
from xml.etree import ElementTree as ET

from sos.backends.salesforce.mdxml import child_text, local_name
from sos.backends.salesforce.names import NOTIFICATION_FILE, NOTIFICATION_TYPE, OBJECTS, PERMISSION_SET, STAGE_SET, \
    STATUS_SET
from sos.backends.salesforce.read import assignment, derived, fields, flows, pipelines, rules, values
from sos.backends.salesforce.read.fields import org_field_key
from sos.backends.salesforce.read.reader import LiveOrg, Reader
from sos.backends.salesforce.read.values import listed_org_stages
from sos.model.resources import Kind, Model

__all__ = ["LiveOrg", "listed_org_stages", "org_field_key", "parse_retrieved", "retrieve_members"]


def retrieve_members(desired: Model) -> dict[str, list[str]]:
    """Types → members for ONE retrieve that reads everything a plan and a build need.

    Whole objects (their custom fields, validation rules, business processes and record
    types: sos-made ones the blueprint dropped must be found too), both value sets, the
    sos permission set, every flow (sos's are found by their mark), the notification type notify flows send
    through and the Lead assignment rules. `desired`
    does not narrow it: deletions are found among what it lacks.
    """
    return {"AssignmentRules": ["Lead"], "CustomObject": sorted(OBJECTS.values()), "PermissionSet": [PERMISSION_SET],
            "StandardValueSet": [STATUS_SET, STAGE_SET], "Flow": ["*"], "CustomNotificationType": [NOTIFICATION_TYPE]}


def parse_retrieved(files: Mapping[str, bytes], desired: Model | None = None, *,
                    org_fields: bool = False) -> LiveOrg:
    """The org as one retrieve (`retrieve_members`) shows it, unzipped: resources in sos's terms.

    A component with sos's mark becomes a managed resource at the address the mark names.
    With `desired`, an unmarked component that has a desired resource's Salesforce name
    becomes a managed=False resource there (a look-alike sos must leave alone). Stage and
    status values that are inactive are not resources (they are still in `stage_values`).
    With `org_fields` (for `sos import`), every other custom field sos could hold becomes a
    managed=False field too, keyed by its API name (`Competitor__c` → `competitor`); the
    ones it could not hold faithfully are listed in `left_out` with the reason.
    """
    reader = Reader(desired, org_fields)
    files = {name.removeprefix("unpackaged/"): body for name, body in files.items()}
    for name in sorted(files):
        folder, _, rest = name.partition("/")
        if folder == "objects" and rest.endswith(".object"):
            obj = rest.removesuffix(".object")
            key = next((k for k, v in OBJECTS.items() if v.lower() == obj.lower()), None)
            if key is not None:
                _object_file(reader, key, ET.fromstring(files[name]))
        elif name == f"standardValueSets/{STAGE_SET}.standardValueSet":
            reader.stage_values = values.standard_values(ET.fromstring(files[name]))
        elif name == f"standardValueSets/{STATUS_SET}.standardValueSet":
            reader.status_values = values.standard_values(ET.fromstring(files[name]))
        elif name == assignment.RULE_FILE:
            assignment.assignment_rules(reader, ET.fromstring(files[name]))
        elif name == f"permissionsets/{PERMISSION_SET}.permissionset":
            derived.permission_set(reader, ET.fromstring(files[name]))
        elif name == NOTIFICATION_FILE:
            reader.notification_type = files[name]
        elif folder == "flows" and rest.endswith(".flow"):
            flows.flow(reader, rest.removesuffix(".flow"), files[name])
    flows.notifying_look_alikes(reader)      # after the flows: sos's own flows of those cadences are left alone too
    stages = values.values(reader, Kind.STAGE, reader.stage_values)
    values.values(reader, Kind.LEAD_STATUS, reader.status_values)
    pipelines.pipelines(reader, stages)     # after the stages: a business process lists their values
    return reader.live()


def _object_file(reader: Reader, obj: str, root: ET.Element) -> None:
    unmarked: list[tuple[str, ET.Element]] = []
    for element in root:
        tag = local_name(element.tag)
        name = child_text(element, "fullName") or ""
        if tag == "fields" and name.endswith("__c"):
            if not (assignment.round_robin_field(reader, obj, name, element)
                    or fields.custom_field(reader, obj, name, element)):
                unmarked.append((name, element))
        elif tag == "validationRules":
            rules.validation_rule(reader, obj, name, element)
        elif tag == "businessProcesses":
            reader.processes.append((obj, name, element))
        elif tag == "recordTypes":
            reader.record_types[(obj, (child_text(element, "businessProcess") or "").lower())] = element
    if reader.org_fields:     # after the marked ones, which keep their keys
        for name, element in unmarked:
            fields.org_field(reader, obj, name, element)
