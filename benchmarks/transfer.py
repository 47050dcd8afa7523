"""Leave-one-out transfer: cloak against four recognizers, judge with the fifth, for each in turn.

A cloak counts only against a recognizer it never saw. For every fold the identity cloak runs
with the ensemble of the other available recognizers; the left-out one then judges the saved
photo as a scraper would (landmarks found anew on what it downloaded), clean and after each
cleaning of :mod:`facecloak.evaluate.cleaning`:

- **other**: the protected photo no longer matches *another* photo of the same person (the
  main figure);
- **own**: it no longer matches its own original;
- **rank-1 miss**: in a gallery of one other photo per person, the nearest is not the person.

Photos: a seeded sample of LFW identities with two or more photos (the first is protected, the
second is the reference), and deepface's large photos (each photo of a person with 2+ photos,
its reference the next photo of that person). Quality of the face box: SSIMULACRA2, SSIM, PSNR.
Protected photos are cached under ``build/transfer/`` so a rerun only judges.

Run it alone on a quiet machine, e.g.::

    python benchmarks/transfer.py                      # the default preset, full size
    python benchmarks/transfer.py --lfw 30 --deepface 0 --configs mid,mid-luma --publish ''
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import statistics
import sys
import time
from collections import defaultdict
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from _report import ROOT, machine_line, markdown_table, require_shared_faces, save_json
from _report import write_section as write_benchmark_section
from _transfer_configs import CONFIGS, TransferConfig
from facecloak.datasets import read_labelled_folder
from facecloak.evaluate.cleaning import CLEANINGS, MAIN_CLEANINGS
from facecloak.faces import Face
from facecloak.images import load_image, save_image
from facecloak.models import available_recognizers, detect, largest_face, load_recognizer
from facecloak.models.recognizer import Recognizer
from facecloak.protect import ProtectConfig, protect
from facecloak.quality import S2_CONTEXT, image_change, ssimulacra2_score
from facecloak.recognition import embed_with_fresh_landmarks

logger = logging.getLogger("transfer")
ALL_RECOGNIZERS = ("dlib", "mobilefacenet", "intel_reid0095", "intel_reid0001", "adi_faceid")
CACHE = ROOT / "build" / "transfer"


@dataclass(frozen=True)
class Case:
    """One photo to protect, another photo of the same person, and where they come from."""

    dataset: str
    identity: str
    probe: Path
    reference: Path


def lfw_cases(faces_dir: Path, identities: int, seed: int = 0) -> list[Case]:
    photos = read_labelled_folder(faces_dir / "lfw", min_per_identity=2)
    by_person: dict[str, list[Path]] = defaultdict(list)
    for photo in photos:
        by_person[photo.identity].append(photo.path)
    chosen = random.Random(seed).sample(sorted(by_person), min(identities, len(by_person)))
    return [Case("lfw", name, *sorted(by_person[name])[:2]) for name in sorted(chosen)]


def deepface_cases(faces_dir: Path, limit: int) -> list[Case]:
    by_person: dict[str, list[Path]] = defaultdict(list)
    for photo in read_labelled_folder(faces_dir / "deepface", min_per_identity=2):
        by_person[photo.identity].append(photo.path)
    cases = []
    for name in sorted(by_person):
        paths = sorted(by_person[name])
        cases += [
            Case("deepface", name, path, paths[(i + 1) % len(paths)])
            for i, path in enumerate(paths)
        ]
    return cases[:limit]


@dataclass
class Prepared:
    """A case with its photos loaded, its face found, and each recognizer's reference."""

    case: Case
    probe: np.ndarray
    face: Face
    references: dict[str, torch.Tensor]


def prepare(cases: list[Case], recognizers: dict[str, Recognizer]) -> list[Prepared]:
    prepared = []
    for case in tqdm(cases, desc="faces", unit="photo"):
        probe, reference = load_image(case.probe), load_image(case.reference)
        face, ref_face = largest_face(detect(probe)), largest_face(detect(reference))
        if face is None or ref_face is None:
            logger.warning("no face in %s or %s: skipped", case.probe.name, case.reference.name)
            continue
        references = {
            name: embed_with_fresh_landmarks(reference, ref_face, r)[0]
            for name, r in recognizers.items()
        }
        prepared.append(Prepared(case, probe, face, references))
    return prepared


