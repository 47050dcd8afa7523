"""Guards in front of the API: the request-size cap, the host / origin / token checks, the
security headers, and the gate that bounds ``detect`` and ``compare`` work in flight."""

from __future__ import annotations

import hmac
import json
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from facecloak.web.settings import ServerSettings

T = TypeVar("T")

SECURITY_HEADERS = {
    "content-security-policy": (
        "default-src 'self'; img-src 'self' blob: data:; style-src 'self'; script-src 'self'; "
        "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
        "form-action 'self'"
    ),
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    "cross-origin-resource-policy": "same-origin",
}


class Busy(Exception):
    """Every slot for quick requests is taken (HTTP 429)."""


class Gate:
    """At most ``slots`` quick requests admitted (others: :class:`Busy`), run ``concurrent`` at a
    time on the gate's own threads: always the same few, so what torch and the C allocator keep
    per thread stays bounded however many request threads the server has used."""

    def __init__(self, slots: int, concurrent: int) -> None:
        self._admit = threading.BoundedSemaphore(slots)
        self._pool = ThreadPoolExecutor(concurrent, thread_name_prefix="facecloak-quick")

    def run(self, work: Callable[..., T], *args: Any) -> T:
        """``work(*args)`` on a gate thread; :class:`Busy` when every slot is taken."""
        if not self._admit.acquire(blocking=False):
            raise Busy("the server is busy; retry soon")
        try:
            return self._pool.submit(work, *args).result()
        finally:
            self._admit.release()


async def send_json(send: Send, status: int, payload: dict, headers: dict | None = None) -> None:
    body = json.dumps(payload).encode()
    extra = {**SECURITY_HEADERS, **(headers or {})}
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    raw += [(k.encode(), v.encode()) for k, v in extra.items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


class Guard:
    """ASGI middleware: host, origin, token and size checks, then security headers."""

    def __init__(self, app: ASGIApp, settings: ServerSettings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        refusal = self._refusal(scope["path"], headers)
        if refusal is not None:
            await send_json(send, *refusal)
            return
        await self._limited(scope, receive, send)

    def _refusal(self, path: str, headers: dict[str, str]) -> tuple | None:
        host = headers.get("host", "")
        allowed = self.settings.allowed_hosts
        if allowed is not None and _hostname(host) not in allowed:
            return 400, {"error": f"unknown host {host!r}: open the app at 127.0.0.1"}
        origin = headers.get("origin")
        if origin is not None and origin.split("://", 1)[-1] != host:
            return 403, {"error": "cross-origin requests are refused"}
        if self._needs_token(path) and not self._token_ok(headers.get("authorization", "")):
            message = "this server needs its token: send 'Authorization: Bearer <token>'"
            return 401, {"error": message}, {"www-authenticate": "Bearer"}
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.settings.max_request_bytes:
            return 413, {"error": self._too_large()}
        return None

    def _needs_token(self, path: str) -> bool:
        return (
            self.settings.token is not None
            and path.startswith("/api/")
            and not (path.endswith("/health"))
        )

    def _token_ok(self, header: str) -> bool:
        scheme, _, value = header.partition(" ")
        expected = (self.settings.token or "").encode()
        return scheme.lower() == "bearer" and hmac.compare_digest(value.strip().encode(), expected)

    def _too_large(self) -> str:
        limit = self.settings.max_request_bytes / 1e6
        return f"the request is above the {limit:g} MB limit; send fewer or smaller photos"

    async def _limited(self, scope: Scope, receive: Receive, send: Send) -> None:
        received = 0
        over = False

        async def limited_receive() -> Message:
            nonlocal received, over
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.settings.max_request_bytes:
                    over = True
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            if over:  # whatever the app answers to a cut-off body, the client gets a 413
                if message["type"] == "http.response.start":
                    await send_json(send, 413, {"error": self._too_large()})
                return
            if message["type"] == "http.response.start":
                present = {k.lower() for k, _ in message.get("headers", [])}
                extra = [(k.encode(), v.encode()) for k, v in SECURITY_HEADERS.items()]
                message = {
                    **message,
                    "headers": [
                        *message.get("headers", []),
                        *(h for h in extra if h[0] not in present),
                    ],
                }
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except Exception:
            if not over:
                raise
            await send_json(send, 413, {"error": self._too_large()})


def _hostname(host: str) -> str:
    if host.startswith("["):
        return host.split("]", 1)[0] + "]"
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host
