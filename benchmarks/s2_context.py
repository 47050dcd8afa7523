"""SSIMULACRA2 on a small face box alone misses what people see: the box alone, widened to
``S2_CONTEXT`` pixels of the photo (what every report now measures), and the whole photo.

Photos with LFW-sized faces (about 110 px): the two public-domain samples shrunk to that face
size, and, with ``../shared``, LFW photos. Each is cloaked by each config (against every usable
recognizer) and the same protected photo is scored three ways, beside the face box's SSIM. A
strip of the shrunk astronaut per config goes to ``docs/images/`` to look at (public domain).

    python benchmarks/s2_context.py --lfw 10
"""

from __future__ import annotations

import argparse
import logging
import statistics
import time

import numpy as np
from PIL import Image

from _report import (
    ROOT,
    first_photo_per_identity,
    machine_line,
    markdown_table,
    save_json,
    write_section,
)
from _transfer_configs import CONFIGS
from facecloak.data import astronaut, grace_hopper
from facecloak.images import load_image
from facecloak.models import detect, largest_face
from facecloak.paths import shared_faces_dir
from facecloak.protect import ProtectConfig, protect
from facecloak.quality import S2_CONTEXT, image_change, ssimulacra2_score
from preset_pictures import MAX_BYTES, SIDE, face_tile

logger = logging.getLogger("s2_context")
FACE_SIDE = 110  # px: LFW's face boxes


def shrunk(rgb: np.ndarray) -> np.ndarray:
    """``rgb`` resized so its largest face box is about ``FACE_SIDE`` pixels wide."""
    face = largest_face(detect(rgb))
    factor = FACE_SIDE / (face.box[2] - face.box[0])
    size = (round(rgb.shape[1] * factor), round(rgb.shape[0] * factor))
    return np.asarray(Image.fromarray(rgb).resize(size, Image.Resampling.LANCZOS))


def photos(lfw: int) -> dict[str, np.ndarray]:
    chosen = {"astronaut": shrunk(astronaut()), "grace_hopper": shrunk(grace_hopper())}
    faces = shared_faces_dir()
    faces_dir = faces / "lfw" if faces is not None else None
    if lfw and faces_dir is not None and faces_dir.is_dir():
        firsts = first_photo_per_identity(faces_dir)
        for identity in sorted(firsts)[:: max(1, len(firsts) // lfw)][:lfw]:
            chosen[f"lfw/{identity}"] = load_image(firsts[identity])
    return chosen


def scores(rgb: np.ndarray, protected: np.ndarray, box: tuple[float, ...]) -> dict[str, float]:
    x0, y0, x1, y1 = (round(v) for v in box)
    alone = ssimulacra2_score(rgb[y0:y1, x0:x1], protected[y0:y1, x0:x1])
    return {
        "box_alone": alone,
        "widened": ssimulacra2_score(rgb, protected, box=box),
        "whole": ssimulacra2_score(rgb, protected),
        "ssim_box": image_change(rgb, protected, box=(x0, y0, x1, y1)).ssim,
        "box_side": min(x1 - x0, y1 - y0),
    }


def measure(images: dict[str, np.ndarray], configs: list[str]) -> tuple[list[dict], list]:
    rows, tiles = [], []
    for name, rgb in images.items():
        face = largest_face(detect(rgb))
        if face is None:
            logger.warning("no face in %s: skipped", name)
            continue
        if name == "astronaut":
            tiles.append(face_tile(rgb, face.box, "original"))
        for config in configs:
            strength = CONFIGS[config].strength
            settings = ProtectConfig(strength=strength, recognizers=("all",), largest=True)
            started = time.perf_counter()
            protected = protect(rgb, settings, detected=[face]).image
            row = {"photo": name, "config": config, "seconds": time.perf_counter() - started}
            row.update(scores(rgb, protected, face.box))
            rows.append(row)
            logger.info("%s %s: %s", name, config, row)
            if name == "astronaut":
                caption = f"box {row['box_alone']:.0f} / {row['widened']:.0f}"
                tiles.append(face_tile(protected, face.box, f"{config}: {caption}"))
    return rows, tiles


def save_strip(tiles: list) -> str:
    sheet = Image.new("RGB", (SIDE * len(tiles), SIDE))
    for i, tile in enumerate(tiles):
        sheet.paste(tile, (i * SIDE, 0))
    path = ROOT / "docs" / "images" / "s2-context-astronaut.jpg"
    for quality in (90, 85, 80, 75, 70, 65, 60, 50, 40, 30):
        sheet.save(path, quality=quality)
        if path.stat().st_size < MAX_BYTES:
            break
    return path.relative_to(ROOT).as_posix()


def summary(rows: list[dict], configs: list[str]) -> str:
    table = []
    for config in configs:
        mine = [r for r in rows if r["config"] == config]
        if not mine:
            continue

        def mean(key: str, of: list[dict] = mine) -> str:
            return f"{statistics.mean(r[key] for r in of):.1f}"

        table.append(
            [
                config,
                len(mine),
                mean("box_alone"),
                mean("widened"),
                mean("whole"),
                f"{statistics.mean(r['ssim_box'] for r in mine):.3f}",
                mean("seconds"),
            ]
        )
    header = ["config", "photos", "S2 face box alone", f"S2 box widened to {S2_CONTEXT} px"]
    return markdown_table([*header, "S2 whole photo", "SSIM face box", "s / face"], table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lfw", type=int, default=10, help="LFW photos (with ../shared)")
    parser.add_argument("--configs", default="mid-no-s2,high-no-s2,mid,high")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    configs = args.configs.split(",")
    rows, tiles = measure(photos(args.lfw), configs)
    save_json("s2_context", {"rows": rows, "machine": machine_line()})
    picture = save_strip(tiles)
    command = f"python benchmarks/s2_context.py --lfw {args.lfw} --configs {args.configs}"
    lines = [
        f"`{command}` ({machine_line()}). Faces about {FACE_SIDE} px wide (LFW's size: the "
        "public-domain samples shrunk to it, and LFW photos); one cloak per photo and config "
        "(every usable recognizer), scored three ways. `-no-s2`: the preset without its "
        "SSIMULACRA2 floor.",
        "",
        summary(rows, configs),
        "",
        f"![the shrunk astronaut: original, {', '.join(configs)}]({picture})",
        "",
        "Captions: S2 on the face box alone / widened.",
    ]
    write_section("s2-context", "\n".join(lines))


if __name__ == "__main__":
    main()
