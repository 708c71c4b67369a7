"""What `sos build` writes for a Salesforce target: a plan's metadata package, offline, as mdapi or an SFDX project."""

from __future__ import annotations

from collections import Counter

from sos.backends.base import Export
from sos.backends.salesforce.lower import build_package, flows
from sos.backends.salesforce.source import to_source_format
from sos.model.resources import Kind, Model, Resource
from sos.plan.change import Action, Plan

FORMATS = ("mdapi", "source")
# Every top-level name a build writes in either format: a folder holding only these was written by a build.
ENTRIES = frozenset({"package.xml", "destructiveChanges.xml", "destructiveChangesPost.xml", "objects", "flows",
                     "standardValueSets", "permissionsets", "notificationtypes",
                     "sfdx-project.json", "force-app", "manifest"})
VALUE_SET_KINDS = {Kind.STAGE, Kind.LEAD_STATUS, Kind.PIPELINE}
RENAMED_BY_METADATA = {Kind.FIELD, Kind.RULE, Kind.STAGE_REQUIREMENT}     # renameMetadata; values keep their name
LEFT_OUT = ("Left out the stage and lead status value sets (OpportunityStage, LeadStatus): a deployed value set "
            "deactivates every value it does not list, and offline sos does not know the org's values. The sales "
            "processes in this package need their stage values to exist in the org. Run `sos apply` (it keeps the "
            "org's values), or pass --include-value-sets to write the blueprint's values only.")
LEFT_OUT_FLOWS = ("Left out the flows of cadences {names}: each names a user or queue, and a flow holds its id in the "
                  "org, which offline sos cannot know. `sos apply` deploys them (it finds the ids when it plans).")
UNCHECKED_ASSIGNEES = ("The lead assignment rule Sos_Lead_Routing names each user by the blueprint's address and "
                       "each queue by its key, unchecked: offline sos cannot ask the org. They must be the org's "
                       "usernames and queue API names; `sos plan` against the org checks them.")
# The Salesforce part of `sos build --help`.
HELP = """\
Salesforce targets: --layout mdapi (the default) writes package.xml and
folders (`sf project deploy start --metadata-dir`); --layout source writes an
SFDX project (`sf project deploy start --manifest manifest/package.xml`).
Custom fields, validation rules, sales processes and record types, deal-aging
formulas, a permission set, and a record-triggered Flow (flows/) for each
cadence that creates a task or sends a notification when a lead or deal is
created or enters a stage or status (notifications go through the custom
notification type notificationtypes/Sos_Cadence). A flow that names a user or
queue needs its id in the org: those are left out (`sos apply` deploys them).
A dropped cadence's flow is switched off, then deleted by
destructiveChangesPost.xml (with --allow-delete). Review the files, deploy them
with the Salesforce CLI or your release tool, or let `sos apply` do both.

\b
Examples:
  sos build --target prod --out build/                  # mdapi
  sf project deploy start --metadata-dir build/ --dry-run
  sos build --target prod --layout source --out sfdx/   # force-app/main/default/...
  sos build --target prod --out build/ --include-value-sets
  sos build --target prod --plan plan.json --allow-delete --out build/

Stage and lead status values: Salesforce keeps them in two value sets
(OpportunityStage, LeadStatus), and a deployed value set DEACTIVATES every
value it does not list. Offline, sos cannot know the org's current values, so
they are left out by default: the package then needs the blueprint's stage
values to exist in the org already (its sales processes list them).
--include-value-sets writes the blueprint's values only; deploying that
deactivates every other stage and lead status of the org. `sos apply` has
neither problem: it reads the org's values and keeps them.
"""


def export_package(plan: Plan, desired: Model, *, fmt: str, value_sets: bool, api_version: str,
                   project_name: str) -> Export:
    """The package that applies `plan`'s changes to an org sos knows nothing of, as files in `fmt`."""
    package = build_package(desired, plan.changes, None, api_version=api_version, value_sets=value_sets,
                            allow_delete=any(c.action is Action.DELETE for c in plan.changes))
    files = to_source_format(package, project_name=project_name) if fmt == "source" else package.files
    left_out = not value_sets and any(c.address.kind in VALUE_SET_KINDS for c in plan.changes)
    counts = Counter(c.type for c in package.components if not c.deleted)
    deleted = sum(c.deleted for c in package.components)
    destructive = next((name for name in package.files if name.startswith("destructiveChanges")), "")
    rows = [*sorted(counts.items()), *([("deleted", f"{deleted} ({destructive})")] if deleted else [])]
    if fmt == "mdapi":
        deploy = "sf project deploy start --metadata-dir {out}"
    else:
        deploy = "cd {out} && sf project deploy start --manifest manifest/package.xml" + (
            f" --post-destructive-changes manifest/{destructive}" if deleted else "")
    renamed = [f"{c.address} is renamed from {c.renamed_from}: the files cannot rename it, so deploying them creates "
               "it beside the old one. Run `sos apply` (it renames it in place with renameMetadata), or rename it in "
               "Setup before deploying." for c in plan.changes
               if c.renamed_from and c.action is Action.UPDATE and c.address.kind in RENAMED_BY_METADATA]
    people = [str(c.address) for c in plan.changes if c.address.kind is Kind.AUTOMATION and c.after is not None
              and flows.names_people(Resource(c.address, dict(c.after)))]
    return Export(files=files, written=sum(counts.values()), rows=tuple((k, str(v)) for k, v in rows),
                  notes=package.notes if value_sets else (),
                  messages=(*renamed, *((LEFT_OUT,) if left_out else ()),
                            *((LEFT_OUT_FLOWS.format(names=", ".join(people)),) if people else ()),
                            *((UNCHECKED_ASSIGNEES,) if counts["AssignmentRule"] else ())),
                  deploy=deploy, entries=ENTRIES)
