"""Fixtures of the web tests: a small-capped app on the test client, and photos made in memory
(public-domain faces and generated files only)."""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Callable, Iterator

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("fastapi", reason="the web app needs fastapi (pip install -e '.[dev]')")
pytest.importorskip("httpx", reason="FastAPI's test client needs httpx")

from fastapi.testclient import TestClient

from facecloak.web import ServerSettings, create_app
from facecloak.web.analysis import ModelPool

SMALL = ServerSettings(
    workers=1,
    max_bytes=2_000_000,
    max_request_bytes=5_000_000,
    max_megapixels=4.0,
    max_photos=3,
    queue_size=4,
    extra_hosts=("testserver",),
)


def encode(rgb: np.ndarray, fmt: str = "PNG", **options: object) -> bytes:
    stream = io.BytesIO()
    Image.fromarray(rgb).save(stream, format=fmt, **options)
    return stream.getvalue()


def png_bomb(width: int = 10_000, height: int = 10_000) -> bytes:
    """A PNG of a few hundred bytes whose header declares ``width x height`` pixels."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00" * 1024)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


@pytest.fixture(scope="session")
def small_settings() -> ServerSettings:
    """Low caps so that every limit is cheap to cross."""
    return SMALL


@pytest.fixture(scope="session")
def to_bytes() -> Callable[..., bytes]:
    """``to_bytes(rgb, fmt="PNG", **options)``: an encoded photo."""
    return encode


@pytest.fixture(scope="session")
def bomb() -> bytes:
    """A 100-megapixel PNG declared in a few hundred bytes."""
    return png_bomb()


@pytest.fixture(scope="session")
def pool() -> ModelPool:
    return ModelPool()


@pytest.fixture(scope="session")
def client(pool: ModelPool) -> Iterator[TestClient]:
    with TestClient(create_app(SMALL, pool)) as test_client:
        yield test_client


@pytest.fixture(scope="session")
def astronaut_png(astronaut: np.ndarray) -> bytes:
    return encode(astronaut)


@pytest.fixture(scope="session")
def hopper_jpeg(grace_hopper: np.ndarray) -> bytes:
    return encode(grace_hopper, "JPEG", quality=90)
