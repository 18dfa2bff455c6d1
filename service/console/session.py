"""The console's sign-in session: the API key in a signed, HttpOnly, SameSite=Strict cookie.

The cookie carries the key (so every page re-checks it with `principal_for_key`, and a
revoked or expired key stops working at once) plus the time it was issued, signed with
HMAC-SHA256 under the ``console_secret`` setting (``CONSOLE_SECRET``). Without it a random
secret is drawn per process: sessions then end when the process restarts and do not cross
workers, which is safe but inconvenient; set it in production.
"""

import base64
import hashlib
import hmac
import json
import secrets
import time
from functools import lru_cache
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import Depends, Request
from fastapi.responses import Response

from models import Role
from service.audit import Auditor
from service.deps import SessionDep, SettingsDep
from service.security import PERSON_LEVEL_ROLES, Forbidden, Principal, principal_for_key

COOKIE_NAME = "iom_console"
# A working day: long enough for a meeting, short enough that a forgotten tab expires.
SESSION_SECONDS = 8 * 60 * 60


class SignInRequired(Exception):
    """No valid console session: the page redirects to the sign-in form."""


@lru_cache
def _secret_for(configured: str) -> bytes:
    # Cached, so an unset secret is drawn once per process, not once per request.
    return configured.encode() if configured else secrets.token_bytes(32)


def console_secret(settings: SettingsDep) -> bytes:
    """The signing secret: the console_secret setting, or a random per-process one."""
    return _secret_for(settings.console_secret.get_secret_value())


ConsoleSecret = Annotated[bytes, Depends(console_secret)]


def _sign(secret: bytes, payload: bytes) -> str:
    return hmac.new(secret, payload, hashlib.sha256).hexdigest()


def encode_session(api_key: str, *, secret: bytes, now: float | None = None) -> str:
    """The cookie value for a signed-in key."""
    body = json.dumps({"k": api_key, "t": int(now if now is not None else time.time())},
                      separators=(",", ":")).encode()
    encoded = base64.urlsafe_b64encode(body).decode().rstrip("=")
    return f"{encoded}.{_sign(secret, encoded.encode())}"


def decode_session(value: str, *, secret: bytes, now: float | None = None) -> str | None:
    """The API key in a cookie value, or None if it is forged, malformed or expired."""
    encoded, _, signature = value.partition(".")
    if not encoded or not hmac.compare_digest(signature, _sign(secret, encoded.encode())):
        return None
    try:
        body = json.loads(base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)))
        key, issued = str(body["k"]), int(body["t"])
    except (ValueError, KeyError, TypeError):
        return None
    current = now if now is not None else time.time()
    if not 0 <= current - issued < SESSION_SECONDS:
        return None
    return key


def set_session_cookie(response: Response, api_key: str, *, secret: bytes) -> None:
    """Start a session: Secure, HttpOnly, SameSite=Strict, scoped to the console's paths."""
    response.set_cookie(COOKIE_NAME, encode_session(api_key, secret=secret),
                        max_age=SESSION_SECONDS, path="/console", secure=True, httponly=True,
                        samesite="strict")


def clear_session_cookie(response: Response) -> None:
    """End the session."""
    response.delete_cookie(COOKIE_NAME, path="/console", secure=True, httponly=True,
                           samesite="strict")


def console_principal(request: Request, session: SessionDep,
                      secret: ConsoleSecret) -> Principal:
    """The signed-in principal (the key is re-validated on every request)."""
    raw = request.cookies.get(COOKIE_NAME)
    key = decode_session(raw, secret=secret) if raw else None
    principal = principal_for_key(session, key) if key else None
    if principal is None:
        raise SignInRequired
    request.state.principal = principal
    return principal


ConsolePrincipal = Annotated[Principal, Depends(console_principal)]


def person_level(principal: ConsolePrincipal) -> Principal:
    """Only roles that may see person-level data (analysts may not: 403)."""
    if principal.role not in PERSON_LEVEL_ROLES:
        raise Forbidden(f"role {principal.role.value} may not see person-level data")
    return principal


ConsolePersonLevel = Annotated[Principal, Depends(person_level)]


def console_auditor(request: Request, session: SessionDep,
                    principal: ConsolePersonLevel) -> Auditor:
    """An auditor for this page and its signed-in caller."""
    return Auditor(session=session, principal=principal, request=request)


ConsoleAuditor = Annotated[Auditor, Depends(console_auditor)]


FORM_TOKEN_FIELD = "form_token"
# Fetch metadata a browser sends with a form posted from one of our own pages.
SAME_SITE_FETCH = frozenset({"same-origin"})


def form_token(request: Request, secret: bytes) -> str:
    """The per-session token every console POST form carries (HMAC of the session cookie).

    It changes with each sign-in and is worthless without the cookie's signing secret, so
    a page on another site cannot forge a console form (on top of SameSite=Strict).
    """
    raw = request.cookies.get(COOKIE_NAME, "")
    return _sign(secret, b"form:" + raw.encode()) if raw else ""


def check_form(request: Request, token: str, secret: bytes) -> None:
    """Refuse (403) a POST that did not come from a console page of this session.

    The form token must match the session; a browser's Origin (unless "null", which our
    no-referrer policy makes browsers send) must be this host; and Sec-Fetch-Site, where
    sent, must say same-origin.
    """
    refused = Forbidden("this form did not come from your console session: reload the page "
                        "and submit it again")
    site = request.headers.get("sec-fetch-site")
    if site is not None and site not in SAME_SITE_FETCH:
        raise refused
    origin = request.headers.get("origin")
    if origin is not None and origin != "null" \
            and urlsplit(origin).netloc != request.headers.get("host"):
        raise refused
    expected = form_token(request, secret)
    if not expected or not hmac.compare_digest(token.encode(), expected.encode()):
        raise refused


def may_see_people(principal: Principal) -> bool:
    """Whether the navigation should offer person-level pages."""
    return principal.role in PERSON_LEVEL_ROLES and principal.role != Role.analyst
