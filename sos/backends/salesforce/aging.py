"""Deal aging: the formula fields on Opportunity that count days in stage and flag deals past a stage's max_days.

They are derived, not resources of the Model: sos writes them when some stage has
`max_days`, marks them `sos: derived (deal aging)`, and keeps them in step with the stages.
"""

from __future__ import annotations

from collections.abc import Mapping

from sos.backends.salesforce.marks import AGING_MARK, with_mark
from sos.backends.salesforce.package import FieldSpec
from sos.model.resources import Address, Kind, Model

DAYS_IN_STAGE = "Sos_Days_In_Stage__c"
STALE = "Sos_Stale__c"


def aging_fields(desired: Model, stage_names: Mapping[Address, str],
                 process_names: Mapping[str, str], *, in_org: bool = False) -> list[FieldSpec]:
    """The deal-aging formula fields on Opportunity: days in stage, and stale past the stage's max_days.

    When no stage has max_days: none, unless the org has them already (`in_org`); then they stay, and no deal
    is stale. sos never deletes them: Sos_Days_In_Stage__c is referenced by Sos_Stale__c, so Salesforce refuses
    to delete either alone, and reports built on them would break. When pipelines sharing a stage give it
    different limits, the limit is chosen by record type (each pipeline's sales process).
    """
    limits: dict[str, dict[str, int]] = {}
    for pipeline in desired.of_kind(Kind.PIPELINE):
        if pipeline.address.scope != "opportunity":
            continue
        for key in pipeline.attrs.get("stages", ()):
            address = Address(Kind.STAGE, pipeline.address.key, key)
            stage = desired.get(address)
            if stage is not None and stage.attrs.get("max_days"):
                limits.setdefault(pipeline.address.key, {})[stage_names[address]] = int(stage.attrs["max_days"])
    if not limits and not in_org:
        return []
    merged: dict[str, int] = {}
    agree = True
    for by_value in limits.values():
        for name, limit in by_value.items():
            agree = agree and merged.setdefault(name, limit) == limit
    if not limits:
        stale = "FALSE"
    elif agree:
        stale = f"{_stage_case(merged)} = 1"
    else:
        branches = "".join(f"\n    '{process_names[p]}', {_stage_case(limits[p], indent=8)}," for p in sorted(limits))
        first = min(limits)
        stale = f"CASE(RecordType.DeveloperName,{branches}\n    {_stage_case(limits[first], indent=8)}) = 1"
    # Whole days elapsed since the stage change, as days_since() counts a date and time: TODAY() is the
    # user's day and DATEVALUE() the GMT day, so their difference is a day off west of GMT for part of the day.
    days = "FLOOR(NOW() - BLANKVALUE(LastStageChangeDate, CreatedDate))"
    return [
        FieldSpec(name=DAYS_IN_STAGE, type="Number", label="Days in Stage", precision=18, scale=0, formula=days,
                  description=with_mark("Days since the deal entered its current stage.", AGING_MARK)),
        FieldSpec(name=STALE, type="Checkbox", label="Stale in Stage", formula=stale,
                  description=with_mark("Ticked when the deal has sat in its stage longer than the stage's "
                                        "max_days in the blueprint.", AGING_MARK)),
    ]


def _stage_case(limits: Mapping[str, int], indent: int = 4) -> str:
    """CASE(StageName, 'Discovery', IF(days > 21, 1, 0), ..., 0): numbers, since CASE results are not booleans."""
    from sos.expr.dialects.sf_formula import quote

    pad = " " * indent
    branches = "".join(f"\n{pad}{quote(name)}, IF({DAYS_IN_STAGE} > {days}, 1, 0),"
                       for name, days in limits.items())
    return f"CASE(StageName,{branches}\n{pad}0)"
