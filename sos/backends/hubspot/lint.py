"""What HubSpot would refuse in a blueprint, or hold otherwise than it says, known offline (`sos validate`)."""

from __future__ import annotations

import re

from sos.backends.hubspot.names import OBJECT_TYPES, PROPERTY_TYPES, REGISTRY, probability, property_name
from sos.errors import Diagnostic, Severity
from sos.model.resources import Kind, Model, Resource

# "must be lowercase and shorter than 100 characters" (HubSpot's message, hubspot-api-nodejs issue 277); a letter
# first, then letters, digits and underscores; hs_ is HubSpot's own prefix (reference §5).
NAME = re.compile(r"^[a-z][a-z0-9_]{0,98}$")


def lint(desired: Model) -> list[Diagnostic]:
    problems: list[Diagnostic] = []
    taken: dict[tuple[str, str], Resource] = {}
    for field in desired.of_kind(Kind.FIELD):
        obj, key = field.address.scope, field.address.key
        if field.attrs.get("type") not in PROPERTY_TYPES:
            problems.append(Diagnostic(
                field.spans.get("type", field.origin), f"field {obj}.{key} is a {field.attrs.get('type')}, which "
                "HubSpot has no property for; sos leaves it out of HubSpot", "hs-lookup", Severity.WARNING,
                why="HubSpot relates records with associations (a deal's contacts, its company), not with fields",
                fix="associate the records in HubSpot, or make the field a text field"))
            continue
        name = property_name(field)
        if not NAME.match(name) or name.startswith("hs_") or name == REGISTRY:
            problems.append(Diagnostic(field.origin, f"field {obj}.{key} becomes HubSpot property '{name}', which "
                                       "HubSpot does not allow", "hs-property-name",
                                       why="HubSpot property names are lowercase letters, digits and underscores, "
                                           f"start with a letter, are shorter than 100 characters; hs_ and {REGISTRY} "
                                           "are taken",
                                       fix="rename the field, or give it `api_name: {hubspot: a_valid_name}`"))
        other = taken.setdefault((OBJECT_TYPES[obj], name), field)
        if other is not field:
            problems.append(Diagnostic(field.origin, f"fields {other.address.scope}.{other.address.key} and "
                                       f"{obj}.{key} both become the HubSpot contact property '{name}'",
                                       "hs-property-name", why="HubSpot keeps leads and contacts as one object, "
                                       "contacts", fix="rename one of them, or give it `api_name: {hubspot: …}`"))
    for stage in desired.of_kind(Kind.STAGE):
        percent = stage.attrs.get("probability")
        if stage.attrs.get("outcome") == "open" and percent is not None and int(percent) % 10:
            problems.append(Diagnostic(
                stage.origin, f"stage {stage.address.scope}.{stage.address.key} has probability {percent}; HubSpot "
                f"holds probabilities in tenths, so it gets {probability(stage.attrs)}",
                "hs-probability", Severity.WARNING, why="HubSpot takes a deal stage's probability between 0.0 and 1.0 "
                "in increments of 0.1", fix="use a multiple of 10 to say exactly what HubSpot holds"))
    return problems
