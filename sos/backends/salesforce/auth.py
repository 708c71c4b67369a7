"""Target options and environment → a connected simple_salesforce.Salesforce, and the secrets to hide.

A Salesforce target gets credentials in one of these ways, never from the repository:

- the `sf` CLI's login of an org alias (`org: acme-prod` in sos.yaml): `sf org display --json`;
- environment variables, one mode each (the first complete one wins, in this order):
  SF_ACCESS_TOKEN + SF_INSTANCE_URL                          an access token (nothing to renew)
  SF_USERNAME + SF_PASSWORD + SF_CONSUMER_KEY + SF_CONSUMER_SECRET   OAuth username-password flow
  SF_USERNAME + SF_PASSWORD + SF_SECURITY_TOKEN (+ SF_DOMAIN)  SOAP username-password login
  SF_USERNAME + SF_CONSUMER_KEY + SF_PRIVATE_KEY_FILE (+ SF_DOMAIN)  OAuth JWT bearer flow
  SF_CONSUMER_KEY + SF_CONSUMER_SECRET + SF_DOMAIN           OAuth client credentials flow

`instance_url` and `domain` in sos.yaml stand in for SF_INSTANCE_URL and SF_DOMAIN (the
target's own setting wins). Every secret an `Authenticator` sees, including session ids
that logins hand back, is registered with its `Redactor`, which every message passes through.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from collections.abc import Callable, Mapping

from sos.backends.base import CiLogin
from sos.backends.salesforce.package import API_VERSION
from sos.errors import Diagnostic, SosError
from sos.target import Target

if TYPE_CHECKING:
    import requests
    from simple_salesforce import Salesforce

SF_CLI_TIMEOUT = 120  # seconds; `sf org display` may refresh the token over the network
REQUEST_TIMEOUT = (30, 300)  # seconds to connect, and to wait for an answer (Salesforce's own limit is 10 min)
# A Salesforce session id: an org id (15 or 18 characters), "!", opaque text. Redacted even when not registered.
SESSION_ID = re.compile(r"\b00D[A-Za-z0-9]{12,15}![A-Za-z0-9._\-]{16,}")
SECRET_VARIABLES = ("SF_ACCESS_TOKEN", "SF_PASSWORD", "SF_SECURITY_TOKEN", "SF_CONSUMER_SECRET")
HIDDEN = "[redacted]"


class Redactor:
    """Removes every registered secret (and anything shaped like a session id) from text."""

    def __init__(self, secrets: tuple[str, ...] = ()) -> None:
        self._secrets: set[str] = set()
        for secret in secrets:
            self.add(secret)

    def add(self, secret: str | None) -> None:
        # Very short values would blank out ordinary words; no real credential is that short.
        if secret and len(secret) >= 4:
            self._secrets.add(secret)

    def __call__(self, text: str) -> str:
        for secret in sorted(self._secrets, key=len, reverse=True):
            text = text.replace(secret, HIDDEN)
        return SESSION_ID.sub(HIDDEN, text)


@dataclass(frozen=True, slots=True)
class Mode:
    """One way to log in with environment variables."""

    name: str
    title: str
    variables: tuple[str, ...]  # all required (SF_INSTANCE_URL / SF_DOMAIN may come from the target instead)
    optional: tuple[str, ...] = ()


MODES = (
    Mode("token", "access token", ("SF_ACCESS_TOKEN", "SF_INSTANCE_URL")),
    Mode("oauth_password", "OAuth username-password flow",
         ("SF_USERNAME", "SF_PASSWORD", "SF_CONSUMER_KEY", "SF_CONSUMER_SECRET"), ("SF_SECURITY_TOKEN", "SF_DOMAIN")),
    Mode("password", "username, password and security token", ("SF_USERNAME", "SF_PASSWORD", "SF_SECURITY_TOKEN"),
         ("SF_DOMAIN",)),
    Mode("jwt", "JWT bearer flow", ("SF_USERNAME", "SF_CONSUMER_KEY", "SF_PRIVATE_KEY_FILE"), ("SF_DOMAIN",)),
    Mode("client_credentials", "client credentials flow", ("SF_CONSUMER_KEY", "SF_CONSUMER_SECRET", "SF_DOMAIN")),
)
# Settings rather than credentials: setting only these is not "partly configured".
SETTINGS = ("SF_INSTANCE_URL", "SF_DOMAIN")


@dataclass(frozen=True)
class Login:
    """How to log in to one org: the mode, and simple_salesforce.Salesforce keyword arguments (secret)."""

    mode: str
    source: str  # for messages: "SF_ACCESS_TOKEN", "sf CLI org 'acme-prod'"
    api_version: str
    kwargs: Mapping[str, Any] = field(repr=False)
    secrets: tuple[str, ...] = field(default=(), repr=False)


def api_version(target: Target) -> str:
    return str(target.options.get("api_version") or API_VERSION)


def _error(target: Target, message: str, code: str, fix: str = "") -> SosError:
    return SosError(Diagnostic(target.origin, message, code, fix=fix))


def _mode_list() -> str:
    parts = []
    for mode in MODES:
        optional = f" [+ {', '.join(mode.optional)}]" if mode.optional else ""
        parts.append(f"{mode.title}: {' + '.join(mode.variables)}{optional}")
    return "; ".join(parts)


def env_login(target: Target, environ: Mapping[str, str]) -> Login:
    """The login the environment describes for `target`; SosError naming what is missing."""
    def value(name: str) -> str | None:
        option = {"SF_INSTANCE_URL": "instance_url", "SF_DOMAIN": "domain"}.get(name)
        if option and target.options.get(option):
            return str(target.options[option])
        found = environ.get(name, "").strip()
        return found or None

    present = {mode.name: [v for v in mode.variables if value(v)] for mode in MODES}
    for mode in MODES:
        if len(present[mode.name]) == len(mode.variables):
            return _build_login(target, mode, value)
    credential_vars = sorted({v for mode in MODES for v in mode.variables if v not in SETTINGS and environ.get(v)})
    if not credential_vars:
        raise _error(target, f"no Salesforce credentials for target '{target.name}'", "sf-auth-missing",
                     fix=f"set `org: ALIAS` on the target to use the sf CLI's login, or set one of: {_mode_list()}")
    # The mode(s) the user started on: the most of their variables set, then the fewest missing.
    scored = [(len(present[m.name]), -(len(m.variables) - len(present[m.name])), m) for m in MODES
              if any(v in credential_vars for v in m.variables)]
    best = max((count, missing) for count, missing, _ in scored)
    candidates = [m for count, missing, m in scored if (count, missing) == best]
    where = {"SF_INSTANCE_URL": " (or instance_url on the target)", "SF_DOMAIN": " (or domain on the target)"}

    def missing_of(mode: Mode) -> str:
        return ", ".join(v + where.get(v, "") for v in mode.variables if not value(v))

    if len(candidates) == 1:
        mode = candidates[0]
        missing = [v for v in mode.variables if not value(v)]
        noun = "is" if len(missing) == 1 else "are"
        raise _error(target, f"Salesforce {mode.title} for target '{target.name}' is partly configured: "
                     f"{missing_of(mode)} {noun} not set", "sf-auth-incomplete",
                     fix=f"set {' + '.join(mode.variables)}")
    options = "; ".join(f"for the {m.title} also set {missing_of(m)}" for m in candidates)
    raise _error(target, f"Salesforce credentials for target '{target.name}' are incomplete "
                 f"({', '.join(credential_vars)} set): {options}", "sf-auth-incomplete")


def _build_login(target: Target, mode: Mode, value: Callable[[str], str | None]) -> Login:
    version = api_version(target)
    domain = value("SF_DOMAIN")
    if mode.name == "token":
        token, url = str(value("SF_ACCESS_TOKEN")), str(value("SF_INSTANCE_URL"))
        if not url.startswith("https://"):
            raise _error(target, f"the Salesforce instance URL for target '{target.name}' must start with "
                         "https://", "sf-auth-url", fix="for example https://acme.my.salesforce.com")
        return Login("token", "SF_ACCESS_TOKEN", version, {"session_id": token, "instance_url": url}, (token,))
    if mode.name == "oauth_password":
        password = str(value("SF_PASSWORD")) + (value("SF_SECURITY_TOKEN") or "")
        secret = str(value("SF_CONSUMER_SECRET"))
        kwargs = {"username": value("SF_USERNAME"), "password": password, "consumer_key": value("SF_CONSUMER_KEY"),
                  "consumer_secret": secret, "domain": domain}
        return Login(mode.name, "SF_USERNAME/SF_PASSWORD/SF_CONSUMER_KEY", version, kwargs,
                     (password, str(value("SF_PASSWORD")), value("SF_SECURITY_TOKEN") or "", secret))
    if mode.name == "password":
        password, token = str(value("SF_PASSWORD")), str(value("SF_SECURITY_TOKEN"))
        kwargs = {"username": value("SF_USERNAME"), "password": password, "security_token": token, "domain": domain}
        return Login(mode.name, "SF_USERNAME/SF_PASSWORD/SF_SECURITY_TOKEN", version, kwargs,
                     (password, token, password + token))
    if mode.name == "jwt":
        key_file = Path(str(value("SF_PRIVATE_KEY_FILE"))).expanduser()
        if not key_file.is_file():
            raise _error(target, f"SF_PRIVATE_KEY_FILE names {key_file}, which is not a readable file",
                         "sf-auth-key", fix="point it at the PEM private key of the connected app's certificate")
        kwargs = {"username": value("SF_USERNAME"), "consumer_key": value("SF_CONSUMER_KEY"),
                  "privatekey_file": str(key_file), "domain": domain}
        return Login(mode.name, "SF_USERNAME/SF_CONSUMER_KEY/SF_PRIVATE_KEY_FILE", version, kwargs)
    secret = str(value("SF_CONSUMER_SECRET"))
    if domain in ("login", "test"):
        raise _error(target, f"the client credentials flow needs the org's My Domain, not '{domain}'",
                     "sf-auth-domain", fix="set SF_DOMAIN (or domain on the target) to e.g. acme.my")
    kwargs = {"consumer_key": value("SF_CONSUMER_KEY"), "consumer_secret": secret, "domain": domain}
    return Login(mode.name, "SF_CONSUMER_KEY/SF_CONSUMER_SECRET", version, kwargs, (secret,))


def sf_cli_login(target: Target, alias: str) -> Login:
    """The access token and instance URL the `sf` CLI holds for `alias` (it refreshes them as needed)."""
    executable = shutil.which("sf")
    if executable is None:
        raise _error(target, f"target '{target.name}' logs in through the sf CLI (org '{alias}'), but `sf` is not "
                     "installed or not on PATH", "sf-cli-missing",
                     fix="install the Salesforce CLI (https://developer.salesforce.com/tools/salesforcecli) and run "
                         f"`sf org login web --alias {shlex.quote(alias)}`, or use environment variables: "
                         f"{_mode_list()}")
    try:
        done = subprocess.run([executable, "org", "display", "--json", "--target-org", alias],
                              capture_output=True, text=True, timeout=SF_CLI_TIMEOUT, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise _error(target, f"could not run `sf org display` for org '{alias}': {type(exc).__name__}",
                     "sf-cli-failed") from None
    try:
        data = json.loads(done.stdout or "{}")
    except json.JSONDecodeError:
        data = {}
    result = data.get("result") if isinstance(data, dict) else None
    token = result.get("accessToken") if isinstance(result, dict) else None
    url = result.get("instanceUrl") if isinstance(result, dict) else None
    if done.returncode != 0 or not token or not url:
        said = data.get("message") if isinstance(data, dict) else None
        redact = Redactor((token or "",))
        detail = f" (sf said: {redact(str(said))})" if said else ""
        raise _error(target, f"the sf CLI has no usable login for org '{alias}'{detail}", "sf-cli-no-org",
                     fix=f"run `sf org login web --alias {shlex.quote(alias)}` (or check the alias with `sf org list`)")
    return Login("sf_cli", f"sf CLI org '{alias}'", api_version(target),
                 {"session_id": str(token), "instance_url": str(url)}, (str(token),))


def resolve_login(target: Target, environ: Mapping[str, str] | None = None) -> Login:
    """How `target` logs in: its `auth` option, else the sf CLI when `org` is set, else the environment."""
    environ = os.environ if environ is None else environ
    auth = target.options.get("auth")
    alias = target.options.get("org")
    if auth == "sf_cli" or (auth is None and alias):
        if not alias:
            raise _error(target, f"target '{target.name}' has auth: sf_cli but no org alias", "sf-auth-missing",
                         fix="add `org: ALIAS` (an alias from `sf org list`)")
        return sf_cli_login(target, str(alias))
    return env_login(target, environ)


def ci_login(target: Target) -> CiLogin:
    """What a CI runner needs to log in as `resolve_login` would: the sf CLI logged in from the org's SFDX auth URL
    (Salesforce's way for CI, developer.salesforce.com "Authorize an Org Using Its SFDX Authorization URL") when
    the target names an org, else the client credentials flow, which needs no user's password in a secret."""
    alias = target.options.get("org")
    if target.options.get("auth") != "env" and alias:
        where = '"$RUNNER_TEMP/sfdx-auth-url"'
        return CiLogin({"SF_AUTH_URL": f"the org's SFDX auth URL: `sf org auth show-sfdx-auth-url --target-org "
                                      f"{shlex.quote(str(alias))} --no-prompt` where you logged in with `sf org "
                                      "login web`"},
                       ("npm install --global @salesforce/cli",
                        f"printf '%s' \"$SF_AUTH_URL\" > {where}",
                        f"sf org login sfdx-url --sfdx-url-file {where} --alias {shlex.quote(str(alias))}",
                        f"rm {where}"))
    secrets = {"SF_CONSUMER_KEY": "the consumer key of the connected (or external client) app with the client "
                                  "credentials flow enabled and a run-as user",
               "SF_CONSUMER_SECRET": "that app's consumer secret"}
    if not target.options.get("domain"):
        secrets["SF_DOMAIN"] = "the org's My Domain (acme.my for https://acme.my.salesforce.com)"
    return CiLogin(secrets)


def _timeout_session() -> requests.Session:
    """A requests session whose calls give up instead of hanging (simple-salesforce sets no timeout)."""
    import requests

    class TimeoutSession(requests.Session):
        def request(self, method: str, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
            kwargs.setdefault("timeout", REQUEST_TIMEOUT)
            return super().request(method, url, *args, **kwargs)

    return TimeoutSession()


class Authenticator:
    """Connects to one target's org, anew on every `connect()` (a login, or a fresh `sf org display`)."""

    def __init__(self, target: Target, *, session: requests.Session | None = None,
                 environ: Mapping[str, str] | None = None) -> None:
        self.target = target
        self.session = session  # tests: a requests session that reaches the emulator's login endpoints
        self.environ = os.environ if environ is None else environ
        self.redact = Redactor(tuple(self.environ.get(name, "") for name in SECRET_VARIABLES))
        self.login: Login | None = None

    @property
    def api_version(self) -> str:
        return api_version(self.target)

    @property
    def renewable(self) -> bool:
        """Whether connecting again can yield a new session (not so for a fixed SF_ACCESS_TOKEN)."""
        return self.login is None or self.login.mode != "token"

    def renew_hint(self) -> str:
        return ("get a new access token (for example `sf org display --target-org ALIAS --json`, field "
                "accessToken), put it in SF_ACCESS_TOKEN, and run the command again; or set `org: ALIAS` on the "
                "target so sos asks the sf CLI, which renews tokens itself")

    def connect(self) -> Salesforce:
        from simple_salesforce import Salesforce
        from simple_salesforce.exceptions import SalesforceAuthenticationFailed

        login = resolve_login(self.target, self.environ)
        self.login = login
        for secret in login.secrets:
            self.redact.add(secret)
        kwargs = {k: v for k, v in login.kwargs.items() if v is not None}
        try:
            sf = Salesforce(version=login.api_version, session=self.session or _timeout_session(), **kwargs)
        except SalesforceAuthenticationFailed as exc:
            raise _error(self.target, self.redact(f"Salesforce refused the login for target '{self.target.name}' "
                                                  f"({login.source}): {exc.code}: {exc.auth_message}"),
                         "sf-auth-failed", fix="check the credentials and the login domain (SF_DOMAIN: login for "
                                               "production, test for sandboxes, or the My Domain prefix)") from None
        except Exception as exc:  # noqa: BLE001 — network and library errors; the message is redacted
            raise _error(self.target, self.redact(f"could not log in to Salesforce for target '{self.target.name}' "
                                                  f"({login.source}): {type(exc).__name__}: {exc}"),
                         "sf-auth-failed") from None
        self.redact.add(sf.session_id)
        return sf
