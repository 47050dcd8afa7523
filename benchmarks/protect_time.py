"""Time per face of `facecloak protect` (the default preset) on real photos, on one torch thread.

Reports wall-clock and CPU seconds per face. On one thread the CPU time is what the wall clock
shows on an idle machine, so it stays meaningful when other jobs share the 2 cores; the wall
clock is printed too. Photos: the largest face of the first ``--deepface`` deepface photos and of
``--lfw`` seeded LFW photos. Detection is done beforehand and not timed (``protect`` gets
``detected=``): the number is the cloak itself plus its per-face report.

    python benchmarks/protect_time.py [--deepface 30] [--lfw 30] [--strength mid]
"""

from __future__ import annotations

import argparse
import random
import time

import numpy as np
import torch

from _report import machine_line, markdown_table, require_shared_faces, save_json, write_section
from facecloak.datasets import read_labelled_folder
from facecloak.images import load_image
from facecloak.models import detect, largest_face
from facecloak.protect import ProtectConfig, protect


def photos(faces_dir, deepface: int, lfw: int) -> dict[str, list]:
    lfw_photos = read_labelled_folder(faces_dir / "lfw")
    random.Random(0).shuffle(lfw_photos)
    return {
        "deepface": read_labelled_folder(faces_dir / "deepface")[:deepface],
        "lfw": lfw_photos[:lfw],
    }


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
        "cpu_mean": float(np.mean(cpu)),
        "cpu_median": float(np.median(cpu)),
        "cpu_max": float(np.max(cpu)),
        "wall_mean": float(np.mean(wall)),
        "steps_mean": float(np.mean(steps)),
        "face_side_median": float(np.median(sides)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--deepface", type=int, default=30)
    parser.add_argument("--lfw", type=int, default=30)
    parser.add_argument("--strength", default="mid")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(1)
    sets = photos(require_shared_faces(), args.deepface, args.lfw)
    results = {name: time_set(items, args.strength) for name, items in sets.items()}
    everything = list(results.values())
    overall = sum(r["cpu_mean"] * r["faces"] for r in everything) / sum(
        r["faces"] for r in everything
    )
    rows = [
        [
            name,
            r["faces"],
            f"{r['face_side_median']:.0f}",
            f"{r['cpu_mean']:.2f}",
            f"{r['cpu_median']:.2f}",
            f"{r['cpu_max']:.2f}",
            f"{r['wall_mean']:.2f}",
            f"{r['steps_mean']:.1f}",
        ]
        for name, r in results.items()
    ]
    header = [
        "set",
        "faces",
        "face side (px, median)",
        "CPU s / face mean",
        "median",
        "max",
        "wall s / face mean",
        "steps mean",
    ]
    markdown = "\n".join(
        [
            f"## Time per face: `protect --strength {args.strength}` (1 thread)",
            "",
            f"Command: `python benchmarks/protect_time.py --deepface {args.deepface} --lfw "
            f"{args.lfw} --strength {args.strength}`. Machine: {machine_line()}.",
            "",
            markdown_table(header, rows),
            "",
            f"All faces: **{overall:.2f} CPU s per face** on average. On one thread CPU time is "
            "the wall time of an idle machine; the wall column was measured while other "
            "benchmarks shared the 2 cores. Detection is not included (about 0.5 s per "
            "megapixel with CenterFace).",
        ]
    )
    print(markdown)
    if not args.no_write:
        save_json("protect_time", {"machine": machine_line(), "args": vars(args), **results})
        write_section("protect-time", markdown)


if __name__ == "__main__":
    main()
