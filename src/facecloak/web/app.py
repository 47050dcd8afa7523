"""``create_app(settings)``: the FastAPI app: the page, the offline API docs and ``/api/v1``."""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib import resources

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartParser

from facecloak import __version__
from facecloak.errors import FacecloakError, InvalidOptionError, NoFaceError
from facecloak.web.analysis import ModelPool
from facecloak.web.api import Services, router
from facecloak.web.jobs import JobStore, QueueFull
from facecloak.web.limits import Busy, Gate, Guard
from facecloak.web.service import photo_processor
from facecloak.web.settings import ServerSettings
from facecloak.web.uploads import Caps, UploadError

logger = logging.getLogger(__name__)
STATIC = resources.files("facecloak.web") / "static"


def create_app(
    settings: ServerSettings | None = None, pool: ModelPool | None = None, warm: bool = False
) -> FastAPI:
    """The app; its job workers start now and stop when the app shuts down. ``warm`` loads every
    model in the background at start-up (else on first use)."""
    settings = settings or ServerSettings()
    pool = pool or ModelPool()
    # Uploads stay in memory up to the per-photo cap (Starlette spools larger parts to a file).
    MultiPartParser.spool_max_size = max(MultiPartParser.spool_max_size, settings.max_bytes + 1)
    caps = Caps(settings.max_bytes, settings.max_megapixels)
    store = JobStore(
        photo_processor(pool, caps), settings.workers, settings.queue_size, settings.ttl_seconds
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if warm:
            threading.Thread(target=pool.warm, name="facecloak-warm-up", daemon=True).start()
        yield
        store.close()

    app = FastAPI(
        title="facecloak",
        version=__version__,
        description="Protect faces in photos, check and compare them. Everything stays local.",
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.services = Services(
        settings, pool, store, Gate(settings.quick_slots, settings.workers)
    )
    app.include_router(router)
    _add_pages(app)
    _add_error_handlers(app)
    app.add_middleware(Guard, settings=settings)
    return app


def _add_pages(app: FastAPI) -> None:
    static = str(STATIC)

    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        return FileResponse(f"{static}/index.html")

    @app.get("/docs", include_in_schema=False)
    def docs() -> FileResponse:
        return FileResponse(f"{static}/docs.html")

    app.mount("/static", StaticFiles(directory=static), name="static")


def _error(status: int, message: str, headers: dict | None = None) -> JSONResponse:
    return JSONResponse({"error": " ".join(message.split())}, status_code=status, headers=headers)


def _add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(HTTPException)
    async def http_error(_: Request, exc: HTTPException) -> JSONResponse:
        return _error(exc.status_code, str(exc.detail), getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        parts = []
        for error in exc.errors():
            where = ".".join(str(p) for p in error.get("loc", ()) if p not in ("body", "query"))
            parts.append(f"{where}: {error.get('msg', 'invalid')}")
        return _error(422, "; ".join(parts) or "invalid request")

    @app.exception_handler(UploadError)
    async def upload_error(_: Request, exc: UploadError) -> JSONResponse:
        return _error(exc.status, str(exc))

    @app.exception_handler(QueueFull)
    @app.exception_handler(Busy)
    async def busy(_: Request, exc: Exception) -> JSONResponse:
        return _error(429, str(exc), {"retry-after": "2"})

    @app.exception_handler(InvalidOptionError)
    @app.exception_handler(NoFaceError)
    async def unprocessable(_: Request, exc: FacecloakError) -> JSONResponse:
        return _error(422, str(exc))

    @app.exception_handler(FacecloakError)
    async def failed(_: Request, exc: FacecloakError) -> JSONResponse:
        return _error(500, str(exc))

    @app.exception_handler(Exception)
    async def crashed(request: Request, exc: Exception) -> JSONResponse:
        logger.error("%s %s failed", request.method, request.url.path, exc_info=exc)
        return _error(500, "internal error; see the server's log")
