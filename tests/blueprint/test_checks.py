"""Semantic checks (sos.blueprint.checks), resolve errors and expression errors, at their YAML position."""

from __future__ import annotations

import textwrap

import pytest

from sos.blueprint.checks import CHECKS
from tests.blueprint.conftest import Files

# A pipeline that passes every check, for cases about something else.
PIPELINE = """\
pipelines:
  sales:
    stages:
      - {key: discovery, label: Discovery, probability: 10, max_days: 14}
      - {key: proposal, label: Proposal, probability: 50}
      - {key: won, label: Closed Won, probability: 100, outcome: won}
      - {key: lost, label: Closed Lost, probability: 0, outcome: lost}
"""


RENEWALS = """\
  renewals:
    stages:
      - {key: discovery, label: Discovery, probability: 20}
      - {key: won, label: Closed Won, probability: 100, outcome: won}
      - {key: lost, label: Closed Lost, probability: 0, outcome: lost}
"""


def bp(*parts: str) -> str:
    """A blueprint text: the header, then `parts` (each dedented) from line 3 on."""
    return "sos: 1\nname: t\n" + "".join(textwrap.dedent(part) for part in parts)


def rendered(files: Files, name: str = "b.yaml") -> list[str]:
    """Each diagnostic's headline, followed by `  fix: …` when it has one."""
    return [d.headline() + (f"  fix: {d.fix}" if d.fix else "") for d in files.load(name)[1]]


