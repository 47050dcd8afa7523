"""Reproduce the seed papers' closed-set classifier attack tables on LFW, beside the published.

1. *Adversarial Face De-Identification* (P-FGVM): Model A (``small-cnn``) and our Model B
   (``dlib-head``: frozen dlib ResNet + FC 256 + BN + ReLU + FC n, since VGG-Face is not available
   offline) trained on the 30 LFW identities with the most photos (all have >= 10); P-FGVM, I-FGVM
   and I-FGSM untargeted on the correctly classified test chips; perturbation L2, mean SSIM and
   misclassification rate (MR). P-FGVM's ``lam`` is chosen by a sweep on the validation chips.
2. *Face Encryption*: ResNet-18 trained from scratch on every LFW identity with >= 10 photos;
   targeted PGD (a random other identity per test chip) for 1-4 steps of 0.1-0.4 normalised units;
   share of test chips classified as their target.

Every classifier is attacked through :class:`facecloak.classify.ClassifierModel`'s forward: the
input is the dlib-aligned 150x150 chip in [0, 1]; the model resizes and normalises it itself.

Writes the ``seed-pfgvm`` and ``seed-targeted-grid`` sections of BENCHMARKS.md (not with
``--quick``) and ``benchmarks/results/reproduce_seed_tables.json``; models go to
``build/seed-tables/``.

    python benchmarks/reproduce_seed_tables.py [--quick] [--only pfgvm|grid] [--reuse-models]
    python benchmarks/reproduce_seed_tables.py --render   # rewrite the sections from the JSON
"""

from __future__ import annotations

import argparse
import json
import logging
import string
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor
from tqdm import tqdm

from _report import (
    RESULTS_DIR,
    ROOT,
    machine_line,
    markdown_table,
    require_shared_faces,
    save_json,
    write_section,
)
from facecloak.attacks import ClassifierTargeted, ClassifierUntargeted, make_attack
from facecloak.classify import (
    ChipSet,
    ClassifierModel,
    TrainConfig,
    evaluate_accuracy,
    extract_chip_set,
    load_classifier,
    predict_labels,
    split_per_identity,
    train_classifier,
    training_info,
)
from facecloak.datasets import read_labelled_folder
from facecloak.imaging import to_uint8
from facecloak.quality import image_change

logger = logging.getLogger("reproduce_seed_tables")

RESULTS_NAME = "reproduce_seed_tables"
MODELS_DIR = ROOT / "build" / "seed-tables"
TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
CACHE_DIR = ROOT / "build" / "chip-cache"
MIN_PHOTOS = 10
PFGVM_IDENTITIES = 30
TEST_FRACTION = 0.2
SPLIT_SEED = 0

STEP = 1 / 255
"""Per-step change of the P-FGVM-table attacks: the RMS of one step on the [0, 1] chip (I-FGSM's
sign step and the gradient-value steps, normalised to RMS 1, move the chip equally far)."""
FGSM_EPS = 16 / 255
EARLY_MAX_STEPS = 100
FIXED_STEPS = 20
LAMBDAS = (0.0, 3.0, 10.0, 30.0, 100.0, 300.0)
"""P-FGVM sweep; all keep ``STEP * lam < 2`` (the penalty converges instead of oscillating)."""
MR_TOLERANCE = 0.02
ATTACK_BATCH = 32

GRID_STEP_SIZES = (0.1, 0.2, 0.3, 0.4)
GRID_STEPS = (1, 2, 3, 4)

PUBLISHED_PFGVM = {
    "P-FGVM": {"A": (3.38, 0.986, 0.996), "B": (2.11, 0.995, 0.960)},
    "I-FGVM": {"A": (5.31, 0.963, 0.994), "B": (2.67, 0.993, 0.932)},
    "I-FGSM": {"A": (5.68, 0.962, 0.989), "B": (5.74, 0.968, 0.944)},
}
"""Published (L2, mean SSIM, MR) per method and model."""

PUBLISHED_GRID = {
    0.1: (0.02, 0.965, 0.997, 0.999),
    0.2: (0.001, 0.839, 0.983, 0.990),
    0.3: (0.001, 0.637, 0.805, 0.993),
    0.4: (0.0, 0.328, 0.779, 0.976),
}
"""Published share classified as the target, per step size, for 1-4 steps."""