def cloak(item: Prepared, config: TransferConfig, attacked: tuple[str, ...]) -> dict:
    """The protected photo (cached as PNG) and its face-box quality and time."""
    key = f"{config.name}/{'+'.join(attacked)}/{item.case.dataset}/{item.case.probe.stem}"
    path, meta = CACHE / f"{key}.png", CACHE / f"{key}.json"
    made_by = f"{cache_repr(config)} s2_context={S2_CONTEXT}"  # the measure changed: score anew
    if path.exists() and meta.exists():
        cached = json.loads(meta.read_text())
        if cached.pop("config", made_by) == made_by:
            return {"image": load_image(path), **cached}
    started = time.perf_counter()
    if config.strength is None:
        protected = item.probe
    else:
        settings = ProtectConfig(
            recognizers=attacked, strength=config.strength, robust=config.robust, largest=True
        )
        protected = protect(item.probe, settings, detected=[item.face]).image
    seconds = time.perf_counter() - started
    change = image_change(item.probe, protected, box=item.face.box)
    quality = {
        "seconds": seconds,
        "ssim": change.ssim,
        "psnr": min(change.psnr, 99.0),
        "ssimulacra2": ssimulacra2_score(item.probe, protected, box=item.face.box),
    }
    quality["commit"] = source_commit() if config.strength is not None else "-"
    save_image(protected, path)
    meta.write_text(json.dumps({**quality, "config": made_by}))
    return {"image": protected, **quality}


NEWER_FIELDS = {
    "pull": 0.0,
    "decoy": "samples",
    "members_per_step": None,
    "s2_fine_every": 1,
    "large_face_members": None,
    "align_jitter": 0.0,
    "worst_case_temperature": None,
    "large_face_sum": False,
    "ssim_shrink": 1.0,
}
"""Strength fields added after photos were cached: left out of the cache key at these values,
which behave as before the field existed."""


def cache_repr(config: TransferConfig) -> str:
    """``repr(config)`` without :data:`NEWER_FIELDS` at their defaults."""
    text = repr(config)
    for name, default in NEWER_FIELDS.items():
        text = text.replace(f", {name}={default!r}", "")
    return text


@cache
def source_commit() -> str:
    """The commit whose code made a cached photo (``-dirty``: with uncommitted changes under
    ``src/``, which a published number must not rest on). Read once: a run keeps the code it
    loaded, even if a commit lands while it runs."""
    import subprocess

    def git(*command: str) -> str:
        done = subprocess.run(["git", *command], cwd=ROOT, capture_output=True, text=True)
        return done.stdout.strip() if done.returncode == 0 else ""

    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    return commit + ("-dirty" if git("status", "--porcelain", "--", "src") else "")


def commits_line(rows: list[dict]) -> str:
    """Which commits made the protected photos (the cache keeps photos across runs)."""
    made = defaultdict(set)
    for r in rows:
        if r.get("commit", "") != "-":
            made[r.get("commit", "unknown (cached before commits were recorded)")].add(
                (r["config"], r["judge"], r["photo"])
            )
    counts = ", ".join(f"{commit}: {len(photos)}" for commit, photos in sorted(made.items()))
    return f"Protected photos made by the code at commit ({counts})."


def judge(
    item: Prepared, protected: np.ndarray, judge_name: str, recognizer: Recognizer, gallery: dict
) -> dict[str, dict[str, bool]]:
    """Per cleaning: no match with the other photo, with the own original, rank-1 miss."""
    threshold = float(recognizer.threshold)
    verdicts = {}
    own = embed_with_fresh_landmarks(item.probe, item.face, recognizer)[0]
    for name in CLEANINGS:
        cleaning = CLEANINGS[name]
        face = Face(tuple(v * cleaning.scale for v in item.face.box), item.face.score)
        seen = embed_with_fresh_landmarks(cleaning(protected), face, recognizer)[0]
        other = float(recognizer.distance(seen, item.references[judge_name]))
        names = list(gallery)
        distances = recognizer.distance(seen[None], torch.stack([gallery[n] for n in names]))
        nearest = names[int(torch.argmin(distances))]
        verdicts[name] = {
            "other": other >= threshold,
            "own": float(recognizer.distance(seen, own)) >= threshold,
            "rank1": nearest != item.case.identity,
        }
    return verdicts


def run(
    prepared: list[Prepared], configs: list[TransferConfig], recognizers: dict, folds: list[str]
) -> list[dict]:
    rows = []
    galleries = {
        (dataset, name): {
            p.case.identity: p.references[name] for p in prepared if p.case.dataset == dataset
        }
        for dataset in {p.case.dataset for p in prepared}
        for name in recognizers
    }
    for config in configs:
        for left_out in folds:
            attacked = tuple(
                n for n in (config.surrogates or recognizers) if n != left_out and n in recognizers
            )
            if not attacked:
                continue
            label = f"{config.name}, judged by {left_out}"
            for item in tqdm(prepared, desc=label, unit="face"):
                result = cloak(item, config, attacked)
                gallery = galleries[(item.case.dataset, left_out)]
                verdicts = judge(item, result["image"], left_out, recognizers[left_out], gallery)
                quality = {k: v for k, v in result.items() if k != "image"}
                rows.append(
                    {
                        "config": config.name,
                        "judge": left_out,
                        "dataset": item.case.dataset,
                        "photo": item.case.probe.name,
                        "verdicts": verdicts,
                        **quality,
                    }
                )
    return rows


