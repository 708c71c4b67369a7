"""Credentials for a Salesforce target: the sf CLI's login, or one of five environment-variable modes.

Logins reach the emulator through simple-salesforce itself: the OAuth and SOAP login hosts
(https://*.salesforce.com) are sent to it by `emulator.login_session()`, which the
authenticator takes as its `session`. The `sf` CLI is a fake script first on PATH: it is the
CLI, not the client library, that is replaced.
"""

from __future__ import annotations

import json
import stat
import sys
from pathlib import Path

import pytest

from sos.backends.salesforce.auth import Authenticator, Redactor, env_login, resolve_login
from sos.errors import SosError
from sos.target import Target
from tests.emulators.salesforce import SalesforceEmulator

URL = "https://acme.my.salesforce.com"
MODES = ("access token: SF_ACCESS_TOKEN + SF_INSTANCE_URL; "
         "OAuth username-password flow: SF_USERNAME + SF_PASSWORD + SF_CONSUMER_KEY + SF_CONSUMER_SECRET "
         "[+ SF_SECURITY_TOKEN, SF_DOMAIN]; "
         "username, password and security token: SF_USERNAME + SF_PASSWORD + SF_SECURITY_TOKEN [+ SF_DOMAIN]; "
         "JWT bearer flow: SF_USERNAME + SF_CONSUMER_KEY + SF_PRIVATE_KEY_FILE [+ SF_DOMAIN]; "
         "client credentials flow: SF_CONSUMER_KEY + SF_CONSUMER_SECRET + SF_DOMAIN")


def target(**options: object) -> Target:
    return Target("prod", "salesforce", options)


def error_of(env: dict[str, str], **options: object) -> SosError:
    with pytest.raises(SosError) as caught:
        env_login(target(**options), env)
    return caught.value


# -- which mode, and what is missing ------------------------------------------------------------


@pytest.mark.parametrize(("env", "options", "mode"), [
    pytest.param({"SF_ACCESS_TOKEN": "00Dxx!tok", "SF_INSTANCE_URL": URL}, {}, "token", id="token"),
    pytest.param({"SF_ACCESS_TOKEN": "00Dxx!tok"}, {"instance_url": URL}, "token", id="token-url-from-target"),
    pytest.param({"SF_USERNAME": "u", "SF_PASSWORD": "p", "SF_CONSUMER_KEY": "k", "SF_CONSUMER_SECRET": "s"}, {},
                 "oauth_password", id="oauth-password"),
    pytest.param({"SF_USERNAME": "u", "SF_PASSWORD": "p", "SF_SECURITY_TOKEN": "t"}, {}, "password", id="soap"),
    pytest.param({"SF_CONSUMER_KEY": "k", "SF_CONSUMER_SECRET": "s", "SF_DOMAIN": "acme.my"}, {},
                 "client_credentials", id="client-credentials"),
    pytest.param({"SF_CONSUMER_KEY": "k", "SF_CONSUMER_SECRET": "s"}, {"domain": "acme.my"},
                 "client_credentials", id="client-credentials-domain-from-target"),
])
def test_mode_chosen_from_the_environment(env: dict[str, str], options: dict[str, object], mode: str) -> None:
    login = env_login(target(**options), env)
    assert login.mode == mode
    assert login.api_version == "63.0"


@pytest.mark.parametrize(("env", "message"), [
    pytest.param({"SF_ACCESS_TOKEN": "00Dxx!secret-token"},
                 "Salesforce access token for target 'prod' is partly configured: SF_INSTANCE_URL (or instance_url "
                 "on the target) is not set", id="token-without-url"),
    pytest.param({"SF_USERNAME": "u", "SF_PASSWORD": "hunter2"},
                 "Salesforce username, password and security token for target 'prod' is partly configured: "
                 "SF_SECURITY_TOKEN is not set", id="password-without-token"),
    pytest.param({"SF_CONSUMER_KEY": "k", "SF_CONSUMER_SECRET": "s3cret"},
                 "Salesforce client credentials flow for target 'prod' is partly configured: SF_DOMAIN (or domain "
                 "on the target) is not set", id="client-credentials-without-domain"),
    pytest.param({"SF_USERNAME": "u", "SF_CONSUMER_KEY": "k"},
                 "Salesforce JWT bearer flow for target 'prod' is partly configured: SF_PRIVATE_KEY_FILE is not set",
                 id="jwt-without-key"),
    pytest.param({"SF_PASSWORD": "p", "SF_CONSUMER_KEY": "k", "SF_CONSUMER_SECRET": "s"},
                 "Salesforce OAuth username-password flow for target 'prod' is partly configured: SF_USERNAME is "
                 "not set", id="oauth-without-username"),
    pytest.param({"SF_USERNAME": "u"},
                 "Salesforce credentials for target 'prod' are incomplete (SF_USERNAME set): for the username, "
                 "password and security token also set SF_PASSWORD, SF_SECURITY_TOKEN; for the JWT bearer flow "
                 "also set SF_CONSUMER_KEY, SF_PRIVATE_KEY_FILE", id="username-alone"),
])
def test_partly_configured_mode_names_what_is_missing(env: dict[str, str], message: str) -> None:
    error = error_of(env)
    assert error.diagnostics[0].message == message
    for value in env.values():
        if len(value) > 4:
            assert value not in str(error)


