"""Single sign-on against a real OpenID provider (tests/console/oidc.py), through the app:
the claims' role and areas, the audit under the person's name, "no access" audited, a
tampered, expired, foreign or replayed token refused, sessions' expiry and revocation, the
throttle, and the production secret check."""

import base64
import hashlib
import html
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import requests
from fastapi.testclient import TestClient
from joserfc import jwt
from joserfc.jwk import RSAKey
from joserfc.jws import extract_compact
from pydantic import ValidationError
from sqlmodel import Session, select

from models import AuditEvent, CohortMembership, ConsoleSession, Person, Role, SignInAttempt
from models.base import utcnow
from service.config import Settings
from service.console.session import COOKIE_NAME
from service.deps import current_settings
from service.main import app
from service.oidc import OidcProvider, SignInFailed, provider_for
from service.store import sessions as session_store
from service.throttle import Throttle
from tests.console.conftest import state_purpose
from tests.console.oidc import (
    ALL_AREAS_GROUP,
    ANALYST_GROUP,
    BRISTOL_GROUP,
    CLIENT_ID,
    OM_GROUP,
    Provider,
    running_provider,
)

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Provider]:
    with running_provider(tmp_path_factory.mktemp("oidc")) as running:
        running.add_person("alice", name="Alice Example", groups=[OM_GROUP, BRISTOL_GROUP])
        running.add_person("bob", name="Bob Analyst", groups=[ANALYST_GROUP, ALL_AREAS_GROUP])
        running.add_person("carol", name="Carol Nogroup", groups=["someone-elses-group"])
        yield running


@pytest.fixture
def sso(provider: Provider, app_on_test_session: None, demo: Any) -> Iterator[Settings]:
    """The app configured for the provider (settings overridden for this test)."""
    settings = Settings(**provider.settings())
    app.dependency_overrides[current_settings] = lambda: settings
    yield settings
    app.dependency_overrides.pop(current_settings, None)


def browser() -> TestClient:
    return TestClient(app, base_url="https://testserver")


def at_provider(authorize_url: str, sub: str) -> str:
    """The person signs in at the provider's form; the redirect back to the console."""
    answer = httpx.post(authorize_url, data={"sub": sub}, timeout=10)
    assert answer.status_code in (302, 303), answer.text
    return answer.headers["location"]


def sign_in(client: TestClient, sub: str, next_url: str = "/console/report") -> httpx.Response:
    """The whole code flow: console -> provider -> callback; the callback's answer."""
    start = client.get("/console/sign-in/oidc", params={"next": next_url},
                       follow_redirects=False)
    assert start.status_code == 303, start.text
    authorize = start.headers["location"]
    query = parse_qs(urlsplit(authorize).query)
    assert query["code_challenge_method"] == ["S256"] and query["code_challenge"]
    assert query["nonce"] and query["state"] and query["client_id"] == [CLIENT_ID]
    back = at_provider(authorize, sub)
    return client.get(back.replace("http://testserver", "https://testserver"),
                      follow_redirects=False)


def a_member(session: Session, area: str) -> int:
    member = session.exec(select(CohortMembership).join(Person)
                          .where(Person.home_area == area)
                          .order_by(CohortMembership.id)).first()
    assert member is not None
    return member.person_id


def test_the_provider_is_sent_a_pkce_challenge_of_the_kept_verifier(
        sso: Settings, session: Session) -> None:
    start = browser().get("/console/sign-in/oidc", follow_redirects=False)
    query = parse_qs(urlsplit(start.headers["location"]).query)
    attempt = session.exec(select(SignInAttempt).where(
        SignInAttempt.state_hash == session_store.token_hash(query["state"][0]))).one()
    digest = hashlib.sha256(attempt.code_verifier.encode()).digest()
    assert query["code_challenge"] == [base64.urlsafe_b64encode(digest).decode().rstrip("=")]
    assert query["nonce"] == [attempt.nonce] and len(attempt.code_verifier) >= 43
    assert "iom_sign_in=" + query["state"][0] in start.headers["set-cookie"]


