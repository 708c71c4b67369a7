"""A Pipedrive target's options and environment → where to call and with which API token.

    targets:
      acme:
        type: pipedrive
        company_domain: acme          # acme.pipedrive.com
        token_env: ACME_PIPEDRIVE     # optional; PIPEDRIVE_API_TOKEN by default
        api_url: http://127.0.0.1:8765   # optional: a proxy or the test emulator

The token is a user's personal API token, per user and per company (reference/pipedrive.md §2); it comes only from
the environment, never from sos.yaml, and no `repr` or message shows it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from sos.backends.base import CiLogin
from sos.errors import Diagnostic, SosError
from sos.target import Target

TOKEN_ENV = "PIPEDRIVE_API_TOKEN"
TOKEN_HOW = ("create one in Pipedrive under Settings → Personal preferences → API (a token belongs to one user of "
             "one company)")
# A company domain is the first label of https://<domain>.pipedrive.com.
DOMAIN = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# Plain HTTP only to this machine (the emulator): anywhere else it would send the token in clear.
LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


@dataclass(frozen=True)
class Connection:
    """Where a target's Pipedrive company answers, and the token (kept out of repr) that opens it."""

    api_url: str          # without a trailing slash; /api/v1/... and /api/v2/... go after it
    company_domain: str
    token_env: str
    token: str = field(repr=False)


def connection(target: Target, environ: Mapping[str, str] = os.environ) -> Connection:
    """The connection `target` describes; SosError at the target in sos.yaml for what is missing or wrong."""
    domain = target.options.get("company_domain")
    if not isinstance(domain, str) or not DOMAIN.match(domain.strip().lower()):
        raise _error(target, f"target '{target.name}' needs `company_domain:`, the name in the company's address "
                     "(acme for https://acme.pipedrive.com)" if domain is None else
                     f"company_domain '{domain}' of target '{target.name}' is not a Pipedrive company domain",
                     "pd-target", fix="set company_domain to the first part of the address you sign in at, "
                     "e.g. acme for https://acme.pipedrive.com")
    domain = domain.strip().lower()
    token_env = target.options.get("token_env", TOKEN_ENV)
    if not isinstance(token_env, str) or not ENV_NAME.match(token_env):
        raise _error(target, f"token_env of target '{target.name}' is not an environment variable name",
                     "pd-target", fix=f"name the variable that holds the API token, e.g. {TOKEN_ENV}")
    api_url = _api_url(target, target.options.get("api_url") or f"https://{domain}.pipedrive.com")
    token = environ.get(token_env, "").strip()
    if not token:
        raise _error(target, f"no Pipedrive API token for target '{target.name}': the environment variable "
                     f"{token_env} is not set", "pd-token-missing",
                     fix=f"{TOKEN_HOW}, then `export {token_env}=<token>` (or set it in the CI's secrets)")
    return Connection(api_url, domain, token_env, token)


def ci_login(target: Target) -> CiLogin:
    """The one secret a CI runner needs: the API token, under the name the target reads it from."""
    token_env = str(target.options.get("token_env", TOKEN_ENV))
    return CiLogin({token_env: f"the Pipedrive API token sos acts with ({TOKEN_HOW})"})


def _api_url(target: Target, value: object) -> str:
    parts = urlsplit(value) if isinstance(value, str) else None
    secure = parts is not None and parts.scheme == "https" and bool(parts.hostname)
    local = parts is not None and parts.scheme == "http" and parts.hostname in LOOPBACK
    if not isinstance(value, str) or not (secure or local):
        raise _error(target, f"api_url '{value}' of target '{target.name}' is not an https:// URL", "pd-target",
                     fix="use https:// (plain http:// only to 127.0.0.1 or localhost, where the emulator runs), "
                         "or leave api_url out to call https://<company_domain>.pipedrive.com")
    return value.rstrip("/")


def _error(target: Target, message: str, code: str, fix: str) -> SosError:
    return SosError(Diagnostic(target.origin, message, code, fix=fix))
