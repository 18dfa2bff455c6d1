"""The web console: server-rendered pages for meeting chairs, offender managers, analysts."""

# Importing the page modules registers their routes on the console's one router.
from service.console import meeting, pages, people, sign_in  # noqa: F401
from service.console.web import router

__all__ = ["router"]