def test_a_person_signs_in_with_the_role_and_areas_of_their_claims(
        sso: Settings, session: Session) -> None:
    client = browser()
    landed = sign_in(client, "alice")
    assert landed.status_code == 200, landed.text
    assert 'http-equiv="refresh" content="0;url=/console/report"' in landed.text
    cookie = landed.headers["set-cookie"]
    assert "httponly" in cookie.lower() and "samesite=strict" in cookie.lower()
    report = client.get("/console/report")
    assert "Alice Example (offender manager: BRISTOL)" in report.text
    row = session.exec(select(ConsoleSession).where(ConsoleSession.subject == "alice")).one()
    assert (row.method, row.role, row.areas, row.issuer) == (
        "oidc", "offender_manager", ["BRISTOL"], sso.oidc_issuer)
    assert row.token_hash != client.cookies.get(COOKIE_NAME)  # only the hash is kept

    # Their reads are audited under their own name, with the purpose they stated.
    state_purpose(client, "migration meeting, Bristol, 1 December")
    person_id = a_member(session, "BRISTOL")
    assert client.get(f"/console/persons/{person_id}").status_code == 200
    event = session.exec(select(AuditEvent).where(AuditEvent.actor_subject == "alice")
                         .order_by(AuditEvent.id.desc())).first()  # type: ignore[union-attr]
    assert event is not None
    assert (event.actor_name, event.key_id, event.key_name, event.person_ids,
            event.justification) == ("Alice Example", None, None, [person_id],
                                     "migration meeting, Bristol, 1 December")
    # ... and outside their areas a person does not exist.
    elsewhere = a_member(session, "BANES")
    assert client.get(f"/console/persons/{elsewhere}").status_code == 404


def test_an_analyst_from_the_claims_sees_no_person_level_pages(sso: Settings) -> None:
    client = browser()
    assert sign_in(client, "bob").status_code == 200
    assert "Bob Analyst (analyst)" in client.get("/console/report").text
    assert client.get("/console/cohort").status_code == 403


def test_no_mapped_role_gets_a_no_access_page_and_is_audited(sso: Settings,
                                                             session: Session) -> None:
    client = browser()
    refused = sign_in(client, "carol")
    assert refused.status_code == 403
    assert "No access" in refused.text and "Carol Nogroup" in refused.text
    assert COOKIE_NAME not in refused.headers.get("set-cookie", "")
    event = session.exec(select(AuditEvent).where(AuditEvent.actor_subject == "carol")).one()
    assert event.status == 403 and "no role" in (event.detail or "")
    assert client.get("/console/report", follow_redirects=False).status_code == 303


def test_a_callback_from_another_browser_or_replayed_is_refused(sso: Settings) -> None:
    victim, attacker = browser(), browser()
    start = attacker.get("/console/sign-in/oidc", follow_redirects=False)
    back = at_provider(start.headers["location"], "alice")
    # The attacker's code and state, delivered to another browser (login CSRF): refused.
    forced = victim.get(back.replace("http://testserver", "https://testserver"),
                        follow_redirects=False)
    assert forced.status_code == 401 and COOKIE_NAME not in forced.headers.get("set-cookie", "")
    # The browser that started it completes it, once: a replay of the callback is refused.
    own = back.replace("http://testserver", "https://testserver")
    assert attacker.get(own, follow_redirects=False).status_code == 200
    assert attacker.get(own, follow_redirects=False).status_code == 401


def _id_token(provider: OidcProvider, sub: str) -> tuple[str, str]:
    """A real ID token from the provider for `sub`, and the nonce it was issued for."""
    redirect = "https://testserver/console/sign-in/callback"
    url, _, nonce, verifier = provider.begin(redirect)
    code = parse_qs(urlsplit(at_provider(url, sub)).query)["code"][0]
    token = requests.post(provider.metadata()["token_endpoint"], timeout=10,
                          auth=(provider.client_id, provider.client_secret),
                          data={"grant_type": "authorization_code", "code": code,
                                "redirect_uri": redirect, "code_verifier": verifier}).json()
    return token["id_token"], nonce


