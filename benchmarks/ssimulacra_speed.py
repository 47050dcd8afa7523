"""SSIMULACRA2 by OpenCV's filters (:mod:`facecloak.ssimulacra_score`) against the reference
package (PyPI ``ssimulacra2``) on the windows every report scores: each face box widened to
``S2_CONTEXT`` pixels, the photo against its JPEG q75 re-save and against a colour-banded copy.
Time per window (the reference fed in-memory PPM files, as the reports fed it before), and the
largest difference between the two scores.

Photos: the two public-domain samples, and with ``../shared`` the first photo of each deepface
identity (large faces: what made the report's four windows cost more than the replacement) and
of LFW identities (small faces).

    python benchmarks/ssimulacra_speed.py --lfw 20
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from _report import (
    first_photo_per_identity,
    machine_line,
    markdown_table,
    save_json,
    write_section,
)
from facecloak.data import astronaut, grace_hopper
from facecloak.geometry import widened
from facecloak.images import load_image
from facecloak.imaging import jpeg75
from facecloak.models import detect, largest_face
from facecloak.paths import shared_faces_dir
from facecloak.quality import S2_CONTEXT
from facecloak.ssimulacra_score import reference_package_score, ssimulacra2_uint8

REPEATS = 3
"""Each score is timed this many times; the fastest counts (the machine's noise only adds)."""


def photo_sets(lfw: int) -> dict[str, list[np.ndarray]]:
    sets = {"public-domain samples": [astronaut(), grace_hopper()]}
    faces = shared_faces_dir()
    if faces is None:
        return sets
    firsts = [sorted(d.glob("*.jpg")) for d in sorted((faces / "deepface").iterdir())]
    sets["deepface (first photos)"] = [load_image(photos[0]) for photos in firsts if photos]
    firsts = first_photo_per_identity(faces / "lfw")
    names = sorted(firsts)[:: max(1, len(firsts) // max(lfw, 1))][:lfw]
    sets["LFW (first photos)"] = [load_image(firsts[n]) for n in names]
    return sets


def windows(rgb: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """(original, changed) face windows of ``rgb``: its JPEG q75 and a colour-banded copy."""
    face = largest_face(detect(rgb))
    if face is None:
        return []
    x0, y0, x1, y1 = widened(face.box, S2_CONTEXT, *rgb.shape[:2])
    wave = 12 * np.sin(np.arange(rgb.shape[0]) / 9)[:, None, None] * np.array([1.0, -0.5, 0.3])
    banded = np.clip(rgb + wave, 0, 255).astype(np.uint8)
    original = np.ascontiguousarray(rgb[y0:y1, x0:x1])
    return [
        (original, np.ascontiguousarray(changed[y0:y1, x0:x1])) for changed in (jpeg75(rgb), banded)
    ]


def timed(score, original: np.ndarray, changed: np.ndarray) -> tuple[float, float]:
    """The score and the fastest of :data:`REPEATS` timings, seconds."""
    best, value = float("inf"), 0.0
    for _ in range(REPEATS):
        started = time.perf_counter()
        value = score(original, changed)
        best = min(best, time.perf_counter() - started)
    return value, best


def measure(sets: dict[str, list[np.ndarray]]) -> list[dict]:
    rows = []
    for name, photos in sets.items():
        for rgb in photos:
            for original, changed in windows(rgb):
                reference, reference_seconds = timed(reference_package_score, original, changed)
                ours, our_seconds = timed(ssimulacra2_uint8, original, changed)
                rows.append(
                    {
                        "set": name,
                        "pixels": original.shape[0] * original.shape[1],
                        "reference": reference,
                        "ours": ours,
                        "reference_seconds": reference_seconds,
                        "our_seconds": our_seconds,
                    }
                )
    return rows


def summary(rows: list[dict]) -> str:
    table = []
    for name in dict.fromkeys(r["set"] for r in rows):
        mine = [r for r in rows if r["set"] == name]
        reference = statistics.median(r["reference_seconds"] for r in mine) * 1000
        ours = statistics.median(r["our_seconds"] for r in mine) * 1000
        table.append(
            [
                name,
                len(mine),
                f"{statistics.median(r['pixels'] for r in mine) / 1e6:.2f}",
                f"{reference:.1f}",
                f"{ours:.1f}",
                f"{reference / ours:.1f}x",
                f"{max(abs(r['reference'] - r['ours']) for r in mine):.1e}",
            ]
        )
    header = ["photos", "windows", "median megapixels", "reference ms", "ours ms", "speed-up"]
    return markdown_table([*header, "largest score difference"], table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lfw", type=int, default=20, help="LFW photos (with ../shared)")
    args = parser.parse_args()
    rows = measure(photo_sets(args.lfw))
    save_json("ssimulacra_speed", {"rows": rows, "machine": machine_line()})
    write_section(
        "ssimulacra-speed",
        "## SSIMULACRA2: our OpenCV scorer against the reference package\n\n"
        f"`python benchmarks/ssimulacra_speed.py --lfw {args.lfw}` on {machine_line()}. "
        "Each face box widened to "
        f"{S2_CONTEXT} px (the window every report scores), against its JPEG q75 re-save and a "
        f"colour-banded copy; fastest of {REPEATS} timings per window, medians per set.\n\n"
        f"{summary(rows)}",
    )
    print(summary(rows))


if __name__ == "__main__":
    main()
