"""Protecting files and folders: input discovery, output paths, and faithful writing.

Outputs keep the input's name and format (JPEG at quality 95, PNG lossless, WebP/TIFF/BMP as
such), never overwrite without being told to, and drop EXIF/GPS metadata unless asked to keep it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path

import numpy as np
from PIL import Image

from facecloak.errors import FacecloakError
from facecloak.images import IMAGE_SUFFIXES, LoadedImage

logger = logging.getLogger(__name__)

JPEG_QUALITY = 95


def discover_inputs(inputs: Iterable[Path]) -> list[tuple[Path, Path]]:
    """Every image under ``inputs`` as ``(path, path relative to its input root)``.

    Folders are searched recursively for the known image suffixes; a file given by name is taken
    whatever its suffix (the loader will say if it is not an image).
    """
    found: list[tuple[Path, Path]] = []
    for item in inputs:
        if item.is_dir():
            images = sorted(
                p for p in item.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
            )
            found += [(p, p.relative_to(item)) for p in images]
        elif item.exists():
            found.append((item, Path(item.name)))
        else:
            raise FacecloakError(f"{item}: no such file or folder")
    return found


def output_path(outdir: Path, relative: Path, inputs: list[Path], overwrite: bool) -> Path:
    """Where a protected copy goes; never an input, and an existing file only with ``overwrite``."""
    target = outdir / relative
    if any(target.resolve() == p.resolve() for p in inputs):
        raise FacecloakError(f"{target}: would overwrite an input photo; choose another -o folder")
    if target.exists() and not overwrite:
        raise FacecloakError(f"{target}: already exists; pass --overwrite to replace it")
    return target


def write_like_input(
    rgb: np.ndarray, source: LoadedImage, target: Path, keep_metadata: bool = False
) -> Path:
    """Write ``rgb`` to ``target`` in the source's format; metadata only with ``keep_metadata``."""
    target.parent.mkdir(parents=True, exist_ok=True)
    image = Image.fromarray(rgb)
    if source.alpha is not None and source.format in ("PNG", "WEBP", "TIFF"):
        image.putalpha(Image.fromarray(source.alpha))
    options: dict = {}
    if source.icc_profile:
        options["icc_profile"] = source.icc_profile  # colour, not personal: always kept
    if keep_metadata and source.exif:
        options["exif"] = source.exif
    fmt = _format_for(target, source.format)
    if fmt == "JPEG":
        options.update(quality=JPEG_QUALITY, subsampling=0)
    elif fmt == "WEBP":
        options.update(lossless=True)
    elif fmt == "PNG":
        options.update(optimize=False)
    temporary = target.with_name(f".{target.name}.partial")
    image.save(temporary, fmt, **options)
    temporary.replace(target)  # never leave a half-written photo under the final name
    return target


def _format_for(target: Path, source_format: str) -> str:
    by_suffix = {
        ".jpg": "JPEG",
        ".jpeg": "JPEG",
        ".png": "PNG",
        ".webp": "WEBP",
        ".tif": "TIFF",
        ".tiff": "TIFF",
        ".bmp": "BMP",
    }
    return by_suffix.get(target.suffix.lower(), "JPEG" if source_format == "MPO" else source_format)
