"""Logging in: OAuth 2.0 token endpoint (password, client_credentials, JWT bearer) and SOAP partner login.

Both issue a fresh session id on success. simple-salesforce only reaches these through
host rewriting (its login host is always https://{domain}.salesforce.com, reference
§2.4) or through `SalesforceLogin(..., scratch_url=emulator.instance_url)` for SOAP.
Error bodies never echo a password, secret or token.
"""

from __future__ import annotations

import base64
import json
import secrets
import time
from dataclasses import dataclass
from collections.abc import Callable, Mapping
from xml.sax.saxutils import escape

from lxml import etree

from .org import ORG_ID, USER_ID
from .xmlutil import PARSER, SOAP_NS, local

PARTNER_NS = "urn:partner.soap.sforce.com"
PARTNER_FAULT_NS = "urn:fault.partner.soap.sforce.com"
JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"


@dataclass
class Credentials:
    """What the emulated org accepts at login. Defaults are fine for tests; override per test."""

    username: str = "integration@emulator.example"
    password: str = "emulator-password"
    security_token: str = "EMULATORTOKEN"
    consumer_key: str = "3MVG9EmulatorConsumerKey"
    consumer_secret: str = "emulator-consumer-secret"
    jwt_public_key: str | bytes | None = None      # PEM; when set, JWT signatures are verified


def new_session_id() -> str:
    """A session id shaped like Salesforce's: org id, '!', opaque text."""
    return f"{ORG_ID[:15]}!{secrets.token_urlsafe(40)}"


@dataclass
class AuthResult:
    status: int
    body: bytes
    content_type: str


def oauth_token(form: Mapping[str, str], headers: Mapping[str, str], credentials: Credentials,
                issue: Callable[[], str], instance_url: str, now_ms: int) -> AuthResult:
    """POST /services/oauth2/token."""
    def fail(error: str, description: str) -> AuthResult:
        return AuthResult(400, json.dumps({"error": error, "error_description": description}).encode(),
                          "application/json;charset=UTF-8")

    grant = form.get("grant_type", "")
    if grant == "password":
        problem = _check_password(form, credentials)
    elif grant == "client_credentials":
        problem = _check_client_credentials(form, headers, credentials)
    elif grant == JWT_GRANT:
        problem = _check_jwt(form.get("assertion", ""), credentials)
    else:
        problem = ("unsupported_grant_type", "grant type not supported")
    if problem is not None:
        return fail(*problem)
    token = issue()
    payload = {"access_token": token, "instance_url": instance_url,
               "id": f"{instance_url}/id/{ORG_ID}/{USER_ID}", "token_type": "Bearer",
               "issued_at": str(now_ms), "signature": base64.b64encode(secrets.token_bytes(32)).decode()}
    if grant == "password":
        payload["scope"] = "api"
    return AuthResult(200, json.dumps(payload).encode(), "application/json;charset=UTF-8")


def _check_password(form: Mapping[str, str], credentials: Credentials) -> tuple[str, str] | None:
    """The OAuth error (error, description) of a username-password grant; None if it is good."""
    if form.get("client_id") != credentials.consumer_key:
        return "invalid_client_id", "client identifier invalid"
    if form.get("client_secret") != credentials.consumer_secret:
        return "invalid_client", "invalid client credentials"
    if form.get("username") != credentials.username or form.get("password") not in (
            credentials.password, credentials.password + credentials.security_token):
        return "invalid_grant", "authentication failure"
    return None


def _check_client_credentials(form: Mapping[str, str], headers: Mapping[str, str],
                              credentials: Credentials) -> tuple[str, str] | None:
    """The OAuth error of a client credentials grant, the client in the form or in Basic auth; None if good."""
    key, secret = form.get("client_id"), form.get("client_secret")
    authorization = headers.get("Authorization", "")
    if authorization.startswith("Basic "):
        try:
            key, _, secret = base64.b64decode(authorization[6:]).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            return "invalid_client", "invalid client credentials"
    if key != credentials.consumer_key:
        return "invalid_client_id", "client identifier invalid"
    if secret != credentials.consumer_secret:
        return "invalid_client", "invalid client credentials"
    return None


