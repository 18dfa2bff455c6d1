"""OpenID Connect: the console's sign-in through a force's identity provider, and the
mapping of a person's claims to a role and areas.

Authlib does the protocol: the authorization URL with PKCE (S256), state and nonce, the
code exchange, and the ID token's claims checks (`CodeIDToken`: issuer, audience, expiry,
nonce, at_hash); joserfc (Authlib's JOSE library, which replaces `authlib.jose`) checks the
signature against the provider's JWKS. The provider is found by discovery at
`<OIDC_ISSUER>/.well-known/openid-configuration`; its metadata and keys are cached, and the
keys are fetched again when a token names a key not yet seen (the provider rotated them).
"""

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import requests
import yaml
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session
from authlib.oidc.core import CodeIDToken
from fastapi import Depends
from joserfc import jwt
from joserfc.errors import InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet

from models import Role
from service.config import Settings
from service.deps import SettingsDep
from service.errors import DomainError

log = logging.getLogger(__name__)

# Clock skew allowed between this service and the provider when checking exp, iat, nbf.
LEEWAY_SECONDS = 60
HTTP_TIMEOUT = 10
# Signature algorithms accepted on ID tokens (never "none", never a symmetric one).
ID_TOKEN_ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "ES256", "ES384", "EdDSA"]
# When a person holds several mapped roles, the first of these they hold is theirs.
ROLE_PRECEDENCE = (Role.admin, Role.offender_manager, Role.integration, Role.analyst)
ALL_AREAS = "all"


class SignInFailed(DomainError):
    """The provider's answer could not be trusted (bad or expired token, wrong nonce...)."""

    status, title, slug = 401, "Sign-in failed", "sign-in-failed"


class ProviderUnavailable(DomainError):
    status, title, slug = 503, "Identity provider unavailable", "provider-unavailable"


# --- the claims mapping ---------------------------------------------------------------------

@dataclass(frozen=True)
class ClaimsMapping:
    """How a force's claims become a role and areas (the OIDC_MAPPING_PATH file)."""

    name_claims: tuple[str, ...]
    role_claim: str
    roles: dict[str, Role]
    area_claim: str | None
    area_groups_claim: str | None
    area_groups: dict[str, tuple[str, ...]]

    @classmethod
    def load(cls, path: Path) -> "ClaimsMapping":
        """Read and check the mapping file (a bad role or a missing claim name is refused)."""
        data = yaml.safe_load(path.read_text()) or {}
        roles_part, areas_part = data.get("roles") or {}, data.get("areas") or {}
        try:
            roles = {str(value): Role(role) for value, role in
                     (roles_part.get("map") or {}).items()}
        except ValueError as exc:
            raise ValueError(f"{path}: roles.map: {exc}") from None
        if not roles_part.get("claim") or not roles:
            raise ValueError(f"{path}: roles needs a claim and a map")
        groups: dict[str, tuple[str, ...]] = {}
        for value, codes in (areas_part.get("map") or {}).items():
            groups[str(value)] = (ALL_AREAS,) if codes == ALL_AREAS \
                else tuple(str(c) for c in ([codes] if isinstance(codes, str) else codes))
        return cls(name_claims=tuple(data.get("display_name_claims")
                                     or ("name", "preferred_username", "email")),
                   role_claim=str(roles_part["claim"]), roles=roles,
                   area_claim=areas_part.get("claim"),
                   area_groups_claim=areas_part.get("groups_claim"), area_groups=groups)

    def display_name(self, claims: dict[str, Any]) -> str:
        """What the audit and the page call the person."""
        for name in self.name_claims:
            if claims.get(name):
                return str(claims[name])
        return str(claims["sub"])

    def role(self, claims: dict[str, Any]) -> Role | None:
        """The strongest mapped role among the claim's values (None: no access)."""
        held = {self.roles[v] for v in _values(claims.get(self.role_claim)) if v in self.roles}
        return next((r for r in ROLE_PRECEDENCE if r in held), None)

    def areas(self, claims: dict[str, Any]) -> frozenset[str] | None:
        """The area codes the person may see; None: every area."""
        codes: set[str] = set()
        if self.area_claim:
            codes.update(_values(claims.get(self.area_claim)))
        if self.area_groups_claim:
            for value in _values(claims.get(self.area_groups_claim)):
                codes.update(self.area_groups.get(value, ()))
        if ALL_AREAS in codes:
            return None
        return frozenset(codes)


