"""The server's limits and options: one frozen :class:`ServerSettings`.

Example:
    >>> settings = ServerSettings()
    >>> settings.host, settings.max_photos, settings.loopback
    ('127.0.0.1', 10, True)
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, field

LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1", "[::1]")


@dataclass(frozen=True)
class ServerSettings:
    """Where the app listens and what it accepts.

    Attributes:
        host, port: where uvicorn binds (loopback by default).
        token: the bearer token every ``/api/`` request must carry (required off loopback).
        max_bytes: largest upload per photo, in bytes (413 above).
        max_request_bytes: largest request body (413 above, checked while it streams in).
        max_megapixels: largest photo, from its header before any pixel is decoded (413 above).
        max_photos: photos per job (413 above).
        queue_size: jobs waiting for a worker (429 when full).
        workers: job worker threads (one per core by default).
        quick_slots: ``detect`` / ``compare`` requests in flight at once (429 above).
        ttl_seconds: a job and its photos are forgotten this long after they were last read.
        extra_hosts: ``Host`` header values accepted besides the loopback names and ``host``.
    """

    host: str = "127.0.0.1"
    port: int = 8000
    token: str | None = None
    max_bytes: int = 20_000_000
    max_request_bytes: int = 64_000_000
    max_megapixels: float = 24.0
    max_photos: int = 10
    queue_size: int = 8
    workers: int = field(default_factory=lambda: os.cpu_count() or 1)
    quick_slots: int = 8
    ttl_seconds: float = 900.0
    extra_hosts: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for name in ("max_bytes", "max_request_bytes", "max_photos", "queue_size", "workers"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name}={getattr(self, name)} must be at least 1")
        if self.quick_slots < 1 or self.max_megapixels <= 0 or self.ttl_seconds <= 0:
            raise ValueError("quick_slots, max_megapixels and ttl_seconds must be positive")

    @property
    def loopback(self) -> bool:
        """The app is reachable only from this machine."""
        return is_loopback(self.host)

    @property
    def allowed_hosts(self) -> tuple[str, ...] | None:
        """``Host`` headers accepted (DNS-rebinding guard); ``None``: any (off loopback)."""
        if not self.loopback:
            return None
        return (*LOOPBACK_NAMES, self.host, *self.extra_hosts)


def is_loopback(host: str) -> bool:
    """``host`` names this machine only (``127.0.0.1``, ``::1``, ``localhost``)."""
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