# Each case: the check (or stage of loading) it covers, the blueprint, and every diagnostic expected.
CASES = [
    # --- check_field_options ---
    pytest.param("check_field_options", bp("""\
        fields:
          opportunity:
            notes: {type: text, values: [a], precision: 3}
        """), [
        "b.yaml:5:25: error: field opportunity.notes is a text; 'values' does not apply [option-not-for-type]"
        "  fix: 'values' is for multi_picklist and picklist fields",
        "b.yaml:5:38: error: field opportunity.notes is a text; 'precision' does not apply [option-not-for-type]"
        "  fix: 'precision' is for currency and number and percent fields",
    ], id="option-not-for-type"),
    pytest.param("check_field_options", bp("""\
        fields:
          account:
            size: {type: number, precision: 4, scale: 6}
        """), ["b.yaml:5:47: error: scale 6 is larger than precision 4 [bad-scale]"], id="bad-scale"),
    pytest.param("check_field_options", bp("""\
        fields:
          account:
            share: {type: percent, scale: 6}
        """), ["b.yaml:5:35: error: scale 6 is larger than precision 5 [bad-scale]"], id="bad-scale-default-precision"),
    pytest.param("check_field_options", bp("""\
        fields:
          account:
            share: {type: number, scale: 19}
        """), ["b.yaml:5:34: error: fields.account.share.scale: 19 is above the maximum 18 [schema-maximum]"],
        id="scale-above-default-precision"),
    pytest.param("check_field_options", bp("""\
        fields:
          opportunity:
            tier: {type: picklist, values: [Gold, " ", gold]}
        """), [
        "b.yaml:5:43: error: picklist opportunity.tier has an empty value [empty-value]",
        "b.yaml:5:48: error: picklist opportunity.tier lists 'gold' twice [duplicate-value]",
    ], id="picklist-values"),
    pytest.param("check_field_options", bp("""\
        fields:
          opportunity:
            tier: {type: picklist, values: [Gold, Silver], default: Silvr}
        """), [
        "b.yaml:5:61: error: default 'Silvr' is not one of the values of opportunity.tier [bad-default]"
        "  fix: did you mean 'Silver'?",
    ], id="picklist-default"),
    # --- check_standard_names ---
    pytest.param("check_standard_names", bp("""\
        fields:
          opportunity:
            amount: {type: currency}
          lead:
            email: {type: email}
        """), [
        "b.yaml:5:5: error: field opportunity.amount has the name of a standard opportunity field [shadows-standard]"
        "  fix: rename it, e.g. 'amount_custom', or use the standard field",
        "b.yaml:7:5: error: field lead.email has the name of a standard lead field [shadows-standard]"
        "  fix: rename it, e.g. 'email_custom', or use the standard field",
    ], id="shadows-standard"),
    # --- check_duplicate_labels ---
    pytest.param("check_duplicate_labels", bp("""\
        fields:
          lead:
            a: {type: text, label: Region}
            b: {type: text, label: region }
        lead_statuses:
          - {key: new, label: New, default: true}
          - {key: fresh, label: NEW, converted: true}
        """), [
        "b.yaml:6:5: error: field lead.b has the label 'region', as field lead.a does [duplicate-label]",
        "b.yaml:9:5: error: lead status fresh has the label 'NEW', as lead status new does [duplicate-label]",
    ], id="duplicate-label-fields-statuses"),
    pytest.param("check_duplicate_labels", bp("""\
        fields:
          lead:
            a: {type: text}
            b: {type: text, label: A}
        """), ["b.yaml:6:5: error: field lead.b has the label 'A', as field lead.a does [duplicate-label]"],
        id="duplicate-label-default-title-case"),
    pytest.param("check_duplicate_labels", bp("""\
        pipelines:
          sales:
            stages:
              - {key: discovery, label: Discovery, probability: 10}
              - {key: demo, label: discovery, probability: 20}
              - {key: won, label: Won, probability: 100, outcome: won}
              - {key: lost, label: Lost, probability: 0, outcome: lost}
        """), [
        "b.yaml:7:9: error: stage sales.demo has the label 'discovery', as stage sales.discovery does "
        "[duplicate-label]",
    ], id="duplicate-label-stages"),
    # --- check_pipelines ---
    pytest.param("check_pipelines", bp("""\
        pipelines:
          sales:
            stages:
              - {key: discovery, label: Discovery, probability: 10}
        """), [
        "b.yaml:4:3: error: pipeline 'sales' has no lost stage [pipeline-outcomes]"
        "  fix: add a stage such as {key: ..., label: Closed Lost, outcome: lost, ...}",
        "b.yaml:4:3: error: pipeline 'sales' has no won stage [pipeline-outcomes]"
        "  fix: add a stage such as {key: ..., label: Closed Won, outcome: won, ...}",
    ], id="pipeline-outcomes"),
    pytest.param("check_pipelines", bp("""\
        pipelines:
          sales:
            stages:
              - {key: won, label: Won, probability: 100, outcome: won}
              - {key: lost, label: Lost, probability: 0, outcome: lost}
        """), [
        "b.yaml:4:3: error: pipeline 'sales' has no open stage [pipeline-outcomes]"
        "  fix: add a stage such as {key: ..., label: Discovery, outcome: open, ...}",
    ], id="pipeline-without-open-stage"),
    pytest.param("check_pipelines", bp("""\
        pipelines:
          sales:
            stages:
              - {key: discovery, label: Discovery, probability: 30}
              - {key: demo, label: Demo, probability: 20}
              - {key: won, label: Won, probability: 90, outcome: won, max_days: 3}
              - {key: lost, label: Lost, probability: 5, outcome: lost}
        """), [
        "b.yaml:7:47: warning: stage sales.demo has probability 20, below the 30 of 'discovery' before it "
        "[probability-order]",
        "b.yaml:8:45: warning: won stage sales.won has probability 90; 100 is usual [probability-closed]",
        "b.yaml:8:73: error: stage sales.won is closed; max_days applies to open stages only [max-days-closed]",
        "b.yaml:9:47: warning: lost stage sales.lost has probability 5; 0 is usual [probability-closed]",
    ], id="probabilities-and-max-days"),
    # --- check_stage_requirements ---
    pytest.param("check_stage_requirements", bp("""\
        fields:
          opportunity:
            budget_confirmed: {type: checkbox}
        pipelines:
          sales:
            stages:
              - {key: discovery, label: Discovery, probability: 10, require: [amount, budget_confirmd]}
              - {key: won, label: Won, probability: 100, outcome: won, require: [signer]}
              - {key: lost, label: Lost, probability: 0, outcome: lost}
        """), [
        "b.yaml:9:79: error: stage 'discovery' requires unknown field 'budget_confirmd' [unknown-field]"
        "  fix: did you mean 'budget_confirmed'?",
        "b.yaml:10:74: error: stage 'won' requires unknown field 'signer' [unknown-field]"
        "  fix: declare it under fields.opportunity",
    ], id="unknown-field"),
    # --- check_stage_consistency ---
    pytest.param("check_stage_consistency", bp(PIPELINE + RENEWALS), [
        "b.yaml:12:9: error: stage 'discovery' in pipeline 'renewals' differs from the stage of that key in "
        "pipeline 'sales' [stage-conflict]  fix: give it a different key, or make them agree",
    ], id="stage-conflict"),
    # --- check_lead_statuses ---
    pytest.param("check_lead_statuses", bp("""\
        lead_statuses:
          - {key: new, label: New, default: true}
          - {key: working, label: Working, default: true}
          - {key: done, label: Done, default: true, converted: true}
        """), [
        "b.yaml:5:5: error: lead statuses need exactly one default; found 3 [status-default]"
        "  fix: mark the status new leads start in with `default: true`",
        "b.yaml:6:5: error: lead statuses need exactly one default; found 3 [status-default]"
        "  fix: mark the status new leads start in with `default: true`",
    ], id="several-defaults"),
    pytest.param("check_lead_statuses", bp("""\
        lead_statuses:
          - {key: new, label: New}
          - {key: working, label: Working}
        """), [
        "b.yaml:4:5: error: lead statuses need exactly one default; found 0 [status-default]"
        "  fix: mark the status new leads start in with `default: true`",
        "b.yaml:4:5: error: no lead status is marked converted [status-converted]"
        "  fix: mark the qualified status with `converted: true`",
    ], id="no-default-no-converted"),
    # --- check_expressions: rules, cadences and routes, each in its object's scope ---
    pytest.param("check_expressions", bp(PIPELINE, """\
        rules:
          r:
            object: opportunity
            when: stage >= 'propsal'
            require: close_date >= todya()
            message: m
        """), [
        "b.yaml:13:20: error: unknown stage 'propsal' [unknown-stage]  fix: did you mean 'proposal'?",
        "b.yaml:14:28: error: unknown function 'todya' [unknown-function]  fix: did you mean 'today'?",
    ], id="rule-expressions"),
    pytest.param("check_expressions", bp("""\
        rules:
          r:
            object: lead
            require: "stage.is_open and amount > 'big'"
            message: m
        """), [
        "b.yaml:6:15: error: unknown field 'stage' on lead [unknown-name]",
        "b.yaml:6:33: error: unknown field 'amount' on lead [unknown-name]  fix: did you mean 'country'?",
    ], id="rule-scope-is-its-object"),
    pytest.param("check_expressions", bp("""\
        cadences:
          big_deal:
            trigger: {record_created: opportunity}
            when: amount > 'big'
            action: {notify: {to: {user: vp@acme.com}, message: Big deal}}
        routing:
          - {key: small, when: employes < 5, assign_to: {queue: smb}}
          - {key: rest, assign_to: {queue: sdr}}
        """), [
        "b.yaml:6:11: error: cannot compare a number with text [type-mismatch]",
        "b.yaml:9:24: error: unknown field 'employes' on lead [unknown-name]  fix: did you mean 'employees'?",
    ], id="cadence-and-route-expressions"),
    pytest.param("check_expressions", bp("""\
        rules:
          r:
            object: opportunity
            require: amount
            message: m
        """), [
        "b.yaml:6:14: error: a condition must be true or false, got a number [type-mismatch]"
        "  fix: compare it with something, e.g. amount > 0, or test it with is_blank(...)",
    ], id="condition-not-boolean"),
    # --- check_reserved_rule_keys ---
    pytest.param("check_reserved_rule_keys", bp("""\
        rules:
          stage__required:
            object: opportunity
            require: amount > 0
            message: m
        """), [
        "b.yaml:4:3: error: rule key 'stage__required' ends in '__required', which sos keeps for the rules it makes "
        "from stages' `require` [reserved-key]  fix: rename the rule",
    ], id="reserved-rule-key"),
    pytest.param("check_stage_requirements", bp("""\
        pipelines:
          deals:
            stages:
              - {key: first__exit, label: First, probability: 10, require_to_leave: [amout]}
              - {key: won, label: Won, probability: 100, outcome: won, require_to_leave: [amount]}
              - {key: lost, label: Lost, probability: 0, outcome: lost}
        """), [
        "b.yaml:6:15: error: stage key 'first__exit' ends in '__exit', which sos keeps for stages' `require_to_leave` "
        "[reserved-key]  fix: rename the stage",
        "b.yaml:6:78: error: stage 'first__exit' requires unknown field 'amout' [unknown-field]  "
        "fix: did you mean 'amount'?",
        "b.yaml:7:82: error: stage 'won' is won: a deal does not move on from it [leave-closed]  "
        "fix: put the fields in `require`",
    ], id="require-to-leave"),
    pytest.param("check_stage_requirements", bp("""\
        pipelines:
          deals:
            stages:
              - {key: first, label: First, probability: 10, enforce: always}
              - {key: won, label: Won, probability: 100, outcome: won}
              - {key: lost, label: Lost, probability: 0, outcome: lost}
        """), [
        "b.yaml:6:62: warning: stage 'first' sets enforce but requires nothing [enforce-unused]  "
        "fix: add `require` or `require_to_leave`, or drop `enforce`",
    ], id="enforce-unused"),
    # --- check_rule_enforce ---
    pytest.param("check_rule_enforce", bp("""\
        rules:
          account_has_industry:
            object: account
            require: not is_blank(industry)
            message: m
            enforce: on_stage_change
          lead_has_company:
            object: lead
            require: not is_blank(company)
            message: m
            enforce: on_stage_change
        """), [
        "b.yaml:8:14: error: rule 'account_has_industry' is enforced on_stage_change, but accounts have no stage "
        "[enforce-no-stage]  fix: use enforce: always, or enforce: audit",
    ], id="enforce-no-stage"),
    # --- check_save_functions ---
    pytest.param("check_save_functions", bp("""\
        rules:
          amount_not_cut:
            object: opportunity
            when: is_changed(amount)
            require: amount >= prior(amount)
            message: m
            enforce: audit
          kept:
            object: opportunity
            when: is_changed(amount)
            require: amount >= prior(amount)
            message: m
        cadences:
          c:
            trigger: {record_created: lead}
            when: is_new()
            action: {create_task: {subject: Call}}
        """), [
        "b.yaml:6:11: error: is_changed() has no meaning here [save-only]  "
        "fix: use it in a rule enforced always or on_stage_change",
        "b.yaml:7:24: error: prior() has no meaning here [save-only]  "
        "fix: use it in a rule enforced always or on_stage_change",
        "b.yaml:18:11: error: is_new() has no meaning here [save-only]  "
        "fix: use it in a rule enforced always or on_stage_change",
    ], id="save-only"),
    # --- check_cadences ---
    pytest.param("check_cadences", bp("""\
        pipelines:
          sales:
            stages:
              - {key: discovery, label: Discovery, probability: 10}
              - {key: won, label: Won, probability: 100, outcome: won}
              - {key: lost, label: Lost, probability: 0, outcome: lost}
        lead_statuses:
          - {key: new, label: New, default: true}
          - {key: working, label: Working, converted: true}
        cadences:
          aging:
            trigger: {stage_age_over: max_days}
            action: {create_task: {subject: Nudge}}
          on_stage:
            trigger: {stage_entered: discovry}
            action: {create_task: {subject: Call}}
          on_status:
            trigger: {status_entered: wroking}
            action: {notify: {message: Hi}}
        """), [
        "b.yaml:14:14: error: cadence 'aging' fires on max_days, but no stage sets max_days [no-max-days]"
        "  fix: add `max_days:` to the open stages, or use a number of days",
        "b.yaml:17:14: error: cadence 'on_stage' fires on unknown stage 'discovry' [unknown-stage]"
        "  fix: did you mean 'discovery'?",
        "b.yaml:20:14: error: cadence 'on_status' fires on unknown lead status 'wroking' [unknown-status]"
        "  fix: did you mean 'working'?",
    ], id="cadence-triggers"),
    pytest.param("check_cadences", bp("""\
        cadences:
          weekly:
            schedule: {every: monday, at: "09:00", timezone: UTC}
            action: {create_task: {subject: Review}}
          weekly_notice:
            schedule: {every: friday, at: "16:00", timezone: UTC}
            action: {notify: {to: owner, message: Update your deals}}
          weekly_queue:
            schedule: {every: friday, at: "16:00", timezone: UTC}
            action: {notify: {to: {queue: sales}, message: Update your deals}}
        """), [
        "b.yaml:4:3: error: scheduled cadence 'weekly' assigns to 'owner', but no record triggers it "
        "[owner-without-record]  fix: assign to a {user: ...} or {queue: ...}",
        "b.yaml:7:3: error: scheduled cadence 'weekly_notice' assigns to 'owner', but no record triggers it "
        "[owner-without-record]  fix: assign to a {user: ...} or {queue: ...}",
    ], id="owner-without-record"),
    pytest.param("check_cadences", bp("""\
        cadences:
          r:
            trigger: {record_created: lead}
            action: {report: forecast}
        """), ["b.yaml:6:14: error: unknown key 'report' in cadences.r.action [unknown-key]"
               "  fix: allowed keys: create_task, notify"],
        id="report-needs-schedule-caught-by-schema"),
    # --- check_schedule_timezones: the tz database's names, as zoneinfo has them ---
    pytest.param("check_schedule_timezones", bp("""\
        cadences:
          review:
            schedule: {every: monday, at: "09:00", timezone: Europe/Paris}
            action: {report: pipeline_review}
          forecast:
            schedule: {every: friday, at: "15:00", timezone: Europe/Pariss}
            action: {report: forecast}
        """), ["b.yaml:8:54: error: cadence 'forecast' is scheduled in unknown time zone 'Europe/Pariss' "
               "[unknown-timezone]  fix: did you mean 'Europe/Paris'?"],
        id="unknown-timezone"),
    # --- check_routing (warnings: the blueprint still loads) ---
    pytest.param("check_routing", bp("""\
        routing:
          - {key: everyone, assign_to: {queue: sdr}}
          - {key: big, when: employees > 500, assign_to: {user: ae@acme.com}}
        """), [
        "b.yaml:5:5: warning: route 'big' comes after catch-all route 'everyone' and is never reached "
        "[unreachable-route]  fix: move it before 'everyone' (`before: everyone`)",
    ], id="unreachable-route"),
    pytest.param("check_routing", bp("""\
        routing:
          - {key: big, when: employees > 500, assign_to: {user: ae@acme.com}}
        """), [
        "b.yaml:4:5: warning: no catch-all route: leads that match no route stay unassigned [no-catch-all]"
        "  fix: end routing with a route that has no `when`",
    ], id="no-catch-all"),
    # --- check_renames: `renamed_from` names a key gone from the blueprint, once, straight ---
    pytest.param("check_renames", bp("""\
        fields:
          opportunity:
            budget: {type: text, renamed_from: budget_ok}
            budget_confirmed: {type: checkbox, renamed_from: budget}
            tier: {type: text, renamed_from: size}
            band: {type: text, renamed_from: size}
            region: {type: text}
            area: {type: text, renamed_from: region}
            zone: {type: text, renamed_from: zone}
        """), [
        "b.yaml:6:54: error: opportunity field budget_confirmed is renamed from budget, which is itself renamed from "
        "budget_ok [rename-chain]  fix: rename budget_confirmed straight from the key the CRM has (`renamed_from: "
        "budget_ok`) and remove budget",
        "b.yaml:8:38: error: opportunity field band is renamed from size, as tier already is [rename-twice]"
        "  fix: keep `renamed_from: size` on one of them",
        "b.yaml:10:38: error: opportunity field area is renamed from region, which the blueprint still has (line 9) "
        "[rename-exists]  fix: remove region (or `remove: [region]` when a starter has it), or drop `renamed_from`",
        "b.yaml:11:38: error: opportunity field zone is renamed from itself [rename-exists]"
        "  fix: remove `renamed_from`, or name the key it had before",
    ], id="renamed-from-fields"),
    pytest.param("check_renames", bp(PIPELINE, """\
        lead_statuses:
          - {key: new, label: New, default: true}
          - {key: working, label: Working, renamed_from: new}
          - {key: done, label: Done, converted: true}
        rules:
          open_close_date:
            object: opportunity
            require: not is_blank(close_date)
            message: Set a close date.
            renamed_from: close_date_set
        """), [
        "b.yaml:12:50: error: lead status working is renamed from new, which the blueprint still has (line 11) "
        "[rename-exists]  fix: remove new (or `remove: [new]` when a starter has it), or drop `renamed_from`",
    ], id="renamed-from-statuses-and-rules"),
    # --- check_placeholder_addresses: RFC 2606 / RFC 6761 reserved domains, one warning for them all ---
    pytest.param("check_placeholder_addresses", bp("""\
        routing:
          - {key: big, when: employees > 500, assign_to: {round_robin: [ae@acme.com, ae2@example.com]}}
          - {key: rest, assign_to: {user: sdr@team.test}}
        """), [
        "b.yaml:4:78: warning: ae2@example.com and 1 more are placeholder addresses [placeholder-domain]"
        "  fix: set the real addresses, usually in the starter's `vars:` (`sos show` lists them); `sos apply` to a "
        "CRM refuses placeholders",
    ], id="placeholder-domain"),
    # --- check_handoffs: the stage, the deal fields, the tool and its settings, the link field ---
    pytest.param("check_handoffs", bp(PIPELINE, """\
        fields:
          opportunity:
            notes: {type: long_text}
        handoffs:
          delivery:
            stage: wonn
            tool: trello
            name: "{account} / {nmae}"
            fields: [amount, note]
        """), [
        "b.yaml:15:12: error: handoff 'delivery' fires on unknown stage 'wonn' [unknown-stage]"
        "  fix: did you mean 'won'?",
        "b.yaml:16:11: error: handoff 'delivery' names unknown tool 'trello' [unknown-tool]"
        "  fix: use `tool: asana`, `jira` or `clickup`",
        "b.yaml:17:11: error: handoff 'delivery' names the project from unknown deal field 'nmae' [unknown-field]"
        "  fix: did you mean 'name'?",
        "b.yaml:18:22: error: handoff 'delivery' carries unknown deal field 'note' [unknown-field]"
        "  fix: did you mean 'notes'?",
    ], id="handoff-unknown-names"),
    pytest.param("check_handoffs", bp(PIPELINE, """\
        handoffs:
          delivery:
            stage: won
            tool: asana
            project: DEL
          ticket:
            stage: won
            pipeline: renewals
            tool: jira
            project: DEL
            assign_to: {team: "42"}
        """), [
        "b.yaml:11:3: error: handoff 'delivery' to asana needs 'team' [handoff-setting]"
        "  fix: add `team:` (docs/handoff.md says where to find it)",
        "b.yaml:14:14: error: handoff 'delivery' sets 'project', which asana does not take [handoff-setting]"
        "  fix: asana takes team, template; drop 'project'",
        "b.yaml:17:15: error: handoff 'ticket' names unknown deal pipeline 'renewals' [unknown-stage]"
        "  fix: use one of sales, or leave `pipeline` out",
        "b.yaml:20:16: error: handoff 'ticket' assigns a Jira issue to a team [handoff-setting]"
        "  fix: assign it to {user: email}",
    ], id="handoff-settings"),
    pytest.param("check_handoffs", bp(PIPELINE, """\
        fields:
          opportunity:
            sow: {type: text}
        handoffs:
          delivery:
            stage: won
            tool: asana
            team: "1"
            name: "{name"
            link_field: sow
          ticket:
            stage: won
            tool: jira
            project: DEL
            link_field: sow
          again:
            stage: won
            tool: jira
            project: DEL
            link_field: amount
        """), [
        "b.yaml:18:11: error: handoff 'delivery' has a name template that does not read: expected '}' before end "
        "of string [handoff-name]  fix: write each field as {field_key}; a brace itself as {{ or }}",
        "b.yaml:19:17: error: handoff 'delivery' writes its link into 'sow', a text field [handoff-link]"
        "  fix: make 'sow' a url field, or name another `link_field`",
        "b.yaml:24:17: error: handoff 'ticket' writes its link into 'sow', a text field [handoff-link]"
        "  fix: make 'sow' a url field, or name another `link_field`",
        "b.yaml:24:17: error: handoffs 'delivery' and 'ticket' write their links into the same field 'sow' "
        "[handoff-link]  fix: give each its own `link_field`",
        "b.yaml:29:17: error: handoff 'again' writes its link into the standard field 'amount' [handoff-link]"
        "  fix: name a field of its own",
    ], id="handoff-link"),
]