def _values(claim: Any) -> list[str]:
    if claim is None:
        return []
    if isinstance(claim, str):
        return claim.split()
    return [str(v) for v in claim] if isinstance(claim, list | tuple) else [str(claim)]


# --- the provider ---------------------------------------------------------------------------

@dataclass
class OidcProvider:
    """One configured identity provider (discovery, the code flow, token validation)."""

    issuer: str
    client_id: str
    client_secret: str
    scopes: str
    mapping: ClaimsMapping
    # The audience of access tokens for this API (None: the API takes no access tokens).
    api_audience: str | None = None

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._metadata: dict[str, Any] | None = None
        self._keys: KeySet | None = None

    def _get(self, url: str) -> dict[str, Any]:
        try:
            response = requests.get(url, timeout=HTTP_TIMEOUT)
            response.raise_for_status()
            body: dict[str, Any] = response.json()
            return body
        except (requests.RequestException, ValueError) as exc:
            log.error("identity provider unreachable: %s", type(exc).__name__)
            raise ProviderUnavailable("the identity provider could not be reached; "
                                      "try again shortly") from None

    def metadata(self) -> dict[str, Any]:
        """The provider's discovery document (fetched once), checked to name our issuer."""
        with self._lock:
            if self._metadata is None:
                found = self._get(self.issuer.rstrip("/") + "/.well-known/openid-configuration")
                if found.get("issuer") != self.issuer:
                    raise ProviderUnavailable("the provider's discovery document names "
                                              "another issuer")
                self._metadata = found
            return self._metadata

    def keys(self, *, refresh: bool = False) -> KeySet:
        """The provider's signing keys (JWKS), fetched again on `refresh`."""
        uri = self.metadata()["jwks_uri"]
        with self._lock:
            if self._keys is None or refresh:
                self._keys = KeySet.import_key_set(self._get(uri))  # type: ignore[arg-type]
            return self._keys

    def end_session_url(self, post_logout_redirect_uri: str) -> str | None:
        """Where to send a person who signs out of the console, so that their session at
        the provider ends too (RP-initiated logout, OpenID Connect RP-Initiated Logout 1.0):
        otherwise the next person at a shared terminal who presses "sign in" would be
        signed in as them without a password. None where the provider publishes no
        `end_session_endpoint` or cannot be reached.

        The request names this client and the page to come back to, not the ID token
        (`id_token_hint`): the service keeps no ID tokens, since they carry the person's
        claims; providers then ask the person to confirm.
        """
        try:
            endpoint = self.metadata().get("end_session_endpoint")
        except ProviderUnavailable:
            return None
        if not isinstance(endpoint, str) or not endpoint.startswith(("https://", "http://")):
            return None
        parts = urlsplit(endpoint)
        query = [*parse_qsl(parts.query), ("client_id", self.client_id),
                 ("post_logout_redirect_uri", post_logout_redirect_uri)]
        return urlunsplit(parts._replace(query=urlencode(query)))

    def _client(self, redirect_uri: str) -> OAuth2Session:
        return OAuth2Session(self.client_id, self.client_secret, scope=self.scopes,
                             redirect_uri=redirect_uri, code_challenge_method="S256")

    def begin(self, redirect_uri: str) -> tuple[str, str, str, str]:
        """The provider's sign-in URL and the (state, nonce, code verifier) it is bound to."""
        state, nonce, verifier = generate_token(32), generate_token(32), generate_token(48)
        with self._client(redirect_uri) as client:
            url, _ = client.create_authorization_url(
                self.metadata()["authorization_endpoint"], state=state, nonce=nonce,
                code_verifier=verifier)
        return url, state, nonce, verifier

    def finish(self, *, code: str, redirect_uri: str, nonce: str,
               code_verifier: str) -> dict[str, Any]:
        """Exchange the code (with the PKCE verifier) and return the ID token's claims."""
        try:
            with self._client(redirect_uri) as client:
                token = client.fetch_token(self.metadata()["token_endpoint"],
                                           grant_type="authorization_code", code=code,
                                           code_verifier=code_verifier, timeout=HTTP_TIMEOUT)
        except requests.RequestException:
            raise ProviderUnavailable("the identity provider could not be reached") from None
        except Exception as exc:  # Authlib's OAuth errors: the provider refused the code
            raise SignInFailed(f"the identity provider refused the sign-in "
                               f"({type(exc).__name__})") from None
        if "id_token" not in token:
            raise SignInFailed("the identity provider sent no ID token")
        return self.validate_id_token(token["id_token"], nonce=nonce,
                                      access_token=token.get("access_token"))

    def validate_id_token(self, id_token: str, *, nonce: str, access_token: str | None = None,
                          now: int | None = None) -> dict[str, Any]:
        """The claims of a valid ID token; SignInFailed for a bad signature, another issuer
        or audience, an expired token, a nonce not ours."""
        options = {"iss": {"essential": True, "value": self.issuer},
                   "aud": {"essential": True, "values": [self.client_id]},
                   "sub": {"essential": True}, "exp": {"essential": True}}
        params = {"nonce": nonce, "client_id": self.client_id, "access_token": access_token}

        def checked(token: jwt.Token) -> dict[str, Any]:
            claims = CodeIDToken(token.claims, token.header, options=options,  # type: ignore[arg-type]
                                 params=params)
            claims.validate(now=now, leeway=LEEWAY_SECONDS)
            return dict(claims)

        return self._verified(id_token, "ID token", checked)

    def validate_access_token(self, token: str, *, now: int | None = None) -> dict[str, Any]:
        """The claims of a valid JWT access token for this API (RFC 9068: a system's
        client-credentials token); SignInFailed for a bad signature, another issuer or
        audience, or an expired token."""
        if not self.api_audience:
            raise SignInFailed("this service takes no access tokens")
        registry = jwt.JWTClaimsRegistry(
            now=now, leeway=LEEWAY_SECONDS, iss={"essential": True, "value": self.issuer},
            aud={"essential": True, "value": self.api_audience},
            sub={"essential": True}, exp={"essential": True})

        def checked(decoded: jwt.Token) -> dict[str, Any]:
            registry.validate(decoded.claims)
            return dict(decoded.claims)

        return self._verified(token, "access token", checked)

    def _verified(self, token: str, kind: str,
                  checked: Callable[[jwt.Token], dict[str, Any]]) -> dict[str, Any]:
        """`checked`'s claims of `token` once its signature verifies against the provider's
        keys; SignInFailed (naming the `kind` of token) when either fails."""
        for attempt in (False, True):
            try:
                return checked(jwt.decode(token, self.keys(refresh=attempt),
                                          algorithms=ID_TOKEN_ALGORITHMS))
            except InvalidKeyIdError:
                # A key id the cached JWKS lacks (the provider rotated its keys): fetch
                # the keys once more.
                if attempt:
                    raise SignInFailed(f"the {kind} is signed with a key the provider "
                                       "does not publish") from None
            except (JoseError, ValueError) as exc:
                raise SignInFailed(f"the {kind} is not valid ({exc})") from None
        raise SignInFailed(f"the {kind} is not valid")


@lru_cache
def _provider(issuer: str, client_id: str, client_secret: str, scopes: str,
              mapping_path: Path, api_audience: str | None) -> OidcProvider:
    return OidcProvider(issuer=issuer, client_id=client_id, client_secret=client_secret,
                        scopes=scopes, mapping=ClaimsMapping.load(mapping_path),
                        api_audience=api_audience)


def provider_for(settings: Settings) -> OidcProvider | None:
    """The configured provider, or None where single sign-on is not set up."""
    if not (settings.oidc_issuer and settings.oidc_client_id and settings.oidc_mapping_path):
        return None
    return _provider(settings.oidc_issuer, settings.oidc_client_id,
                     settings.oidc_client_secret.get_secret_value(), settings.oidc_scopes,
                     settings.oidc_mapping_path, settings.oidc_api_audience)


def get_provider(settings: SettingsDep) -> OidcProvider | None:
    """The configured identity provider (None: key sign-in only)."""
    return provider_for(settings)


ProviderDep = Annotated[OidcProvider | None, Depends(get_provider)]
