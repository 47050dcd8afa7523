"""MobileFaceNet on LFW View-1 devtest pairs (500 same + 500 different) with facecloak's alignment.

Pipeline per photo: CenterFace (``facecloak.models.detect``, the face nearest the photo centre) ->
its five keypoints -> ``warp_to_template`` (112x112 ArcFace crop) -> ``forward`` (flip
sum, L2 norm) -> cosine distance. A pair with an unfound face counts as "different".

The decision threshold is tuned on pairs that share no identity with the devtest pairs (LFW
people with >= 5 photos absent from devtest; random same / different pairs, seed 0), so the
devtest accuracy at that threshold is a held-out number; "best accuracy" re-tunes on devtest
itself and is optimistic. Every aligned face is also run through the ONNX export to report the
largest difference from the PyTorch module, and batch-1 CPU timings close the report.

    python benchmarks/mobilefacenet_lfw.py [--limit N] [--tuning-pairs 2000] [--no-antialias]
"""

from __future__ import annotations

import argparse
import csv
import itertools
import logging
import random
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from _report import machine_line, markdown_table, require_shared_faces
from facecloak.evaluate.verification import accuracy_at, best_accuracy, roc_auc
from facecloak.faces.align_arcface import arcface_points, warp_to_template
from facecloak.images import load_image
from facecloak.imaging import to_tensor
from facecloak.models import detect
from facecloak.models.detect import centre_face
from facecloak.models.mobilefacenet import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    MobileFaceNet,
    load_mobilefacenet,
)
from facecloak.paths import shared_model_path

logger = logging.getLogger("benchmarks.mobilefacenet_lfw")

Pair = tuple[str, str, bool]


@dataclass
class PhotoEmbeddings:
    """Normalised embeddings per photo (``None``: no face) and the torch-vs-ONNX differences."""

    embeddings: dict[str, np.ndarray | None] = field(default_factory=dict)
    onnx_max_abs_diff: list[float] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def faces_not_found(self) -> int:
        return sum(value is None for value in self.embeddings.values())


