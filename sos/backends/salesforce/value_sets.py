"""The OpportunityStage and LeadStatus value sets of one build: each value's name, and the whole list to deploy.

The standard-value-set trap (reference §6): a deployed OpportunityStage or LeadStatus file is
the whole list, and the org deactivates what it omits. These files therefore list the org's
current values merged with the blueprint's; a value is deactivated only for a planned DELETE,
and only with `allow_delete`. Offline (`live=None`) nothing of the org is known, and the file
lists the blueprint's values only; the build's notes say so.
"""

from __future__ import annotations

from typing import Any
from collections.abc import Callable, Mapping

from sos.backends.salesforce.marks import mark_extras, ownership_mark, split_description, with_mark
from sos.backends.salesforce.names import FORECASTS, STAGE_SET, STATUS_SET, stage_value_name
from sos.backends.salesforce.read import LiveOrg
from sos.errors import Diagnostic, Severity
from sos.model.resources import Address, Kind, Model
from sos.plan.change import Change

# StandardValue children in WSDL order: how value-set files write a value's dict.
STANDARD_VALUE_KEYS = ("fullName", "color", "default", "description", "isActive", "label", "allowEmail", "closed",
                       "converted", "cssExposed", "forecastCategory", "groupingString", "highPriority",
                       "probability", "reverseRole", "reviewed", "won")


