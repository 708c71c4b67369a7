"""A stand-in for the GitHub CLI's `gh api`, enough for the workflow `sos ci github` writes: the issue and issue
comment endpoints of GitHub's REST API, kept in a JSON file ($FAKE_GH_STATE), with `--jq` run by real jq (the jq
package's libjq) and printed as gh prints it (strings raw, one result a line).

Endpoints and their rules, from docs.github.com/en/rest/issues (issues, comments): GET
/repos/{owner}/{repo}/issues?state=… lists issues; POST /repos/{owner}/{repo}/issues needs a title (422 without);
PATCH /repos/{owner}/{repo}/issues/{number} edits body or state (open, closed); GET and POST
/repos/{owner}/{repo}/issues/{number}/comments list and add comments; PATCH
/repos/{owner}/{repo}/issues/comments/{id} edits one. An unknown issue or comment is 404. `-F key=@file` reads the
value from the file, `-f key=value` is a string (cli.github.com/manual/gh_api)."""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path
from typing import Any, NoReturn

import jq


def fail(status: int, message: str) -> NoReturn:
    print(f"gh: {message} (HTTP {status})", file=sys.stderr)
    sys.exit(1)


def parse(argv: list[str]) -> tuple[str, str, dict[str, str], str | None]:
    method, path, fields, query = "GET", "", {}, None
    args = iter(argv)
    for arg in args:
        if arg in ("--method", "-X"):
            method = next(args)
        elif arg == "--jq":
            query = next(args)
        elif arg in ("-F", "-f", "--field", "--raw-field"):
            key, value = next(args).split("=", 1)
            if arg in ("-F", "--field") and value.startswith("@"):
                value = Path(value[1:]).read_text(encoding="utf-8")
            fields[key] = value
        elif arg == "--paginate":
            continue
        else:
            path = arg
    if fields and method == "GET":
        method = "POST"        # gh api: parameters make a POST unless --method says otherwise
    return method, path, fields, query


def answer(state: dict[str, Any], method: str, path: str, fields: dict[str, str]) -> Any:
    route, _, params = path.partition("?")
    if "/comments" in route:
        return _comments(state.setdefault("comments", []), method, route, fields)
    return _issues(state.setdefault("issues", []), method, route, params, fields)


def _comments(comments: list[dict[str, Any]], method: str, route: str, fields: dict[str, str]) -> Any:
    if match := re.fullmatch(r"repos/[^/]+/[^/]+/issues/comments/(\d+)", route):
        found = next((c for c in comments if c["id"] == int(match[1])), None)
        if found is None or method != "PATCH":
            fail(404, "Not Found")
        found["body"] = fields["body"]
        return found
    match = re.fullmatch(r"repos/[^/]+/[^/]+/issues/(\d+)/comments", route)
    if match is None:
        fail(404, "Not Found")
    if method == "GET":
        return [c for c in comments if c["issue"] == int(match[1])]
    if "body" not in fields:
        fail(422, "Validation Failed")
    comment = {"id": 100 + len(comments), "issue": int(match[1]), "body": fields["body"]}
    comments.append(comment)
    return comment


def _issues(issues: list[dict[str, Any]], method: str, route: str, params: str, fields: dict[str, str]) -> Any:
    if match := re.fullmatch(r"repos/[^/]+/[^/]+/issues/(\d+)", route):
        issue = next((i for i in issues if i["number"] == int(match[1])), None)
        if issue is None or method != "PATCH" or fields.get("state", "open") not in ("open", "closed"):
            fail(404 if issue is None else 422, "Not Found" if issue is None else "Validation Failed")
        issue.update(fields)
        return issue
    if not re.fullmatch(r"repos/[^/]+/[^/]+/issues", route):
        fail(404, "Not Found")
    if method == "GET":
        wanted = dict(p.split("=", 1) for p in params.split("&") if p).get("state", "open")
        return [i for i in issues if wanted == "all" or i["state"] == wanted]
    if not fields.get("title"):
        fail(422, "Validation Failed: title is missing")
    issue = {"number": 1 + len(issues), "state": "open", "body": None, **fields}
    issues.append(issue)
    return issue


def main() -> None:
    assert sys.argv[1] == "api", sys.argv
    method, path, fields, query = parse(sys.argv[2:])
    state_file = Path(os.environ["FAKE_GH_STATE"])
    state = json.loads(state_file.read_text(encoding="utf-8")) if state_file.exists() else {}
    result = answer(state, method, path, fields)
    state_file.write_text(json.dumps(state), encoding="utf-8")
    if query is None:
        print(json.dumps(result))
        return
    for value in jq.compile(query).input_value(result).all():
        print(value if isinstance(value, str) else json.dumps(value))


if __name__ == "__main__":
    main()
