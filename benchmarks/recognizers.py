"""Every available recognizer on LFW View-1 test pairs, through facecloak's own alignment.

Per photo: ``facecloak.models.detect`` (the default detector with landmarks, as the rest of the
code uses it), the face nearest the photo centre, then each recognizer's own ``embed`` (its own
alignment). A pair with an unfound face counts as "different". Reports ROC AUC and best accuracy
(threshold re-tuned on the pairs themselves: optimistic) next to the figures measured in
``<shared>/models/README.md``, the accuracy at each recognizer's own threshold, and the
best-accuracy threshold on tuning pairs that share no identity with the test pairs (how the
thresholds of the new recognizers were chosen). Also: FaceID's smooth (differentiable) form
against its integer form, and whether the ``openvino`` runtime can read the Intel IR files.

    python benchmarks/recognizers.py [--limit N] [--tuning-pairs 500]

Writes the "recognizers" section of BENCHMARKS.md and benchmarks/results/recognizers.json.
"""

from __future__ import annotations

import argparse
import csv
import itertools
import logging
import random
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from _report import machine_line, markdown_table, require_shared_faces, save_json, write_section
from facecloak.evaluate.verification import accuracy_at, best_accuracy, roc_auc
from facecloak.images import load_image
from facecloak.models import Recognizer, available_recognizers, detect, load_recognizer
from facecloak.models.detect import centre_face

logger = logging.getLogger("benchmarks.recognizers")

Pair = tuple[str, str, bool]

README_AUC = {
    "dlib": 0.998,
    "mobilefacenet": 0.998,
    "intel_reid0095": 0.9975,
    "intel_reid0001": 0.9975,
    "adi_faceid": 0.938,
}
TOLERANCE = 0.002
FACEID_EXACT = "adi_faceid (integer form)"
OPENVINO_TRIED = (
    "openvino is not in the project's environment because no release installable here reads "
    "these files: `pip install openvino==2023.0.0` (the oldest wheel for Python 3.11) and "
    "`openvino==2026.4.1` (the newest) both fail on both XML files with `Unable to read the "
    "model ... Available frontends: ... ir ...` (their IR frontend reads IR v10/v11 only; these "
    "are v5 and v2). The torch graphs are checked instead by shape (every layer's output shape "
    "equals the one the XML declares), parameter count and the LFW AUC above"
)


@dataclass
class Embeddings:
    """Per recognizer, per photo: the embedding (``None``: no face found) and time spent."""

    vectors: dict[str, dict[str, torch.Tensor | None]] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)


def read_pairs(lfw: Path, limit: int | None) -> list[Pair]:
    with open(lfw / "pairs_devtest.csv") as handle:
        pairs = [(r["path1"], r["path2"], r["same"] == "1") for r in csv.DictReader(handle)]
    if limit:
        half = limit // 2
        pairs = [p for p in pairs if p[2]][:half] + [p for p in pairs if not p[2]][:half]
    return pairs


def tuning_pairs(lfw: Path, test: list[Pair], count: int, seed: int = 0) -> list[Pair]:
    """``count`` same and ``count`` different pairs among identities absent from ``test``."""
    excluded = {path.split("/")[0] for a, b, _ in test for path in (a, b)}
    by_identity: dict[str, list[str]] = {}
    with open(lfw / "labels.csv") as handle:
        for row in csv.DictReader(handle):
            if row["identity"] not in excluded:
                by_identity.setdefault(row["identity"], []).append(row["path"])
    rng = random.Random(seed)
    same_all = [
        (a, b, True) for paths in by_identity.values() for a, b in itertools.combinations(paths, 2)
    ]
    same = rng.sample(same_all, min(count, len(same_all)))
    names = sorted(by_identity)
    different = []
    for _ in range(count):
        first, second = rng.sample(names, 2)
        different.append((rng.choice(by_identity[first]), rng.choice(by_identity[second]), False))
    return same + different


