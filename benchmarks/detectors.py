"""Face detector benchmark: recall / precision / AP at IoU 0.5 on dlib's 43 hand-labelled faces,
share of LFW and deepface photos where a face is found, faces found in group photos, and time per
megapixel. Writes the "detectors" section of BENCHMARKS.md and benchmarks/results/detectors.json.

    python benchmarks/detectors.py [--lfw-sample 600] [--detectors hog,cnn,centerface,...]

Rows of detectors not re-run are kept from the previous results file (when they were measured on
the same number of LFW photos), so one detector can be re-measured alone. A detector that cannot
run here (weights or OpenCV's Haar cascades absent) is skipped with the reason.
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import random
import re
import time
from pathlib import Path

import cv2
import torch
from tqdm import tqdm

from _report import (
    RESULTS_DIR,
    machine_line,
    markdown_table,
    require_shared_faces,
    save_json,
    write_section,
)
from facecloak.errors import ModelNotFoundError
from facecloak.evaluate.detection import detection_metrics, read_box_labels
from facecloak.images import load_image
from facecloak.models.detectors import get_detector

logger = logging.getLogger("benchmarks.detectors")

ALL_DETECTORS = ("hog", "cnn", "centerface", "ultralight", "yunet", "retinaface", "haar")


def photo_paths(folder: Path, sample: int | None, seed: int = 0) -> list[Path]:
    with open(folder / "labels.csv") as handle:
        paths = [folder / row["path"] for row in csv.DictReader(handle)]
    if sample and sample < len(paths):
        paths = random.Random(seed).sample(paths, sample)
    return sorted(paths)


class Timer:
    """Seconds and megapixels of every detector call, for time per megapixel."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.megapixels = 0.0
        self.calls = 0

    def run(self, detector, rgb):
        start = time.perf_counter()
        faces = detector(rgb)
        self.seconds += time.perf_counter() - start
        self.megapixels += rgb.shape[0] * rgb.shape[1] / 1e6
        self.calls += 1
        return faces


def evaluate_detector(name: str, faces_dir: Path, lfw_sample: int | None) -> dict:
    detector = get_detector(name)
    detector(load_image(faces_dir / "lfw" / "AJ_Lamas" / "AJ_Lamas_0001.jpg"))  # warm-up
    timer = Timer()
    dlib_dir = faces_dir / "dlib_faces"
    truth = read_box_labels(dlib_dir / "boxes.csv")
    found = {}
    for image in [*truth, "dogs.jpg"]:
        faces = timer.run(detector, load_image(dlib_dir / image))
        found[image] = [(face.box, face.score) for face in faces]
    metrics = detection_metrics(found, truth, iou_threshold=0.5)
    rates = {}
    for dataset, sample in (("lfw", lfw_sample), ("deepface", None)):
        paths = photo_paths(faces_dir / dataset, sample)
        hits = sum(
            bool(timer.run(detector, load_image(p)))
            for p in tqdm(paths, desc=f"{name} {dataset}", leave=False)
        )
        rates[dataset] = {"found": hits, "photos": len(paths)}
    group = {
        p.name: len(timer.run(detector, load_image(p)))
        for p in sorted((faces_dir / "group_photos").glob("*.jpg"))
    }
    return {
        "detector": name,
        "dlib_faces": metrics.to_dict(),
        "dogs_false_positives": len(found["dogs.jpg"]),
        "detection_rate": rates,
        "group_photos_faces": group,
        "seconds_per_megapixel": timer.seconds / timer.megapixels,
        "seconds_per_photo": timer.seconds / timer.calls,
        "photos_timed": timer.calls,
        "max_megapixels": detector.max_megapixels,
        "torch_threads": torch.get_num_threads(),
        **({"opencv": cv2.__version__} if name == "haar" else {}),
    }


def previous_results(lfw_photos: int) -> list[dict]:
    """Rows of the last run measured on ``lfw_photos`` LFW photos (none if there is no file)."""
    path = RESULTS_DIR / "detectors.json"
    if not path.is_file():
        return []
    payload = json.loads(path.read_text())
    rows = [
        r for r in payload.get("results", []) if r["detection_rate"]["lfw"]["photos"] == lfw_photos
    ]
    threads = re.search(r"(\d+) torch threads", payload.get("machine", ""))
    for row in rows:  # rows from before this field existed ran with the file's thread count
        row.setdefault("torch_threads", int(threads.group(1)) if threads else None)
    return rows


