"""The local web app and REST API (``facecloak serve``): protect, check and compare photos in
the browser; nothing leaves the machine.

Example:
    >>> from facecloak.web import ServerSettings, create_app
    >>> app = create_app(ServerSettings(workers=1))  # doctest: +SKIP
"""

from __future__ import annotations

from facecloak.web.app import create_app
from facecloak.web.settings import ServerSettings, is_loopback

__all__ = ["ServerSettings", "create_app", "is_loopback"]
