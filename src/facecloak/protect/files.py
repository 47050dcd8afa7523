"""Protecting files and folders: input discovery, output paths, and faithful writing.

Outputs keep the input's name and format (JPEG at quality 95, PNG lossless, WebP/TIFF/BMP as
such), never overwrite without being told to, never replace an input (whatever the flags), never
follow a symbolic link, and drop EXIF/GPS metadata unless asked to keep it. A photo is written to
a temporary file created exclusively, under an unpredictable name, in the output folder; it is
decoded once to check it, then renamed into place, so a failed write (a full disk) never leaves a
truncated photo under the final name.
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Iterable, Iterator
from collections.abc import Set as AbstractSet
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

import numpy as np
from PIL import Image

from facecloak.errors import FacecloakError
from facecloak.images import IMAGE_SUFFIXES, LoadedImage

logger = logging.getLogger(__name__)

JPEG_QUALITY = 95


def discover_inputs(inputs: Iterable[Path]) -> list[tuple[Path, Path]]:
    """Every image under ``inputs`` as ``(path, where its output goes under the output folder)``.

    Folders are searched recursively for the known image suffixes and mirrored: one folder's
    tree straight under the output folder, several folders' trees each under its own name (so
    ``a/photo.jpg`` and ``b/photo.jpg`` never collide). A file given by name is taken whatever
    its suffix (the loader will say if it is not an image).
    """
    inputs = list(inputs)
    found: list[tuple[Path, Path]] = []
    for item in inputs:
        if item.is_dir():
            images = sorted(
                p for p in item.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
            )
            under = Path(item.resolve().name) if len(inputs) > 1 else Path()
            found += [(p, under / p.relative_to(item)) for p in images]
        elif item.exists():
            found.append((item, Path(item.name)))
        else:
            raise FacecloakError(f"{item}: no such file or folder")
    _refuse_collisions(found)
    return found


def _refuse_collisions(found: list[tuple[Path, Path]]) -> None:
    """Two inputs that would be written to the same output name: refused before any work."""
    seen: dict[Path, Path] = {}
    for path, relative in found:
        key = Path(str(relative).lower())
        if key in seen:
            raise FacecloakError(
                f"{path} and {seen[key]} would both be written as {relative}; give their "
                "folders instead of the files (the output mirrors each folder), or rename one"
            )
        seen[key] = path


def output_path(outdir: Path, relative: Path, inputs: AbstractSet[Path], overwrite: bool) -> Path:
    """Where a protected copy goes: never an input photo (``inputs``: every photo found, not
    only the arguments, resolved), never a symbolic link, and an existing file only with
    ``overwrite``."""
    target = outdir / relative
    if target.resolve() in inputs:
        raise FacecloakError(
            f"{target}: would overwrite an input photo, which facecloak never does; "
            "choose another -o folder"
        )
    if target.is_symlink():
        raise FacecloakError(f"{target}: is a symbolic link; remove it or choose another -o folder")
    if target.exists() and not overwrite:
        raise FacecloakError(f"{target}: already exists; pass --overwrite to replace it")
    return target


def write_like_input(
    rgb: np.ndarray, source: LoadedImage, target: Path, keep_metadata: bool = False
) -> Path:
    """Write ``rgb`` to ``target`` in the source's format; metadata only with ``keep_metadata``."""
    image = Image.fromarray(rgb)
    if source.alpha is not None and source.format in ("PNG", "WEBP", "TIFF"):
        image = Image.fromarray(straight_colours(rgb, source))
        image.putalpha(Image.fromarray(source.alpha))
    options: dict = {}
    if source.icc_profile and source.icc_profile[16:20] == b"RGB ":
        # Colour, not personal: kept; a CMYK or grey profile would mislabel the RGB output.
        options["icc_profile"] = source.icc_profile
    if keep_metadata and source.exif:
        options["exif"] = source.exif
    fmt = _format_for(target, source.format)
    if fmt == "JPEG":
        options.update(quality=JPEG_QUALITY, subsampling=0)
    elif fmt == "WEBP":
        options.update(lossless=True)
    elif fmt == "PNG":
        options.update(optimize=False)
    with _exclusive_temporary(target) as (handle, temporary):
        image.save(handle, fmt, **options)
        handle.close()
        _check_decodes(temporary, target)
    return target


def straight_colours(rgb: np.ndarray, source: LoadedImage) -> np.ndarray:
    """The colours to store beside ``source``'s alpha: its own where ``rgb`` (composited over
    white, as the photo was protected) did not change, and elsewhere the colours that composite
    over white to ``rgb`` (so semi-transparent pixels keep their colour, not a whitened one)."""
    if source.straight_rgb is None or source.alpha is None:
        return rgb
    alpha = source.alpha[..., None].astype(np.float32) / 255.0
    unmixed = (rgb.astype(np.float32) - 255.0 * (1.0 - alpha)) / np.maximum(alpha, 1 / 255)
    unmixed = np.clip(np.rint(unmixed), 0, 255).astype(np.uint8)
    changed = (rgb != source.rgb).any(axis=2, keepdims=True) & (alpha > 0)
    return np.where(changed, unmixed, source.straight_rgb)


LOSSY_PALETTE_FORMATS = ("GIF",)
"""Formats that re-quantise every pixel to a small palette: a cloak does not survive them."""


def check_output_format(source: LoadedImage) -> None:
    """Refuse, before protecting it, a photo whose own format would undo the protection."""
    if source.format in LOSSY_PALETTE_FORMATS:
        raise FacecloakError(
            f"{source.path}: {source.format} keeps at most 256 colours, which would undo the "
            "protection; convert the photo to PNG and protect that"
        )


def copy_file_safely(source: Path, target: Path) -> Path:
    """``source``'s bytes to ``target`` through the same exclusive temporary file."""
    with source.open("rb") as original, _exclusive_temporary(target) as (handle, _):
        while chunk := original.read(1 << 20):
            handle.write(chunk)
    return target


@contextmanager
def _exclusive_temporary(target: Path) -> Iterator[tuple[BinaryIO, Path]]:
    """A new file in ``target``'s folder (``O_EXCL``, random short name, no symlink followed)
    that replaces ``target`` when the block ends without error, and is removed otherwise."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        # A short prefix keeps the name under 255 bytes whatever the length of ``target``'s.
        descriptor, name = tempfile.mkstemp(
            prefix=f".{target.name[:40]}.", suffix=".partial", dir=target.parent
        )
    except OSError as error:
        raise _write_error(target, error) from error
    temporary = Path(name)
    handle = os.fdopen(descriptor, "wb")
    try:
        yield handle, temporary
        handle.close()
        if target.is_symlink():
            raise FacecloakError(f"{target}: became a symbolic link; nothing written")
        os.replace(temporary, target)
    except OSError as error:
        raise _write_error(target, error) from error
    finally:
        handle.close()
        temporary.unlink(missing_ok=True)


def _write_error(target: Path, error: OSError) -> FacecloakError:
    return FacecloakError(
        f"{target}: could not be written ({error.strerror or error}); "
        "check the free space and permissions of the -o folder"
    )


def _check_decodes(temporary: Path, target: Path) -> None:
    try:
        with Image.open(temporary) as written:
            written.load()
    except (OSError, ValueError) as exc:
        raise FacecloakError(f"{target}: the written photo does not decode ({exc})") from exc


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