def embed_photos(
    lfw: Path, photos: list[str], recognizers: dict[str, Recognizer]
) -> tuple[Embeddings, int]:
    """Detect once per photo, embed with every recognizer; returns embeddings, faces missed."""
    result = Embeddings({name: {} for name in recognizers}, dict.fromkeys(recognizers, 0.0))
    missed = 0
    for photo in tqdm(photos, desc="photos", unit="photo"):
        rgb = load_image(lfw / photo)
        face = centre_face(detect(rgb), rgb.shape[1], rgb.shape[0])
        missed += face is None
        for name, recognizer in recognizers.items():
            started = time.perf_counter()
            vector = None if face is None else recognizer.embed(rgb, [face])[0]
            result.seconds[name] += time.perf_counter() - started
            result.vectors[name][photo] = vector
    return result, missed


def pair_distances(
    recognizer: Recognizer, pairs: list[Pair], vectors: dict[str, torch.Tensor | None]
) -> list[float]:
    distances = []
    for first, second, _ in pairs:
        a, b = vectors[first], vectors[second]
        missing = a is None or b is None
        distances.append(float("inf") if missing else float(recognizer.distance(a, b)))
    return distances


def score(
    name: str, recognizer: Recognizer, test: list[Pair], tuning: list[Pair], found: Embeddings
) -> dict:
    vectors = found.vectors[name]
    distances = pair_distances(recognizer, test, vectors)
    same = [p[2] for p in test]
    best, best_threshold = best_accuracy(distances, same)
    faces = max(sum(v is not None for v in vectors.values()), 1)
    row = {
        "recognizer": name,
        "auc": roc_auc(distances, same),
        "best_accuracy": best,
        "best_threshold": best_threshold,
        "threshold": float(recognizer.threshold),
        "accuracy_at_threshold": accuracy_at(distances, same, recognizer.threshold),
        "ms_per_face": 1000 * found.seconds[name] / faces,
        "distances": distances,
    }
    if tuning:
        tuned = best_accuracy(pair_distances(recognizer, tuning, vectors), [p[2] for p in tuning])
        row["tuning_threshold"] = tuned[1]
        row["accuracy_at_tuning_threshold"] = accuracy_at(distances, same, tuned[1])
    return row


def faceid_agreement(smooth: dict, exact: dict, test: list[Pair], threshold: float) -> dict:
    """Embedding cosine between the two forms, and how often their verdicts agree."""
    cosines = [
        float(torch.dot(smooth[p], exact[p]))
        for p in smooth
        if smooth[p] is not None and exact.get(p) is not None
    ]
    verdicts = []
    for first, second, _ in test:
        if smooth[first] is None or smooth[second] is None:
            continue
        same_smooth = 1 - float(torch.dot(smooth[first], smooth[second])) < threshold
        same_exact = 1 - float(torch.dot(exact[first], exact[second])) < threshold
        verdicts.append(same_smooth == same_exact)
    return {
        "faces": len(cosines),
        "cosine_mean": float(np.mean(cosines)),
        "cosine_min": float(np.min(cosines)),
        "verdict_agreement": float(np.mean(verdicts)),
        "pairs": len(verdicts),
    }


def openvino_check(paths: list[Path]) -> str:
    """What the ``openvino`` runtime from PyPI says about the IR files (one line each)."""
    try:
        import openvino
    except ImportError:
        return OPENVINO_TRIED
    version = getattr(openvino, "__version__", "?")
    core = openvino.Core()
    lines = []
    for path in paths:
        try:
            core.read_model(str(path))
            lines.append(f"openvino {version} reads {path.name}")
        except Exception as exc:  # openvino raises RuntimeError with a multi-line message
            first = " ".join(str(exc).split())[:200]
            lines.append(f"openvino {version} cannot read {path.name}: {first}")
    return "; ".join(lines)