@pytest.mark.parametrize(("check", "source", "expected"), CASES)
def test_checks(files: Files, check: str, source: str, expected: list[str]) -> None:
    files.write("b.yaml", source)
    blueprint, diagnostics = files.load()
    assert rendered(files) == expected
    assert (blueprint is None) == any(d.is_error for d in diagnostics)


def test_every_check_has_a_case() -> None:
    covered = {case.values[0] for case in CASES}
    assert {check.__name__ for check in CHECKS} <= covered


def test_diagnostics_explain_why(files: Files) -> None:
    files.write("b.yaml", bp("""\
        fields:
          opportunity:
            tier: {type: picklist, values: [Gold, gold]}
        pipelines:
          sales:
            stages:
              - {key: discovery, label: Discovery, probability: 10, require: [nope]}
        """))
    why = {d.code: d.why for d in files.load()[1]}
    assert why == {
        "duplicate-value": "CRMs compare picklist values without regard to case",
        "pipeline-outcomes": "every pipeline needs at least one open, one won and one lost stage",
        "unknown-field": "a stage may only require fields declared under fields.opportunity, or standard fields",
    }


def test_warnings_alone_leave_a_blueprint(files: Files) -> None:
    files.write("b.yaml", bp(PIPELINE.replace("probability: 50", "probability: 5")))
    blueprint, diagnostics = files.load()
    assert blueprint is not None
    assert [(d.severity.value, d.code) for d in diagnostics] == [("warning", "probability-order")]


