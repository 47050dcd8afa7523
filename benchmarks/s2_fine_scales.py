"""The SSIMULACRA2 floor with its finest scales computed on every step, or on every third.

A cloak on the recognizer's chip grid (3-4 photo pixels per cell on a large face) shows at the
metric's scale of that grid; the finest scales, most of its pixels and most of its cost, carry
little of the score there. ``Strength.s2_fine_every`` computes them on every that-many-th turn
of a window phase only (:class:`facecloak.attacks.visibility.ScoreHinge`). This protects the
same photos both ways, paired (the same seed), and reports the time, the face's SSIMULACRA2
and how far each recognizer (all attacked: a white-box figure, the cost of the shortcut, not
protection) moved the face from its original; and, on the cloak as the default makes it, each
scale's share of the weighted sum behind the score.

    python benchmarks/s2_fine_scales.py --deepface 8 --lfw 4
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import random
import statistics
import time

import numpy as np
import torch

from _report import (
    machine_line,
    markdown_table,
    photos_with_faces,
    require_shared_faces,
    save_json,
    write_section,
)
from facecloak.datasets import read_labelled_folder
from facecloak.geometry import widened
from facecloak.images import load_image
from facecloak.imaging import to_tensor
from facecloak.protect import ProtectConfig, protect
from facecloak.protect.presets import PRESETS
from facecloak.quality import S2_CONTEXT
from facecloak.ssimulacra import Ssimulacra2Reference, scale_shares


def shares(original: np.ndarray, protected: np.ndarray, box: tuple) -> list[float]:
    """Each scale's share of SSIMULACRA2's weighted sum on the face's judged window."""
    height, width = original.shape[:2]
    x0, y0, x1, y1 = widened(box, S2_CONTEXT, height, width)
    before = to_tensor(np.ascontiguousarray(original[y0:y1, x0:x1]), torch.float64)[None]
    after = to_tensor(np.ascontiguousarray(protected[y0:y1, x0:x1]), torch.float64)[None]
    return [float(v) for v in scale_shares(Ssimulacra2Reference(before).terms(after))[0]]


def measure(paths: list, everys: list[int], strength: str) -> list[dict]:
    rows = []
    for path, rgb, face in photos_with_faces(paths):
        for every in everys:
            settings = dataclasses.replace(PRESETS[strength], s2_fine_every=every)
            torch.manual_seed(0)
            started = time.perf_counter()
            result = protect(rgb, ProtectConfig(strength=settings), detected=[face])
            seconds = time.perf_counter() - started
            outcome = result.outcomes[0]
            rows.append(
                {
                    "photo": path.name,
                    "every": every,
                    "side": float(face.box[2] - face.box[0]),
                    "seconds": seconds,
                    "ssimulacra2": outcome.ssimulacra2,
                    "moved": {v.recognizer: v.distance / v.threshold for v in outcome.verdicts},
                    "matched": sum(v.match for v in outcome.verdicts),
                    "shares": shares(rgb, result.image, face.box),
                }
            )
            logging.info("%s every %d: %.2f s", path.name, every, seconds)
    return rows


def summary(name: str, every: int, rows: list[dict]) -> list[object]:
    mine = [row for row in rows if row["every"] == every]
    seconds = [row["seconds"] for row in mine]
    s2 = [row["ssimulacra2"] for row in mine]
    moved = [statistics.mean(row["moved"].values()) for row in mine]
    return [
        name,
        every,
        len(mine),
        f"{statistics.median(row['side'] for row in mine):.0f}",
        f"{statistics.mean(seconds):.2f}",
        f"{max(seconds):.2f}",
        f"{statistics.mean(s2):.1f} (min {min(s2):.1f})",
        f"{statistics.mean(moved):.3f}",
        f"{statistics.mean(row['matched'] for row in mine):.2f}",
    ]


def share_row(name: str, rows: list[dict], every: int) -> list[object]:
    mine = [row["shares"] for row in rows if row["every"] == every]
    scales = max(len(s) for s in mine)
    means = [statistics.mean(s[k] for s in mine if len(s) > k) for k in range(scales)]
    return [name, len(mine), *(f"{100 * m:.0f}%" for m in means), *([""] * (6 - scales))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deepface", type=int, default=8)
    parser.add_argument("--lfw", type=int, default=4)
    parser.add_argument("--every", default="1,3", help="s2_fine_every values, compared paired")
    parser.add_argument("--strength", default="mid")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--publish", default="s2-fine-scales", help="BENCHMARKS.md section")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    torch.set_num_threads(args.threads)
    faces = require_shared_faces()
    deepface = read_labelled_folder(faces / "deepface")
    lfw = read_labelled_folder(faces / "lfw")
    random.Random(0).shuffle(lfw)
    spacing = max(1, len(deepface) // max(1, args.deepface))
    sets = {
        "deepface": [p.path for p in deepface[::spacing][: args.deepface]],
        "lfw": [p.path for p in lfw[: args.lfw]],
    }
    everys = [int(v) for v in args.every.split(",")]
    protect(load_image(sets["deepface"][0]), ProtectConfig())  # warm: loads every model
    results = {name: measure(paths, everys, args.strength) for name, paths in sets.items() if paths}
    save_json(args.publish or "s2-fine-scales-trial", {"argv": vars(args), "results": results})
    header = [
        "photos",
        "s2_fine_every",
        "faces",
        "face side (px, median)",
        "s / face mean",
        "max",
        "SSIMULACRA2 face",
        "distance / threshold, mean of 5 (white-box)",
        "recognizers still matching (of 5)",
    ]
    rows = [summary(name, e, rows) for name, rows in results.items() for e in everys]
    table = markdown_table(header, rows)
    scales = ["photos", "faces", *(f"scale {k}" for k in range(6))]
    share_table = markdown_table(scales, [share_row(n, r, everys[0]) for n, r in results.items()])
    print(table, share_table, sep="\n\n")
    if args.publish:
        text = (
            "## The SSIMULACRA2 floor's finest scales, every step or every few\n\n"
            f"`python benchmarks/s2_fine_scales.py --deepface {args.deepface} --lfw {args.lfw} "
            f"--every {args.every}` ({machine_line()}): "
            f"`protect --strength {args.strength}` with the SSIMULACRA2 floor's finest scales "
            f"computed on every step (1) or every third (3), the same photos, seed and "
            f"recognizer draws. Distance / threshold: each recognizer's distance from the "
            f"face's original in its threshold units (1 = no longer matched; every recognizer "
            f"was attacked).\n\n{table}\n\nEach scale's share of the weighted sum behind the "
            f"face's SSIMULACRA2 (scale 0 the photo's pixels, each next one half as fine), on "
            f"the cloaks of `s2_fine_every={everys[0]}`:\n\n{share_table}"
        )
        write_section(args.publish, text)


if __name__ == "__main__":
    main()
