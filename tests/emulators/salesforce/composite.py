"""POST /services/data/vNN.N/composite: up to 25 subrequests in one call, the output of one usable in the next.

Built from the REST API Developer Guide: "Send Multiple Requests Using Composite"
(https://developer.salesforce.com/docs/platform/api-rest/guide/resources-composite-composite-post.html: "The entire
series of requests counts as a single call toward your API limits"; query and sObject resources supported),
"Composite Request Body" (.../api_rest/requests_composite.htm: allOrNone, collateSubrequests, subrequest
method/url/referenceId/body/httpHeaders; Accept, Authorization or Content-Type in a subrequest fail the top-level
request with 400) and "Composite Subrequest Result" (.../api_rest/resources_composite_subrequest_result.htm:
body/httpHeaders/httpStatusCode/referenceId; with allOrNone every other subrequest answers 400; referenceIds hold
only letters, digits and underscores). The top-level answer is HTTP 200 whatever the subrequests did.

The PROCESSING_HALTED message of rolled-back subrequests is the one in the guide's allOrNone example response.
UNVERIFIED (the stricter reading is taken): the exact errorCode and message of a refused top-level request, of a
reference that cannot be resolved, and of an unsupported subrequest URL or one of another API version than the
composite call's (refused as a whole, before anything runs).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, urlsplit

from . import rest

if TYPE_CHECKING:
    from .rest import Reply, RestApi

MAX_SUBREQUESTS = 25
# "You can have up to 25 subrequests in a single call. Up to 5 of these subrequests can be query operations,
# including Query and QueryAll requests" (and "Query More" requests for the next batch): REST API Developer Guide,
# "Composite" (api_rest/resources_composite_composite.htm, as of API 38.0–50.0). UNVERIFIED: the code and message
# of the refusal; the stricter reading is taken (the whole request refused before anything runs).
MAX_QUERIES = 5
METHODS = ("GET", "POST", "PATCH", "PUT", "DELETE")
INHERITED_HEADERS = ("accept", "authorization", "content-type")
REFERENCE_ID = re.compile(r"^[A-Za-z0-9_]+$")
REFERENCE = re.compile(r"@\{([A-Za-z0-9_]+)((?:\.[A-Za-z0-9_]+|\[\d+\])+)\}")
SUBREQUEST_URL = re.compile(r"^/services/data/v(\d+\.\d)(/(?:query|sobjects)(?:[/?].*)?)$")
ROLLED_BACK = "The transaction was rolled back since another operation in the same transaction failed."


class Refused(Exception):
    """A refusal: of the whole request (from `_parse`, before anything runs) or of one subrequest (`_resolve`)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def run(api: RestApi, body: bytes, headers: Mapping[str, str], version: str) -> Reply:
    try:
        all_or_none, subrequests = _parse(body, version)
    except Refused as refused:
        return rest.error_reply(400, refused.code, refused.message)
    saved = api.org.copy() if all_or_none else None
    outputs: dict[str, object] = {}   # referenceId -> body of a subrequest that succeeded
    results: list[dict[str, object]] = []
    failed = False   # with allOrNone: the last result is the failure that halts the transaction
    for sub in subrequests:
        reference_id = sub["referenceId"]
        try:
            url = _resolve(sub["url"], outputs)
            sub_body = _resolve(json.dumps(sub["body"]), outputs) if "body" in sub else ""
        except Refused as unresolved:
            results.append(_result(400, [{"errorCode": unresolved.code, "message": unresolved.message}], reference_id))
            failed = all_or_none
            if failed:
                break
            continue
        parts = urlsplit(url)
        path = parts.path[len(f"/services/data/v{version}"):]
        params = dict(parse_qsl(parts.query, keep_blank_values=True))
        reply = api.handle(sub["method"], path, params, sub_body.encode(), {**headers, **sub.get("httpHeaders", {})},
                           version)
        answer = json.loads(reply.body) if reply.body else None
        location = {"Location": f"/services/data/v{version}{path}/{answer['id']}"} \
            if reply.status == 201 and isinstance(answer, dict) else {}
        results.append(_result(reply.status, answer, reference_id, location))
        if reply.status < 300:
            outputs[reference_id] = answer
            continue
        failed = all_or_none
        if failed:
            break
    if saved is not None and failed:
        api.org.adopt(saved)
        halted = [{"errorCode": "PROCESSING_HALTED", "message": ROLLED_BACK}]
        results = [results[i] if i == len(results) - 1 else _result(400, halted, sub["referenceId"])
                   for i, sub in enumerate(subrequests)]
    return rest.json_reply(200, {"compositeResponse": results})