def test_nothing_set_lists_every_mode() -> None:
    error = error_of({"SF_DOMAIN": "test"}).diagnostics[0]   # a setting alone is not a credential
    assert error.message == "no Salesforce credentials for target 'prod'"
    assert error.code == "sf-auth-missing"
    assert error.fix == f"set `org: ALIAS` on the target to use the sf CLI's login, or set one of: {MODES}"


def test_target_settings_win_and_api_version_comes_from_the_target() -> None:
    login = env_login(target(instance_url=URL, api_version="61.0"),
                      {"SF_ACCESS_TOKEN": "00Dxx!tok", "SF_INSTANCE_URL": "https://other.my.salesforce.com"})
    assert (login.kwargs["instance_url"], login.api_version) == (URL, "61.0")


def test_jwt_key_file_must_exist(tmp_path: Path) -> None:
    error = error_of({"SF_USERNAME": "u", "SF_CONSUMER_KEY": "k", "SF_PRIVATE_KEY_FILE": str(tmp_path / "no.pem")})
    assert error.diagnostics[0].message == f"SF_PRIVATE_KEY_FILE names {tmp_path / 'no.pem'}, which is not a " \
                                           "readable file"


def test_client_credentials_need_my_domain() -> None:
    error = error_of({"SF_CONSUMER_KEY": "k", "SF_CONSUMER_SECRET": "s", "SF_DOMAIN": "login"})
    assert error.diagnostics[0].message == "the client credentials flow needs the org's My Domain, not 'login'"


def test_redactor() -> None:
    redact = Redactor(("hunter2", "ab"))   # too short to redact safely: ignored
    assert redact("password hunter2, a session 00D000000000001!AQoAQH.x-_yzabcdefghijkl, ab") == \
        "password [redacted], a session [redacted], ab"


# -- logging in through simple-salesforce, against the emulator ------------------------------------


def test_access_token_connects_without_a_login(emulator: SalesforceEmulator) -> None:
    auth = Authenticator(target(instance_url=emulator.instance_url, api_version="62.0"),
                         environ={"SF_ACCESS_TOKEN": emulator.access_token})
    sf = auth.connect()
    assert (sf.sf_version, sf.sf_instance) == ("62.0", f"127.0.0.1:{emulator.port}")
    assert sf.query("SELECT COUNT() FROM Opportunity")["totalSize"] == 0
    assert not auth.renewable
    assert emulator.calls == {"query": 1}


def _login_env(emulator: SalesforceEmulator, mode: str, tmp_path: Path) -> dict[str, str]:
    creds = emulator.credentials
    if mode == "oauth_password":
        return {"SF_USERNAME": creds.username, "SF_PASSWORD": creds.password, "SF_CONSUMER_KEY": creds.consumer_key,
                "SF_CONSUMER_SECRET": creds.consumer_secret}
    if mode == "password":
        return {"SF_USERNAME": creds.username, "SF_PASSWORD": creds.password,
                "SF_SECURITY_TOKEN": creds.security_token}
    if mode == "client_credentials":
        return {"SF_CONSUMER_KEY": creds.consumer_key, "SF_CONSUMER_SECRET": creds.consumer_secret,
                "SF_DOMAIN": "acme.my"}
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = tmp_path / "server.key"
    pem.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption()))
    creds.jwt_public_key = key.public_key().public_bytes(serialization.Encoding.PEM,
                                                         serialization.PublicFormat.SubjectPublicKeyInfo)
    return {"SF_USERNAME": creds.username, "SF_CONSUMER_KEY": creds.consumer_key, "SF_PRIVATE_KEY_FILE": str(pem)}


@pytest.mark.parametrize(("mode", "endpoint"), [
    ("oauth_password", "oauth_token"), ("password", "login"), ("jwt", "oauth_token"),
    ("client_credentials", "oauth_token"),
])
def test_login_flows(emulator: SalesforceEmulator, tmp_path: Path, mode: str, endpoint: str) -> None:
    auth = Authenticator(target(), session=emulator.login_session(), environ=_login_env(emulator, mode, tmp_path))
    try:
        sf = auth.connect()
        assert auth.login is not None and auth.login.mode == mode and auth.renewable
        assert sf.sf_instance == f"127.0.0.1:{emulator.port}"
        assert sf.limits()["DailyApiRequests"]["Max"] == 15000
        assert emulator.calls == {endpoint: 1, "limits": 1}
        assert auth.redact(f"token {sf.session_id}") == "token [redacted]"
    finally:
        emulator.credentials.jwt_public_key = None