def userinfo(instance_url: str) -> AuthResult:
    """GET /services/oauth2/userinfo with a valid access token: the running user (Help, "Query for User
    Information": OpenID Connect claims, `user_id` among them)."""
    payload = {"sub": f"{instance_url}/id/{ORG_ID}/{USER_ID}", "user_id": USER_ID, "organization_id": ORG_ID,
               "preferred_username": "integration@example.com", "zoneinfo": "GMT"}
    return AuthResult(200, json.dumps(payload).encode(), "application/json;charset=UTF-8")


def _check_jwt(assertion: str, credentials: Credentials) -> tuple[str, str] | None:
    import jwt

    try:
        if credentials.jwt_public_key is not None:
            claims = jwt.decode(assertion, credentials.jwt_public_key, algorithms=["RS256"],
                                options={"verify_aud": False})
        else:
            header = jwt.get_unverified_header(assertion)
            if header.get("alg") != "RS256":
                return ("invalid_grant", "invalid assertion")
            claims = jwt.decode(assertion, options={"verify_signature": False})
    except jwt.PyJWTError:
        return ("invalid_grant", "invalid assertion")
    if claims.get("iss") != credentials.consumer_key:
        return ("invalid_client_id", "client identifier invalid")
    if claims.get("sub") != credentials.username:
        return ("invalid_grant", "user hasn't approved this consumer")
    audience = str(claims.get("aud", ""))
    if not (audience.startswith("https://") and audience.endswith(".salesforce.com")):
        return ("invalid_grant", "audience is invalid")
    try:
        expires = float(claims.get("exp", 0))
    except (TypeError, ValueError):
        return ("invalid_grant", "invalid assertion")
    if expires < time.time():   # simple-salesforce sets exp = now + 3 minutes
        return ("invalid_grant", "expired authorization code")
    return None


def soap_login(body: bytes, credentials: Credentials, issue: Callable[[], str], instance_url: str,
               version: str) -> AuthResult:
    """POST /services/Soap/u/NN.N with a partner `login` body."""
    try:
        root = etree.fromstring(body, PARSER)
    except etree.XMLSyntaxError:
        return _login_fault("INVALID_LOGIN", "Invalid username, password, security token; or user locked out.")
    fields = {local(e): (e.text or "") for e in root.iter() if isinstance(e.tag, str)}
    if "login" not in fields:
        return _login_fault("UNKNOWN_EXCEPTION", "Expected a login request")
    if fields.get("username") != credentials.username or fields.get("password") not in (
            credentials.password + credentials.security_token,):
        return _login_fault("INVALID_LOGIN", "Invalid username, password, security token; or user locked out.")
    token = issue()
    server = f"{instance_url}/services/Soap/u/{version}/{ORG_ID[:15]}"
    metadata = f"{instance_url}/services/Soap/m/{version}/{ORG_ID[:15]}"
    xml = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<soapenv:Envelope xmlns:soapenv="{SOAP_NS}" xmlns="{PARTNER_NS}" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        "<soapenv:Body><loginResponse><result>"
        f"<metadataServerUrl>{escape(metadata)}</metadataServerUrl><passwordExpired>false</passwordExpired>"
        f"<sandbox>false</sandbox><serverUrl>{escape(server)}</serverUrl><sessionId>{token}</sessionId>"
        f"<userId>{USER_ID}</userId><userInfo><organizationId>{ORG_ID}</organizationId>"
        f"<userName>{escape(credentials.username)}</userName></userInfo>"
        "</result></loginResponse></soapenv:Body></soapenv:Envelope>"
    )
    return AuthResult(200, xml.encode(), "text/xml;charset=UTF-8")


def _login_fault(code: str, message: str) -> AuthResult:
    xml = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<soapenv:Envelope xmlns:soapenv="{SOAP_NS}" xmlns:sf="{PARTNER_FAULT_NS}">'
        "<soapenv:Body><soapenv:Fault>"
        f"<faultcode>sf:{code}</faultcode><faultstring>{code}: {escape(message)}</faultstring>"
        f"<detail><sf:LoginFault><sf:exceptionCode>{code}</sf:exceptionCode>"
        f"<sf:exceptionMessage>{escape(message)}</sf:exceptionMessage></sf:LoginFault></detail>"
        "</soapenv:Fault></soapenv:Body></soapenv:Envelope>"
    )
    return AuthResult(500, xml.encode(), "text/xml;charset=UTF-8")