def _result(status: int, body: object, reference_id: str, headers: dict[str, str] | None = None) -> dict[str, object]:
    return {"body": body, "httpHeaders": headers or {}, "httpStatusCode": status, "referenceId": reference_id}


def _parse(body: bytes, version: str) -> tuple[bool, list[dict]]:
    """allOrNone and the subrequests, each checked; Refused when the request cannot run at all."""
    try:
        request = json.loads(body or b"{}")
    except ValueError:
        raise Refused("JSON_PARSER_ERROR", "Unexpected JSON body") from None
    subrequests = request.get("compositeRequest") if isinstance(request, dict) else None
    if not isinstance(subrequests, list) or not subrequests:
        raise Refused("INVALID_API_INPUT", "compositeRequest: a non-empty list of subrequests is required")
    if len(subrequests) > MAX_SUBREQUESTS:
        raise Refused("LIMIT_EXCEEDED", f"Limit Exceeded: a composite request can hold at most {MAX_SUBREQUESTS} "
                                        f"subrequests, not {len(subrequests)}")
    for flag in ("allOrNone", "collateSubrequests"):
        if not isinstance(request.get(flag, False), bool):
            raise Refused("JSON_PARSER_ERROR", f"{flag} must be a boolean")
    seen: set[str] = set()
    for sub in subrequests:
        _check(sub, seen, version)
    queries = sum(urlsplit(sub["url"]).path.startswith(f"/services/data/v{version}/query") for sub in subrequests)
    if queries > MAX_QUERIES:
        raise Refused("LIMIT_EXCEEDED", f"Limit Exceeded: a composite request can hold at most {MAX_QUERIES} query "
                                        f"subrequests, not {queries}")
    return bool(request.get("allOrNone", False)), subrequests


def _check(sub: object, seen: set[str], version: str) -> None:
    """Refused unless `sub` is a subrequest composite runs; adds its referenceId to `seen`."""
    if not isinstance(sub, dict) or not all(isinstance(sub.get(k), str) for k in ("method", "url", "referenceId")):
        raise Refused("INVALID_API_INPUT", "Every subrequest needs a method, a url and a referenceId")
    reference_id = sub["referenceId"]
    if not REFERENCE_ID.match(reference_id) or reference_id in seen:
        raise Refused("INVALID_API_INPUT", f"Invalid referenceId '{reference_id}': use letters, digits and "
                                           "underscores, once per request")
    seen.add(reference_id)
    if sub["method"] not in METHODS:
        raise Refused("INVALID_API_INPUT", f"Invalid method '{sub['method']}' in subrequest {reference_id}")
    if any(name.lower() in INHERITED_HEADERS for name in sub.get("httpHeaders", {})):
        raise Refused("INVALID_API_INPUT", f"Subrequest {reference_id} may not set Accept, Authorization or "
                                           "Content-Type: they come from the composite request")
    supported = SUBREQUEST_URL.match(REFERENCE.sub("x", sub["url"]))
    if supported is None or supported[1] != version:
        raise Refused("INVALID_API_INPUT", f"The url of subrequest {reference_id} is not supported by composite: "
                                           f"{sub['url']} (only /services/data/v{version}/query and /sobjects "
                                           "resources)")


def _resolve(text_: str, outputs: Mapping[str, object]) -> str:
    """`text_` with every `@{referenceId.path}` replaced by that value of an earlier subrequest's answer."""

    def value(match: re.Match[str]) -> str:
        reference_id, path = match[1], match[2]
        current = outputs.get(reference_id)
        for step in re.findall(r"\.([A-Za-z0-9_]+)|\[(\d+)\]", path):
            key, index = step
            if key and isinstance(current, dict):
                current = current.get(key)
            elif index and isinstance(current, list) and int(index) < len(current):
                current = current[int(index)]
            else:
                current = None
        if current is None or isinstance(current, (dict, list)):
            raise Refused("PROCESSING_HALTED", f"Invalid reference specified. No value for {reference_id}{path} "
                                               f"found in {reference_id}. Provided referenceId ({reference_id}) "
                                               "must be an earlier subrequest that succeeded.")
        return str(current)

    return REFERENCE.sub(value, text_)
