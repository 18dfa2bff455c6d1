"""The console's frame: templates, the page renderer, and a route class that turns the
service's errors into pages and adds the security headers every page carries."""

from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates

from models import Role
from scoring.uk_calendar import uk_date
from service.console.session import PurposeRequired, SignInRequired, may_see_people
from service.errors import DomainError
from service.security import Principal

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")

# No script, nothing from elsewhere: the pages are HTML, CSS and inline SVG only.
SECURITY_HEADERS = {
    "Content-Security-Policy": ("default-src 'none'; style-src 'self'; img-src 'self' data:; "
                                "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}
# Person-level pages are read once by the person who asked, never by a shared cache.
NO_STORE = {"Cache-Control": "no-store"}


def render(request: Request, name: str, context: dict[str, Any], *,
           status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A page, with the signed-in principal (if any) and navigation in its context."""
    principal: Principal | None = getattr(request.state, "principal", None)
    row = getattr(request.state, "console_session", None)
    base = {"principal": principal,
            "people": principal is not None and may_see_people(principal),
            "purpose": row.purpose if row is not None else None}
    return templates.TemplateResponse(request, name, {**base, **context}, status_code=status,
                                      headers=headers)


def _back_to(request: Request, page: str) -> str:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return f"/console/{page}?" + urlencode({"next": target})


class ConsoleRoute(APIRoute):
    """Turns the service's errors into pages (not problem+json) and adds security headers."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        original = super().get_route_handler()

        async def handler(request: Request) -> Response:
            try:
                response = await original(request)
            except SignInRequired:
                response = RedirectResponse(_back_to(request, "sign-in"), status_code=303)
            except PurposeRequired:
                response = RedirectResponse(_back_to(request, "purpose"), status_code=303)
            except DomainError as exc:
                response = render(request, "error.html",
                                  {"title": exc.title, "status": exc.status,
                                   "detail": exc.detail, "errors": exc.errors or []},
                                  status=exc.status)
            except RequestValidationError as exc:
                errors = [{"loc": list(e.get("loc", ())), "msg": e.get("msg", "")}
                          for e in exc.errors()]
                response = render(request, "error.html",
                                  {"title": "Invalid input", "status": 422,
                                   "detail": "Some fields are not valid.", "errors": errors},
                                  status=422)
            response.headers.update(SECURITY_HEADERS)
            return response

        return handler


router = APIRouter(prefix="/console", route_class=ConsoleRoute, include_in_schema=False)


def role_label(role: Role) -> str:
    """A role as people say it."""
    return role.value.replace("_", " ")


templates.env.globals["role_label"] = role_label


def _num(value: Any, digits: int = 0) -> str:
    if value is None:
        return "–"
    return f"{float(value):,.{digits}f}"


def _money(value: Any) -> str:
    if value is None:
        return "–"
    amount = float(value)
    return f"-£{-amount:,.0f}" if amount < 0 else f"£{amount:,.0f}"


def _pct(value: Any) -> str:
    return "–" if value is None else f"{float(value):.1f}%"


def _interval(value: Any) -> str:
    return "–" if not value else f"{float(value[0]):.1f} to {float(value[1]):.1f}%"


templates.env.filters.update(num=_num, money=_money, pct=_pct, interval=_interval,
                             uk_date=uk_date)

