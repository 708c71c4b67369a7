"""What the project-management tool emulators (asana/, jira/) share: a JSON API on 127.0.0.1 with a route table,
token checks, a count of calls per operation, and faults on demand, by count, never by time:

    emulator.faults.rate_limit(retry_after=7)                 # the next call answers 429 with Retry-After: 7
    emulator.faults.server_error(status=503, writes_only=True)  # the next write answers 503 and changes nothing
    emulator.faults.server_error(status=504, after_write=True)  # the next write is done, then answers 504 (a
                                                                # gateway that timed out after the tool acted)

Each tool supplies its routes, how it authenticates and its error bodies (`error_body`)."""

from __future__ import annotations

import argparse
import json
import threading
import traceback
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from tests.emulators.serving import Served, path_pattern, serve_until_interrupted


class ApiError(Exception):
    """A refusal with the tool's status and message (the tool turns it into its error body)."""

    def __init__(self, status: int, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.field = status, message, field


@dataclass(frozen=True)
class Request:
    params: dict[str, str]               # from the path
    query: dict[str, str]
    body: Any                            # parsed JSON, or None
    user: str                            # who the token belongs to


Handler = Callable[[Request], tuple[int, Any]]


@dataclass(frozen=True)
class Route:
    method: str
    template: str
    handler: Handler
    reads_only: bool = False    # a POST that only reads (a search with its query in the body)

    @property
    def operation(self) -> str:
        return f"{self.method} {self.template}"

    @property
    def write(self) -> bool:
        return self.method in ("POST", "PUT", "PATCH", "DELETE") and not self.reads_only

    def match(self, method: str, path: str) -> dict[str, str] | None:
        found = path_pattern(self.template).fullmatch(path) if method == self.method else None
        return found.groupdict() if found else None


@dataclass
class Fault:
    status: int
    remaining: int
    writes_only: bool
    retry_after: int | None = None
    after_write: bool = False   # the call is carried out, then answered with `status`


class Faults:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._scheduled: list[Fault] = []

    def rate_limit(self, times: int = 1, *, retry_after: int = 1, writes_only: bool = False) -> None:
        self._add(Fault(429, times, writes_only, retry_after=retry_after))

    def server_error(self, times: int = 1, *, status: int = 503, writes_only: bool = False,
                     after_write: bool = False) -> None:
        if status not in (500, 502, 503, 504):
            raise ValueError("status must be 500, 502, 503 or 504")
        self._add(Fault(status, times, writes_only or after_write, after_write=after_write))

    def clear(self) -> None:
        with self._lock:
            self._scheduled.clear()

    def take(self, write: bool) -> Fault | None:
        with self._lock:
            for fault in self._scheduled:
                if fault.writes_only and not write:
                    continue
                fault.remaining -= 1
                if fault.remaining == 0:
                    self._scheduled.remove(fault)
                return fault
            return None

    def _add(self, fault: Fault) -> None:
        with self._lock:
            self._scheduled.append(fault)


class PmToolEmulator(Served):
    """The shared server: a tool subclasses it with `routes()`, `authenticate(headers) → user or None`,
    `error_body(status, message, field)` and its state in `reset()`."""

    name = "pm-tool"

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host, self.port = host, port
        self.faults = Faults()
        self.calls: Counter[str] = Counter()
        self.internal_errors: list[str] = []
        self.lock = threading.RLock()
        self.route_table = self.routes()
        self.reset()

    def routes(self) -> list[Route]:
        raise NotImplementedError

    def authenticate(self, headers: Mapping[str, str]) -> str | None:
        raise NotImplementedError

    def error_body(self, status: int, message: str, field: str | None) -> Any:
        raise NotImplementedError

    def reset(self) -> None:
        self.faults.clear()
        self.calls.clear()
        self.internal_errors.clear()

    def start(self) -> PmToolEmulator:
        handler = type("Handler", (_Handler,), {"emulator": self})
        self.run_server(ThreadingHTTPServer((self.host, self.port), handler), f"{self.name}-emulator")
        return self

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def serve(self, method: str, raw_path: str, headers: Mapping[str, str], body: bytes) \
            -> tuple[int, Any, dict[str, str]]:
        parts = urlsplit(raw_path)
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        for route in self.route_table:
            params = route.match(method, parts.path)
            if params is not None:
                break
        else:
            return 404, self.error_body(404, f"No route for {method} {parts.path}", None), {}
        self.calls[route.operation] += 1
        user = self.authenticate(headers)
        if user is None:
            return 401, self.error_body(401, "Not Authorized", None), {}
        fault = self.faults.take(route.write)
        if fault is not None and not fault.after_write:
            return self._fault_reply(fault)
        try:
            parsed = json.loads(body) if body else None
        except ValueError:
            return 400, self.error_body(400, "Could not parse request data, invalid JSON", None), {}
        with self.lock:
            try:
                status, answer = route.handler(Request(params, query, parsed, user))
            except ApiError as error:
                return error.status, self.error_body(error.status, error.message, error.field), {}
            except Exception:   # the emulator's own bug: report it, never echo the request
                self.internal_errors.append(traceback.format_exc())
                return 500, self.error_body(500, "Server Error", None), {}
        return self._fault_reply(fault) if fault is not None else (status, answer, {})

    def rate_limited(self, retry_after: int) -> tuple[Any, dict[str, str]]:
        """A 429's body and headers (Asana's and Jira's: Retry-After in seconds)."""
        return self.error_body(429, "You have made too many requests recently. Please, be chill.", None), \
            {"Retry-After": str(retry_after)}

    def _fault_reply(self, fault: Fault) -> tuple[int, Any, dict[str, str]]:
        if fault.status == 429:
            return 429, *self.rate_limited(fault.retry_after or 1)
        return fault.status, self.error_body(fault.status, "Server Error", None), {}


def run_from_command_line(emulator_class: type[PmToolEmulator], doc: str | None, port: int,
                          argv: list[str] | None, details: Callable[[Any], list[str]]) -> int:
    """`python -m tests.emulators.<tool> --port PORT`: serve until Ctrl-C, after printing `api_url:` and
    `access_token:` (one line each, for scripts), then the tool's `details` lines."""
    name = emulator_class.name
    parser = argparse.ArgumentParser(prog=f"python -m tests.emulators.{name}", description=doc)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=port)
    args = parser.parse_args(argv)
    emulator: Any = emulator_class(host=args.host, port=args.port).start()
    for line in [f"api_url: {emulator.api_url}", f"access_token: {emulator.access_token}", *details(emulator)]:
        print(line, flush=True)
    return serve_until_interrupted(emulator)


class _Handler(BaseHTTPRequestHandler):
    emulator: PmToolEmulator
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:   # quiet: never log headers (they carry the token)
        pass

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        status, answer, extra = self.emulator.serve(self.command, self.path, self.headers, body)
        data = b"" if answer is None else json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=UTF-8")
        self.send_header("Content-Length", str(len(data)))
        for name, value in extra.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_DELETE = _handle
