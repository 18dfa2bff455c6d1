"""A real OpenID provider for the sign-in tests: oidc-provider-mock (authorization code
flow, RS256-signed ID tokens, JWKS, discovery, per-user claims, a login form) served on
loopback from a thread of the test process, and the claims mapping the tests configure."""

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import oidc_provider_mock

CLIENT_ID = "iomscore-console"
CLIENT_SECRET = "a-client-secret-registered-at-the-provider"
# Group ids as Entra ID sends them (object ids), mapped in MAPPING below.
OM_GROUP = "0b7c2a4e-1111-4a5b-9c1d-000000000002"
ANALYST_GROUP = "0b7c2a4e-1111-4a5b-9c1d-000000000003"
ADMIN_GROUP = "0b7c2a4e-1111-4a5b-9c1d-000000000001"
BRISTOL_GROUP = "0b7c2a4e-1111-4a5b-9c1d-000000000010"
ALL_AREAS_GROUP = "0b7c2a4e-1111-4a5b-9c1d-000000000012"
MAPPING = f"""
display_name_claims: [name, preferred_username]
roles:
  claim: groups
  map:
    "{ADMIN_GROUP}": admin
    "{OM_GROUP}": offender_manager
    "{ANALYST_GROUP}": analyst
areas:
  claim: areas
  groups_claim: groups
  map:
    "{BRISTOL_GROUP}": [BRISTOL]
    "{ALL_AREAS_GROUP}": all
"""


@dataclass(frozen=True)
class Provider:
    issuer: str
    mapping_path: Path

    def add_person(self, sub: str, **claims: Any) -> None:
        """Give a person at the provider their claims (name, groups, areas...)."""
        response = httpx.put(f"{self.issuer}/users/{quote(sub)}", json=claims, timeout=10)
        assert response.status_code == 204, response.text

    def settings(self, **extra: Any) -> dict[str, Any]:
        """The service's settings for this provider."""
        return {"oidc_issuer": self.issuer, "oidc_client_id": CLIENT_ID,
                "oidc_client_secret": CLIENT_SECRET, "oidc_mapping_path": self.mapping_path,
                **extra}

    def env(self) -> dict[str, str]:
        """The same settings as environment variables (for a uvicorn subprocess)."""
        return {"OIDC_ISSUER": self.issuer, "OIDC_CLIENT_ID": CLIENT_ID,
                "OIDC_CLIENT_SECRET": CLIENT_SECRET, "OIDC_MAPPING_PATH": str(self.mapping_path)}


@contextmanager
def running_provider(folder: Path) -> Iterator[Provider]:
    """The provider on a free loopback port, requiring a nonce on every sign-in."""
    mapping = folder / "oidc-mapping.yaml"
    mapping.write_text(MAPPING)
    with oidc_provider_mock.run_server_in_thread(require_nonce=True) as server:
        yield Provider(issuer=f"http://localhost:{server.server_port}", mapping_path=mapping)
