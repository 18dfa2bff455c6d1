"""The console's sign-in and sign-out: single sign-on through the force's identity provider
(OpenID Connect, service/oidc.py), a pasted API key where the deployment allows it, and the
purpose a person states once per session before reading person-level data.

Either way the result is a server-side session (service/store/sessions.py) whose random
token is the only thing the cookie holds.
"""

import hmac
import logging
from typing import Annotated

from fastapi import Form, Request
from fastapi.responses import RedirectResponse, Response

from service.audit import record_sign_in_refusal
from service.console.forms import justification as purpose_of
from service.console.forms import safe_next
from service.console.session import (
    FORM_TOKEN_FIELD,
    ConsolePrincipal,
    ConsoleSecret,
    check_form,
    clear_session_cookie,
    current_session,
    form_token,
    lifetimes,
    set_session_cookie,
)
from service.console.web import NO_STORE, render, router
from service.deps import SessionDep, SettingsDep
from service.errors import NotFound
from service.oidc import OidcProvider, ProviderDep, SignInFailed
from service.security import principal_for_key
from service.store import sessions as session_store
from service.throttle import ThrottleDep, client_of, count_failure, wait_before

log = logging.getLogger(__name__)

# The sign-in under way at the provider: a cookie holding its state, sent back with the
# provider's redirect (SameSite=Lax: a top-level GET from another site) only to the callback.
ATTEMPT_COOKIE = "iom_sign_in"
ATTEMPT_PATH = "/console/sign-in"
ATTEMPT_SECONDS = 600


def _sign_in_page(request: Request, settings: SettingsDep, provider: OidcProvider | None, *,
                  next_url: str, error: str | None = None, status: int = 200,
                  retry_after: int | None = None) -> Response:
    response = render(request, "sign_in.html", {
        "title": "Sign in", "next": next_url, "error": error,
        "sso": provider is not None, "key_sign_in": settings.console_key_signin,
    }, status=status, headers={"Retry-After": str(retry_after)} if retry_after else None)
    return response


@router.get("/sign-in")
def sign_in_form(request: Request, settings: SettingsDep, provider: ProviderDep,
                 next: str | None = None) -> Response:
    """The sign-in page: single sign-on, and (where allowed) a pasted API key."""
    return _sign_in_page(request, settings, provider, next_url=safe_next(next))


@router.post("/sign-in")
def sign_in(request: Request, session: SessionDep, settings: SettingsDep,
            provider: ProviderDep, throttle: ThrottleDep,
            api_key: Annotated[str, Form(max_length=200)] = "",
            next: Annotated[str, Form(max_length=2000)] = "") -> Response:
    """Sign in with an API key (a break-glass admin, `make run`): a server-side session."""
    if not settings.console_key_signin:
        raise NotFound("signing in to the console with a key is turned off here")
    target, client = safe_next(next), client_of(request)
    wait = wait_before(throttle, client)
    principal = principal_for_key(session, api_key) if wait is None and api_key.strip() \
        else None
    if principal is None:
        log.warning("console sign-in refused: unknown, revoked or expired key")
        wait = wait or count_failure(throttle, client)
        if wait is not None:
            return _sign_in_page(request, settings, provider, next_url=target, status=429,
                                 retry_after=wait,
                                 error=f"Too many failed sign-ins: try again in {wait} s.")
        return _sign_in_page(request, settings, provider, next_url=target, status=401,
                             error="That key is unknown, revoked or expired.")
    log.info("console sign-in: key %s (%s)", principal.key_id, principal.role.value)
    token = session_store.start_session(
        session=session, lifetimes=lifetimes(settings),
        who=session_store.Who(method="key", key_id=principal.key_id,
                              display_name=principal.name, role=principal.role,
                              areas=None if principal.areas is None else list(principal.areas)))
    response = RedirectResponse(target, status_code=303)
    set_session_cookie(response, token, settings=settings)
    return response


def _redirect_uri(request: Request, settings: SettingsDep) -> str:
    return settings.oidc_redirect_uri or str(request.url_for("oidc_callback"))


@router.get("/sign-in/oidc")
def oidc_sign_in(request: Request, session: SessionDep, settings: SettingsDep,
                 provider: ProviderDep, next: str | None = None) -> Response:
    """Send the browser to the identity provider (code flow, PKCE, state and nonce)."""
    if provider is None:
        raise NotFound("single sign-on is not configured")
    url, state, nonce, verifier = provider.begin(_redirect_uri(request, settings))
    session_store.start_attempt(session=session, state=state, nonce=nonce,
                                code_verifier=verifier, next_url=safe_next(next))
    response = RedirectResponse(url, status_code=303)
    response.set_cookie(ATTEMPT_COOKIE, state, max_age=ATTEMPT_SECONDS, path=ATTEMPT_PATH,
                        secure=True, httponly=True, samesite="lax")
    return response


