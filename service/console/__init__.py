"""The web console: server-rendered pages for meeting chairs, offender managers, analysts."""

from service.console import meeting  # noqa: F401  (registers the migration-meeting pages)
from service.console.pages import router

__all__ = ["router"]