def merge_results(new: list[dict], old: list[dict]) -> list[dict]:
    """``new`` rows, plus ``old`` rows of other detectors, in :data:`ALL_DETECTORS` order."""
    rows = {r["detector"]: r for r in old}
    rows.update({r["detector"]: r for r in new})
    rank = {name: i for i, name in enumerate(ALL_DETECTORS)}
    return sorted(rows.values(), key=lambda r: rank.get(r["detector"], len(rank)))


def to_markdown(
    results: list[dict],
    lfw_sample: int | None,
    skipped: dict[str, str] | None = None,
    machine: str | None = None,
) -> str:
    rows = []
    for r in results:
        m, rates = r["dlib_faces"], r["detection_rate"]
        labelled = m["true_positives"] + m["false_negatives"]
        rows.append(
            [
                r["detector"],
                f"{m['recall']:.3f} ({m['true_positives']}/{labelled})",
                f"{m['precision']:.3f} ({m['false_positives']} FP)",
                f"{m['average_precision']:.3f}",
                f"{rates['lfw']['found'] / rates['lfw']['photos']:.3f} "
                f"({rates['lfw']['found']}/{rates['lfw']['photos']})",
                f"{rates['deepface']['found'] / rates['deepface']['photos']:.3f} "
                f"({rates['deepface']['found']}/{rates['deepface']['photos']})",
                sum(r["group_photos_faces"].values()),
                f"{r['seconds_per_megapixel']:.3f}",
                f"{r['seconds_per_photo']:.3f}",
                r.get("torch_threads") or "-",
            ]
        )
    header = [
        "detector",
        "recall @IoU0.5 (dlib 43)",
        "precision",
        "AP",
        "LFW found",
        "deepface found",
        "faces in 6 group photos",
        "s / MP",
        "s / photo",
        "torch threads",
    ]
    sample = f"a seeded sample of {lfw_sample}" if lfw_sample else "all"
    machine = re.sub(r", \d+ torch threads", "", machine or machine_line())
    notes = [f"Not run here: {name} ({reason})." for name, reason in (skipped or {}).items()]
    notes += [
        f"{r['detector']} ran on OpenCV {r['opencv']} (OpenCV 5 has no Haar cascades)."
        for r in results
        if "opencv" in r
    ]
    return "\n".join(
        [
            "## Face detectors",
            "",
            "Command: `python benchmarks/detectors.py` (results also in "
            "`benchmarks/results/detectors.json`).",
            f"Machine: {machine}; each row's torch threads are in its last column.",
            "",
            markdown_table(header, rows),
            "",
            "dlib faces: 43 hand-labelled boxes in 9 VOC photos plus `dogs.jpg` (no face); "
            f"LFW: {sample} of the 4,477 photos (each has a face); deepface: all 62 photos "
            "(300-3000 px). Time includes the detector's own downscaling of large photos (working "
            "size: at most `max_megapixels`) and excludes landmarks. Rows may come from "
            "different runs (`--detectors` re-measures some, keeping the others): the machine "
            "was shared with other jobs, so compare times within a row's thread count, roughly.",
            *(["", *notes] if notes else []),
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--detectors", default=",".join(ALL_DETECTORS))
    parser.add_argument(
        "--lfw-sample", type=int, default=600, help="LFW photos to test (0 for all 4,477)"
    )
    parser.add_argument(
        "--report-only",
        action="store_true",
        help="rewrite the BENCHMARKS.md section from the results file, measuring nothing",
    )
    args = parser.parse_args()
    lfw_sample = args.lfw_sample or None
    if args.report_only:
        payload = json.loads((RESULTS_DIR / "detectors.json").read_text())
        markdown = to_markdown(payload["results"], lfw_sample, machine=payload["machine"])
        write_section("detectors", markdown)
        print(markdown)
        return
    faces_dir = require_shared_faces()
    results, skipped = [], {}
    for name in args.detectors.split(","):
        try:
            results.append(evaluate_detector(name, faces_dir, lfw_sample))
        except ModelNotFoundError as exc:
            logger.warning("%s skipped: %s", name, exc)
            skipped[name] = str(exc)
    lfw_photos = len(photo_paths(faces_dir / "lfw", lfw_sample))
    results = merge_results(results, previous_results(lfw_photos))
    skipped = {k: v for k, v in skipped.items() if k not in {r["detector"] for r in results}}
    save_json("detectors", {"machine": machine_line(), "results": results})
    markdown = to_markdown(results, lfw_sample, skipped)
    write_section("detectors", markdown)
    print(markdown)


if __name__ == "__main__":
    main()
