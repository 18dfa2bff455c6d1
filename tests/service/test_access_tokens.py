"""Systems registered at the identity provider call the API with its JWT access tokens
(client credentials), validated against its JWKS and mapped to a role and areas by the
same claims mapping as people. The provider is the certified `oidc-provider` (npm) run by
Node on loopback from tests/oidc_server (`npm ci` there; .ci/run does it)."""

import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from models import AuditEvent
from service.config import Settings
from service.deps import current_settings
from service.main import app
from service.oidc import SignInFailed, provider_for
from tests.factories import person_body

SERVER = Path(__file__).resolve().parents[1] / "oidc_server"
AUDIENCE = "api://iomscore-test"
MAPPING = """
roles:
  claim: groups
  map:
    iom-systems: integration
    iom-analysts: analyst
areas:
  groups_claim: groups
  map:
    iom-systems: all
    iom-analysts: [BRISTOL]
"""
SYSTEMS = [{"client_id": "case-tool", "client_secret": "case-secret", "groups": ["iom-systems"]},
           {"client_id": "dashboard", "client_secret": "dash-secret",
            "groups": ["iom-analysts"]},
           {"client_id": "stranger", "client_secret": "stranger-secret",
            "groups": ["elsewhere"]}]

pytestmark = pytest.mark.skipif(
    shutil.which("node") is None or not (SERVER / "node_modules" / "oidc-provider").exists(),
    reason="needs Node.js and `npm ci` in tests/oidc_server (.ci/run does both)")


@dataclass(frozen=True)
class NodeProvider:
    issuer: str

    def token(self, client_id: str, *, resource: str = AUDIENCE) -> str:
        secret = next(s["client_secret"] for s in SYSTEMS if s["client_id"] == client_id)
        answer = httpx.post(f"{self.issuer}/token", auth=(client_id, secret), timeout=10,
                            data={"grant_type": "client_credentials", "scope": "api",
                                  "resource": resource})
        assert answer.status_code == 200, answer.text
        return str(answer.json()["access_token"])


@pytest.fixture(scope="module")
def node_provider() -> Iterator[NodeProvider]:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**os.environ, "PORT": str(port), "API_AUDIENCE": AUDIENCE,
           "SYSTEMS": json.dumps(SYSTEMS)}
    process = subprocess.Popen(["node", "provider.mjs"], cwd=SERVER, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith("ready "), line
        yield NodeProvider(issuer=line.split()[1])
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def settings(node_provider: NodeProvider, tmp_path: Path,
             app_on_test_session: None) -> Iterator[Settings]:
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text(MAPPING)
    configured = Settings(oidc_issuer=node_provider.issuer, oidc_client_id="iomscore-console",
                          oidc_mapping_path=mapping, oidc_api_audience=AUDIENCE)
    app.dependency_overrides[current_settings] = lambda: configured
    yield configured
    app.dependency_overrides.pop(current_settings, None)


def call(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "X-Justification": "nightly case sync"}


def test_a_systems_access_token_is_its_credential_and_its_writes_name_it(
        settings: Settings, node_provider: NodeProvider, session: Session) -> None:
    client = TestClient(app)
    token = node_provider.token("case-tool")
    created = client.post("/persons", json=person_body(), headers=call(token))
    assert created.status_code == 201, created.text
    person_id = created.json()["id"]
    assert client.get(f"/persons/{person_id}", headers=call(token)).status_code == 200
    events = session.exec(select(AuditEvent).where(AuditEvent.actor_subject == "case-tool")
                          ).all()
    assert {e.action for e in events} >= {"collection", "consultation"}
    assert all(e.key_id is None and e.role == "integration" for e in events)


def test_the_same_mapping_gives_areas_and_refuses_what_maps_to_nothing(
        settings: Settings, node_provider: NodeProvider) -> None:
    client = TestClient(app)
    analyst = call(node_provider.token("dashboard"))
    assert client.get("/reports/idiom", headers=analyst).status_code == 200
    assert client.get("/persons", headers=analyst).status_code == 403  # analysts: aggregates
    refused = client.get("/areas", headers=call(node_provider.token("stranger")))
    assert refused.status_code == 403


def test_bad_access_tokens_are_refused(settings: Settings, node_provider: NodeProvider) -> None:
    client = TestClient(app)
    good = node_provider.token("case-tool")
    header, payload, signature = good.split(".")
    tampered = ".".join([header, payload[:-4] + ("AAAA" if payload[-4:] != "AAAA" else "BBBB"),
                         signature])
    for bad in (tampered, ".".join(["eyJhbGciOiJub25lIn0", payload, ""]),
                node_provider.token("case-tool", resource="api://another-service")):
        answer = client.get("/areas", headers=call(bad))
        assert answer.status_code == 401, answer.text
    provider = provider_for(settings)
    assert provider is not None
    with pytest.raises(SignInFailed, match="exp"):
        provider.validate_access_token(good, now=int(time.time()) + 3600)
    # Without OIDC_API_AUDIENCE the API takes keys only.
    app.dependency_overrides[current_settings] = lambda: Settings(
        oidc_issuer=settings.oidc_issuer, oidc_client_id="iomscore-console",
        oidc_mapping_path=settings.oidc_mapping_path)
    assert client.get("/areas", headers=call(good)).status_code == 401


