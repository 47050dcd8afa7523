"""Before/after pictures of the public-domain sample faces for each preset, to look at.

For Grace Hopper and the astronaut (public domain), one strip per photo: the original face, then
each preset's cloak of it (every usable recognizer at once, as the default runs), each with its
face SSIMULACRA2. ``--presets`` also takes the settings ``benchmarks/transfer.py`` compares (its
``--configs`` names), to look at a point of its curve. Small JPEGs (under 20 KB each) in
``docs/images/`` for BENCHMARKS.md; no real person's photo is ever used here.

    python benchmarks/preset_pictures.py [--presets low,mid,high,mid-s2only]
"""

from __future__ import annotations

import argparse

import numpy as np
from PIL import Image, ImageDraw

from _report import ROOT, write_section
from _transfer_configs import CONFIGS
from facecloak.data import astronaut, grace_hopper
from facecloak.models import detect, largest_face
from facecloak.protect import PRESETS, ProtectConfig, Strength, protect
from facecloak.quality import ssimulacra2_score

OUT = ROOT / "docs" / "images"
SIDE = 150
MAX_BYTES = 20_000


def face_tile(rgb: np.ndarray, box: tuple[float, ...], caption: str) -> Image.Image:
    """The face box with a margin, resized to ``SIDE`` px, a caption along the bottom."""
    x0, y0, x1, y1 = box
    pad = 0.15 * (x1 - x0)
    crop = Image.fromarray(rgb).crop((x0 - pad, y0 - pad, x1 + pad, y1 + pad))
    tile = crop.resize((SIDE, SIDE), Image.Resampling.LANCZOS)
    draw = ImageDraw.Draw(tile)
    draw.rectangle((0, SIDE - 14, SIDE, SIDE), fill=(0, 0, 0))
    draw.text((3, SIDE - 13), caption, fill=(255, 255, 255))
    return tile


def strip(name: str, rgb: np.ndarray, presets: list[str]) -> tuple[str, list[str]]:
    face = largest_face(detect(rgb))
    tiles = [face_tile(rgb, face.box, "original")]
    notes = []
    for preset in presets:
        config = ProtectConfig(strength=strength(preset), recognizers=("all",), largest=True)
        protected = protect(rgb, config, detected=[face]).image
        score = ssimulacra2_score(rgb, protected, box=face.box)
        tiles.append(face_tile(protected, face.box, f"{preset}: S2 {score:.0f}"))
        notes.append(f"{preset} {score:.1f}")
    sheet = Image.new("RGB", (SIDE * len(tiles), SIDE))
    for i, tile in enumerate(tiles):
        sheet.paste(tile, (i * SIDE, 0))
    path = OUT / f"presets-{name}.jpg"
    for quality in (92, 88, 84, 80, 75, 70, 65, 60, 55, 50):
        sheet.save(path, quality=quality)
        if path.stat().st_size < MAX_BYTES:
            break
    return path.relative_to(ROOT).as_posix(), notes


def strength(name: str) -> str | Strength:
    """A preset's name, or the strength of a setting ``benchmarks/transfer.py`` compares."""
    if name in PRESETS:
        return name
    setting = CONFIGS.get(name)
    if setting is None or setting.strength is None:
        known = ", ".join(n for n, c in CONFIGS.items() if c.strength is not None)
        raise SystemExit(f"--presets: {name!r} is not a preset or a transfer setting ({known})")
    return setting.strength


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presets", default=",".join(PRESETS))
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    presets = args.presets.split(",")
    for name in presets:
        strength(name)  # refuse an unknown name before any cloak runs
    lines = [
        f"`python benchmarks/preset_pictures.py --presets {args.presets}`: the face of each "
        "public-domain sample photo, "
        "then each preset's cloak of it (against every usable recognizer), with the face "
        "box's SSIMULACRA2 (with 256 px of the photo around it; S2: 90 visually lossless, "
        "70 high quality, 50 medium).",
        "",
    ]
    for name, rgb in (("grace_hopper", grace_hopper()), ("astronaut", astronaut())):
        path, notes = strip(name, rgb, presets)
        lines += [f"![{name}: original, {', '.join(presets)}]({path})", ""]
        lines += [f"{name}: SSIMULACRA2 {', '.join(notes)}.", ""]
    write_section("preset-pictures", "\n".join(lines))


if __name__ == "__main__":
    main()
