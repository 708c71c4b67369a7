"""`SalesforceEmulator`: a strict, stateful Salesforce API on https://127.0.0.1, in a background thread.

    with SalesforceEmulator() as emulator, emulator.ca_env():
        sf = emulator.client()                     # simple_salesforce.Salesforce, version 63.0
        sf.query("SELECT COUNT() FROM Opportunity")
        emulator.calls                             # Counter({'query': 1})

TLS uses a throwaway CA made by `trustme`; clients trust it through REQUESTS_CA_BUNDLE
(`ca_env()`), which both requests and zeep's own session honour (reference §2.4, Recipe A).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import socket
import ssl
import tempfile
import threading
import time
import traceback
from collections import Counter
from datetime import timedelta
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from collections.abc import Iterator, Mapping
from urllib.parse import parse_qsl, urlsplit

import requests
from lxml import etree
from requests.structures import CaseInsensitiveDict

from . import auth, flows, rest
from .faults import Faults
from .metadata_api import MetadataApi, SoapFault, fault_body, operation_of
from .org import USER_ID, Clock, FieldInfo, Org, SteppingClock
from ..serving import Served
from .schema import MetadataSchema, load_schema
from .xmlutil import PARSER, SOAP_NS, flag, kids, local, soap_fault, text

API_VERSION = "63.0"
MIN_VERSION = 31.0
REST_PATH = re.compile(r"^/services/data/v(\d+\.\d)(/.*)?$")
SOAP_PATH = re.compile(r"^/services/Soap/([um])/(\d+\.\d)(/.*)?$")
RATE_LIMIT_BODIES = {
    403: ("REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded."),
    429: ("REQUEST_LIMIT_EXCEEDED", "Too many requests. Retry after a while."),
    503: ("SERVER_UNAVAILABLE", "Server unavailable: the service is temporarily overloaded. Try again later."),
}


class SalesforceEmulator(Served):
    """One emulated org behind a TLS HTTP server on 127.0.0.1.

    Knobs: `latency_ms` (added to every call), `deploy_polls` / `retrieve_polls` / `bulk_polls` (status
    polls until an async job is done), `strict_order` (reject component XML not in WSDL
    order), `field_security` (on, as in a real org: a custom field is visible to REST and SOQL,
    and writable, only through a permission set assigned to the API user; reference §8), `daily_api_max`.
    State: `org` (seed records with `org.seed_opportunities`), `faults`, `calls`, `call_log`.
    """

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0, latency_ms: float = 0,
                 deploy_polls: int = 1, retrieve_polls: int = 1, bulk_polls: int = 1, access_token: str | None = None,
                 credentials: auth.Credentials | None = None, clock: Clock | None = None,
                 strict_order: bool = False, field_security: bool = True, daily_api_max: int = 15000,
                 quiet: bool = True) -> None:
        self.host = host
        self.port = port
        self.latency_ms = latency_ms
        self.deploy_polls = deploy_polls
        self.retrieve_polls = retrieve_polls
        self.bulk_polls = bulk_polls
        self.strict_order = strict_order
        self.field_security = self._field_security = field_security
        self.daily_api_max = daily_api_max
        self.quiet = quiet
        self.credentials = credentials or auth.Credentials()
        self.clock: Clock = clock or SteppingClock()
        self.access_token = access_token or auth.new_session_id()
        self.schema: MetadataSchema = load_schema()
        self.faults = Faults()
        self.calls: Counter[str] = Counter()
        self.call_log: list[str] = []
        self.internal_errors: list[str] = []
        # The running user's UTC offset, for TODAY() in formulas: west of GMT, where TODAY() and a
        # date and time's GMT date (DATEVALUE) differ for part of the day.
        self.user_offset = timedelta(hours=-8)
        self.api_usage = 0
        self.org = Org(self.clock)
        self._sessions = {self.access_token}
        self._lock = threading.RLock()
        self.metadata = MetadataApi(self)
        self.rest = rest.RestApi(self)
        self._tmpdir: str | None = None
        self.ca_file = ""

    # -- lifecycle ----------------------------------------------------------------------

    def start(self) -> SalesforceEmulator:
        import trustme

        ca = trustme.CA()
        leaf = ca.issue_cert("127.0.0.1", "localhost")
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        leaf.configure_cert(context)
        self._tmpdir = tempfile.mkdtemp(prefix="sf-emulator-")
        self.ca_file = os.path.join(self._tmpdir, "ca.pem")
        ca.cert_pem.write_to_path(self.ca_file)
        self.run_server(_TLSServer((self.host, self.port), type("Handler", (_Handler,), {"emulator": self}), context),
                   "salesforce-emulator")
        return self

    def stop(self) -> None:
        super().stop()
        if self._tmpdir is not None:
            shutil.rmtree(self._tmpdir, ignore_errors=True)
            self._tmpdir = None

    @property
    def instance_url(self) -> str:
        return f"https://{self.host}:{self.port}"

    def advance(self, delta: timedelta) -> None:
        """Let `delta` of time pass in the org (the test API; it needs the default SteppingClock): the clock moves
        on, and each flow's scheduled path that falls due runs at its time (flows.run_due)."""
        clock = self.clock
        assert isinstance(clock, SteppingClock), "advance() moves a SteppingClock"
        with self._lock:
            flows.run_due(self.org, clock() + delta, clock.move_to,
                          lambda obj, record: self.rest.context(obj, record, None))

    def reset(self) -> None:
        """A fresh org (standard values, no records), no faults, no counted calls, one valid session, field-level
        security as constructed."""
        with self._lock:
            self.org = Org(self.clock)
            self.faults.clear()
            self.calls.clear()
            self.call_log.clear()
            self.internal_errors.clear()
            self.api_usage = 0
            self.field_security = self._field_security
            self._sessions = {self.access_token}
            self.metadata = MetadataApi(self)
            self.rest = rest.RestApi(self)

    def finish_deploys(self) -> None:
        """Time passes in the org: every accepted deploy that nobody polled to its end runs to it."""
        with self._lock:
            self.metadata.finish_deploys()

    def invalidate_sessions(self) -> None:
        """Every session id stops working (a real expiry); logging in again issues a new one."""
        with self._lock:
            self._sessions.clear()

    # -- clients ------------------------------------------------------------------------

    @contextmanager
    def ca_env(self) -> Iterator[None]:
        """Trust the emulator's CA in requests and zeep (REQUESTS_CA_BUNDLE) for the block."""
        old = os.environ.get("REQUESTS_CA_BUNDLE")
        os.environ["REQUESTS_CA_BUNDLE"] = self.ca_file
        try:
            yield
        finally:
            if old is None:
                os.environ.pop("REQUESTS_CA_BUNDLE", None)
            else:
                os.environ["REQUESTS_CA_BUNDLE"] = old

    def requests_session(self) -> requests.Session:
        """A requests session that trusts the emulator's CA."""
        session = requests.Session()
        session.verify = self.ca_file
        return session

    def login_session(self) -> requests.Session:
        """A session that sends https://*.salesforce.com (login hosts, My Domain) to the emulator.

        For `Salesforce(username=..., consumer_key=..., session=emulator.login_session())`:
        simple-salesforce always logs in at https://{domain}.salesforce.com (reference §2.4).
        """
        return _LoginRewritingSession(self.instance_url, self.ca_file)

    def client(self, **kwargs: Any) -> Any:
        """A `simple_salesforce.Salesforce` connected with the emulator's session id (API 63.0).

        Metadata CRUD calls go through zeep's own session: run inside `ca_env()`.
        """
        from simple_salesforce.api import Salesforce

        kwargs.setdefault("session", self.requests_session())
        kwargs.setdefault("version", API_VERSION)
        return Salesforce(instance_url=self.instance_url, session_id=self.access_token, **kwargs)

    # -- field-level security -----------------------------------------------------------

    def field_visible(self, obj: str, info: FieldInfo) -> bool:
        return self._field_access(obj, info, "readable")

    def field_editable(self, obj: str, info: FieldInfo) -> bool:
        return self._field_access(obj, info, "editable")

    def _field_access(self, obj: str, info: FieldInfo, what: str) -> bool:
        if not self.field_security or not info.custom:
            return True
        assigned = {a["PermissionSetId"] for a in self.org.records["PermissionSetAssignment"].values()
                    if a.get("AssigneeId") == USER_ID}
        wanted = f"{obj}.{info.name}".lower()
        for permission_set in self.org.of_type("PermissionSet"):
            if permission_set.id not in assigned:
                continue
            for permission in kids(permission_set.body, "fieldPermissions"):
                if (text(permission, "field") or "").lower() == wanted and flag(permission, what):
                    return True
        return False

    # -- request handling (called from server threads) ---------------------------------

    def _record(self, operation: str) -> None:
        with self._lock:
            self.calls[operation] += 1
            self.call_log.append(operation)

    def _issue_session(self) -> str:
        token = auth.new_session_id()
        with self._lock:
            self._sessions.add(token)
        return token

    def _limit_header(self) -> dict[str, str]:
        return {"Sforce-Limit-Info": f"api-usage={self.api_usage}/{self.daily_api_max}"}

    def serve(self, method: str, raw_path: str, headers: Mapping[str, str],
              body: bytes) -> tuple[int, bytes, dict[str, str]]:
        """Answer one HTTP request: (status, body, headers)."""
        parts = urlsplit(raw_path)
        path = parts.path
        params = dict(parse_qsl(parts.query, keep_blank_values=True))
        if path.rstrip("/") == "/services/oauth2/token" and method == "POST":
            return self._oauth(headers, body)
        if path.rstrip("/") == "/services/oauth2/userinfo" and method == "GET":
            return self._userinfo(headers)
        soap = SOAP_PATH.match(path)
        if soap and soap.group(1) == "u" and method == "POST":
            self._record("login")
            self._delay()
            result = auth.soap_login(body, self.credentials, self._issue_session, self.instance_url, soap.group(2))
            return result.status, result.body, {"Content-Type": result.content_type}
        if soap and soap.group(1) == "m" and method == "POST":
            return self._metadata(soap.group(2), headers, body)
        if path.rstrip("/") == "/services/data":
            self._record("versions")
            versions = [{"label": f"v{v}", "url": f"/services/data/v{v}", "version": v}
                        for v in (f"{n}.0" for n in range(int(MIN_VERSION), int(float(API_VERSION)) + 1))]
            return 200, json.dumps(versions).encode(), {"Content-Type": rest.JSON_TYPE}
        match = REST_PATH.match(path)
        if match:
            return self._rest(method, match.group(1), match.group(2) or "/", params, headers, body)
        self._record("unknown")
        reply = rest.not_found()
        return reply.status, reply.body, {"Content-Type": reply.content_type}

    def _userinfo(self, headers: Mapping[str, str]) -> tuple[int, bytes, dict[str, str]]:
        self._record("userinfo")
        refusal = self._refusal("userinfo", _bearer(headers))
        if refusal is not None:
            reply = rest.error_reply(*refusal)
            return reply.status, reply.body, {"Content-Type": reply.content_type}
        result = auth.userinfo(self.instance_url)
        return result.status, result.body, {"Content-Type": result.content_type}

    def _delay(self) -> None:
        if self.latency_ms:
            time.sleep(self.latency_ms / 1000)

    def _oauth(self, headers: Mapping[str, str], body: bytes) -> tuple[int, bytes, dict[str, str]]:
        self._record("oauth_token")
        self._delay()
        form = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
        now_ms = int(self.clock().timestamp() * 1000)
        result = auth.oauth_token(form, headers, self.credentials, self._issue_session, self.instance_url, now_ms)
        return result.status, result.body, {"Content-Type": result.content_type}

    def _rest(self, method: str, version: str, path: str, params: Mapping[str, str], headers: Mapping[str, str],
              body: bytes) -> tuple[int, bytes, dict[str, str]]:
        operation = rest.operation(method, path)
        self._record(operation)
        self._delay()
        if not MIN_VERSION <= float(version) <= float(API_VERSION):
            reply = rest.not_found()
            return reply.status, reply.body, {"Content-Type": reply.content_type}
        token = _bearer(headers)
        refusal = self._refusal(operation, token)
        if refusal is not None:
            status, code, message = refusal
            reply = rest.error_reply(status, code, message)
            extra = {"Retry-After": "1"} if status in (429, 503) else {}
            return status, reply.body, {"Content-Type": reply.content_type, **extra}
        try:
            with self._lock:
                self.api_usage += 1
                reply = self.rest.handle(method, path, params, body, headers, version)
            if method in ("PATCH", "POST", "DELETE") and self.faults.take_lost_answer(operation):
                reply = rest.error_reply(503, *RATE_LIMIT_BODIES[503])
        except Exception:  # the emulator's own bug: report it, never echo the request
            self.internal_errors.append(traceback.format_exc())
            reply = rest.error_reply(500, "UNKNOWN_EXCEPTION", "An unexpected error occurred in the emulator")
        return reply.status, reply.body, {"Content-Type": reply.content_type, **reply.headers, **self._limit_header()}

    def _metadata(self, version: str, headers: Mapping[str, str], body: bytes) -> tuple[int, bytes, dict[str, str]]:
        xml_type = {"Content-Type": "text/xml;charset=UTF-8"}
        try:
            envelope = etree.fromstring(body, PARSER)
        except etree.XMLSyntaxError:
            self._record("soap")
            return 500, soap_fault("INVALID_XML", "The request is not well-formed XML"), xml_type
        soap_body = envelope.find(f"{{{SOAP_NS}}}Body")
        header = envelope.find(f"{{{SOAP_NS}}}Header")
        operation = operation_of(soap_body)
        self._record(operation)
        self._delay()
        if not MIN_VERSION <= float(version) <= float(API_VERSION):
            return 500, soap_fault("UNSUPPORTED_API_VERSION", f"Unsupported API version: {version}"), xml_type
        token = None
        if header is not None:
            for element in header.iter():
                if isinstance(element.tag, str) and local(element) == "sessionId":
                    token = (element.text or "").strip()
        refusal = self._refusal(operation, token)
        if refusal is not None:
            status, code, message = refusal
            # SOAP answers session and limit problems with a fault at HTTP 500; 429/503 keep their status.
            return (status if status in (429, 503) else 500), soap_fault(code, message), xml_type
        if soap_body is None or not kids(soap_body):
            return 500, soap_fault("INVALID_OPERATION", "Empty SOAP body"), xml_type
        try:
            with self._lock:
                self.api_usage += 1
                response = self.metadata.handle(operation, kids(soap_body)[0], header)
            return 200, response, {**xml_type, **self._limit_header()}
        except SoapFault as fault:
            return 500, fault_body(fault), xml_type
        except Exception:
            self.internal_errors.append(traceback.format_exc())
            return 500, soap_fault("UNKNOWN_EXCEPTION", "An unexpected error occurred in the emulator"), xml_type

    def _refusal(self, operation: str, token: str | None) -> tuple[int, str, str] | None:
        """Why an authenticated call is refused before it runs: (status, errorCode, message), or None."""
        if self.faults.take_drop(operation):
            raise DroppedConnection(operation)
        if self.faults.take_expired_session(operation):
            return 401, "INVALID_SESSION_ID", "Session expired or invalid"
        with self._lock:
            valid = token is not None and token in self._sessions
        if not valid:
            return 401, "INVALID_SESSION_ID", "Session expired or invalid"
        status = self.faults.take_rate_limit(operation)
        if status is not None:
            code, message = RATE_LIMIT_BODIES[status]
            return status, code, message
        if self.api_usage >= self.daily_api_max:
            return 403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded."
        return None


