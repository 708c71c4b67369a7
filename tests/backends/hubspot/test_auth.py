"""Where a HubSpot target's token, API and portal come from, and what is refused before any call."""

from __future__ import annotations

import pytest

from sos.backends.hubspot.auth import connection
from sos.errors import SosError
from tests.backends.hubspot.conftest import hubspot_target

TOKEN = "pat-na1-0b5e7f3c-2d4a-4c8e-9f1b-6a7d8e9f0a1b"


def test_the_token_comes_from_hubspot_access_token_and_the_public_api_is_the_default() -> None:
    found = connection(hubspot_target(), {"HUBSPOT_ACCESS_TOKEN": TOKEN})
    assert (found.api_url, found.token_env, found.portal_id, found.token) == (
        "https://api.hubapi.com", "HUBSPOT_ACCESS_TOKEN", None, TOKEN)


def test_token_env_names_another_variable_so_one_shell_holds_several_clients() -> None:
    environ = {"HUBSPOT_ACCESS_TOKEN": "pat-na1-someone-else", "ACME_HUBSPOT_TOKEN": TOKEN}
    found = connection(hubspot_target(token_env="ACME_HUBSPOT_TOKEN", portal_id="62515"), environ)
    assert (found.token, found.token_env, found.portal_id) == (TOKEN, "ACME_HUBSPOT_TOKEN", 62515)


@pytest.mark.parametrize("environ", [{}, {"HUBSPOT_ACCESS_TOKEN": "  "}], ids=["unset", "blank"])
def test_a_missing_token_names_the_variable_and_how_to_create_a_private_app_token(environ: dict[str, str]) -> None:
    with pytest.raises(SosError) as missing:
        connection(hubspot_target(), environ)
    diagnostic = missing.value.diagnostics[0]
    assert str(missing.value) == ("sos.yaml:4:3: error: target 'acme' reads its HubSpot access token from the "
                                  "environment variable HUBSPOT_ACCESS_TOKEN, which is not set [hs-token-missing]")
    assert "Development → Legacy apps" in diagnostic.fix and "Development → Projects → the app → Auth" in diagnostic.fix
    assert "crm.schemas.deals.write" in diagnostic.fix
    assert diagnostic.fix.endswith("`export HUBSPOT_ACCESS_TOKEN=<the token>` (never put it in sos.yaml)")


@pytest.mark.parametrize(("api_url", "accepted"), [
    pytest.param("http://127.0.0.1:8765/", "http://127.0.0.1:8765", id="emulator"),
    pytest.param("https://hubspot-proxy.example.com", "https://hubspot-proxy.example.com", id="https-proxy"),
    pytest.param("http://hubspot-proxy.example.com", None, id="plain-http-elsewhere"),
    pytest.param("api.hubapi.com", None, id="no-scheme"),
])
def test_api_url_never_sends_the_token_unencrypted_over_a_network(api_url: str, accepted: str | None) -> None:
    if accepted is not None:
        assert connection(hubspot_target(api_url=api_url), {"HUBSPOT_ACCESS_TOKEN": TOKEN}).api_url == accepted
        return
    with pytest.raises(SosError) as refused:
        connection(hubspot_target(api_url=api_url), {"HUBSPOT_ACCESS_TOKEN": TOKEN})
    assert str(refused.value) == f"sos.yaml:4:3: error: api_url '{api_url}' is not an https:// URL [hs-api-url]"


@pytest.mark.parametrize("portal_id", ["acme", True, "-5"])
def test_a_portal_id_that_is_not_a_number_is_refused(portal_id: object) -> None:
    with pytest.raises(SosError) as refused:
        connection(hubspot_target(portal_id=portal_id), {"HUBSPOT_ACCESS_TOKEN": TOKEN})
    assert str(refused.value) == (f"sos.yaml:4:3: error: portal_id '{portal_id}' is not a HubSpot portal id "
                                  "[hs-portal-id]")


def test_the_token_is_not_in_the_connections_repr_and_redaction_hides_it_and_any_token_shaped_text() -> None:
    found = connection(hubspot_target(), {"HUBSPOT_ACCESS_TOKEN": TOKEN})
    assert TOKEN not in repr(found) and "token=" not in repr(found)
    other = "pat-eu1-11111111-2222-3333-4444-555555555555"
    assert found.redact(f"sent {TOKEN} and {other}") == "sent [redacted] and [redacted]"
