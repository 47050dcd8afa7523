"""Helpers shared by the benchmark scripts: data location, timing, and BENCHMARKS.md sections."""

from __future__ import annotations

import json
import platform
import re
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BENCHMARKS_MD = ROOT / "BENCHMARKS.md"
RESULTS_DIR = ROOT / "benchmarks" / "results"


def require_shared_faces() -> Path:
    """``<shared>/data/faces`` or exit with a message saying how to provide it."""
    from facecloak.paths import shared_faces_dir

    folder = shared_faces_dir()
    if folder is None:
        sys.exit(
            "benchmark needs the real photos: set FACECLOAK_SHARED or put shared/ beside the repo"
        )
    return folder


def photos_with_faces(paths: Iterable[Path]) -> Iterator[tuple[Path, Any, Any]]:
    """Each photo of ``paths`` as ``(path, rgb, its largest detected face)``; photos where the
    default detector finds none are skipped."""
    from facecloak.images import load_image
    from facecloak.models import detect, largest_face

    for path in paths:
        rgb = load_image(path)
        face = largest_face(detect(rgb))
        if face is not None:
            yield path, rgb, face


def first_photo_per_identity(folder: Path) -> dict[str, Path]:
    """Each identity of a labelled folder (``<folder>/<identity>/*.jpg``) -> its first photo, in
    the folder reader's order."""
    from facecloak.datasets import read_labelled_folder

    firsts: dict[str, Path] = {}
    for photo in read_labelled_folder(folder, min_per_identity=1):
        firsts.setdefault(photo.identity, Path(photo.path))
    return firsts


def machine_line() -> str:
    """The machine in one line, with the CPU's vector capability (AVX2, AVX-512): the speed of
    torch's convolutions, and so every time here, depends on it."""
    import os

    import torch

    vectors = torch.backends.cpu.get_cpu_capability()
    return (
        f"{platform.processor() or platform.machine()} ({vectors}), "
        f"{os.cpu_count()} cores, Python {platform.python_version()}, torch {torch.__version__}, "
        f"{torch.get_num_threads()} torch threads"
    )


def write_section(name: str, markdown: str) -> None:
    """Replace (or append) the section between ``<!-- name:begin -->`` and ``<!-- name:end -->``."""
    begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
    block = f"{begin}\n{markdown.strip()}\n{end}"
    text = BENCHMARKS_MD.read_text() if BENCHMARKS_MD.exists() else "# Benchmarks\n"
    pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end), re.S)
    text = (
        pattern.sub(lambda _: block, text)
        if pattern.search(text)
        else f"{text.rstrip()}\n\n{block}\n"
    )
    BENCHMARKS_MD.write_text(text)


def save_json(name: str, payload: dict) -> Path:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{name}.json"
    path.write_text(json.dumps(payload, indent=2))
    return path


def markdown_table(header: list[str], rows: list[list[object]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)