def test_id_token_validation_refuses_every_kind_of_bad_token(sso: Settings) -> None:
    provider = provider_for(sso)
    assert provider is not None
    token, nonce = _id_token(provider, "alice")
    claims = provider.validate_id_token(token, nonce=nonce)
    assert claims["sub"] == "alice" and CLIENT_ID in claims["aud"]

    header, payload, signature = token.split(".")
    tampered = ".".join([header, payload[:-4] + ("AAAA" if payload[-4:] != "AAAA" else "BBBB"),
                         signature])
    with pytest.raises(SignInFailed):
        provider.validate_id_token(tampered, nonce=nonce)
    with pytest.raises(SignInFailed, match="nonce"):
        provider.validate_id_token(token, nonce="not-the-nonce-we-sent")
    with pytest.raises(SignInFailed, match="exp"):
        provider.validate_id_token(token, nonce=nonce, now=int(time.time()) + 24 * 3600)
    other_client = OidcProvider(issuer=provider.issuer, client_id="another-service",
                                client_secret="x", scopes="openid", mapping=provider.mapping)
    with pytest.raises(SignInFailed, match="aud"):
        other_client.validate_id_token(token, nonce=nonce)
    # The same claims signed by a key the provider does not publish (even naming its kid).
    genuine = extract_compact(token.encode())
    kid = genuine.headers().get("kid")
    forged = jwt.encode({"alg": "RS256", **({"kid": kid} if kid else {})},
                        json.loads(genuine.payload), RSAKey.generate_key(2048))
    with pytest.raises(SignInFailed):
        provider.validate_id_token(forged, nonce=nonce)
    # alg "none" with the genuine claims.
    with pytest.raises(SignInFailed):
        provider.validate_id_token(".".join(["eyJhbGciOiJub25lIn0", payload, ""]), nonce=nonce)


def test_sessions_end_when_idle_at_their_lifetime_and_when_revoked(
        sso: Settings, session: Session, make_key: Any) -> None:
    client = browser()
    assert sign_in(client, "alice").status_code == 200
    token = client.cookies.get(COOKIE_NAME)
    assert token
    lifetimes = session_store.Lifetimes(idle=timedelta(minutes=30), absolute=timedelta(hours=8))
    now = utcnow()
    assert session_store.live_session(session=session, token=token, lifetimes=lifetimes,
                                      now=now + timedelta(minutes=29)) is not None
    # Idle: 30 minutes after the last request (the touch above moved last seen on).
    assert session_store.live_session(session=session, token=token, lifetimes=lifetimes,
                                      now=now + timedelta(minutes=29 + 31)) is None
    # Absolute: past eight hours, however busy.
    busy = session_store.Lifetimes(idle=timedelta(days=1), absolute=timedelta(hours=8))
    assert session_store.live_session(session=session, token=token, lifetimes=busy,
                                      now=now + timedelta(hours=8, minutes=1)) is None

    # An admin lists the session and revokes it: the next page asks to sign in again.
    admin = {"Authorization": f"Bearer {make_key('admin')}"}
    api = TestClient(app)
    listed = api.get("/admin/sessions", headers=admin).json()["items"]
    mine = next(s for s in listed if s["subject"] == "alice")
    assert "token" not in str(mine) and mine["display_name"] == "Alice Example"
    assert client.get("/console/report").status_code == 200
    assert api.delete(f"/admin/sessions/{mine['id']}", headers=admin).status_code == 200
    assert client.get("/console/report", follow_redirects=False).status_code == 303
    gone = api.get("/admin/sessions", headers=admin).json()["items"]
    assert mine["id"] not in {s["id"] for s in gone}


def moves_on_to(page: httpx.Response) -> str:
    """Where a page's meta refresh sends the browser (the same URL as its link)."""
    found = re.search(r'http-equiv="refresh" content="0;url=([^"]+)"', page.text)
    assert found, page.text
    target = html.unescape(found.group(1))
    assert f'href="{found.group(1)}"' in page.text
    return target