METHODS = {"P-FGVM": "pfgvm", "I-FGVM": "ifgvm", "I-FGSM": "ifgsm"}


@dataclass(frozen=True)
class Settings:
    """What a run does; ``--quick`` shrinks everything for a smoke test."""

    quick: bool
    pfgvm_identities: int
    grid_identities: int | None
    epochs_a: int | None
    epochs_b: int | None
    epochs_resnet: int | None
    early_max_steps: int
    fixed_steps: int
    lambdas: tuple[float, ...]

    @classmethod
    def make(cls, quick: bool) -> Settings:
        if quick:
            return cls(True, 6, 12, 3, 5, 2, 15, 5, (0.0, 30.0))
        return cls(
            False,
            PFGVM_IDENTITIES,
            None,
            None,
            None,
            None,
            EARLY_MAX_STEPS,
            FIXED_STEPS,
            LAMBDAS,
        )


class Clock:
    """Seconds per named stage."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    def run(self, stage: str, fn: Callable[[], Any]) -> Any:
        start = time.perf_counter()
        try:
            return fn()
        finally:
            self.seconds[stage] = round(
                self.seconds.get(stage, 0.0) + time.perf_counter() - start, 1
            )


# --------------------------------------------------------------------------- data and models


def lfw_chips(progress: bool) -> ChipSet:
    """Chips of every LFW identity with >= 10 photos (faces found in all of them)."""
    lfw = require_shared_faces() / "lfw"
    photos = read_labelled_folder(lfw, MIN_PHOTOS)
    chips = extract_chip_set(photos, root=lfw, cache_dir=CACHE_DIR, progress=progress)
    return chips.with_min_per_identity(MIN_PHOTOS)


def most_photographed(chips: ChipSet, count: int) -> list[str]:
    """The ``count`` identities with the most chips (ties broken by name)."""
    counts = chips.counts()
    return sorted(counts, key=lambda name: (-counts[name], name))[:count]


def three_way_split(chips: ChipSet) -> tuple[ChipSet, ChipSet, ChipSet]:
    """``(train, val, test)``: 20% of each identity for test, then 1 chip for validation."""
    rest, test = split_per_identity(chips, fraction=TEST_FRACTION, seed=SPLIT_SEED)
    train, val = split_per_identity(rest, count=1, seed=SPLIT_SEED + 1)
    return train, val, test


def trained_model(
    name: str,
    train: ChipSet,
    val: ChipSet,
    config: TrainConfig,
    reuse: bool,
    progress: bool,
    quick: bool,
) -> tuple[ClassifierModel, dict]:
    """Train (or, with ``reuse``, load) a classifier saved as ``build/seed-tables/NAME.pt``."""
    path = MODELS_DIR / ("quick" if quick else "") / f"{name}.pt"
    if reuse and path.is_file():
        model = load_classifier(path)
        if model.class_names == train.class_names and model.arch == config.arch:
            logger.info("reusing %s", path)
            return model, training_info(path)
    result = train_classifier(train, val, config, output=path, progress=progress)
    return result.model, result.record()


def split_record(train: ChipSet, val: ChipSet, test: ChipSet) -> dict:
    return {
        "identities": train.num_classes,
        "train": len(train),
        "val": len(val),
        "test": len(test),
        "test_per_identity": sorted(set(test.counts().values())),
    }


# --------------------------------------------------------------------------- P-FGVM table


@dataclass
class AttackSummary:
    """Mean outcome of one attack on a set of correctly classified chips."""

    method: str
    regime: str
    lam: float | None
    images: int
    mr: float
    mr_8bit: float
    l2_chip: float
    rms: float
    l2_input: float
    ssim: float
    steps: float
    seconds: float


def attack_untargeted(
    model: ClassifierModel,
    chips: Tensor,
    labels: Tensor,
    method: str,
    regime: str,
    settings: Settings,
    lam: float | None = None,
) -> AttackSummary:
    """Run ``method`` (P-FGVM / I-FGVM / I-FGSM) against ``model`` and measure the change.

    ``regime``: ``early`` stops each chip at its first misclassification (at most
    ``early_max_steps`` steps); ``fixed`` always runs ``fixed_steps`` steps.
    """
    early = regime == "early"
    options: dict[str, Any] = {
        "steps": settings.early_max_steps if early else settings.fixed_steps,
        "step_size": STEP,
        "early_stop": early,
        "forward_active_only": True,
    }
    if method == "ifgsm":
        options["eps"] = FGSM_EPS
    if method == "pfgvm":
        options["lam"] = float(lam or 0.0)
    start = time.perf_counter()
    adversarial, successes, steps = [], [], []
    for index in torch.arange(len(labels)).split(ATTACK_BATCH):
        attack = make_attack(method, model, ClassifierUntargeted(labels[index]), **options)
        result = attack.run(chips[index])
        adversarial.append(result.adversarial)
        successes.append(result.success)
        steps.append(result.steps)
    seconds = time.perf_counter() - start
    adv = torch.cat(adversarial)
    measures = change_measures(model, chips, adv)
    with torch.no_grad():
        rounded = torch.cat([model(b).argmax(1) for b in quantised(adv).split(ATTACK_BATCH)])
    return AttackSummary(
        method=method,
        regime=regime,
        lam=lam if method == "pfgvm" else None,
        images=len(labels),
        mr=float(torch.cat(successes).float().mean()),
        mr_8bit=float((rounded != labels).float().mean()),
        steps=float(torch.cat(steps).float().mean()),
        seconds=round(seconds, 1),
        **measures,
    )


def quantised(chips: Tensor) -> Tensor:
    """Chips rounded to 8-bit levels, as a saved image holds them."""
    return (chips * 255).round().clamp(0, 255) / 255


def change_measures(model: ClassifierModel, clean: Tensor, adversarial: Tensor) -> dict:
    """Mean L2 (chip and model input), RMS and SSIM of the 8-bit adversarial chips, [0, 1] scale."""
    l2, rms, ssim = [], [], []
    clean_u8 = to_uint8(clean)
    adv_u8 = to_uint8(adversarial)
    for a, b in zip(clean_u8, adv_u8, strict=True):
        change = image_change(a, b)
        l2.append(change.l2)
        rms.append(change.rms)
        ssim.append(change.ssim)
    with torch.no_grad():
        seen = model.resize(quantised(adversarial)) - model.resize(quantised(clean))
    l2_input = seen.flatten(1).norm(dim=1)
    return {
        "l2_chip": float(np.mean(l2)),
        "rms": float(np.mean(rms)),
        "l2_input": float(l2_input.mean()),
        "ssim": float(np.mean(ssim)),
    }


def correctly_classified(model: ClassifierModel, chips: ChipSet) -> tuple[Tensor, Tensor]:
    """The chips ``model`` classifies correctly, as floats, and their labels."""
    correct = predict_labels(model, chips) == chips.labels
    index = correct.nonzero().squeeze(1)
    return chips.float_chips(index), chips.labels[index]


def choose_lambda(sweep: list[AttackSummary]) -> float:
    """The lam with the smallest chip L2 among those whose MR is within 2 points of the best."""
    best_mr = max(s.mr for s in sweep)
    eligible = [s for s in sweep if s.mr >= best_mr - MR_TOLERANCE]
    return float(min(eligible, key=lambda s: s.l2_chip).lam or 0.0)


def attack_model(
    key: str,
    model: ClassifierModel,
    record: dict,
    val: ChipSet,
    test: ChipSet,
    settings: Settings,
    clock: Clock,
    progress: bool,
) -> dict:
    """Clean accuracy, the lam sweeps on ``val`` and the three attacks on ``test``."""
    x_val, y_val = correctly_classified(model, val)
    x_test, y_test = correctly_classified(model, test)
    entry: dict[str, Any] = {
        "arch": model.arch,
        "image_size": model.image_size,
        "std": float(model.std),
        "test_accuracy": evaluate_accuracy(model, test),
        "val_accuracy": evaluate_accuracy(model, val),
        "train_seconds": record.get("seconds"),
        "best_epoch": record.get("best_epoch"),
        "epochs": record.get("config", {}).get("epochs"),
        "attacked_test": len(y_test),
        "attacked_val": len(y_val),
        "sweeps": {},
        "lam": {},
        "results": {},
    }
    for regime in ("early", "fixed"):
        sweep = [
            clock.run(
                f"lam sweep {key}",
                lambda lam=lam, regime=regime: attack_untargeted(
                    model, x_val, y_val, "pfgvm", regime, settings, lam
                ),
            )
            for lam in tqdm(
                settings.lambdas, f"lam sweep {key} {regime}", leave=False, disable=not progress
            )
        ]
        lam = choose_lambda(sweep)
        entry["sweeps"][regime] = [asdict(s) for s in sweep]
        entry["lam"][regime] = lam
        entry["results"][regime] = {
            label: asdict(
                clock.run(
                    f"attacks {key}",
                    lambda method=method, regime=regime, lam=lam: attack_untargeted(
                        model, x_test, y_test, method, regime, settings, lam
                    ),
                )
            )
            for label, method in tqdm(
                METHODS.items(), f"attacks {key}", leave=False, disable=not progress
            )
        }
    return entry


def pfgvm_table(
    chips: ChipSet, settings: Settings, reuse: bool, progress: bool, clock: Clock
) -> dict:
    """Models A and B, the lam sweeps, and the three attacks in both regimes."""
    subset = chips.select_identities(most_photographed(chips, settings.pfgvm_identities))
    train, val, test = three_way_split(subset)
    models: dict[str, dict] = {}
    configs = {
        "A": ("model_a", TrainConfig(arch="small-cnn", epochs=settings.epochs_a)),
        "B": ("model_b", TrainConfig(arch="dlib-head", epochs=settings.epochs_b)),
    }
    for key, (name, config) in configs.items():
        model, record = clock.run(
            f"train model {key}",
            lambda name=name, config=config: trained_model(
                name, train, val, config, reuse, progress, settings.quick
            ),
        )
        models[key] = attack_model(key, model, record, val, test, settings, clock, progress)
        logger.info("model %s: test accuracy %.3f", key, models[key]["test_accuracy"])
    return {"split": split_record(train, val, test), "models": models}


# --------------------------------------------------------------------------- targeted grid


def mean_confidence(model: ClassifierModel, chips: Tensor) -> float:
    """Mean top-1 softmax probability."""
    with torch.no_grad():
        probabilities = torch.cat([model(b).softmax(1) for b in chips.split(ATTACK_BATCH * 2)])
    return float(probabilities.max(1).values.mean())


def random_targets(labels: Tensor, num_classes: int, seed: int) -> Tensor:
    """A uniformly random class other than the true one, per chip."""
    generator = torch.Generator().manual_seed(seed)
    offsets = torch.randint(1, num_classes, (len(labels),), generator=generator)
    return (labels + offsets) % num_classes


def targeted_grid(
    chips: ChipSet, settings: Settings, reuse: bool, progress: bool, clock: Clock
) -> dict:
    """ResNet-18 on every identity with >= 10 photos and the 4x4 targeted PGD grid."""
    if settings.grid_identities is not None:
        chips = chips.select_identities(most_photographed(chips, settings.grid_identities))
    train, val, test = three_way_split(chips)
    config = TrainConfig(arch="resnet18", epochs=settings.epochs_resnet)
    model, record = clock.run(
        "train resnet18",
        lambda: trained_model("resnet18", train, val, config, reuse, progress, settings.quick),
    )
    test_accuracy = evaluate_accuracy(model, test)
    x = test.float_chips()
    labels = test.labels
    correct = predict_labels(model, test) == labels
    targets = random_targets(labels, test.num_classes, seed=1)
    std = float(model.std)
    rates: dict[str, list[float]] = {}
    rates_correct: dict[str, list[float]] = {}
    seconds = 0.0
    cells = [(s, k) for s in GRID_STEP_SIZES for k in GRID_STEPS]
    for size, steps in tqdm(cells, "targeted grid", leave=False, disable=not progress):
        chip_step = size * std
        start = time.perf_counter()
        success = []
        for index in torch.arange(len(labels)).split(ATTACK_BATCH * 2):
            attack = make_attack(
                "pgd",
                model,
                ClassifierTargeted(targets[index]),
                eps=steps * chip_step,
                steps=steps,
                step_size=chip_step,
                random_start=False,
            )
            success.append(attack.run(x[index]).success)
        seconds += time.perf_counter() - start
        hit = torch.cat(success)
        rates.setdefault(str(size), []).append(float(hit.float().mean()))
        rates_correct.setdefault(str(size), []).append(float(hit[correct].float().mean()))
    clock.seconds["targeted grid attacks"] = round(seconds, 1)
    return {
        "split": split_record(train, val, test),
        "model": {
            "arch": model.arch,
            "image_size": model.image_size,
            "std": std,
            "mean": [float(v) for v in model.mean.flatten()],
            "test_accuracy": test_accuracy,
            "val_accuracy": evaluate_accuracy(model, val),
            "confidence": mean_confidence(model, x),
            "train_seconds": record.get("seconds"),
            "best_epoch": record.get("best_epoch"),
            "epochs": record.get("config", {}).get("epochs"),
        },
        "test_chips": len(labels),
        "correct_test_chips": int(correct.sum()),
        "success": rates,
        "success_on_correct": rates_correct,
    }


# --------------------------------------------------------------------------- markdown


def pct(value: float, digits: int = 1) -> str:
    return f"{100 * value:.{digits}f}%"


def fill_template(name: str, values: dict[str, object]) -> str:
    """``benchmarks/templates/<name>.md`` with its ``${placeholders}`` filled in."""
    text = (TEMPLATES_DIR / f"{name}.md").read_text()
    return string.Template(text).substitute(values).removesuffix("\n")


def pfgvm_markdown(payload: dict) -> str:
    """The P-FGVM section: tables from :func:`pfgvm_tables`, prose from its template."""
    table = payload["pfgvm"]
    split, settings = table["split"], payload["settings"]
    a, b = table["models"]["A"], table["models"]["B"]
    rms_a = a["results"]["early"]["P-FGVM"]["rms"]
    scale_64 = (64 * 64 * 3) ** 0.5
    values = {
        "command_line": command_line(payload),
        "machine": payload["machine"],
        "timings": timings(payload, "pfgvm"),
        "identities": split["identities"],
        "min_photos": MIN_PHOTOS,
        "test": split["test"],
        "test_per_identity": "/".join(map(str, split["test_per_identity"])),
        "val": split["val"],
        "train": split["train"],
        "early_max_steps": settings["early_max_steps"],
        "step_255": f"{255 * STEP:g}",
        "fgsm_eps_255": f"{255 * FGSM_EPS:g}",
        "published_rms_64": f"{255 * 3.38 / scale_64:.1f}",
        "published_rms_celeba": f"{255 * 3.38 / (178 * 218 * 3) ** 0.5:.1f}",
        "rms_a_255": f"{255 * rms_a:.2f}",
        "l2_a_64": f"{rms_a * scale_64:.2f}",
        "fixed_steps": settings["fixed_steps"],
        "attacked_val_a": a["attacked_val"],
        "attacked_val_b": b["attacked_val"],
        "mr_tolerance": f"{100 * MR_TOLERANCE:g}",
        **pfgvm_tables(a, b),
        **pfgvm_findings(a, b),
    }
    return fill_template("seed_pfgvm", values)


def pfgvm_tables(a: dict, b: dict) -> dict[str, str]:
    """The accuracy, early-stopping, fixed-steps and lam-sweep tables of the P-FGVM section."""
    header = ["method", "model", "L2 (published)", "L2 chip 150 px", "L2 at model input"]
    header += ["RMS", "MSSIM (published)", "MSSIM (ours)", "MR (published)", "MR (ours)"]
    header += ["MR after 8-bit", "mean steps"]
    rows: list[list[object]] = []
    fixed_rows: list[list[object]] = []
    for label in METHODS:
        for key, entry in (("A", a), ("B", b)):
            ours = entry["results"]["early"][label]
            published = PUBLISHED_PFGVM[label][key]
            name = label + (f" (lam {entry['lam']['early']:g})" if label == "P-FGVM" else "")
            rows.append(
                [
                    name,
                    key,
                    f"{published[0]:.2f}",
                    f"{ours['l2_chip']:.2f}",
                    f"{ours['l2_input']:.2f}",
                    f"{255 * ours['rms']:.2f}/255",
                    f"{published[1]:.3f}",
                    f"{ours['ssim']:.3f}",
                    pct(published[2]),
                    pct(ours["mr"]),
                    pct(ours["mr_8bit"]),
                    f"{ours['steps']:.1f}",
                ]
            )
    for label in METHODS:
        for key, entry in (("A", a), ("B", b)):
            ours = entry["results"]["fixed"][label]
            name = label + (f" (lam {entry['lam']['fixed']:g})" if label == "P-FGVM" else "")
            fixed_rows.append(
                [
                    name,
                    key,
                    f"{ours['l2_chip']:.2f}",
                    f"{ours['l2_input']:.2f}",
                    f"{ours['ssim']:.3f}",
                    pct(ours["mr"]),
                    pct(ours["mr_8bit"]),
                ]
            )
    fixed_header = ["method", "model", "L2 chip", "L2 at input", "MSSIM", "MR", "MR after 8-bit"]
    sweep_header = ["model", "regime", "lam", "L2 chip", "MSSIM", "MR", "mean steps"]
    return {
        "accuracy_table": accuracy_table(a, b),
        "early_table": markdown_table(header, rows),
        "fixed_table": markdown_table(fixed_header, fixed_rows),
        "sweep_table": markdown_table(sweep_header, sweep_rows(a, b)),
    }


def sweep_rows(a: dict, b: dict) -> list[list[object]]:
    rows: list[list[object]] = []
    for key, entry in (("A", a), ("B", b)):
        for regime in ("early", "fixed"):
            for s in entry["sweeps"][regime]:
                chosen = " **chosen**" if s["lam"] == entry["lam"][regime] else ""
                rows.append(
                    [
                        key,
                        regime,
                        f"{s['lam']:g}{chosen}",
                        f"{s['l2_chip']:.2f}",
                        f"{s['ssim']:.4f}",
                        pct(s["mr"]),
                        f"{s['steps']:.1f}",
                    ]
                )
    return rows


def accuracy_table(a: dict, b: dict) -> str:
    header = ["classifier", "input", "epochs", "best epoch", "val accuracy"]
    header += ["clean test accuracy", "attacked (correct test chips)", "training"]
    rows = [
        [
            name,
            f"{m['image_size']} px",
            m["epochs"],
            m["best_epoch"],
            pct(m["val_accuracy"]),
            pct(m["test_accuracy"]),
            m["attacked_test"],
            f"{m['train_seconds']:.0f} s",
        ]
        for name, m in (("A: small-cnn (Model A)", a), ("B: dlib-head (our Model B)", b))
    ]
    return markdown_table(header, rows)


def ranking(entry: dict, regime: str, key: str = "l2_chip") -> str:
    """``"P-FGVM < I-FGVM < I-FGSM"``: the methods ordered by a measure."""
    results = entry["results"][regime]
    return " < ".join(sorted(results, key=lambda label: results[label][key]))


def mr_range(values: list[float]) -> str:
    low, high = min(values), max(values)
    return f"{pct(low)} everywhere" if low == high else f"{pct(low)}-{pct(high)}"


def ranking_desc(entry: dict, key: str, regime: str = "early") -> str:
    """The methods ordered by a measure, highest first, comma-separated."""
    results = entry["results"][regime]
    return ", ".join(sorted(results, key=lambda label: -results[label][key]))


def pfgvm_findings(a: dict, b: dict) -> dict[str, str]:
    """The measured numbers the notes on the published table quote."""
    early = [r for m in (a, b) for r in m["results"]["early"].values()]
    steps = [r["steps"] for r in early]
    mrs, mrs_8bit = [r["mr"] for r in early], [r["mr_8bit"] for r in early]
    fixed_a, fixed_b = a["results"]["fixed"], b["results"]["fixed"]
    rounding = (
        "Rounding to 8 bits undoes a few flips (MR after 8-bit) because early-stopped "
        "chips sit right at the boundary."
        if min(mrs_8bit) < min(mrs)
        else "Rounding the chips to 8 bits undoes none of them."
    )
    return {
        "l2_rank_a": ranking(a, "early"),
        "l2_rank_b": ranking(b, "early"),
        "ssim_rank_a": ranking_desc(a, "ssim"),
        "ssim_rank_b": ranking_desc(b, "ssim"),
        "steps_range": f"{min(steps):.1f}-{max(steps):.1f}",
        "mr_range": mr_range(mrs),
        "rounding_note": rounding,
        "fixed_rank_a": ranking(a, "fixed"),
        "fixed_rank_b": ranking(b, "fixed"),
        "fixed_ifgvm_l2_a": f"{fixed_a['I-FGVM']['l2_chip']:.1f}",
        "fixed_ifgvm_l2_b": f"{fixed_b['I-FGVM']['l2_chip']:.1f}",
        "fixed_pfgvm_l2_a": f"{fixed_a['P-FGVM']['l2_chip']:.1f}",
        "fixed_pfgvm_l2_b": f"{fixed_b['P-FGVM']['l2_chip']:.1f}",
        "fixed_pfgvm_mr_a": pct(fixed_a["P-FGVM"]["mr"]),
        "fixed_pfgvm_mr_b": pct(fixed_b["P-FGVM"]["mr"]),
        "fixed_ifgvm_mr_a": pct(fixed_a["I-FGVM"]["mr"]),
        "fixed_ifgvm_mr_b": pct(fixed_b["I-FGVM"]["mr"]),
        "test_accuracy_a": pct(a["test_accuracy"]),
        "test_accuracy_b": pct(b["test_accuracy"]),
        "steps_a": f"{a['results']['early']['P-FGVM']['steps']:.1f}",
        "steps_b": f"{b['results']['early']['P-FGVM']['steps']:.1f}",
    }


def grid_markdown(payload: dict) -> str:
    """The targeted-grid section: the table and the measured numbers, prose from its template."""
    grid = payload["grid"]
    model, split = grid["model"], grid["split"]
    std = model["std"]
    values = {
        "command_line": command_line(payload),
        "machine": payload["machine"],
        "timings": timings(payload, "grid"),
        "min_photos": MIN_PHOTOS,
        "identities": split["identities"],
        "test": split["test"],
        "val": split["val"],
        "train": split["train"],
        "image_size": model["image_size"],
        "epochs": model["epochs"],
        "best_epoch": model["best_epoch"],
        "train_seconds": f"{model['train_seconds']:.0f}",
        "test_accuracy": pct(model["test_accuracy"]),
        "val_accuracy": pct(model["val_accuracy"]),
        "chance": pct(1 / split["identities"], 2),
        "test_chips": grid["test_chips"],
        "correct_test_chips": grid["correct_test_chips"],
        "grid_table": grid_table(grid),
        "std": f"{std:.3f}",
        "step_01_255": f"{255 * 0.1 * std:.1f}",
        **grid_findings(grid),
    }
    return fill_template("seed_grid", values)


def grid_table(grid: dict) -> str:
    std = grid["model"]["std"]
    rows = []
    for size in GRID_STEP_SIZES:
        ours = grid["success"][str(size)]
        correct = grid["success_on_correct"][str(size)]
        published = PUBLISHED_GRID[size]
        rows.append(
            [
                f"{size:g} ({255 * size * std:.1f}/255)",
                *[
                    f"{p:.3f} / **{o:.3f}** ({c:.3f})"
                    for p, o, c in zip(published, ours, correct, strict=True)
                ],
            ]
        )
    header = ["step size (chip grey levels)", *[f"{k} step{'s' * (k > 1)}" for k in GRID_STEPS]]
    return markdown_table(header, rows)


def grid_findings(grid: dict) -> dict[str, str]:
    """The measured numbers the notes on the published grid quote."""
    ours = {float(k): v for k, v in grid["success"].items()}
    sizes = sorted(ours)
    last = [ours[size][-1] for size in sizes]
    first = [ours[size][0] for size in sizes]
    two = [ours[size][1] for size in sizes]
    published_two = [PUBLISHED_GRID[size][1] for size in sizes]
    model = grid["model"]
    return {
        "four_steps": f"{min(last):.3f}-{max(last):.3f}",
        "one_step": f"{min(first):.3f}-{max(first):.3f}",
        "photos_per_identity": grid["split"]["train"] // grid["split"]["identities"],
        "confidence": f"{model['confidence']:.2f}",
        "published_two_first": f"{published_two[0]:.3f}",
        "published_two_last": f"{published_two[-1]:.3f}",
        "best_two": f"{sizes[int(np.argmax(two))]:g}",
        "best_two_rate": f"{max(two):.3f}",
        "two_last": f"{two[-1]:.3f}",
        "std_ratio": f"{abs(0.226 / model['std'] - 1):.0%}",
        "larger_or_smaller": "larger" if model["std"] < 0.226 else "smaller",
    }


def timings(payload: dict, part: str) -> str:
    """Attack stage timings (training times are in the classifier descriptions)."""
    keys = {
        "pfgvm": ("lam sweep A", "attacks A", "lam sweep B", "attacks B"),
        "grid": ("targeted grid attacks",),
    }[part]
    seconds = payload["seconds"]
    return ", ".join(f"{k} {seconds[k]:.0f} s" for k in keys if k in seconds)


def command_line(payload: dict) -> str:
    """How to rerun, and what this run was."""
    return (
        f"Command: `python benchmarks/{Path(__file__).name}` (this run: `{payload['command']}`; "
        "`--reuse-models` loads the models from `build/seed-tables/` instead of training, "
        "`--only pfgvm|grid` runs one table, `--quick` is a few-minute smoke run that writes "
        f"nothing here, `--render` rewrites these sections from "
        f"`benchmarks/results/{RESULTS_NAME}.json`)"
    )


# --------------------------------------------------------------------------- main


def results_path(quick: bool) -> Path:
    """Full runs go to benchmarks/results/, smoke runs to build/seed-tables/."""
    return (
        MODELS_DIR / f"{RESULTS_NAME}_quick.json" if quick else RESULTS_DIR / f"{RESULTS_NAME}.json"
    )


def store(payload: dict, quick: bool) -> None:
    if quick:
        path = results_path(quick)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(payload, indent=2))
    else:
        save_json(RESULTS_NAME, payload)


def render(payload: dict, write: bool) -> str:
    parts = []
    if "pfgvm" in payload:
        markdown = pfgvm_markdown(payload)
        parts.append(markdown)
        if write:
            write_section("seed-pfgvm", markdown)
    if "grid" in payload:
        markdown = grid_markdown(payload)
        parts.append(markdown)
        if write:
            write_section("seed-targeted-grid", markdown)
    return "\n\n".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small smoke run; no BENCHMARKS.md")
    parser.add_argument("--only", choices=("pfgvm", "grid"), help="run one table only")
    parser.add_argument("--reuse-models", action="store_true", help="load saved models if present")
    parser.add_argument("--render", action="store_true", help="rewrite BENCHMARKS.md from JSON")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    parser.add_argument("--no-progress", action="store_true", help="hide progress bars")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    if args.render:
        payload = json.loads(results_path(args.quick).read_text())
        print(render(payload, write=not args.quick))
        return
    torch.set_num_threads(args.threads)
    settings = Settings.make(args.quick)
    progress = not args.no_progress
    clock = Clock()
    command = "python benchmarks/reproduce_seed_tables.py " + " ".join(sys.argv[1:])
    payload: dict[str, Any] = {
        "command": command.strip(),
        "machine": machine_line(),
        "settings": asdict(settings),
        "seconds": clock.seconds,
    }
    previous = results_path(args.quick)
    if args.only and previous.is_file():  # keep the other table's results
        old = json.loads(previous.read_text())
        payload.update({k: old[k] for k in ("pfgvm", "grid") if k in old and k != args.only})
        payload["seconds"] = {**old.get("seconds", {}), **clock.seconds}
        clock.seconds = payload["seconds"]
    chips = clock.run("chips", lambda: lfw_chips(progress))
    if args.only in (None, "pfgvm"):
        payload["pfgvm"] = pfgvm_table(chips, settings, args.reuse_models, progress, clock)
        store(payload, args.quick)
    if args.only in (None, "grid"):
        payload["grid"] = targeted_grid(chips, settings, args.reuse_models, progress, clock)
        store(payload, args.quick)
    print(render(payload, write=not args.quick))


if __name__ == "__main__":
    main()
