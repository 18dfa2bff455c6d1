"""The console's sign-in session, kept in the database.

The cookie holds only a random token (HttpOnly, Secure, SameSite=Strict); the session row
(`console_sessions`: who, role, areas, expiry, last seen, stated purpose) holds the rest
and only the token's hash. Every page looks the row up, so a sign-out or an admin's
revocation ends the session at once; so does its idle timeout (`SESSION_IDLE_MINUTES`), its
lifetime (`SESSION_MAX_HOURS`) and, for a key's session, the key's revocation or expiry.

`CONSOLE_SECRET` signs the per-session form tokens; without it a random secret is drawn per
process (outside development the service refuses to start without one: service/config.py).
"""

import hashlib
import hmac
import secrets
from datetime import timedelta
from functools import lru_cache
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import Depends, Request
from fastapi.responses import Response

from models import ConsoleSession, Role
from service.audit import Auditor
from service.config import Settings
from service.deps import SessionDep, SettingsDep
from service.security import PERSON_LEVEL_ROLES, Forbidden, Principal
from service.store.sessions import Lifetimes, live_session

COOKIE_NAME = "iom_console"


class SignInRequired(Exception):
    """No valid console session: the page redirects to the sign-in form."""


class PurposeRequired(Exception):
    """The session has no stated purpose yet: the page asks for it first."""


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


def lifetimes(settings: Settings) -> Lifetimes:
    """The session lifetimes the settings give."""
    return Lifetimes(idle=timedelta(minutes=settings.session_idle_minutes),
                     absolute=timedelta(hours=settings.session_max_hours))


def set_session_cookie(response: Response, token: str, *, settings: Settings) -> None:
    """Hand the browser its session token: Secure, HttpOnly, SameSite=Strict, scoped to the
    console's paths; the browser drops it when the session's lifetime ends."""
    response.set_cookie(COOKIE_NAME, token, max_age=settings.session_max_hours * 3600,
                        path="/console", secure=True, httponly=True, samesite="strict")


def clear_session_cookie(response: Response) -> None:
    """Forget the session token in the browser (the row is ended separately)."""
    response.delete_cookie(COOKIE_NAME, path="/console", secure=True, httponly=True,
                           samesite="strict")


def current_session(request: Request, session: SessionDep,
                    settings: SettingsDep) -> ConsoleSession | None:
    """This browser's live session row, if any."""
    token = request.cookies.get(COOKIE_NAME)
    if not token or len(token) > 100:
        return None
    return live_session(session=session, token=token, lifetimes=lifetimes(settings))


def console_principal(request: Request,
                      row: Annotated[ConsoleSession | None, Depends(current_session)]
                      ) -> Principal:
    """The signed-in principal: a person (their subject) or a key (its id)."""
    if row is None:
        raise SignInRequired
    principal = Principal(key_id=row.key_id, name=row.display_name, role=row.role,
                          areas=None if row.areas is None else frozenset(row.areas),
                          subject=row.subject if row.method == "oidc" else None)
    request.state.principal = principal
    request.state.console_session = row
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


def stated_purpose(request: Request, auditor: ConsoleAuditor) -> str:
    """Why this session reads person-level data: asked once, kept in the session (never in
    a URL); every consultation's audit event records it as the justification."""
    row: ConsoleSession = request.state.console_session
    if not row.purpose:
        raise PurposeRequired
    return row.purpose


Purpose = Annotated[str, Depends(stated_purpose)]


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
