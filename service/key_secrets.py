"""An API key's material (the full key handed out once, its prefix and the stored hash) and
the rules a key's areas and revocation follow.

Apart from service.security (FastAPI, the identity provider's client) and the store (the
models) so that the command line, which issues and revokes keys through the bare driver,
applies the same rules without importing either (issue 16: 0.5 s to start)."""

import hashlib
import secrets


def hash_secret(secret: str) -> str:
    """The stored form of a key's secret."""
    return hashlib.sha256(secret.encode()).hexdigest()


def new_key_material() -> tuple[str, str, str]:
    """A fresh key: (full key to hand out once, prefix, hash of the secret)."""
    prefix = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    return f"iom_{prefix}_{secret}", prefix, hash_secret(secret)


LAST_ADMIN_KEY = "this is the last working admin key: issue another before revoking it"


def areas_refusal(areas: list[str], known: set[str]) -> str | None:
    """Why a key cannot be limited to these areas (None: it can)."""
    unknown = sorted(set(areas) - known)
    if unknown:
        return f"unknown areas: {', '.join(unknown)}"
    return None if areas else "give at least one area"