# --- resolve errors: extends, starter:, remove:, before/after, keyed lists ---

@pytest.mark.parametrize(("sources", "expected"), [
    pytest.param({"b.yaml": bp("extends: [starter:smb-bnat]\n")},
                 ["b.yaml:3:11: error: unknown starter 'smb-bnat' [unknown-starter]  fix: did you mean 'smb-bant'?"],
                 id="unknown-starter"),
    pytest.param({"b.yaml": bp("extends: starter:nothing-like-it\n")},
                 ["b.yaml:3:10: error: unknown starter 'nothing-like-it' [unknown-starter]"
                  "  fix: run `sos starters` to list them"], id="unknown-starter-no-match"),
    pytest.param({"b.yaml": "sos: 1\nname: a\nextends: [c.yaml]\n",
                  "c.yaml": "sos: 1\nname: c\nextends: b.yaml\n"},
                 ["c.yaml:3:10: error: extends cycle: b.yaml → c.yaml → b.yaml [extends-cycle]"
                  "  fix: remove one of these `extends` entries"], id="extends-cycle"),
    pytest.param({"b.yaml": "sos: 1\nname: a\nextends: [b.yaml]\n"},
                 ["b.yaml:3:11: error: extends cycle: b.yaml → b.yaml [extends-cycle]"
                  "  fix: remove one of these `extends` entries"], id="extends-itself"),
    pytest.param({"b.yaml": bp("extends: [shared/base.yaml]\n")},
                 ["b.yaml:3:11: error: extends 'shared/base.yaml', which does not exist [extends-missing]"
                  "  fix: paths are relative to the file that extends them"], id="missing-parent"),
    pytest.param({"b.yaml": bp("extends: [base.yaml]\n"), "base.yaml": "sos: 1\nname: base\nfoo: 1\n"},
                 ["base.yaml:3:1: error: unknown key 'foo' in the top level [unknown-key]"
                  "  fix: allowed keys: sos, name, description, extends, remove, vars, fields, pipelines, rules, "
                  "lead_statuses, cadences, routing, handoffs, forecast_target"], id="error-in-parent-names-parent"),
    pytest.param({"b.yaml": bp("""\
        extends: starter:smb-bant
        remove:
          cadences: [friday_forcast]
          fields: {opportunity: [nothere]}
          stages: {new_business: [nostage]}
          rules: [zzz]
          lead_statuses: [nurtur]
          routing: [catchall]
          pipelines: [old]
        """)}, [
        "b.yaml:5:14: error: cannot remove cadence friday_forcast: no parent blueprint defines it [remove-unknown]"
        "  fix: did you mean 'friday_forecast'?",
        "b.yaml:6:26: error: cannot remove field opportunity.nothere: no parent blueprint defines it "
        "[remove-unknown]  fix: check the name with `sos show`",
        "b.yaml:7:27: error: cannot remove stage new_business.nostage: no parent blueprint defines it "
        "[remove-unknown]  fix: check the name with `sos show`",
        "b.yaml:8:11: error: cannot remove rule zzz: no parent blueprint defines it [remove-unknown]"
        "  fix: check the name with `sos show`",
        "b.yaml:9:19: error: cannot remove lead status nurtur: no parent blueprint defines it "
        "[remove-unknown]  fix: did you mean 'nurture'?",
        "b.yaml:10:13: error: cannot remove route catchall: no parent blueprint defines it "
        "[remove-unknown]  fix: did you mean 'catch_all'?",
        "b.yaml:11:15: error: cannot remove pipeline old: no parent blueprint defines it [remove-unknown]"
        "  fix: check the name with `sos show`",
    ], id="remove-not-inherited"),
    pytest.param({"b.yaml": bp("remove:\n  rules: [r]\n")},
                 ["b.yaml:4:11: error: cannot remove rule r: no parent blueprint defines it [remove-unknown]"
                  "  fix: check the name with `sos show`"], id="remove-without-parent"),
    # The stage names the pipeline it would come from; the pipeline is what is missing.
    pytest.param({"b.yaml": bp("extends: starter:smb-bant\nremove:\n  stages: {renewals: [kickoff]}\n")},
                 ["b.yaml:5:23: error: cannot remove stage renewals.kickoff: no parent blueprint defines it "
                  "[remove-unknown]  fix: check the name with `sos show`"], id="remove-stage-of-unknown-pipeline"),
    pytest.param({"b.yaml": bp("""\
        extends: starter:smb-bant
        pipelines:
          new_business:
            stages:
              - {key: pilot, label: Pilot, probability: 40, after: dem}
        lead_statuses:
          - {key: x, label: X, before: nope}
        """)}, [
        "b.yaml:7:60: error: after: 'dem' names no item before it [unknown-anchor]  fix: did you mean 'demo'?",
        "b.yaml:9:32: error: before: 'nope' names no item before it [unknown-anchor]"
        "  fix: one of: new, working, nurture, qualified, disqualified",
    ], id="unknown-anchor"),
    pytest.param({"b.yaml": bp("""\
        lead_statuses:
          - {key: new, label: New, default: true}
          - {key: new, label: New again, converted: true}
        """)}, ["b.yaml:5:11: error: duplicate key 'new' (first at line 4) [duplicate-key]"
                "  fix: each item in this list needs its own key"], id="duplicate-status-key"),
    pytest.param({"b.yaml": bp("""\
        pipelines:
          sales:
            stages:
              - {key: open, label: Open, probability: 10}
              - {key: open, label: Open 2, probability: 20}
              - {key: won, label: Won, probability: 100, outcome: won}
              - {key: lost, label: Lost, probability: 0, outcome: lost}
        """)}, ["b.yaml:7:15: error: duplicate key 'open' (first at line 6) [duplicate-key]"
                "  fix: each item in this list needs its own key"], id="duplicate-stage-key"),
    pytest.param({"b.yaml": bp("""\
        routing:
          - {key: a, assign_to: {queue: x}}
          - key: a
            assign_to: {queue: y}
        """)}, ["b.yaml:5:10: error: duplicate key 'a' (first at line 4) [duplicate-key]"
                "  fix: each item in this list needs its own key"], id="duplicate-route-key"),
])
def test_resolve_errors(files: Files, sources: dict[str, str], expected: list[str]) -> None:
    files.write_all(sources)
    blueprint, _ = files.load()
    assert rendered(files) == expected
    assert blueprint is None


