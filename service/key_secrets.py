"""An API key's material: the full key handed out once, its prefix and the stored hash.

Apart from service.security (FastAPI, the identity provider's client) so that the command
line can issue keys without importing either (issue 16: 0.5 s to start)."""

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