def to_markdown(rows: list[dict], agreement: dict | None, openvino: str, test: int) -> str:
    header = [
        "recognizer",
        "ROC AUC",
        "README AUC",
        "within 0.002",
        "best accuracy (threshold)",
        "accuracy @ own threshold",
        "tuning-pairs threshold",
        "ms per face",
    ]
    table = []
    for row in rows:
        reference = README_AUC.get(row["recognizer"])
        within = reference is not None and abs(row["auc"] - reference) <= TOLERANCE
        table.append(
            [
                row["recognizer"],
                f"{row['auc']:.4f}",
                "-" if reference is None else f"{reference}",
                "-" if reference is None else ("yes" if within else "**no**"),
                f"{100 * row['best_accuracy']:.1f}% ({row['best_threshold']:.3f})",
                f"{100 * row['accuracy_at_threshold']:.1f}% ({row['threshold']:.2f})",
                f"{row.get('tuning_threshold', float('nan')):.3f}",
                f"{row['ms_per_face']:.1f}",
            ]
        )
    lines = [
        "## Recognizers on LFW (View-1 test pairs, our alignment)",
        "",
        "Command: `python benchmarks/recognizers.py` (per-pair distances in "
        "`benchmarks/results/recognizers.json`).",
        f"Machine: {machine_line()}. {test} pairs (half same); default detector with landmarks, "
        "the face nearest the centre, each recognizer's own alignment; an unfound face counts as "
        '"different". Distances: Euclidean (dlib), `1 - cosine` (the others).',
        "",
        markdown_table(header, table),
        "",
        "Best accuracy re-tunes the threshold on the test pairs (optimistic). The tuning-pairs "
        "threshold is the best-accuracy one on pairs of LFW people absent from the test pairs; "
        "the new recognizers' `threshold` is that value, rounded.",
    ]
    if agreement:
        share = 100 * agreement["verdict_agreement"]
        lines += [
            "",
            "FaceID smooth (differentiable) vs integer (device rounding) form, "
            f"{agreement['faces']} faces: embedding cosine mean {agreement['cosine_mean']:.4f}, "
            f"min {agreement['cosine_min']:.4f}; same verdict on {share:.1f}% of "
            f"{agreement['pairs']} pairs.",
        ]
    lines += ["", f"OpenVINO runtime check: {openvino}."]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=None, help="use only N test pairs")
    parser.add_argument("--tuning-pairs", type=int, default=500, help="same + different each")
    parser.add_argument("--no-write", action="store_true", help="print, leave BENCHMARKS.md alone")
    args = parser.parse_args()
    torch.set_num_threads(1)
    lfw = require_shared_faces() / "lfw"
    test = read_pairs(lfw, args.limit)
    tuning = tuning_pairs(lfw, test, args.tuning_pairs) if args.tuning_pairs else []
    recognizers = {
        name: load_recognizer(name) for name, why in available_recognizers().items() if why is None
    }
    for name, why in available_recognizers().items():
        if why is not None:
            print(f"{name} left out: {why}")
    if "adi_faceid" in recognizers:
        recognizers[FACEID_EXACT] = recognizers["adi_faceid"].integer_form()
    photos = sorted({path for a, b, _ in test + tuning for path in (a, b)})
    found, missed = embed_photos(lfw, photos, recognizers)
    print(f"{len(photos)} photos, {missed} without a face")
    rows = [score(name, model, test, tuning, found) for name, model in recognizers.items()]
    agreement = None
    if FACEID_EXACT in recognizers:
        model = recognizers["adi_faceid"]
        agreement = faceid_agreement(
            found.vectors["adi_faceid"], found.vectors[FACEID_EXACT], test, model.threshold
        )
    ir_files = [
        p for p in (r.default_path() for r in recognizers.values() if hasattr(r, "xml_name"))
    ]
    markdown = to_markdown(rows, agreement, openvino_check(ir_files), len(test))
    print(markdown)
    if not args.no_write:
        save_json("recognizers", {"rows": rows, "faceid_agreement": agreement, "missed": missed})
        write_section("recognizers", markdown)


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)
    main()