def test_missing_blueprint_file(files: Files) -> None:
    assert files.headlines("nope.yaml") == ["error: nope.yaml: no such file [file-missing]"]


def test_resolve_errors_stop_before_checks(files: Files) -> None:
    """A missing starter does not also report every field it would have defined."""
    files.write("b.yaml", bp("""\
        extends: starter:smb-bnat
        pipelines:
          new_business:
            stages:
              - {key: demo, probability: 30, require: [need]}
        """))
    assert [d.code for d in files.load()[1]] == ["unknown-starter"]


# --- expression errors carry the position inside the YAML file ---

@pytest.mark.parametrize(("require", "expected"), [
    pytest.param("close_date >= todya()", "b.yaml:6:28: error: unknown function 'todya' [unknown-function]",
                 id="plain"),
    pytest.param('"close_date >= todya()"', "b.yaml:6:29: error: unknown function 'todya' [unknown-function]",
                 id="double-quoted"),
    pytest.param("'amount > 0 and stage >= ''propsal'''",
                 "b.yaml:6:39: error: unknown stage 'propsal' [unknown-stage]", id="single-quoted"),
    pytest.param("'name != ''x'' and amout > 0'",
                 "b.yaml:6:33: error: unknown field 'amout' on opportunity [unknown-name]",
                 id="single-quoted-escape-before"),
    pytest.param(r'"name != \"x\" and amout > 0"',
                 "b.yaml:6:33: error: unknown field 'amout' on opportunity [unknown-name]",
                 id="double-quoted-escape-before"),
    pytest.param("amount >", "b.yaml:6:22: error: expression ends too early; expected a value [expr-syntax]",
                 id="syntax-early-end"),
    pytest.param("amount > 0 && close_date > today()",
                 "b.yaml:6:25: error: unexpected character '&' in expression [expr-syntax]", id="syntax-ampersand"),
    pytest.param("amount > 0 AND is_blank(next_step)",
                 "b.yaml:6:25: error: unexpected 'AND' in expression [expr-syntax]", id="syntax-upper-case-and"),
    pytest.param("|\n      amount > 0 and\n      budgt > 3",
                 "b.yaml:8:7: error: unknown field 'budgt' on opportunity [unknown-name]", id="block-literal"),
    pytest.param(">\n      amount > 0 and\n      budgt > 3",
                 "b.yaml:8:7: error: unknown field 'budgt' on opportunity [unknown-name]", id="block-folded"),
    pytest.param("|\n      budgt > 3", "b.yaml:7:7: error: unknown field 'budgt' on opportunity [unknown-name]",
                 id="block-literal-first-line"),
    pytest.param("\n      amount > 0 and\n      budgt > 3",
                 "b.yaml:8:7: error: unknown field 'budgt' on opportunity [unknown-name]", id="plain-multi-line"),
    pytest.param('"amount > 0 and\n      budgt > 3"',
                 "b.yaml:7:7: error: unknown field 'budgt' on opportunity [unknown-name]", id="quoted-multi-line"),
])
def test_expression_errors_point_into_the_yaml(files: Files, require: str, expected: str) -> None:
    files.write("b.yaml", "sos: 1\nname: t\nrules:\n  r:\n    object: opportunity\n"
                          f"    require: {require}\n    message: m\n")
    assert files.headlines() == [expected]


