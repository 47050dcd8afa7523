"""Time per face of `facecloak protect` (the default preset, every available recognizer) on
real photos, on ``--threads`` torch threads (default 2: the issue's 2 cores).

Reports wall-clock seconds per face (the figure for a quiet machine) and CPU seconds. Photos: the
largest face of the first ``--deepface`` deepface photos and of ``--lfw`` seeded LFW photos.
Detection is done beforehand and not timed (``protect`` gets ``detected=``), nor is a first call
that loads the models (timed apart, on the bundled astronaut): the number is the
cloak itself plus its per-face report and every recognizer's verdict.

    python benchmarks/protect_time.py [--deepface 30] [--lfw 30] [--strength mid] [--threads 2]
"""

from __future__ import annotations

import argparse
import random
import time

import numpy as np
import torch

from _report import machine_line, markdown_table, require_shared_faces, save_json, write_section
from facecloak.data.samples import astronaut
from facecloak.datasets import read_labelled_folder
from facecloak.images import load_image
from facecloak.models import detect, largest_face
from facecloak.protect import ProtectConfig, protect


def photos(faces_dir, deepface: int, lfw: int) -> dict[str, list]:
    lfw_photos = read_labelled_folder(faces_dir / "lfw")
    random.Random(0).shuffle(lfw_photos)
    chosen = {
        "deepface": read_labelled_folder(faces_dir / "deepface")[:deepface],
        "lfw": lfw_photos[:lfw],
    }
    return {name: items for name, items in chosen.items() if items}


def warm_up(strength: str) -> float:
    """Seconds of a first ``protect`` (the bundled astronaut): it loads every recognizer and the
    detector once per process, which the per-face figures leave out."""
    rgb = astronaut()
    started = time.perf_counter()
    protect(rgb, ProtectConfig(strength=strength), detected=[largest_face(detect(rgb))])
    return time.perf_counter() - started


def time_set(items: list, strength: str) -> dict:
    wall, cpu, steps, sides = [], [], [], []
    for item in items:
        rgb = load_image(item.path)
        face = largest_face(detect(rgb))
        if face is None:
            continue
        started_wall, started_cpu = time.perf_counter(), time.process_time()
        result = protect(rgb, ProtectConfig(strength=strength), detected=[face])
        wall.append(time.perf_counter() - started_wall)
        cpu.append(time.process_time() - started_cpu)
        steps.append(result.outcomes[0].steps)
        sides.append(max(face.box[2] - face.box[0], face.box[3] - face.box[1]))
    return {
        "faces": len(cpu),
        "wall": [round(seconds, 3) for seconds in wall],
        "cpu_mean": float(np.mean(cpu)),
        "wall_mean": float(np.mean(wall)),
        "wall_median": float(np.median(wall)),
        "wall_max": float(np.max(wall)),
        "steps_mean": float(np.mean(steps)),
        "face_side_median": float(np.median(sides)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--deepface", type=int, default=30)
    parser.add_argument("--lfw", type=int, default=30)
    parser.add_argument("--strength", default="mid")
    parser.add_argument("--threads", type=int, default=2, help="torch threads")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    recognizers = ", ".join(ProtectConfig(strength=args.strength).cloak_recognizers)
    sets = photos(require_shared_faces(), args.deepface, args.lfw)
    first_call = warm_up(args.strength)
    results = {name: time_set(items, args.strength) for name, items in sets.items()}
    everything = list(results.values())
    overall = sum(r["wall_mean"] * r["faces"] for r in everything) / sum(
        r["faces"] for r in everything
    )
    rows = [
        [
            name,
            r["faces"],
            f"{r['face_side_median']:.0f}",
            f"{r['wall_mean']:.2f}",
            f"{r['wall_median']:.2f}",
            f"{r['wall_max']:.2f}",
            f"{r['cpu_mean']:.2f}",
            f"{r['steps_mean']:.1f}",
        ]
        for name, r in results.items()
    ]
    header = [
        "set",
        "faces",
        "face side (px, median)",
        "s / face mean",
        "median",
        "max",
        "CPU s / face mean",
        "steps mean",
    ]
    markdown = "\n".join(
        [
            f"## Time per face: `protect --strength {args.strength}`",
            "",
            f"Command: `python benchmarks/protect_time.py --deepface {args.deepface} --lfw "
            f"{args.lfw} --strength {args.strength} --threads {args.threads}`. Machine: "
            f"{machine_line()}. The cloak ran against {recognizers}.",
            "",
            markdown_table(header, rows),
            "",
            f"All faces: **{overall:.2f} s per face** (wall clock, quiet machine) on average. "
            "CPU time counts both threads. Detection is not included (about 0.5 s per "
            "megapixel with CenterFace). Before the timed faces, a first `protect` of the "
            f"bundled astronaut loaded every model once: {first_call:.1f} s with its detection.",
        ]
    )
    print(markdown)
    if not args.no_write:
        record = {"machine": machine_line(), "args": vars(args), "first_call": first_call}
        save_json("protect_time", {**record, **results})
        write_section("protect-time", markdown)


if __name__ == "__main__":
    main()