def test_signing_out_ends_the_session_at_the_provider_too(sso: Settings, session: Session,
                                                          provider: Provider) -> None:
    client = browser()
    assert sign_in(client, "alice").status_code == 200
    out = client.post("/console/sign-out", follow_redirects=False)
    assert out.status_code == 200 and "no-store" in out.headers["cache-control"]
    row = session.exec(select(ConsoleSession).where(ConsoleSession.subject == "alice")
                       .order_by(ConsoleSession.id.desc())).first()  # type: ignore[union-attr]
    assert row is not None and row.revoked_at is not None
    assert "max-age=0" in out.headers["set-cookie"].lower()
    # Sent to the provider's end-session endpoint, naming this client and the way back.
    end = urlsplit(moves_on_to(out))
    metadata = httpx.get(f"{provider.issuer}/.well-known/openid-configuration").json()
    assert f"{end.scheme}://{end.netloc}{end.path}" == metadata["end_session_endpoint"]
    assert parse_qs(end.query) == {
        "client_id": [CLIENT_ID],
        "post_logout_redirect_uri": ["https://testserver/console/signed-out"]}
    # The person confirms there and comes back to a page that needs no session.
    confirmed = httpx.post(f"{provider.issuer}/oauth2/end_session/confirm",
                           data={"redirect_uri": parse_qs(end.query)
                                 ["post_logout_redirect_uri"][0]})
    assert confirmed.status_code in (302, 303)
    back = client.get(confirmed.headers["location"], follow_redirects=False)
    assert back.status_code == 200 and 'id="signed-out"' in back.text
    assert "no-store" in back.headers["cache-control"]
    assert client.get("/console/report", follow_redirects=False).status_code == 303

    # A deployment behind a proxy names its own way back.
    app.dependency_overrides[current_settings] = lambda: Settings(**provider.settings(
        oidc_post_logout_redirect_uri="https://iom.example.police.uk/console/signed-out"))
    assert sign_in(client, "bob").status_code == 200
    out = client.post("/console/sign-out", follow_redirects=False)
    assert parse_qs(urlsplit(moves_on_to(out)).query)["post_logout_redirect_uri"] == [
        "https://iom.example.police.uk/console/signed-out"]


def test_key_sessions_and_an_unreachable_provider_sign_out_here(
        sso: Settings, provider: Provider, make_key: Any, session: Session) -> None:
    client = browser()
    assert client.post("/console/sign-in", data={"api_key": make_key("analyst")},
                       follow_redirects=False).status_code == 303
    out = client.post("/console/sign-out", follow_redirects=False)
    assert (out.status_code, out.headers["location"]) == (303, "/console/sign-in")
    # A provider that cannot be reached at sign-out: the session still ends here.
    gone = provider.settings(oidc_issuer="http://127.0.0.1:9")
    app.dependency_overrides[current_settings] = lambda: Settings(**gone)
    token = session_store.start_session(
        session=session, lifetimes=session_store.Lifetimes(idle=timedelta(minutes=30),
                                                           absolute=timedelta(hours=8)),
        who=session_store.Who(method="oidc", issuer=gone["oidc_issuer"], subject="alice",
                              display_name="Alice Example", role=Role.offender_manager,
                              areas=["BRISTOL"]))
    session.commit()
    client.cookies.set(COOKIE_NAME, token)
    out = client.post("/console/sign-out", follow_redirects=False)
    assert (out.status_code, out.headers["location"]) == (303, "/console/sign-in")
    assert session.exec(select(ConsoleSession).where(
        ConsoleSession.token_hash == session_store.token_hash(token))).one().revoked_at


def test_key_sign_in_can_be_turned_off(sso: Settings, provider: Provider,
                                       make_key: Any) -> None:
    app.dependency_overrides[current_settings] = lambda: Settings(
        **provider.settings(console_key_signin=False))
    client = browser()
    page = client.get("/console/sign-in")
    assert "Sign in with your organisation" in page.text and 'name="api_key"' not in page.text
    refused = client.post("/console/sign-in", data={"api_key": make_key("admin")},
                          follow_redirects=False)
    assert refused.status_code == 404 and "set-cookie" not in refused.headers


