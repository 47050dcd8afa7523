"""How much of each recognizer's aligned chip a replacement changes: the share of the chip's
pixels read from pixels `protect --method replace` changed. A recognizer that still matches a
replaced face while most of its chip is new is matching on what the generator drew (or on a
loose threshold), not on unchanged surroundings.

Photos: the first photos of ``--lfw`` LFW identities (needs ``../shared``); the public-domain
samples too.

    python benchmarks/replacement_chip_cover.py --lfw 12
"""

from __future__ import annotations

import argparse
import statistics

import numpy as np

from _report import (
    first_photo_per_identity,
    machine_line,
    markdown_table,
    require_shared_faces,
    save_json,
    write_section,
)
from facecloak.data import astronaut, grace_hopper
from facecloak.images import load_image
from facecloak.imaging import to_tensor
from facecloak.models import detect, largest_face
from facecloak.protect import ProtectConfig, protect
from facecloak.recognition import resolve_recognizers, shared_recognizer


def photos(lfw: int) -> list[np.ndarray]:
    firsts = first_photo_per_identity(require_shared_faces() / "lfw")
    return [astronaut(), grace_hopper()] + [load_image(firsts[n]) for n in sorted(firsts)[:lfw]]


def chip_cover(rgb: np.ndarray, recognizers) -> dict[str, float] | None:
    """Recognizer name -> the share of its chip that the replacement changed (None: no face)."""
    face = largest_face(detect(rgb))
    if face is None:
        return None
    replaced = protect(rgb, ProtectConfig(method="replace"), detected=[face]).image
    changed = (replaced != rgb).any(axis=2)
    mask = to_tensor(np.repeat(changed[..., None].astype(np.uint8) * 255, 3, axis=2))[None]
    cover = {}
    for recognizer in recognizers:
        chip = recognizer.warp(mask, recognizer.chip_transforms(rgb, [face]))
        cover[recognizer.name] = float((chip[:, 0] > 0.5).float().mean())
    return cover


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lfw", type=int, default=12, help="LFW photos")
    args = parser.parse_args()
    recognizers = [shared_recognizer(name) for name in resolve_recognizers(("all",))]
    covers = [c for c in (chip_cover(rgb, recognizers) for rgb in photos(args.lfw)) if c]
    rows = [
        [
            r.name,
            "x".join(map(str, r.chip_size)),
            f"{statistics.mean(c[r.name] for c in covers):.0%}",
        ]
        for r in recognizers
    ]
    table = markdown_table(["recognizer", "chip (h x w)", "share of the chip replaced"], rows)
    save_json("replacement_chip_cover", {"covers": covers, "machine": machine_line()})
    write_section(
        "replacement-chip-cover",
        "## Replacement: how much of each recognizer's chip is new\n\n"
        f"`python benchmarks/replacement_chip_cover.py --lfw {args.lfw}`: the two public-domain "
        f"samples and {args.lfw} LFW first photos ({len(covers)} faces), `protect --method "
        "replace` with its defaults; per recognizer, the mean share of its aligned chip read "
        f"from changed pixels.\n\n{table}",
    )
    print(table)


if __name__ == "__main__":
    main()
