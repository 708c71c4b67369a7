"""A conditional write to one field of a Salesforce record: what `sos handoff run` claims a deal with and writes its
link back through (sos/handoff/run.py), so that of two overlapping runs only one hands a deal off.

Salesforce's REST API takes conditional request headers on sObject Rows (REST API Developer Guide, "Conditional
Request Headers", api_rest/intro_rest_conditional_requests.htm): If-Match with an ETag, but ETags are returned for
account records only, so a deal is written with If-Unmodified-Since, the record's LastModifiedDate as an HTTP date.
When the record changed after that moment, Salesforce answers 412 Precondition Failed and writes nothing; an
invalid header value is a 400. The comparison is to the second (an HTTP date has no fractions), so the read and
the conditional write are two calls: read the field and LastModifiedDate, and write only if neither moved.

A write Salesforce carried out but answered with a 503 is retried by the client, and the retry meets 412 (its own
change moved LastModifiedDate): the field is read again, and a field that holds the value written counts as written
(a claim holds the run's own id, so no other run writes the same value).
"""

from __future__ import annotations

from email.utils import format_datetime
from typing import Any

from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceError

from sos.backends.base import utc_moment
from sos.backends.salesforce.client import SalesforceClient

PRECONDITION_FAILED = 412


def set_if(client: SalesforceClient, sobject: str, record_id: str, api_name: str, expected: object,
           value: object) -> bool:
    """Write `value` into `api_name` of the record only while it holds `expected` (None: blank): whether it did."""
    record = _get(client, sobject, record_id)
    if record.get(api_name) != expected:
        return False
    unmodified_since = format_datetime(utc_moment(str(record["LastModifiedDate"])), usegmt=True)

    def write(sf: Salesforce) -> bool:
        try:
            getattr(sf, sobject).update(record_id, {api_name: value},
                                        headers={"If-Unmodified-Since": unmodified_since})
        except SalesforceError as exc:
            if exc.status == PRECONDITION_FAILED:
                return False
            raise
        return True

    return client.call("update", write) or _get(client, sobject, record_id).get(api_name) == value


def holds(client: SalesforceClient, sobject: str, api_name: str) -> bool:
    """Whether the org's `sobject` has a field `api_name` that this user sees (one describe call)."""
    described = client.call("describe", lambda sf: getattr(sf, sobject).describe())
    return any(field["name"] == api_name for field in described["fields"])


def _get(client: SalesforceClient, sobject: str, record_id: str) -> dict[str, Any]:
    return dict(client.call("get", lambda sf: getattr(sf, sobject).get(record_id)))
