"""LFW View-1 verification (500 same + 500 different pairs): our torch pipeline against dlib C++.

Pipelines, each on every photo of the pairs (the face nearest the photo's centre when there are
several):
- ``dlib C++``: dlib HOG -> 5-point landmarks -> ``dlib.get_face_chip`` ->
  ``compute_face_descriptor`` (the reference implementation).
- ``facecloak (hog)``: the same detector and landmarks -> our differentiable torch alignment -> our
  torch port of dlib's ResNet.
- ``facecloak (centerface)``: the default detector instead of HOG.
- ``dlib chips -> torch ResNet``: isolates the network port from the alignment.

Pairs where a face is not found count as "different" (distance = inf). Writes the "lfw" section of
BENCHMARKS.md and benchmarks/results/lfw_verification.json.

    python benchmarks/lfw_verification.py [--limit N]
"""

from __future__ import annotations

import argparse
import csv
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from _report import machine_line, markdown_table, require_shared_faces, save_json, write_section
from facecloak.evaluate.verification import accuracy_at, best_accuracy, roc_auc
from facecloak.faces.align import face_chips
from facecloak.faces.face import Face
from facecloak.faces.landmarks import predict_landmarks
from facecloak.images import load_image
from facecloak.imaging import to_batch, to_tensor
from facecloak.models import load_recognizer
from facecloak.models.detect import centre_face
from facecloak.models.detectors import get_detector
from facecloak.paths import dlib_model_path

THRESHOLD = 0.6
Embedder = Callable[[np.ndarray, dict], np.ndarray | None]


