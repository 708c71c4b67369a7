"""Bulk API 2.0 query jobs under /services/data/vNN.N/jobs/query, as the Bulk API 2.0 and Bulk API Developer Guide
(api_asynch) documents them:

- POST jobs/query {"operation": "query", "query": SOQL} creates a job in the state UploadComplete ("Step 6: Query
  Jobs", query_walkthrough.htm; "Create a Query Job").
- GET jobs/query/<id> is the job's state: UploadComplete, InProgress, then JobComplete, or Failed with an
  errorMessage ("Get Information About a Query Job"). The job runs while it is polled: `bulk_polls` polls.
- GET jobs/query/<id>/results?locator=&maxRecords= is one set of the results as CSV (quoted, comma, LF), with the
  headers Sforce-NumberOfRecords (rows in this set) and Sforce-Locator (the next set's locator, the text "null"
  after the last); only once the job is JobComplete, and with the API version that created it, else 409 ("Get
  Results for a Query Job", query_get_job_results.htm).
- Refused at creation: GROUP BY, OFFSET, aggregate functions such as COUNT() ("Understanding Bulk API 2.0 Query",
  queries.htm, Limits), and any SOQL the REST query would refuse.

CSV values: a null is an empty field, a checkbox `true`/`false`, a date `2024-06-01`, a date and time
`2024-06-01T00:00:00.000Z`, a relationship field a column named by its path (`Owner.Username`). UNVERIFIED: the
error codes and messages of refusals (the guide shows none; REST's JSON error list is assumed) and the size of a
results set when maxRecords is absent ("as many rows as can be listed": here RESULT_SET rows).
"""

from __future__ import annotations

import base64
import csv
import io
import json
from collections.abc import Mapping
from dataclasses import dataclass, field

from . import rest, soql
from .org import iso

RESULT_SET = 100_000   # rows in one results set when the client names no maxRecords (UNVERIFIED, module docstring)
CSV_TYPE = "text/csv"


def operation(method: str, parts: list[str]) -> str:
    """The name a call under jobs/query is counted under (`emulator.calls`)."""
    if not parts:
        return "bulkQueryCreate" if method == "POST" else "bulkQueryList"
    return "bulkQueryResults" if parts[1:] == ["results"] else "bulkQueryJob"


@dataclass
class QueryJob:
    id: str
    version: str
    sobject: str
    columns: list[str]
    rows: list[list[str]]
    state: str = "UploadComplete"
    polls: int = 0
    error: str | None = None
    failure: str | None = field(default=None, repr=False)   # the scheduled fault, shown when the job runs

    def info(self, created: str) -> dict[str, object]:
        body: dict[str, object] = {
            "id": self.id, "operation": "query", "object": self.sobject, "createdById": "005Em0000000001AAA",
            "createdDate": created, "systemModstamp": created, "state": self.state, "concurrencyMode": "Parallel",
            "contentType": "CSV", "apiVersion": float(self.version), "lineEnding": "LF", "columnDelimiter": "COMMA"}
        if self.state == "JobComplete":
            body["numberRecordsProcessed"] = len(self.rows)
        if self.error is not None:
            body["errorMessage"] = self.error
        return body


class BulkQueries:
    """The org's query jobs; the server has already authenticated and counted the call."""

    def __init__(self, rest_api: rest.RestApi) -> None:
        self.rest = rest_api
        self.jobs: dict[str, QueryJob] = {}

    def handle(self, method: str, parts: list[str], params: Mapping[str, str], body: bytes, version: str) -> rest.Reply:
        if not parts and method == "POST":
            return self._create(body, version)
        job = self.jobs.get(parts[0]) if parts else None
        if job is None:
            return rest.not_found()
        if parts[1:] == [] and method == "GET":
            return self._poll(job)
        if parts[1:] == ["results"] and method == "GET":
            return self._results(job, params, version)
        return rest.not_found()

    def _create(self, body: bytes, version: str) -> rest.Reply:
        try:
            request = json.loads(body or b"{}")
        except ValueError:
            return rest.error_reply(400, "JSON_PARSER_ERROR", "The request body is not valid JSON")
        if not isinstance(request, dict) or request.get("operation") not in ("query", "queryAll"):
            return rest.error_reply(400, "INVALIDJOB", "InvalidJob : operation must be query or queryAll")
        text = str(request.get("query") or "")
        try:
            query = soql.parse(text)
            if query.aggregated or query.offset:
                return rest.error_reply(400, "API_ERROR", "Aggregate queries, GROUP BY and OFFSET are not "
                                                          "supported by Bulk API 2.0 query jobs")
            query, table, rows = self.rest.select(text)
        except soql.SoqlError as error:
            return rest.error_reply(400, error.code, error.message)
        columns = [table.columns[(item.field or "").lower()] for item in query.items]
        job = QueryJob(self.rest.org.new_id("bulkQuery"), version, table.name, columns,
                       [[_csv_value(rest._getter(row, column)) for column in columns] for row in rows],
                       failure=self.rest.emulator.faults.take_bulk_failure())
        self.jobs[job.id] = job
        return rest.json_reply(200, job.info(self._now()))

    def _poll(self, job: QueryJob) -> rest.Reply:
        if job.state in ("UploadComplete", "InProgress"):
            job.polls += 1
            if job.failure is not None:
                job.state, job.error = "Failed", job.failure
            elif job.polls >= self.rest.emulator.bulk_polls:
                job.state = "JobComplete"
            else:
                job.state = "InProgress"
        return rest.json_reply(200, job.info(self._now()))

    def _results(self, job: QueryJob, params: Mapping[str, str], version: str) -> rest.Reply:
        if version != job.version:
            return rest.error_reply(409, "API_ERROR", f"The job was created with API version {job.version}: "
                                                      "get its results with the same version")
        if job.state != "JobComplete":
            return rest.error_reply(409, "API_ERROR", f"The job is in the state {job.state}, not JobComplete")
        start = _offset(params.get("locator"))
        size = params.get("maxRecords", "")
        if start is None or start > len(job.rows) or (size and not size.isdigit()) or size == "0":
            return rest.error_reply(400, "INVALIDLOCATOR" if start is None else "API_ERROR",
                               "Invalid locator or maxRecords")
        end = start + (int(size) if size else RESULT_SET)
        out = io.StringIO()
        writer = csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\n")
        writer.writerow(job.columns)
        writer.writerows(job.rows[start:end])
        following = base64.urlsafe_b64encode(str(end).encode()).decode() if end < len(job.rows) else "null"
        return rest.Reply(200, out.getvalue().encode(), CSV_TYPE,
                     {"Sforce-NumberOfRecords": str(len(job.rows[start:end])), "Sforce-Locator": following})

    def _now(self) -> str:
        return iso(self.rest.org.clock())


def _offset(locator: str | None) -> int | None:
    """Where the set a locator names starts (no locator: the first); None for a locator never handed out."""
    if not locator:
        return 0
    try:
        text = base64.urlsafe_b64decode(locator.encode()).decode()
    except ValueError:
        return None
    return int(text) if text.isdigit() else None


def _csv_value(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
