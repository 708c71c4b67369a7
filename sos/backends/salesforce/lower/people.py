"""The org's users and queues a route or a cadence names, found at plan time (read.assignment.Directory): the
org's record of each, or a problem at the blueprint's line when the org lacks it (or the user is inactive).
Offline (`sos build`, no directory) nothing is known: None, and no problem."""

from __future__ import annotations

from sos.backends.salesforce.lower.context import Build
from sos.backends.salesforce.names import describe
from sos.backends.salesforce.read.assignment import OrgQueue, OrgUser
from sos.errors import Diagnostic, Span
from sos.model.resources import Resource


def user(b: Build, resource: Resource, reference: str, span: Span | None, verb: str) -> OrgUser | None:
    """The user whose username or email `reference` is; a problem when the org lacks it or it is inactive."""
    if b.live is None or b.live.routing.directory is None:
        return None
    found = b.live.routing.directory.users.get(reference.lower())
    what = f"{describe(resource.address)} {verb} {reference}"
    if found is None:
        b.problems.append(Diagnostic(span, f"{what}, who is not a user of the Salesforce org", "sf-assignee-missing",
                                     fix="create the user in Setup → Users, or name a username or email the org "
                                         "has (often a var of the starter: `sos show` lists them)"))
    elif not found.active:
        b.problems.append(Diagnostic(span, f"{what}, whose Salesforce user {found.username} is inactive",
                                     "sf-assignee-inactive",
                                     fix="reactivate the user in Setup → Users, or name an active one"))
    return found


def queue(b: Build, resource: Resource, key: str, span: Span | None, verb: str, objects: str) -> OrgQueue | None:
    """The queue whose API name (DeveloperName) or name is `key`; a problem when the org has none. `objects` says
    what the queue must hold, for the fix."""
    found = b.live.routing.directory.queues.get(key.lower()) if b.live and b.live.routing.directory else None
    if found is None and b.live is not None and b.live.routing.directory is not None:
        b.problems.append(Diagnostic(span, f"{describe(resource.address)} {verb} queue {key}, which the Salesforce "
                                     "org does not have", "sf-assignee-missing",
                                     fix=f"create a queue named {key}{objects} in Setup → Queues"))
    return found