class StageClock:
    """Accumulates seconds per named stage and counts faces."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.faces = 0

    def timed(self, stage: str, fn: Callable, *args):
        start = time.perf_counter()
        result = fn(*args)
        self.seconds[stage] += time.perf_counter() - start
        return result

    def per_face_ms(self) -> dict[str, float]:
        return {k: 1000 * v / max(self.faces, 1) for k, v in self.seconds.items()}


def dlib_reference() -> Callable[[np.ndarray, StageClock], np.ndarray | None]:
    import dlib

    detector = dlib.get_frontal_face_detector()
    shape_predictor = dlib.shape_predictor(str(dlib_model_path("shape_predictor_5")))
    recognizer = dlib.face_recognition_model_v1(str(dlib_model_path("recognizer")))

    def embed(rgb: np.ndarray, clock: StageClock) -> np.ndarray | None:
        rects = clock.timed("detect", detector, rgb, 1)
        faces = [Face((r.left(), r.top(), r.right() + 1, r.bottom() + 1), 0.0) for r in rects]
        face = centre_face(faces, rgb.shape[1], rgb.shape[0])
        if face is None:
            return None
        x0, y0, x1, y1 = (int(v) for v in face.box)
        shape = clock.timed(
            "landmarks", shape_predictor, rgb, dlib.rectangle(x0, y0, x1 - 1, y1 - 1)
        )
        chip = clock.timed("align", dlib.get_face_chip, rgb, shape, 150, 0.25)
        clock.faces += 1
        return np.array(clock.timed("embed", recognizer.compute_face_descriptor, chip))

    return embed


def torch_pipeline(detector_name: str) -> Callable[[np.ndarray, StageClock], np.ndarray | None]:
    detector = get_detector(detector_name)
    recognizer = load_recognizer("dlib").eval()

    def embed(rgb: np.ndarray, clock: StageClock) -> np.ndarray | None:
        faces = clock.timed("detect", detector, rgb)
        face = centre_face(faces, rgb.shape[1], rgb.shape[0])
        if face is None:
            return None
        face.landmarks = clock.timed("landmarks", predict_landmarks, rgb, face.box)
        with torch.no_grad():
            chips = clock.timed("align", lambda: face_chips(to_tensor(rgb), [face], size=150))
            clock.faces += 1
            return clock.timed("embed", recognizer, chips)[0].numpy()

    return embed


def dlib_chips_torch_net() -> Callable[[np.ndarray, StageClock], np.ndarray | None]:
    import dlib

    detector = dlib.get_frontal_face_detector()
    shape_predictor = dlib.shape_predictor(str(dlib_model_path("shape_predictor_5")))
    recognizer = load_recognizer("dlib").eval()

    def embed(rgb: np.ndarray, clock: StageClock) -> np.ndarray | None:
        rects = detector(rgb, 1)
        faces = [Face((r.left(), r.top(), r.right() + 1, r.bottom() + 1), 0.0) for r in rects]
        face = centre_face(faces, rgb.shape[1], rgb.shape[0])
        if face is None:
            return None
        x0, y0, x1, y1 = (int(v) for v in face.box)
        shape = shape_predictor(rgb, dlib.rectangle(x0, y0, x1 - 1, y1 - 1))
        chip = dlib.get_face_chip(rgb, shape, 150, 0.25)
        clock.faces += 1
        tensor = to_batch(chip)
        with torch.no_grad():
            return clock.timed("embed", recognizer, tensor)[0].numpy()

    return embed


def read_pairs(lfw: Path, limit: int | None) -> list[tuple[str, str, bool]]:
    with open(lfw / "pairs_devtest.csv") as handle:
        pairs = [(r["path1"], r["path2"], r["same"] == "1") for r in csv.DictReader(handle)]
    if limit:
        same = [p for p in pairs if p[2]][: limit // 2]
        different = [p for p in pairs if not p[2]][: limit // 2]
        pairs = same + different
    return pairs


def score_pipeline(name: str, embed, lfw: Path, pairs) -> dict:
    clock = StageClock()
    photos = sorted({p for pair in pairs for p in pair[:2]})
    embeddings = {}
    for photo in tqdm(photos, desc=name, leave=False):
        embeddings[photo] = embed(load_image(lfw / photo), clock)
    distances = [
        float(np.linalg.norm(embeddings[a] - embeddings[b]))
        if embeddings[a] is not None and embeddings[b] is not None
        else float("inf")
        for a, b, _ in pairs
    ]
    same = [s for _, _, s in pairs]
    best, best_threshold = best_accuracy(distances, same)
    return {
        "pipeline": name,
        "accuracy_at_0.6": accuracy_at(distances, same, THRESHOLD),
        "best_accuracy": best,
        "best_threshold": best_threshold,
        "roc_auc": roc_auc(distances, same),
        "photos": len(photos),
        "faces_not_found": sum(e is None for e in embeddings.values()),
        "ms_per_face": clock.per_face_ms(),
        "distances": distances,
    }


def to_markdown(results: list[dict], pairs: int) -> str:
    reference = results[0]["accuracy_at_0.6"]
    rows = []
    for r in results:
        ms = r["ms_per_face"]
        stages = ", ".join(f"{k} {v:.1f}" for k, v in ms.items())
        rows.append(
            [
                r["pipeline"],
                f"{100 * r['accuracy_at_0.6']:.2f}%",
                f"{100 * (r['accuracy_at_0.6'] - reference):+.2f}",
                f"{100 * r['best_accuracy']:.2f}% (t={r['best_threshold']:.3f})",
                f"{r['roc_auc']:.4f}",
                f"{r['faces_not_found']}/{r['photos']}",
                stages,
            ]
        )
    header = [
        "pipeline",
        "accuracy @0.6",
        "vs dlib C++ (points)",
        "best accuracy",
        "ROC AUC",
        "faces not found",
        "ms per face by stage",
    ]
    return "\n".join(
        [
            "## LFW verification (View-1 test pairs)",
            "",
            "Command: `python benchmarks/lfw_verification.py` (per-pair distances in "
            "`benchmarks/results/lfw_verification.json`).",
            f"Machine: {machine_line()}. {pairs} pairs (half same, half different); a pair with an "
            'unfound face counts as "different"; the face nearest the photo centre is used.',
            "",
            markdown_table(header, rows),
            "",
            "Best accuracy tunes the threshold on the pairs it scores (optimistic); accuracy @0.6 "
            "uses dlib's published threshold.",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--limit", type=int, default=0, help="use only N pairs (0: all 1000)")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    lfw = require_shared_faces() / "lfw"
    pairs = read_pairs(lfw, args.limit or None)
    pipelines = [
        ("dlib C++ (hog)", dlib_reference()),
        ("facecloak torch (hog)", torch_pipeline("hog")),
        ("facecloak torch (centerface)", torch_pipeline("centerface")),
        ("dlib chips -> torch ResNet", dlib_chips_torch_net()),
    ]
    results = [score_pipeline(name, embed, lfw, pairs) for name, embed in pipelines]
    save_json(
        "lfw_verification", {"machine": machine_line(), "pairs": len(pairs), "results": results}
    )
    markdown = to_markdown(results, len(pairs))
    if not args.limit:
        write_section("lfw", markdown)
    print(markdown)


if __name__ == "__main__":
    main()
