"""Target options and environment → where the HubSpot API is, which portal it must be, and the token to send.

A HubSpot target authenticates with an app's static access token (reference/hubspot.md §2), read from an
environment variable, never from the repository: `HUBSPOT_ACCESS_TOKEN`, or the one `token_env:` names, so one
shell can hold the tokens of several clients. `api_url:` points at a proxy or the test emulator instead of the
public API, and `portal_id:` is the client's portal (hub) id, checked against the token's before anything is read.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from sos.backends.base import CiLogin
from sos.errors import Diagnostic, SosError
from sos.target import Target

PUBLIC_API_URL = "https://api.hubapi.com"
DEFAULT_TOKEN_ENV = "HUBSPOT_ACCESS_TOKEN"
# What sos reads and writes in a portal: deal pipelines and properties, the contact property hs_lead_status,
# company properties, and deals and contacts for audits and impact counts (reference §2, HubSpot's OpenAPI specs).
SCOPES = ("crm.schemas.deals.read", "crm.schemas.deals.write", "crm.schemas.contacts.read",
          "crm.schemas.contacts.write", "crm.schemas.companies.read", "crm.schemas.companies.write",
          "crm.objects.deals.read", "crm.objects.contacts.read", "crm.objects.companies.read")
# HubSpot stopped creating (legacy) private apps on 26 October 2026; existing ones keep working, and new portals use
# a developer-platform app with static auth installed in that one account (developers.hubspot.com/docs/apps/
# legacy-apps/private-apps/overview; .../apps/developer-platform/build-apps/authentication/overview).
CREATE_TOKEN = ("give sos an app in the client's HubSpot portal with the scopes " + ", ".join(SCOPES) + ": an "
                "existing private app (Development → Legacy apps; in older portals Settings → Integrations → Private "
                "Apps) or a developer-platform app with static auth installed in that portal (Development → Projects "
                "→ the app → Auth), and copy its access token")
# A private-app token's shape (`pat-na1-` and a UUID): hidden even where sos did not put it.
TOKEN_SHAPE = re.compile(r"\bpat-[a-z]{2}[0-9]-[0-9a-f-]{36}\b")
HIDDEN = "[redacted]"
LOOPBACK = {"127.0.0.1", "localhost", "::1"}


@dataclass(frozen=True)
class Connection:
    """Where to send calls, for which portal, and the token (never shown: not in repr, never in a message)."""

    api_url: str
    token_env: str
    portal_id: int | None
    token: str = field(repr=False)

    def redact(self, text: str) -> str:
        return TOKEN_SHAPE.sub(HIDDEN, text.replace(self.token, HIDDEN))


def connection(target: Target, environ: Mapping[str, str]) -> Connection:
    """The connection `target` describes, its token from `environ`; SosError at the target for what is wrong."""
    token_env = str(target.options.get("token_env") or DEFAULT_TOKEN_ENV)
    token = environ.get(token_env, "").strip()
    if not token:
        raise _error(target, f"target '{target.name}' reads its HubSpot access token from the environment variable "
                     f"{token_env}, which is not set", "hs-token-missing",
                     fix=f"{CREATE_TOKEN}; then `export {token_env}=<the token>` (never put it in sos.yaml)")
    return Connection(_api_url(target), token_env, _portal_id(target), token)


def ci_login(target: Target) -> CiLogin:
    """The one secret a CI runner needs: the token, under the name the target reads it from."""
    token_env = str(target.options.get("token_env") or DEFAULT_TOKEN_ENV)
    return CiLogin({token_env: f"the access token of the app sos uses in the client's portal ({CREATE_TOKEN})"})


def _api_url(target: Target) -> str:
    url = str(target.options.get("api_url") or PUBLIC_API_URL).rstrip("/")
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return url
    if parts.scheme == "http" and parts.hostname in LOOPBACK:
        return url
    raise _error(target, f"api_url '{url}' is not an https:// URL", "hs-api-url",
                 fix=f"use {PUBLIC_API_URL} (the default) or an https:// proxy; plain http:// is only for "
                     "127.0.0.1, where the token never crosses a network")


def _portal_id(target: Target) -> int | None:
    value = target.options.get("portal_id")
    if value is None:
        return None
    if isinstance(value, bool) or not str(value).isdigit():
        raise _error(target, f"portal_id '{value}' is not a HubSpot portal id", "hs-portal-id",
                     fix="copy the number HubSpot shows beside the account name in the account menu "
                         "(also in every app.hubspot.com URL)")
    return int(value)


def _error(target: Target, message: str, code: str, fix: str = "") -> SosError:
    return SosError(Diagnostic(target.origin, message, code, fix=fix))