class DroppedConnection(Exception):
    """A scheduled fault: the handler closes the connection without answering."""


def _bearer(headers: Mapping[str, str]) -> str | None:
    value = headers.get("Authorization", "")
    for scheme in ("Bearer ", "OAuth "):
        if value.startswith(scheme):
            return value[len(scheme):].strip()
    return None


class _TLSServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], handler: type, context: ssl.SSLContext) -> None:
        self.context = context
        super().__init__(address, handler)

    def finish_request(self, request: Any, client_address: Any) -> None:
        # The TLS handshake happens here, in the connection's own thread, not in the accept loop.
        try:
            # Headers and body go out in separate writes: without NODELAY, Nagle and delayed ACKs
            # would add ~40 ms to every call.
            request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            tls = self.context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            return
        try:
            super().finish_request(tls, client_address)
        finally:
            with contextlib.suppress(OSError):
                tls.close()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "SalesforceEmulator/1.0"
    emulator: SalesforceEmulator

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        request_headers = CaseInsensitiveDict(self.headers.items())
        try:
            status, payload, headers = self.emulator.serve(self.command, self.path, request_headers, body)
        except DroppedConnection:
            self.close_connection = True   # no status line, no body: the client sees the connection end
            return
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _serve

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        if not self.emulator.quiet:
            # Request line and status only: headers (and so tokens) are never logged.
            super().log_message(format, *args)


class _LoginRewritingSession(requests.Session):
    """Sends https://<anything>.salesforce.com to the emulator (host rewriting, reference §2.4)."""

    HOST = re.compile(r"^https://[A-Za-z0-9.-]+\.salesforce\.com(?=/|$)")

    def __init__(self, instance_url: str, ca_file: str) -> None:
        super().__init__()
        self.instance_url = instance_url
        self.verify = ca_file

    def request(self, method: str, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        if isinstance(url, str):
            url = self.HOST.sub(self.instance_url, url)
        return super().request(method, url, *args, **kwargs)
