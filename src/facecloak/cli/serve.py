"""``facecloak serve``: the local web app and REST API (see :mod:`facecloak.web`)."""

from __future__ import annotations

import argparse
import logging
import os
import threading
import webbrowser
from typing import TYPE_CHECKING

from facecloak.cli import checks
from facecloak.cli.common import EXIT_OK, Subcommands, refuse

if TYPE_CHECKING:
    from facecloak.web import ServerSettings

logger = logging.getLogger(__name__)


def add_parser(subcommands: Subcommands) -> None:
    sub = subcommands.add_parser(
        "serve", help="the local web app and REST API (http://127.0.0.1:8000)"
    )
    sub.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default 127.0.0.1: this machine only; any other needs --token)",
    )
    sub.add_argument("--port", type=checks.integer(1, 65535), default=8000, help="default 8000")
    sub.add_argument("--open", action="store_true", help="open the page in the web browser")
    sub.add_argument(
        "--token",
        default=os.environ.get("FACECLOAK_TOKEN"),
        metavar="T",
        help="require 'Authorization: Bearer T' on the API (default: $FACECLOAK_TOKEN)",
    )
    sub.add_argument(
        "--workers",
        type=checks.integer(1),
        default=None,
        metavar="N",
        help="photos protected at once (default: one per core)",
    )
    sub.add_argument("-v", "--verbose", action="store_true", help="log what happens")
    sub.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from facecloak.web import ServerSettings, is_loopback

    if not is_loopback(args.host) and not args.token:
        raise refuse(
            "--host",
            f"{args.host!r} exposes the app to the network: give --token T as well "
            "(clients then send 'Authorization: Bearer T')",
        )
    if args.token is not None and len(args.token) < 8:
        raise refuse("--token", "use at least 8 characters")
    settings = ServerSettings(
        host=args.host,
        port=args.port,
        token=args.token,
        workers=args.workers or os.cpu_count() or 1,
    )
    serve(settings, open_browser=args.open)
    return EXIT_OK


def serve(settings: ServerSettings, open_browser: bool = False) -> None:
    """Run uvicorn until Ctrl-C."""
    import torch
    import uvicorn

    from facecloak.web import create_app

    torch.set_num_threads(max(1, (os.cpu_count() or 1) // settings.workers))
    _bound_malloc_arenas()
    url = f"http://{_url_host(settings.host)}:{settings.port}/"
    print(f"facecloak: serving on {url} (Ctrl-C to stop)", flush=True)
    if settings.token:
        print("facecloak: the API needs 'Authorization: Bearer <token>'", flush=True)
    if open_browser:
        link = url + (f"#token={settings.token}" if settings.token else "")
        threading.Timer(1.0, webbrowser.open, (link,)).start()
    level = "info" if logging.getLogger().isEnabledFor(logging.INFO) else "warning"
    uvicorn.run(
        create_app(settings, warm=True),
        host=settings.host,
        port=settings.port,
        log_level=level,
        server_header=False,
        proxy_headers=False,
    )


M_ARENA_MAX = -8  # glibc's mallopt parameter number
MALLOC_ARENAS = 2


def _bound_malloc_arenas() -> None:
    """Cap glibc's malloc arenas: by default each thread that allocates gets its own (up to 8
    per core) and keeps what it freed, so a server's many request threads grow its resident
    memory with no leak. Nothing happens where the C library is not glibc."""
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("c")
    try:
        ctypes.CDLL(name).mallopt(M_ARENA_MAX, MALLOC_ARENAS)
    except (OSError, AttributeError, TypeError):
        logging.getLogger(__name__).debug("mallopt unavailable: malloc arenas not capped")


def _url_host(host: str) -> str:
    if host in ("0.0.0.0", "::"):
        return "127.0.0.1"
    return f"[{host}]" if ":" in host and not host.startswith("[") else host