def percent(values: list[bool]) -> str:
    return f"{100 * sum(values) / len(values):.0f}%" if values else "-"


def summary_tables(rows: list[dict], cleanings: tuple[str, ...], measure: str) -> str:
    """One row per (dataset, config), one column per (judge, cleaning)."""
    judges = sorted({r["judge"] for r in rows}, key=ALL_RECOGNIZERS.index)
    header = ["data", "config", *(f"{j} {c}" for j in judges for c in cleanings)]
    header += ["worst judge (jpeg75)", "SSIMULACRA2 face", "SSIM face", "s/face"]
    table = []
    for dataset, config in sorted({(r["dataset"], r["config"]) for r in rows}):
        group = [r for r in rows if r["dataset"] == dataset and r["config"] == config]
        cells = []
        worst = []
        for judge_name in judges:
            mine = [r for r in group if r["judge"] == judge_name]
            for cleaning in cleanings:
                cells.append(percent([r["verdicts"][cleaning][measure] for r in mine]))
            worst.append(sum(r["verdicts"]["jpeg75"][measure] for r in mine) / max(len(mine), 1))
        scores = [r["ssimulacra2"] for r in group if r["ssimulacra2"] is not None]
        table.append(
            [
                dataset,
                config,
                *cells,
                f"{100 * min(worst):.0f}%",
                f"{statistics.mean(scores):.1f} (min {min(scores):.1f})" if scores else "-",
                f"{statistics.mean(r['ssim'] for r in group):.3f}",
                f"{statistics.mean(r['seconds'] for r in group):.1f}",
            ]
        )
    return markdown_table(header, table)


def curve_points(rows: list[dict]) -> list[dict]:
    """Per (dataset, config): mean and worst left-out protection after JPEG q75 (other photo)
    against the face's mean SSIMULACRA2 and seconds per face."""
    points = []
    for dataset, config in sorted({(r["dataset"], r["config"]) for r in rows}):
        group = [r for r in rows if r["dataset"] == dataset and r["config"] == config]
        by_judge = defaultdict(list)
        for r in group:
            by_judge[r["judge"]].append(r["verdicts"]["jpeg75"]["other"])
        shares = {j: sum(v) / len(v) for j, v in by_judge.items()}
        scores = [r["ssimulacra2"] for r in group if r["ssimulacra2"] is not None]
        points.append(
            {
                "dataset": dataset,
                "config": config,
                "mean": statistics.mean(shares.values()),
                "worst": min(shares.values()),
                "worst_judge": min(shares, key=shares.get),
                "ssimulacra2": statistics.mean(scores) if scores else None,
                "seconds": statistics.mean(r["seconds"] for r in group),
            }
        )
    return points


def robustness_table(rows: list[dict]) -> str:
    """Per (dataset, config), per cleaning: left-out no-match with another photo, mean over
    the left-out recognizers (worst in brackets)."""
    header = ["data", "config", *CLEANINGS]
    table = []
    for dataset, config in sorted({(r["dataset"], r["config"]) for r in rows}):
        group = [r for r in rows if r["dataset"] == dataset and r["config"] == config]
        cells = []
        for cleaning in CLEANINGS:
            by_judge = defaultdict(list)
            for r in group:
                by_judge[r["judge"]].append(r["verdicts"][cleaning]["other"])
            shares = [sum(v) / len(v) for v in by_judge.values()]
            cells.append(f"{100 * statistics.mean(shares):.0f}% ({100 * min(shares):.0f}%)")
        table.append([dataset, config, *cells])
    return markdown_table(header, table)


def curve_table(points: list[dict]) -> str:
    header = ["data", "config", "left-out no match, JPEG q75: mean", "worst (judge)"]
    header += ["SSIMULACRA2 face", "s/face"]
    return markdown_table(
        header,
        [
            [
                p["dataset"],
                p["config"],
                f"{100 * p['mean']:.0f}%",
                f"{100 * p['worst']:.0f}% ({p['worst_judge']})",
                "-" if p["ssimulacra2"] is None else f"{p['ssimulacra2']:.1f}",
                f"{p['seconds']:.1f}",
            ]
            for p in points
        ],
    )