def test_refused_login_is_clear_and_secret_free(emulator: SalesforceEmulator) -> None:
    creds = emulator.credentials
    env = {"SF_USERNAME": creds.username, "SF_PASSWORD": "wrong-password-123", "SF_CONSUMER_KEY": creds.consumer_key,
           "SF_CONSUMER_SECRET": creds.consumer_secret}
    with pytest.raises(SosError) as caught:
        Authenticator(target(), session=emulator.login_session(), environ=env).connect()
    error = caught.value.diagnostics[0]
    assert error.message == ("Salesforce refused the login for target 'prod' (SF_USERNAME/SF_PASSWORD/"
                             "SF_CONSUMER_KEY): invalid_grant: authentication failure")
    assert "wrong-password-123" not in str(caught.value) and creds.consumer_secret not in str(caught.value)


# -- the sf CLI ------------------------------------------------------------------------------------


def fake_sf(folder: Path, orgs: dict[str, dict[str, str]]) -> Path:
    """An `sf` executable answering `sf org display --json --target-org ALIAS` like the real CLI; logs its calls."""
    folder.mkdir(exist_ok=True)
    log = folder / "calls.log"
    script = folder / "sf"
    script.write_text(f"""#!{sys.executable}
import json, sys
orgs = {json.dumps(orgs)!r}
with open({str(log)!r}, "a") as out:
    out.write(" ".join(sys.argv[1:]) + "\\n")
args = sys.argv[1:]
alias = args[args.index("--target-org") + 1]
org = json.loads(orgs).get(alias)
if org is None:
    print(json.dumps({{"name": "NamedOrgNotFoundError", "message": f"No authorization information found for {{alias}}.",
                      "exitCode": 1, "status": 1, "context": "OrgDisplay"}}))
    sys.exit(1)
print(json.dumps({{"status": 0, "result": {{"id": "00D000000000001AAA", "apiVersion": "63.0",
                   "accessToken": org["token"], "instanceUrl": org["url"], "username": "admin@acme.example",
                   "connectedStatus": "Connected", "alias": alias}}}}))
""", encoding="utf-8")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return log


def test_sf_cli_org_alias(emulator: SalesforceEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    log = fake_sf(tmp_path / "bin", {"acme-prod": {"token": emulator.access_token, "url": emulator.instance_url}})
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}:{'/usr/bin:/bin'}")
    auth = Authenticator(target(org="acme-prod"), environ={})
    sf = auth.connect()
    assert sf.query("SELECT COUNT() FROM Opportunity")["totalSize"] == 0
    assert log.read_text() == "org display --json --target-org acme-prod\n"
    assert auth.renewable and auth.login is not None and auth.login.mode == "sf_cli"


def test_sf_cli_unknown_alias(emulator: SalesforceEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_sf(tmp_path / "bin", {})
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    with pytest.raises(SosError) as caught:
        resolve_login(target(org="nope"), {})
    error = caught.value.diagnostics[0]
    assert error.message == "the sf CLI has no usable login for org 'nope' (sf said: No authorization information " \
                            "found for nope.)"
    assert error.fix == "run `sf org login web --alias nope` (or check the alias with `sf org list`)"


def test_sf_cli_alias_in_a_suggested_command_is_quoted(emulator: SalesforceEmulator, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    fake_sf(tmp_path / "bin", {})
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    with pytest.raises(SosError) as caught:
        resolve_login(target(org="acme prod;x"), {})
    assert caught.value.diagnostics[0].fix == ("run `sf org login web --alias 'acme prod;x'` (or check the alias "
                                               "with `sf org list`)")


def test_sf_cli_not_installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))          # an empty folder: no `sf` anywhere
    with pytest.raises(SosError) as caught:
        resolve_login(target(org="acme-prod", auth="sf_cli"), {})
    error = caught.value.diagnostics[0]
    assert error.message == "target 'prod' logs in through the sf CLI (org 'acme-prod'), but `sf` is not installed " \
                            "or not on PATH"
    assert error.code == "sf-cli-missing"
    assert error.fix.startswith("install the Salesforce CLI")


def test_auth_env_ignores_the_org_alias() -> None:
    login = resolve_login(target(org="acme-prod", auth="env", instance_url=URL), {"SF_ACCESS_TOKEN": "00Dxx!tok"})
    assert login.mode == "token"


def test_sf_cli_auth_needs_an_alias() -> None:
    with pytest.raises(SosError, match="has auth: sf_cli but no org alias"):
        resolve_login(target(auth="sf_cli"), {})
