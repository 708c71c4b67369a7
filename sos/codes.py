"""Every diagnostic code sos reports, declared once: severity, meaning, and the shared fix where there is one.

Call sites keep the code as a plain string (`"unknown-field"`), the word the user greps for;
tests/test_codes.py fails on a code used in sos/ and not declared here (or by a backend), and on a
declared code nothing uses. `make docs` writes the reference page, docs/codes.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sos.errors import Severity


@dataclass(frozen=True, slots=True)
class Code:
    name: str
    meaning: str
    severity: Severity = Severity.ERROR
    fix: str = ""


CODES: dict[str, Code] = {}


def declare(*codes: Code) -> None:
    """Add codes to the registry; a name is declared once."""
    for code in codes:
        if code.name in CODES:
            raise ValueError(f"diagnostic code '{code.name}' is declared twice")
        CODES[code.name] = code


W = Severity.WARNING
PLAN_AGAIN = "run `sos plan` again"

declare(
    # Files: reading sos.yaml, blueprints and saved plans.
    Code("error", "a failure with no more specific code"),
    Code("usage", "options that cannot be used together"),
    Code("no-project", "no sos.yaml here or in a parent folder", fix="run `sos init`"),
    Code("project-outside", "sos.yaml is a link to a file outside the project folder",
         fix="make sos.yaml a regular file"),
    Code("blueprint-outside", "the blueprint is outside the project folder (or a link out of it)",
         fix="move it into the project, or list its folder under `blueprint_folders`"),
    Code("blueprint-not-yaml", "`blueprint:` names a file that is not .yaml or .yml"),
    Code("file-missing", "a file sos was told to read does not exist"),
    Code("file-unreadable", "a path is a directory, a device or pipe, or cannot be read"),
    Code("file-too-large", "a YAML file is larger than sos reads"),
    Code("file-unwritable", "sos cannot write a file it was asked to write"),
    Code("empty-file", "a YAML file holds nothing"),
    Code("not-utf8", "a file is not UTF-8 text"),
    Code("bad-character", "text holds a control character or a lone surrogate"),
    Code("init-exists", "`sos init` would overwrite an existing file"),
    # YAML.
    Code("yaml-syntax", "the YAML does not parse"),
    Code("yaml-alias", "YAML aliases expand to too many values"),
    Code("yaml-depth", "the YAML is nested too deeply"),
    Code("yaml-key", "a key is a list or map instead of a plain name"),
    Code("yaml-tag", "a YAML tag sos does not support"),
    Code("yaml-unquoted", "an unquoted value YAML reads as another type (yes → true, 1.10 → 1.1)",
         fix="quote the value"),
    Code("duplicate-key", "a map lists the same key twice"),
    # Schema: the shape of sos.yaml and blueprints.
    Code("unknown-key", "a key the schema does not know"),
    Code("missing-key", "a required key is missing"),
    Code("bad-key", "a key is not a snake_case name"),
    Code("key-too-long", "a key is longer than allowed"),
    Code("wrong-type", "a value has the wrong type"),
    Code("bad-value", "a value is not one of those allowed"),
    Code("schema-minimum", "a number is below its minimum"),
    Code("schema-maximum", "a number is above its maximum"),
    Code("schema-exclusiveMinimum", "a number is not above its lower bound"),
    Code("schema-minLength", "a text is empty or too short"),
    Code("schema-maxLength", "a text is too long"),
    Code("schema-minItems", "a list is empty or too short"),
    Code("schema-maxItems", "a list has too many items"),
    Code("schema-uniqueItems", "a list repeats an item"),
    Code("schema-pattern", "a text does not have the expected form"),
    Code("schema-minProperties", "a map is empty or has too few keys"),
    Code("schema-maxProperties", "a map has too many of its keys at once"),
    Code("schema-not", "keys that cannot go together"),
    Code("too-many-problems", "validation stopped after the first problems", W, fix="fix these, then validate again"),
    # Blueprints: extends, remove, anchors.
    Code("template-error", "a playbook template (`sos docs --templates`) does not parse or names a value the "
         "playbook lacks"),
    Code("starters-path", "SOS_STARTERS_PATH names something that is not a folder"),
    Code("unknown-starter", "`starter:` names no starter", fix="run `sos starters` to list them"),
    Code("extends-outside", "`extends` names a file outside the project folder"),
    Code("extends-not-yaml", "`extends` names a file that is not .yaml or .yml"),
    Code("extends-missing", "`extends` names a file that does not exist"),
    Code("extends-cycle", "blueprints extend each other in a cycle", fix="remove one of these `extends` entries"),
    Code("remove-unknown", "`remove:` names something no parent blueprint defines"),
    Code("unknown-var", "`${name}` or a value in `vars:` names a variable no blueprint declares",
         fix="declare it under `vars:` with its `type`"),
    Code("var-unset", "a declared variable has no default and no blueprint sets it",
         fix="set it in the client's blueprint under `vars:`"),
    Code("var-type", "a variable's value is not of its declared type (a time zone, an address, a number)"),
    Code("var-in-expression", "`${name}` in a `when` or `require` expression, where variables are not substituted",
         fix="write the value itself in the expression"),
    Code("var-syntax", "`${` in a value that does not start a reference `${name}` (a space, a capital, no `}`)"),
    Code("placeholder-domain", "addresses at a placeholder domain (example.com, .test …) where real users or teams "
         "are meant; `sos apply` to a CRM refuses them (`placeholder-address`)", Severity.WARNING,
         fix="set the real addresses, usually through the starter's `vars:`"),
    Code("placeholder-address", "`sos apply` to a CRM would write a route or cadence that sends work to a "
         "placeholder address (example.com, .test …)", fix="set the real address, usually through the starter's "
         "`vars:`; the local sandbox takes placeholders"),
    Code("unknown-anchor", "`before:`/`after:` names no item before it"),
    # Blueprints: meaning.
    Code("unknown-field", "a field is referenced but not defined"),
    Code("unknown-stage", "a stage is referenced but not defined"),
    Code("unknown-status", "a lead status is referenced but not defined"),
    Code("unknown-tool", "a handoff names a project-management tool sos does not drive"),
    Code("handoff-setting", "a handoff lacks a setting its tool needs, or sets one it does not take"),
    Code("handoff-name", "a handoff's name template does not read"),
    Code("handoff-link", "a handoff's link field is not a url field of its own"),
    Code("unknown-value", "a value is not one of the field's picklist values"),
    Code("bad-default", "a picklist default is not one of its values"),
    Code("bad-scale", "a number's scale is larger than its precision"),
    Code("option-not-for-type", "a field option does not apply to the field's type"),
    Code("duplicate-label", "two items share a label"),
    Code("duplicate-value", "a picklist lists a value twice"),
    Code("empty-value", "a picklist has an empty value"),
    Code("shadows-standard", "a custom field has the name of a standard field"),
    Code("reserved-key", "a rule key ends in the suffix sos keeps for the rules it makes", fix="rename the rule"),
    Code("enforce-no-stage", "a rule on an object without stages is enforced on_stage_change",
         fix="use enforce: always or audit"),
    Code("save-only", "is_new(), is_changed() or prior() where no save is being checked",
         fix="use it in a rule enforced always or on_stage_change"),
    Code("rename-exists", "`renamed_from` names a key the blueprint still has (or the item's own key)"),
    Code("rename-twice", "two items are renamed from the same key"),
    Code("rename-chain", "`renamed_from` names a key that is itself renamed from another"),
    Code("rename-done", "a rename is applied in the target: its `renamed_from` can go once every target has it",
         Severity.WARNING),
    Code("enforce-unused", "a stage sets `enforce` but requires nothing", Severity.WARNING),
    Code("leave-closed", "a won or lost stage has exit criteria (`require_to_leave`)"),
    Code("require-dropped", "a stage restates an inherited `require` list and leaves some of its fields out",
         Severity.WARNING),
    Code("pipeline-outcomes", "a pipeline lacks a won or lost stage"),
    Code("stage-conflict", "two pipelines define a stage of the same key differently"),
    Code("stage-order", "an open stage comes after a closed stage", W),
    Code("probability-order", "a stage's probability is below the stage before it", W),
    Code("probability-closed", "a won or lost stage has other than the usual probability (100 or 0)", W),
    Code("max-days-closed", "max_days is set on a closed stage"),
    Code("status-converted", "no lead status is marked converted"),
    Code("status-default", "lead statuses do not have exactly one default"),
    Code("no-max-days", "a cadence fires on max_days but no stage sets it"),
    Code("owner-without-record", "a scheduled cadence assigns to 'owner' with no record to own"),
    Code("no-catch-all", "no catch-all route, so some leads stay unassigned", W),
    Code("unreachable-route", "a route after the catch-all is never reached", W),
    # Expressions.
    Code("expr-syntax", "an expression does not parse"),
    Code("unknown-name", "an expression names an unknown field"),
    Code("unknown-function", "an expression calls an unknown function"),
    Code("arity", "a function gets the wrong number of arguments"),
    Code("type-mismatch", "an expression has the wrong type"),
    Code("unsupported", "the target's dialect cannot express this"),
    Code("bad-record", "a record's field holds a value not of the field's type"),
    Code("formula-too-long", "a rule compiles to a formula longer than the CRM allows"),
    # Targets, plans and applies.
    Code("no-target", "sos.yaml has several targets and no default_target", fix="pass --target or set default_target"),
    Code("unknown-target", "a target name that sos.yaml does not define"),
    Code("backend-missing", "a target type this version of sos cannot plan or apply"),
    Code("ci-target", "`sos ci` was pointed at a target a CI runner cannot reach (the local sandbox)"),
    Code("ci-secret-name", "a target reads its credentials from a variable GitHub does not allow as a secret name",
         fix="set the target's token_env to a name that does not start with GITHUB_"),
    Code("unknown-timezone", "a scheduled cadence names a time zone the tz database does not have",
         fix="use an IANA name like Europe/Berlin or America/New_York"),
    Code("history-number", "`sos history show N` names an apply the history does not hold (or holds only counts of)",
         fix="run `sos history` to see the numbers"),
    Code("starter-changed", "a starter the client extends changed since sos.lock recorded it",
         fix="run `sos upgrade` to see what the new version changes and take it"),
    Code("lock-corrupt", "sos.lock is not a lock file sos wrote"),
    Code("fmt-yaml", "`sos fmt` was given a file that is not YAML", fix="`sos validate` says more"),
    Code("portfolio-file", "sos-portfolio.yaml does not list folders of starters that exist"),
    Code("test-file", "a process test file (tests/*.yaml) that `sos test` cannot read", fix="see `sos test --help`"),
    Code("test-failed", "a process test step whose outcome is not what the test expects"),
    Code("no-tests", "`sos test` found no tests/*.yaml"),
    Code("records-missing", "a target whose records this version of sos cannot read (for `sos audit`)",
         fix="load a CSV export of the CRM's records into the local sandbox (`sos sandbox load`) and audit "
             "that target"),
    Code("history-missing", "a target whose record history this version of sos cannot read (for `sos review`, "
                            "`sos forecast`, `sos trace`)",
         fix="load a CSV export of the CRM's records into the local sandbox (`sos sandbox load`) and report on "
             "that target"),
    Code("lead-missing", "`sos trace` names a lead the target does not hold"),
    Code("plan-stale", "the CRM changed after the saved plan was made", fix=PLAN_AGAIN),
    Code("plan-version", "the saved plan was made by another version of sos", fix=PLAN_AGAIN),
    Code("plan-format", "the saved plan has a format this sos does not read", fix=PLAN_AGAIN),
    Code("plan-mismatch", "the saved plan does not match the blueprint it claims", fix=PLAN_AGAIN),
    Code("plan-blueprint", "the saved plan was made from another version of the blueprint", fix=PLAN_AGAIN),
    Code("plan-target", "the plan or job belongs to another target"),
    Code("plan-adopts", "the plan takes over components sos did not create", fix="review it, then pass --adopt"),
    Code("plan-refused", "the target would refuse the plan; nothing was changed"),
    Code("validate-failed", "a check-only deploy failed: the target would refuse the plan"),
    Code("apply-failed", "the apply failed; nothing was changed"),
    Code("apply-unknown", "the outcome of an earlier apply is not known", W),
    Code("no-approval", "no terminal to confirm the apply", fix="pass --auto-approve"),
    Code("unknown-job", "no apply in the history submitted that job"),
    Code("build-out", "the output folder holds files sos build did not write"),
    Code("build-target", "`sos build` was given a target whose type it writes no metadata for"),
    Code("build-format", "`sos build --layout` names a layout the target's type is not written in"),
    Code("history-corrupt", "an apply history record is damaged"),
    Code("history-unreadable", "the apply history cannot be read"),
    Code("history-unwritable", "the outcome of an apply could not be recorded", W),
    # The local sandbox.
    Code("locked", "another apply is running on the target"),
    Code("nothing-to-resume", "--resume on a target whose applies never stay pending"),
    Code("csv-bad-row", "a row of a CSV export does not fit the fields it is loaded into (nothing was loaded)"),
    Code("csv-column", "a CSV export's columns cannot be mapped to fields as asked"),
    Code("csv-unreadable", "a CSV export cannot be read as UTF-8 text"),
    Code("record-refused", "a rule or stage requirement applied to the sandbox refused a record's save"),
    Code("sandbox-corrupt", "the sandbox file is damaged"),
    Code("sandbox-empty", "records need a blueprint applied to the sandbox first", fix="run `sos apply`"),
    Code("handoff-unapplied", "`sos handoff run` needs the link field the handoff writes, and the target lacks it",
         fix="run `sos apply` first"),
    Code("handoff-refused", "the project-management tool refused what a handoff asked for"),
    Code("handoff-failed", "the project-management tool kept answering 429 or 5xx; the deal is tried again next run"),
    Code("handoff-unknown", "`sos handoff run` names a handoff the blueprint does not have, or it has none"),
    Code("handoff-target", "`sos handoff run` cannot read deals from this type of target yet"),
    Code("handoff-credentials", "`sos handoff run` found no token for a tool in the environment"),
    Code("sandbox-only", "`sos sandbox` names a target that is not a local sandbox"),
    Code("sandbox-refused", "the sandbox refused a change"),
    Code("sandbox-unusable", "the sandbox file cannot be opened"),
    Code("sandbox-version", "the sandbox file has a schema version this sos does not read"),
)


def markdown(codes: Mapping[str, Code]) -> str:
    """docs/codes.md: every code of `codes` (engine.all_codes(): the backends' too), with its severity, meaning
    and usual fix."""
    lines = [
        "# Diagnostic codes",
        "",
        "Every problem sos reports ends in a code in brackets, `b.yaml:5:3: error: … [unknown-field]`;",
        "`--format json` gives it as `code`. This page is generated from `sos/codes.py`",
        "(`make docs`); a test keeps the two in sync.",
        "",
        "| code | severity | meaning | usual fix |",
        "| --- | --- | --- | --- |",
    ]
    for code in codes.values():
        fix = code.fix.replace("|", "\\|")
        lines.append(f"| `{code.name}` | {code.severity.value} | {code.meaning} | {fix} |")
    return "\n".join(lines) + "\n"