def plot_curve(points: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(6, 4))
    for dataset in sorted({p["dataset"] for p in points}):
        mine = [p for p in points if p["dataset"] == dataset and p["ssimulacra2"] is not None]
        axis.scatter([p["ssimulacra2"] for p in mine], [100 * p["worst"] for p in mine])
        for p in mine:
            axis.annotate(p["config"], (p["ssimulacra2"], 100 * p["worst"]), fontsize=7)
    axis.axhline(80, ls="--", c="grey")
    axis.axvline(70, ls="--", c="grey")
    axis.set_xlabel("face SSIMULACRA2 (higher: less visible)")
    axis.set_ylabel("worst left-out recognizer: no match after JPEG q75 (%)")
    figure.tight_layout()
    figure.savefig(path, dpi=90)
    plt.close(figure)
    # A 32-colour palette keeps the committed plot small (a few KB) and loses nothing visible.
    from PIL import Image

    Image.open(path).convert("RGB").quantize(colors=32).save(path, optimize=True)


def publish(rows: list[dict], args: argparse.Namespace, seconds: float) -> None:
    counts = defaultdict(set)
    for r in rows:
        counts[r["dataset"]].add(r["photo"])
    sizes = ", ".join(f"{d}: {len(p)} photos" for d, p in sorted(counts.items()))
    text = [
        f"`python benchmarks/transfer.py {' '.join(sys.argv[1:])}` ({sizes}; {machine_line()}; "
        f"{seconds / 60:.0f} min). Each column: the share of protected photos the *left-out* "
        "recognizer no longer matches to another photo of the same person (the cloak ran "
        "against the other four). " + commits_line(rows),
        "",
        "The curve (targets: >= 80% on the worst left-out recognizer at SSIMULACRA2 >= 70):",
        "",
        curve_table(curve_points(rows)),
        "",
        f"![curve](results/{args.publish}.png)",
        "",
        "Per left-out recognizer and cleaning:",
        "",
        summary_tables(rows, MAIN_CLEANINGS, "other"),
        "",
        "Robustness to cleaning: no match with another photo, mean over the left-out "
        "recognizers (worst in brackets):",
        "",
        robustness_table(rows),
        "",
        "Against the photo's own original (same columns):",
        "",
        summary_tables(rows, ("saved", "jpeg75"), "own"),
        "",
        "Rank-1 miss in a gallery of one other photo per person:",
        "",
        summary_tables(rows, ("saved", "jpeg75"), "rank1"),
    ]
    write_benchmark_section(args.publish, "\n".join(text))


def republish(args: argparse.Namespace) -> None:
    """The section of ``--publish`` again, from ``benchmarks/results/<publish>.json``."""
    import json

    payload = json.loads((ROOT / "benchmarks" / "results" / f"{args.publish}.json").read_text())
    sys.argv[1:] = payload["argv"]
    torch.set_num_threads(payload.get("threads", args.threads))
    rows = payload["rows"]
    plot_curve(curve_points(rows), ROOT / "benchmarks" / "results" / f"{args.publish}.png")
    publish(rows, args, payload["seconds"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lfw", type=int, default=100, help="LFW identities")
    parser.add_argument("--deepface", type=int, default=62, help="deepface photos")
    parser.add_argument("--configs", default="none,mid", help=f"from {', '.join(CONFIGS)}")
    parser.add_argument("--folds", default="", help="left-out recognizers (default: all)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--publish", default="transfer", help="BENCHMARKS.md section ('' = none)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--republish", action="store_true", help="rewrite the section from its saved results"
    )
    args = parser.parse_args()
    if args.republish:
        republish(args)
        return
    logging.basicConfig(level=logging.WARNING)
    torch.set_num_threads(args.threads)
    faces_dir = require_shared_faces()
    usable = {name for name, reason in available_recognizers().items() if reason is None}
    names = [n for n in ALL_RECOGNIZERS if n in usable]
    recognizers = {name: load_recognizer(name) for name in names}
    folds = [f for f in (args.folds.split(",") if args.folds else names) if f in recognizers]
    cases = lfw_cases(faces_dir, args.lfw, args.seed) + deepface_cases(faces_dir, args.deepface)
    configs = [CONFIGS[name] for name in args.configs.split(",")]
    started = time.perf_counter()
    rows = run(prepare(cases, recognizers), configs, recognizers, folds)
    seconds = time.perf_counter() - started
    payload = {"argv": sys.argv[1:], "rows": rows, "seconds": seconds, "threads": args.threads}
    save_json(args.publish or "transfer-trial", payload)
    print(curve_table(curve_points(rows)))
    if args.publish:
        plot_curve(curve_points(rows), ROOT / "benchmarks" / "results" / f"{args.publish}.png")
        publish(rows, args, seconds)


if __name__ == "__main__":
    main()