class ValueSets:
    """The stage and lead-status values of one build, over the org `live` describes (None: offline)."""

    def __init__(self, desired: Model, live: LiveOrg | None, writes: Mapping[Address, Change],
                 deletes: Mapping[Address, Change], kept: Callable[[Address], bool], problems: list[Diagnostic],
                 notes: list[Diagnostic]) -> None:
        self.desired = desired
        self.live = live
        self.writes = writes      # the build's changes that write a resource, and the deletions it makes
        self.deletes = deletes
        self._kept = kept         # whether sos manages an address once the package is deployed
        self.problems = problems  # the build's lists: what is found here is appended to them
        self.notes = notes
        self.stage_names, self.status_names = self._value_names()

    def lists(self) -> dict[str, list[dict[str, Any]]]:
        """The value sets this build touches, each as the whole list of values to deploy."""
        sets: dict[str, list[dict[str, Any]]] = {}
        for kind, set_name in ((Kind.STAGE, STAGE_SET), (Kind.LEAD_STATUS, STATUS_SET)):
            touched = any(a.kind is kind for a in [*self.writes, *self.deletes])
            if kind is Kind.STAGE:
                touched = touched or any(a.kind is Kind.PIPELINE for a in self.writes)
            if touched:
                sets[set_name] = self._merged_values(kind, set_name)
        return sets

    def _value_names(self) -> tuple[dict[Address, str], dict[Address, str]]:
        """The value (fullName) of every desired stage and lead status.

        A value sos already manages keeps its name (the stored value on records), so a label
        change renames it visibly instead of adding a value, and so does a renamed key (`renamed_from`): the
        value keeps its records; a new one is named by its label. A stage key shared by pipelines is one value.
        """
        names: dict[Kind, dict[Address, str]] = {Kind.STAGE: {}, Kind.LEAD_STATUS: {}}
        for kind, by_name in names.items():
            by_key: dict[str, str] = {}
            for resource in self.desired.of_kind(kind):
                address = resource.address
                renamed = self.writes[address].renamed_from if address in self.writes else None
                name = by_key.get(address.key) or stage_value_name(renamed or address, resource.attrs, self.live)
                by_key.setdefault(address.key, name)
                by_name[address] = name
        self._check_shared_values(names[Kind.STAGE])
        return names[Kind.STAGE], names[Kind.LEAD_STATUS]

    def _check_shared_values(self, names: dict[Address, str]) -> None:
        shapes: dict[str, tuple[Address, tuple[Any, ...]]] = {}
        for address, name in sorted(names.items()):
            attrs = self.desired.resources[address].attrs
            shape = tuple(attrs.get(a) for a in ("probability", "forecast", "outcome"))
            first = shapes.setdefault(name.lower(), (address, shape))
            if first[1] != shape and first[0].key != address.key:
                self.problems.append(Diagnostic(
                    self.desired.resources[address].origin,
                    f"stages {first[0].scope}.{first[0].key} and {address.scope}.{address.key} are both the "
                    f"Salesforce stage '{name}' but differ in probability, forecast or outcome", "stage-value-conflict",
                    why="Salesforce keeps one list of stage values for every sales process",
                    fix="give one of them another label, or make them agree"))

    def _addresses_by_value(self, kind: Kind, names: dict[Address, str]) -> dict[str, list[Address]]:
        """The stages or statuses behind each value (lower-cased), the deleted ones by their live name."""
        addresses: dict[str, list[Address]] = {}
        for address, name in names.items():
            addresses.setdefault(name.lower(), []).append(address)
        for address in self.deletes:
            if address.kind is kind and self.live is not None and address in self.live.names:
                addresses.setdefault(self.live.names[address].lower(), []).append(address)
        return addresses

    def _merged_values(self, kind: Kind, set_name: str) -> list[dict[str, Any]]:
        """The whole value list to deploy: the blueprint's values in blueprint order, then the org's others."""
        names = self.stage_names if kind is Kind.STAGE else self.status_names
        live_values = (self.live.stage_values if kind is Kind.STAGE else self.live.lead_status_values) \
            if self.live is not None else []
        by_name = {str(v["fullName"]).lower(): v for v in live_values}
        order: list[str] = []
        for name in self._blueprint_order(kind, names):
            if name.lower() not in (n.lower() for n in order):
                order.append(name)
        order += [str(v["fullName"]) for v in live_values if str(v["fullName"]).lower() not in
                  {n.lower() for n in order}]
        addresses = self._addresses_by_value(kind, names)
        values = []
        for name in order:
            live_value = by_name.get(name.lower())
            mine = sorted(addresses.get(name.lower(), []))
            written = [a for a in mine if a in self.writes or (self.live is None and a in self.desired)]
            if written:
                values.append(self._written_value(kind, name, [a for a in mine if self._kept(a)], live_value))
            elif live_value is not None:
                values.append(self._kept_value(live_value, mine))
        if kind is Kind.LEAD_STATUS:
            self._one_default(values)
        if self.live is None:
            noun = "stage" if kind is Kind.STAGE else "lead status"
            self.notes.append(Diagnostic(None, f"standardValueSets/{set_name}.standardValueSet lists only the "
                                         f"blueprint's {len(values)} {noun} values; deploying it deactivates every "
                                         f"other {noun} value in the org (and fails if records use one)",
                                         "value-set-replaces", Severity.WARNING,
                                         fix="deploy with `sos apply`, which merges the org's current values"))
        return values

    def _blueprint_order(self, kind: Kind, names: Mapping[Address, str]) -> list[str]:
        if kind is Kind.LEAD_STATUS:
            statuses = sorted(self.desired.of_kind(Kind.LEAD_STATUS), key=lambda r: r.attrs.get("position", 0))
            return [names[r.address] for r in statuses]
        order = []
        for pipeline in self.desired.of_kind(Kind.PIPELINE):
            order += [names[a] for k in pipeline.attrs.get("stages", ())
                      if (a := Address(Kind.STAGE, pipeline.address.key, k)) in names]
        return order + [names[r.address] for r in self.desired.of_kind(Kind.STAGE)]

    def _written_value(self, kind: Kind, name: str, managed: list[Address],
                       live_value: Mapping[str, Any] | None) -> dict[str, Any]:
        resource = self.desired.resources[managed[0]] if managed else None
        attrs = resource.attrs if resource is not None else {}
        mark = ownership_mark([(a, mark_extras(self.desired.resources[a])) for a in managed])
        value: dict[str, Any] = {"fullName": name, "default": bool((live_value or {}).get("default", False)),
                                 "description": with_mark(str(attrs.get("description") or ""), mark),
                                 "label": str(attrs.get("label") or name)}
        if live_value is not None and live_value.get("isActive") is False:
            value["isActive"] = True
        if kind is Kind.STAGE:
            outcome = attrs.get("outcome", "open")
            value.update(closed=outcome != "open", won=outcome == "won",
                         forecastCategory=FORECASTS.get(str(attrs.get("forecast")), "Pipeline"),
                         probability=int(attrs.get("probability", 0)))
        else:
            value.update(default=bool(attrs.get("default")), converted=bool(attrs.get("converted")))
        return value

    def _kept_value(self, live_value: Mapping[str, Any], mine: list[Address]) -> dict[str, Any]:
        """An org value as it is, unless a planned deletion takes sos's mark (and maybe the value) off it."""
        value = dict(live_value)
        human, entries, _ = split_description(value.get("description"))
        deleted = [a for a in mine if a in self.deletes]
        if not entries or not deleted:
            return value
        remaining = [(a, extras) for a, extras in entries if a not in self.deletes]
        if remaining:
            value["description"] = with_mark(human, ownership_mark(remaining))
        else:
            value["description"] = human
            value["isActive"] = False
            value["default"] = False
            if not human:
                del value["description"]
        return value

    def _one_default(self, values: list[dict[str, Any]]) -> None:
        """LeadStatus has exactly one default: a blueprint default written now takes it from the org's."""
        chosen = [v for v in values if v.get("default") and v.get("isActive") is not False]
        if len(chosen) <= 1:
            return
        mine = [v for v in chosen if split_description(v.get("description"))[1]]
        keep = mine[0] if mine else chosen[0]
        origin = next((self.desired.resources[a].origin for a, name in sorted(self.status_names.items())
                       if name.lower() == str(keep["fullName"]).lower() and a in self.desired), None)
        for value in chosen:
            if value is not keep:
                value["default"] = False
                if self.live is not None:
                    self.notes.append(Diagnostic(origin, f"lead status '{keep['fullName']}' becomes the default "
                                                 f"instead of '{value['fullName']}'", "default-status",
                                                 Severity.WARNING,
                                                 why="Salesforce has one default lead status, which every new "
                                                     "lead starts in; the blueprint's takes over from the org's"))