@router.get("/sign-in/callback", name="oidc_callback")
def oidc_callback(request: Request, session: SessionDep, settings: SettingsDep,
                  provider: ProviderDep, throttle: ThrottleDep, code: str | None = None,
                  state: str | None = None, error: str | None = None) -> Response:
    """The provider's answer: check it, map the claims, start the person's session."""
    if provider is None:
        raise NotFound("single sign-on is not configured")
    client = client_of(request)
    wait = wait_before(throttle, client)

    def refuse(message: str) -> Response:
        seconds = wait or count_failure(throttle, client)
        page = _sign_in_page(request, settings, provider, next_url=safe_next(None),
                             status=429 if seconds else 401, retry_after=seconds,
                             error=f"Too many failed sign-ins: try again in {seconds} s."
                             if seconds else message)
        page.delete_cookie(ATTEMPT_COOKIE, path=ATTEMPT_PATH, secure=True, httponly=True)
        return page

    if wait is not None:
        return refuse("")
    if error is not None:
        return refuse(f"The identity provider did not sign you in ({error[:100]}).")
    # The state must be the one this browser was sent off with (no login CSRF).
    cookie = request.cookies.get(ATTEMPT_COOKIE, "")
    if not code or not state or not hmac.compare_digest(cookie.encode(), state.encode()):
        return refuse("That sign-in expired or was started elsewhere: sign in again.")
    attempt = session_store.take_attempt(session=session, state=state)
    if attempt is None:
        return refuse("That sign-in expired or was started elsewhere: sign in again.")
    try:
        claims = provider.finish(code=code, redirect_uri=_redirect_uri(request, settings),
                                 nonce=attempt.nonce, code_verifier=attempt.code_verifier)
    except SignInFailed as exc:
        log.warning("console single sign-on refused: %s", exc.detail)
        return refuse("The identity provider's answer could not be verified: sign in again.")
    mapping = provider.mapping
    name, role, areas = mapping.display_name(claims), mapping.role(claims), \
        mapping.areas(claims)
    if role is None or areas == frozenset():
        why = "no role" if role is None else "no areas"
        record_sign_in_refusal(session, request, subject=str(claims["sub"]), name=name,
                               detail=f"console sign-in refused: {why} mapped from the "
                                      "identity provider's claims")
        response = render(request, "no_access.html", {"title": "No access", "name": name,
                                                      "why": why}, status=403)
        response.delete_cookie(ATTEMPT_COOKIE, path=ATTEMPT_PATH, secure=True, httponly=True)
        return response
    log.info("console sign-in through the identity provider (%s)", role.value)
    token = session_store.start_session(
        session=session, lifetimes=lifetimes(settings),
        who=session_store.Who(method="oidc", issuer=provider.issuer,
                              subject=str(claims["sub"]), display_name=name, role=role,
                              areas=None if areas is None else sorted(areas)))
    # A page, not a redirect: after a chain of redirects that began at the provider the
    # browser would not send the new SameSite=Strict cookie; this page's own navigation
    # (same site) does.
    response = render(request, "signed_in.html", {"title": "Signed in",
                                                  "next": attempt.next_url}, headers=NO_STORE)
    set_session_cookie(response, token, settings=settings)
    response.delete_cookie(ATTEMPT_COOKIE, path=ATTEMPT_PATH, secure=True, httponly=True)
    return response


@router.post("/sign-out")
def sign_out(request: Request, session: SessionDep, settings: SettingsDep,
             provider: ProviderDep) -> Response:
    """End the session, in the database and in the browser; a person who signed in through
    the identity provider is then sent there to end their session at the provider too."""
    row = current_session(request, session, settings)
    at_provider = None
    if row is not None:
        session_store.end_session(session=session, row=row)
        if row.method == "oidc" and provider is not None and row.issuer == provider.issuer:
            at_provider = provider.end_session_url(settings.oidc_post_logout_redirect_uri
                                                   or str(request.url_for("signed_out")))
    if at_provider is None:
        response: Response = RedirectResponse("/console/sign-in", status_code=303)
    else:
        # A page that moves on by itself, not a redirect: the pages' CSP (form-action
        # 'self') stops a form's redirect to another site, as at sign-in.
        response = render(request, "signing_out.html", {
            "title": "Signing out", "principal": None, "end_session_url": at_provider},
            headers=NO_STORE)
    clear_session_cookie(response)
    return response


@router.get("/signed-out", name="signed_out")
def signed_out(request: Request) -> Response:
    """Where the identity provider sends the browser back once it has signed the person
    out there too."""
    return render(request, "signed_out.html", {"title": "Signed out"}, headers=NO_STORE)


@router.get("/purpose")
def purpose_form(request: Request, principal: ConsolePrincipal, secret: ConsoleSecret,
                 next: str | None = None) -> Response:
    """Ask once why this session will read person-level data (kept in the session)."""
    return render(request, "purpose.html", {
        "title": "Purpose", "next": safe_next(next), "form_token": form_token(request, secret),
        "form_token_field": FORM_TOKEN_FIELD}, headers=NO_STORE)


@router.post("/purpose")
def set_purpose(request: Request, principal: ConsolePrincipal, session: SessionDep,
                secret: ConsoleSecret, purpose: Annotated[str, Form(max_length=2000)] = "",
                next: Annotated[str, Form(max_length=2000)] = "",
                form_token: Annotated[str, Form(max_length=200)] = "") -> Response:
    """Keep the stated purpose in the session and go back to the page that asked."""
    check_form(request, form_token, secret)
    stated = purpose_of(purpose)
    if stated is None:
        return render(request, "purpose.html", {
            "title": "Purpose", "next": safe_next(next), "error": "Say why.",
            "form_token": form_token, "form_token_field": FORM_TOKEN_FIELD}, status=422)
    session_store.set_purpose(session=session, row=request.state.console_session,
                              purpose=stated)
    return RedirectResponse(safe_next(next), status_code=303)

