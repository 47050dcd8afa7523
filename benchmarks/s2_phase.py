"""Does the face's SSIMULACRA2 hold wherever the judged window starts?

SSIMULACRA2 halves the image five times on a fixed pixel grid. A cloak held to a floor on one
window can learn to hide its change between that grid's blocks, so the same protected photo
scores lower when the window starts a pixel or two over, though nothing a person sees moved.
For each photo (the default preset, every usable recognizer) this scores the protected face on
the window the reports use and on the 16 windows whose corner moved by 0-3 pixels each way,
beside a JPEG q75 re-save of the same photo (a change nobody optimised against the grid)
on four of those windows.

    python benchmarks/s2_phase.py --deepface 6 --lfw 6
"""

from __future__ import annotations

import argparse
import io
import logging
import random
import statistics

import numpy as np
from PIL import Image

from _report import (
    machine_line,
    markdown_table,
    photos_with_faces,
    require_shared_faces,
    save_json,
    write_section,
)
from facecloak.datasets import read_labelled_folder
from facecloak.protect import ProtectConfig, protect
from facecloak.quality import S2_PHASES, ssimulacra2_phases, ssimulacra2_score

SHIFTS = [(dx, dy) for dy in range(4) for dx in range(4)]
JPEG_SHIFTS = [(0, 0), (1, 1), (2, 2), (3, 3)]


def jpeg(rgb: np.ndarray, quality: int = 75) -> np.ndarray:
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, "JPEG", quality=quality)
    return np.asarray(Image.open(buffer).convert("RGB"))


def measure(paths: list, strength: str) -> list[dict]:
    rows = []
    for path, rgb, face in photos_with_faces(paths):
        protected = protect(rgb, ProtectConfig(strength=strength), detected=[face]).image
        cloak = ssimulacra2_phases(rgb, protected, face.box, SHIFTS)
        saved = ssimulacra2_phases(rgb, jpeg(rgb), face.box, JPEG_SHIFTS)
        rows.append(
            {
                "photo": path.name,
                "cloak": cloak,
                "jpeg75": saved,
                "reported": ssimulacra2_score(rgb, protected, face.box),
            }
        )
        logging.info("%s: at the window %.1f, lowest %.1f", path.name, cloak[0], min(cloak))
    return rows


def summary(name: str, rows: list[dict]) -> list[object]:
    at_window = [row["cloak"][0] for row in rows]
    lowest = [min(row["cloak"]) for row in rows]
    spread_jpeg = [max(row["jpeg75"]) - min(row["jpeg75"]) for row in rows]
    return [
        name,
        len(rows),
        f"{statistics.mean(at_window):.1f} (min {min(at_window):.1f})",
        f"{statistics.mean(row['reported'] for row in rows):.1f}",
        f"{statistics.mean(lowest):.1f} (min {min(lowest):.1f})",
        f"{statistics.mean(a - b for a, b in zip(at_window, lowest, strict=True)):.1f}",
        f"{statistics.mean(spread_jpeg):.1f}",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deepface", type=int, default=6)
    parser.add_argument("--lfw", type=int, default=6)
    parser.add_argument("--strength", default="mid")
    parser.add_argument("--publish", default="s2-phase", help="BENCHMARKS.md section ('' = none)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    faces = require_shared_faces()
    lfw = read_labelled_folder(faces / "lfw")
    random.Random(0).shuffle(lfw)
    sets = {
        "deepface": [p.path for p in read_labelled_folder(faces / "deepface")[: args.deepface]],
        "lfw": [p.path for p in lfw[: args.lfw]],
    }
    results = {name: measure(paths, args.strength) for name, paths in sets.items() if paths}
    save_json(args.publish or "s2-phase-trial", {"argv": vars(args), "results": results})
    header = [
        "photos",
        "faces",
        "cloak S2, the reports' window",
        "reported (lowest of the judge's phases)",
        "cloak S2, lowest of 16 windows",
        "drop",
        "JPEG q75: spread over 4 windows",
    ]
    table = markdown_table(header, [summary(name, rows) for name, rows in results.items()])
    print(table)
    if args.publish:
        phases = ", ".join(f"({dx}, {dy})" for dx, dy in S2_PHASES)
        text = (
            f"`python benchmarks/s2_phase.py --deepface {args.deepface} --lfw {args.lfw}` "
            f"({machine_line()}): `protect --strength {args.strength}`, SSIMULACRA2 of the face's "
            f"window and of the 16 windows whose corner moved 0-3 px each way. The judge "
            f"(`quality.ssimulacra2_score`) takes the lowest of the corners {phases}.\n\n{table}"
        )
        write_section(args.publish, text)


if __name__ == "__main__":
    main()