def test_expression_error_fix_text(files: Files) -> None:
    files.write("b.yaml", bp("""\
        rules:
          r:
            object: opportunity
            require: amount > 0 && close_date > today()
            message: m
        """))
    [diagnostic] = files.load()[1]
    assert diagnostic.fix == "write 'and'"


def test_rule_with_syntax_error_is_left_out_but_others_are_checked(files: Files) -> None:
    files.write("b.yaml", bp("""\
        rules:
          broken:
            object: opportunity
            require: amount >
            message: m
          typo:
            object: opportunity
            require: amout > 0
            message: m
        """))
    assert files.headlines() == [
        "b.yaml:6:22: error: expression ends too early; expected a value [expr-syntax]",
        "b.yaml:10:14: error: unknown field 'amout' on opportunity [unknown-name]",
    ]


def test_an_expression_aliased_onto_two_objects_is_checked_on_each(files: Files) -> None:
    """A YAML alias can put one condition in rules on two objects: it is type-checked in each object's scope."""
    files.write("b.yaml", bp("""\
        rules:
          lead_size:
            object: lead
            require: &size employees >= 10
            message: Too small.
          deal_size:
            object: opportunity
            require: *size
            message: Too small.
        """))
    # where the aliased text is written: the anchor's line
    assert rendered(files) == ["b.yaml:6:18: error: unknown field 'employees' on opportunity [unknown-name]"]