def read_devtest_pairs(lfw: Path, limit: int | None) -> list[Pair]:
    with open(lfw / "pairs_devtest.csv") as handle:
        pairs = [(r["path1"], r["path2"], r["same"] == "1") for r in csv.DictReader(handle)]
    if limit:
        same = [p for p in pairs if p[2]][: limit // 2]
        different = [p for p in pairs if not p[2]][: limit // 2]
        pairs = same + different
    return pairs


def tuning_pairs(lfw: Path, devtest: list[Pair], count: int, seed: int = 0) -> list[Pair]:
    """``count`` same and ``count`` different pairs among identities absent from ``devtest``."""
    excluded = {path.split("/")[0] for a, b, _ in devtest for path in (a, b)}
    with open(lfw / "labels.csv") as handle:
        rows = [r for r in csv.DictReader(handle) if r["identity"] not in excluded]
    photos_by_identity: dict[str, list[str]] = {}
    for row in rows:
        photos_by_identity.setdefault(row["identity"], []).append(row["path"])
    rng = random.Random(seed)
    same_candidates = [
        (a, b, True)
        for photos in photos_by_identity.values()
        for a, b in itertools.combinations(sorted(photos), 2)
    ]
    same = rng.sample(same_candidates, min(count, len(same_candidates)))
    identities = sorted(photos_by_identity)
    different = []
    while len(different) < count:
        first, second = rng.sample(identities, 2)
        different.append(
            (rng.choice(photos_by_identity[first]), rng.choice(photos_by_identity[second]), False)
        )
    return same + different


def centre_face_points(rgb: np.ndarray) -> np.ndarray | None:
    """ArcFace points of the CenterFace face nearest the centre, or ``None`` without a face."""
    faces = detect(rgb, detector="centerface", landmarks=False)
    face = centre_face(faces, rgb.shape[1], rgb.shape[0])
    return None if face is None else arcface_points(rgb, face)


def aligned_face(rgb: np.ndarray, antialias: bool) -> torch.Tensor | None:
    """The 112x112 ArcFace crop of the centre face, or ``None`` when CenterFace finds none."""
    points = centre_face_points(rgb)
    if points is None:
        return None
    return warp_to_template(to_tensor(rgb), points, antialias=antialias)


def onnx_runner() -> Callable[[torch.Tensor], np.ndarray] | None:
    """The ONNX export as a function of a [0, 1] face batch, or ``None`` when absent."""
    path = shared_model_path("mobilefacenet", "MobileFaceNet.onnx")
    if path is None:
        return None
    import onnxruntime

    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)

    def run(faces: torch.Tensor) -> np.ndarray:
        return session.run(None, {"input0": ((faces - mean) / std).numpy()})[0]

    return run


def embed_photos(
    model: MobileFaceNet, lfw: Path, photos: list[str], antialias: bool
) -> PhotoEmbeddings:
    result = PhotoEmbeddings()
    run_onnx = onnx_runner()
    started = time.perf_counter()
    for photo in tqdm(photos, desc="photos", leave=False):
        with torch.no_grad():
            face = aligned_face(load_image(lfw / photo), antialias)
            if face is None:
                result.embeddings[photo] = None
                continue
            result.embeddings[photo] = model(face)[0].numpy()
            if run_onnx is not None:
                diff = np.abs(model(face).numpy() - run_onnx(face)).max()
                result.onnx_max_abs_diff.append(float(diff))
    result.seconds = time.perf_counter() - started
    return result


def pair_distances(model: MobileFaceNet, pairs: list[Pair], photos: PhotoEmbeddings) -> list[float]:
    distances = []
    for a, b, _ in pairs:
        first, second = photos.embeddings[a], photos.embeddings[b]
        if first is None or second is None:
            distances.append(float("inf"))
        else:
            pair = torch.from_numpy(first), torch.from_numpy(second)
            distances.append(float(model.distance(*pair)))
    return distances


@dataclass(frozen=True)
class PairScores:
    pairs: int
    accuracy_at_model_threshold: float
    accuracy_at_tuned_threshold: float | None
    best_accuracy: float
    best_cosine_threshold: float
    roc_auc: float


def score(
    model: MobileFaceNet,
    pairs: list[Pair],
    photos: PhotoEmbeddings,
    tuned_cosine_threshold: float | None = None,
) -> PairScores:
    distances = pair_distances(model, pairs, photos)
    same = [is_same for _, _, is_same in pairs]
    best, best_distance = best_accuracy(distances, same)
    at_tuned = (
        None
        if tuned_cosine_threshold is None
        else accuracy_at(distances, same, 1.0 - tuned_cosine_threshold)
    )
    return PairScores(
        pairs=len(pairs),
        accuracy_at_model_threshold=accuracy_at(distances, same, model.threshold),
        accuracy_at_tuned_threshold=at_tuned,
        best_accuracy=best,
        best_cosine_threshold=1.0 - best_distance,
        roc_auc=roc_auc(distances, same),
    )


def median_ms(step: Callable[[], object], repeats: int = 30, warmup: int = 5) -> float:
    for _ in range(warmup):
        step()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        step()
        times.append(time.perf_counter() - started)
    return 1000 * statistics.median(times)


def timings(
    model: MobileFaceNet, photos: dict[str, np.ndarray], antialias: bool
) -> dict[str, float]:
    """Median milliseconds of the model's main uses on one face (batch 1).

    ``photos`` maps a label to a photo with one face; the first is used for the model alone.
    """
    first = next(iter(photos.values()))
    face = aligned_face(first, antialias)
    if face is None:
        raise RuntimeError("no face in the timing photo")

    def forward() -> None:
        with torch.no_grad():
            model(face)

    def forward_backward() -> None:
        x = face.clone().requires_grad_()
        model(x).square().sum().backward()

    times = {
        "forward (no grad)": median_ms(forward),
        "forward + backward to the 112x112 input": median_ms(forward_backward),
    }
    for label, photo in photos.items():
        points = centre_face_points(photo)
        if points is None:
            raise RuntimeError(f"no face in the timing photo {label}")
        times[f"warp + flip-sum embed + backward to the photo ({label})"] = median_ms(
            _attack_step(model, photo, points, antialias), repeats=10
        )
    return times


def _attack_step(
    model: MobileFaceNet, photo: np.ndarray, points: np.ndarray, antialias: bool
) -> Callable[[], None]:
    """One gradient evaluation as an attack would do it: photo pixels -> distance -> backward."""
    pixels = to_tensor(photo)
    with torch.no_grad():
        reference = model(warp_to_template(pixels, points, antialias=antialias))

    def step() -> None:
        leaf = pixels.clone().requires_grad_()
        aligned = warp_to_template(leaf, points, antialias=antialias)
        model.distance(model(aligned), reference).sum().backward()

    return step


def report(
    devtest: PairScores,
    tuning: PairScores | None,
    photos: PhotoEmbeddings,
    times: dict[str, float],
    threshold: float,
) -> str:
    header = [
        "pairs",
        f"accuracy @ model threshold ({threshold:.2f})",
        "accuracy @ tuning-pairs threshold",
        "best accuracy (its cos threshold)",
        "ROC AUC",
    ]
    rows = [
        [
            label,
            f"{100 * scores.accuracy_at_model_threshold:.2f}%",
            "-"
            if scores.accuracy_at_tuned_threshold is None
            else f"{100 * scores.accuracy_at_tuned_threshold:.2f}%",
            f"{100 * scores.best_accuracy:.2f}% ({scores.best_cosine_threshold:.3f})",
            f"{scores.roc_auc:.4f}",
        ]
        for label, scores in (
            (f"LFW View-1 devtest ({devtest.pairs})", devtest),
            (f"tuning: identities not in devtest ({tuning.pairs if tuning else 0})", tuning),
        )
        if scores is not None
    ]
    diffs = photos.onnx_max_abs_diff
    onnx_line = (
        f"torch vs ONNX on {len(diffs)} aligned faces: max |diff| {max(diffs):.2e}, "
        f"median {statistics.median(diffs):.2e}"
        if diffs
        else "ONNX export absent: not compared"
    )
    time_rows = [[name, f"{ms:.1f}"] for name, ms in times.items()]
    return "\n".join(
        [
            "## MobileFaceNet on LFW",
            "",
            f"Machine: {machine_line()}.",
            f"Model threshold: cosine >= {threshold:.2f}. Faces not found (CenterFace): "
            f"{photos.faces_not_found}/{len(photos.embeddings)} photos "
            f"({1000 * photos.seconds / max(len(photos.embeddings), 1):.0f} ms per photo, "
            "detection included).",
            onnx_line + ".",
            "",
            markdown_table(header, rows),
            "",
            markdown_table(["batch-1 step", "median ms"], time_rows),
        ]
    )


def timing_photos(lfw: Path) -> dict[str, np.ndarray]:
    """An LFW photo and the largest deepface photo (the cost of a large photo)."""
    first = sorted(lfw.glob("*/*.jpg"))[0]
    photos = {f"{first.name}, 250x250": load_image(first)}
    deepface = sorted((lfw.parent / "deepface").glob("**/*.jp*g"), key=lambda p: p.stat().st_size)
    if deepface:
        large = load_image(deepface[-1])
        photos[f"{deepface[-1].name}, {large.shape[1]}x{large.shape[0]}"] = large
    return photos


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--limit", type=int, default=0, help="use only N devtest pairs (0: all)")
    parser.add_argument(
        "--tuning-pairs", type=int, default=2000, help="same (and different) tuning pairs; 0: none"
    )
    parser.add_argument("--no-antialias", action="store_true", help="plain bilinear warp")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch default)")
    parser.add_argument("--timing-only", action="store_true", help="skip the LFW pairs")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if args.threads:
        torch.set_num_threads(args.threads)

    lfw = require_shared_faces() / "lfw"
    model = load_mobilefacenet()
    antialias = not args.no_antialias
    if args.timing_only:
        times = timings(model, timing_photos(lfw), antialias)
        print(f"Machine: {machine_line()}.\n")
        print(
            markdown_table(
                ["batch-1 step", "median ms"], [[k, f"{v:.1f}"] for k, v in times.items()]
            )
        )
        return
    devtest = read_devtest_pairs(lfw, args.limit or None)
    tuning = tuning_pairs(lfw, devtest, args.tuning_pairs) if args.tuning_pairs else []
    photos = sorted({path for a, b, _ in devtest + tuning for path in (a, b)})
    logger.info("%d devtest + %d tuning pairs, %d photos", len(devtest), len(tuning), len(photos))

    embeddings = embed_photos(model, lfw, photos, antialias)
    tuning_scores = score(model, tuning, embeddings) if tuning else None
    tuned = None if tuning_scores is None else tuning_scores.best_cosine_threshold
    devtest_scores = score(model, devtest, embeddings, tuned)
    times = timings(model, timing_photos(lfw), antialias)
    print(report(devtest_scores, tuning_scores, embeddings, times, 1.0 - model.threshold))


if __name__ == "__main__":
    main()