def test_repeated_401s_from_one_address_get_429_with_retry_after(
        app_on_test_session: None) -> None:
    app.dependency_overrides[current_settings] = lambda: Settings(throttle_max_failures=3,
                                                                  throttle_window_seconds=60)
    try:
        client = TestClient(app)
        codes = [client.get("/persons", headers={"Authorization": "Bearer iom_x_guess"})
                 for _ in range(5)]
        assert [r.status_code for r in codes] == [401, 401, 401, 429, 429]
        assert 1 <= int(codes[-1].headers["retry-after"]) <= 60
        assert codes[-1].headers["content-type"] == "application/problem+json"
        console = browser()
        blocked = console.post("/console/sign-in", data={"api_key": "iom_x_guess"})
        assert blocked.status_code == 429 and "retry-after" in blocked.headers
    finally:
        app.dependency_overrides.pop(current_settings, None)


def _redis_up() -> bool:
    try:
        import redis

        return bool(redis.Redis(host="127.0.0.1", port=6379, socket_timeout=1).ping())
    except Exception:
        return False


@pytest.mark.skipif(not _redis_up(), reason="needs Redis at 127.0.0.1:6379")
def test_the_throttle_counts_in_redis_where_configured(session: Session) -> None:
    throttle = Throttle(session=session, max_failures=2, window_seconds=60,
                        redis_url="redis://127.0.0.1:6379/0")
    client, now = f"test-{os.getpid()}-{time.time_ns()}", 1_000_000_040.0
    assert [throttle.failed(client, now=now) for _ in range(3)][:2] == [None, None]
    assert throttle.retry_after(client, now=now) == 40
    # Another worker (another Throttle) sees the same count; the next window starts afresh.
    other = Throttle(session=session, max_failures=2, window_seconds=60,
                     redis_url="redis://127.0.0.1:6379/0")
    assert other.retry_after(client, now=now) == 40
    assert other.retry_after(client, now=now + 60) is None


def test_outside_development_a_default_secret_is_refused() -> None:
    with pytest.raises(ValidationError, match="CONSOLE_SECRET"):
        Settings(environment="production")
    with pytest.raises(ValidationError, match="CONSOLE_SECRET"):
        Settings(environment="production", console_secret="change-me")
    assert Settings(environment="production", console_secret="k" * 40).environment \
        == "production"
    # The service itself does not start.
    env = {**os.environ, "ENVIRONMENT": "production", "CONSOLE_SECRET": "secret"}
    started = subprocess.run([sys.executable, "-c", "import service.main"], env=env,
                             cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert started.returncode != 0 and "CONSOLE_SECRET" in started.stderr


def test_an_unreachable_counter_store_leaves_the_401(app_on_test_session: None) -> None:
    app.dependency_overrides[current_settings] = lambda: Settings(
        throttle_max_failures=1, redis_url="redis://127.0.0.1:9/0")  # nothing listens on 9
    try:
        client = TestClient(app)
        codes = [client.get("/persons").status_code for _ in range(3)]
        assert codes == [401, 401, 401]
    finally:
        app.dependency_overrides.pop(current_settings, None)


def test_sessions_ended_long_ago_are_deleted_at_a_later_sign_in(sso: Settings,
                                                                 session: Session) -> None:
    old = ConsoleSession(token_hash="0" * 64, method="oidc", subject="gone",
                         display_name="Long Gone", role="analyst", areas=None,
                         expires_at=utcnow() - timedelta(days=91))
    recent = ConsoleSession(token_hash="1" * 64, method="oidc", subject="recent",
                            display_name="Recently Gone", role="analyst", areas=None,
                            expires_at=utcnow() - timedelta(days=89))
    session.add_all([old, recent])
    session.commit()
    assert sign_in(browser(), "bob").status_code == 200
    left = set(session.exec(select(ConsoleSession.subject)).all())
    assert "gone" not in left and {"recent", "bob"} <= left
