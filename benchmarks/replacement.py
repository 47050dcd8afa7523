"""Replacement benchmark: swap, blur, pixelate, mask (and the learned ``replace``, with and without
a final cloak, when :mod:`facecloak.obfuscate.replace` is installed) side by side, judged by the
machine assessors of :mod:`facecloak.evaluate.replacement`.

Sets (from ``$FACECLOAK_SHARED/data/faces``): the first ``--identities`` LFW identities (shuffled
with a fixed seed) with at least 2 photos, and every ``deepface/`` identity with at least 2. Per
identity the first photo is changed (only its subject's face: the detected face nearest the centre
for LFW, the largest for deepface); the others are what a recognizer compares it with, and the
first of them stands for the identity in the rank-1 gallery. The learned methods also run on
the LFW people the generator's training held out (``lfw/`` and ``lfw_extra/`` photos of the 3% of
identities :func:`facecloak.replace.prepare.held_out` sets aside, at least 2 photos each): the
other LFW identities are people the generator was trained on. Swap donors are ``--donors`` LFW
photos (``lfw_extra/``, one per person) of people outside the evaluated sets, linked into a folder
under /tmp (never the repository).

Writes the "replacement" section of BENCHMARKS.md, ``benchmarks/results/replacement.json`` and a
grid of the public-domain sample faces (``benchmarks/results/replacement-samples.jpg``; each
sample is the other's donor).

    python benchmarks/replacement.py [--identities 100] [--donors 400] [--methods swap,blur]
"""

from __future__ import annotations

import argparse
import importlib.util
import random
import sys
import time
from pathlib import Path

from _report import (
    RESULTS_DIR,
    machine_line,
    markdown_table,
    require_shared_faces,
    save_json,
    write_section,
)
from facecloak.datasets import LabelledPhoto, read_labelled_folder
from facecloak.evaluate.replacement import (
    Assessment,
    assess,
    build_gallery,
    identity_verdicts,
    summarise,
)
from facecloak.images import load_image
from facecloak.models import (
    available_recognizers,
    centre_face,
    detect,
    largest_face,
    load_recognizer,
)
from facecloak.obfuscate.donors import index_donors
from facecloak.protect import ProtectConfig, protect
from replacement_grid import FIRST_DRAW, MEAN_SHAPE, OWN_SHAPE, sample_config, write_sample_grid

CLASSICAL = ("swap", "blur", "pixelate", "mask")
LEARNED = ("replace", FIRST_DRAW, MEAN_SHAPE, OWN_SHAPE, "replace+cloak")
TARGETS = (
    "replace alone >= 95% no match on every recognizer, >= 99% with a final cloak; face still "
    "detected >= 95%; landmark error <= 0.08; <= 1 s per face; nothing changed outside the face"
)


def learned_available() -> bool:
    return importlib.util.find_spec("facecloak.obfuscate.replace") is not None


def subjects(folder: Path, limit: int | None, seed: int = 0) -> dict[str, list[LabelledPhoto]]:
    """Identity -> its photos (at least 2), ``limit`` identities drawn with ``seed``."""
    groups: dict[str, list[LabelledPhoto]] = {}
    for photo in read_labelled_folder(folder, min_per_identity=2):
        groups.setdefault(photo.identity, []).append(photo)
    names = sorted(groups)
    random.Random(seed).shuffle(names)
    return {name: groups[name] for name in names[:limit]}


def held_out_subjects(faces_dir: Path) -> dict[str, list[LabelledPhoto]]:
    """Identity -> its photos (``lfw/`` and ``lfw_extra/``, at least 2) for the identities the
    replacer's training held out: people its generator never saw."""
    from facecloak.replace.prepare import held_out

    groups: dict[str, list[LabelledPhoto]] = {}
    for folder in ("lfw", "lfw_extra"):
        for photo in read_labelled_folder(faces_dir / folder):
            if held_out(photo.identity):
                groups.setdefault(photo.identity, []).append(photo)
    return {name: groups[name] for name in sorted(groups) if len(groups[name]) >= 2}


def donor_folder(faces_dir: Path, excluded: set[str], count: int, seed: int = 1) -> Path:
    """A folder of links to ``count`` LFW photos of people not in ``excluded``."""
    photos = read_labelled_folder(faces_dir / "lfw_extra")
    first: dict[str, LabelledPhoto] = {}
    for photo in photos:
        if photo.identity not in excluded:
            first.setdefault(photo.identity, photo)
    chosen = sorted(first.values(), key=lambda p: p.identity)
    random.Random(seed).shuffle(chosen)
    folder = Path(f"/tmp/facecloak-replacement-donors-{count}")
    folder.mkdir(parents=True, exist_ok=True)
    for photo in chosen[:count]:
        link = folder / photo.path.name
        if not link.exists():
            link.symlink_to(photo.path)
    return folder


def configs(methods: list[str], donors: Path) -> dict[str, ProtectConfig]:
    return {method: sample_config(method, donors) for method in methods}


def clean_faces(groups: dict[str, list[LabelledPhoto]], pick) -> dict[str, list[tuple]]:
    """Identity -> ``(rgb, face)`` of each photo where the subject's face is found."""
    found: dict[str, list[tuple]] = {}
    for identity, photos in groups.items():
        for photo in photos:
            rgb = load_image(photo.path)
            face = pick(detect(rgb), rgb)
            if face is not None:
                found.setdefault(identity, []).append((rgb, face))
    return {k: v for k, v in found.items() if len(v) >= 2}


def run_dataset(
    name: str,
    faces: dict[str, list[tuple]],
    methods: dict[str, ProtectConfig],
    recognizers,
    cloak_limit: int | None = None,
) -> dict[str, dict]:
    """Each method on the first photo of each identity (``cloak_limit``: at most this many
    identities for the methods that end with a cloak, which take seconds per face)."""
    from tqdm import tqdm

    galleries = [build_gallery(r, {k: v[1:] for k, v in faces.items()}) for r in recognizers]
    results = reference_rates(faces, galleries)
    for method, config in methods.items():
        assessments: list[Assessment] = []
        seconds: list[float] = []
        chosen = list(faces.items())
        if config.then == "cloak":
            chosen = chosen[:cloak_limit]
        for identity, photos in tqdm(chosen, desc=f"{name} {method}", leave=False):
            rgb, face = photos[0]
            started = time.perf_counter()
            changed = protect(rgb, config, detected=[face]).image
            seconds.append(time.perf_counter() - started)
            assessments.append(assess(rgb, changed, face, identity, galleries))
        results[method] = summarise(assessments, seconds)
        print(name, method, results[method], flush=True)
    return results


UNCHANGED = "unchanged (floor)"
ANOTHER = "another person's photo (ceiling)"


def reference_rates(faces: dict[str, list[tuple]], galleries) -> dict[str, dict]:
    """The recognizers' verdicts on the unchanged photo (what no change gives) and on the next
    identity's photo in its place (what a perfectly natural new face could give at best: a weak
    recognizer at its threshold matches some strangers too)."""
    names = list(faces)
    unchanged, another = [], []
    for number, identity in enumerate(names):
        unchanged.append(identity_verdicts(*faces[identity][0], identity, galleries))
        stranger = faces[names[(number + 1) % len(names)]][0]
        another.append(identity_verdicts(*stranger, identity, galleries))
    rates = {}
    for label, verdicts in ((UNCHANGED, unchanged), (ANOTHER, another)):
        summary = summarise(verdicts, [])
        for key in ("detected", "landmark_error", "changed_outside"):
            summary[key] = float("nan")
        rates[label] = summary
        print(label, summary, flush=True)
    return rates


def _rate(value: float, form: str) -> str:
    return "-" if value != value else format(value, form)  # NaN: not measured for this row


def markdown(results: dict, args: argparse.Namespace, recognizers: list[str]) -> str:
    header = ["set", "method", "photos"]
    header += [f"no match {r}" for r in recognizers] + [f"rank-1 miss {r}" for r in recognizers]
    header += ["still detected", "landmark error", "s / face", "changed outside face"]
    rows = []
    for dataset, methods in results.items():
        for method, summary in methods.items():
            rows.append(
                [dataset, method, summary["photos"]]
                + [f"{summary['no_match'][r]:.0%}" for r in recognizers]
                + [f"{summary['rank1_miss'][r]:.0%}" for r in recognizers]
                + [
                    _rate(summary["detected"], ".0%"),
                    _rate(summary["landmark_error"], ".3f"),
                    _rate(summary["seconds_per_face"], ".2f"),
                    _rate(summary["changed_outside"], ".0%"),
                ]
            )
    lines = [
        "## Face replacement (issue 11): replace, replace + cloak, swap, blur, pixelate, mask",
        "",
        f"`python benchmarks/replacement.py {' '.join(sys.argv[1:])}` on {machine_line()}. "
        f"Targets from issue 11: {TARGETS}.",
        "",
        markdown_table(header, rows),
        "",
        *NOTES,
        "",
        "![each method on the public-domain samples](benchmarks/results/replacement-samples.jpg)",
    ]
    return "\n".join(lines)


NOTES = (
    f"- *{UNCHANGED}*: the photo as it was; *{ANOTHER}*: the next identity's photo judged against "
    "this person's other photos: what a random stranger's face scores on that recognizer at its "
    "threshold (a weak one, such as adi_faceid, matches strangers too).",
    "- *no match*: the changed face is at least the recognizer's threshold away from every other "
    "photo of the person; *rank-1 miss*: the nearest face of a gallery (one other photo per "
    "identity of the set) is someone else. The changed photo is read as an attacker would: the "
    "face found anew (or where it was) and aligned from landmarks on the changed pixels.",
    "- *still detected*: CenterFace finds a face there (IoU >= 0.3); *landmark error*: dlib's 68 "
    "points on the changed face against the original's (both in the original box), in "
    "inter-ocular distances; *changed outside face*: photos with any pixel changed outside the "
    "face's working crop. Time per face: `protect` given the detected face (no detection; it "
    "includes the report's own dlib check of the face, as for every method).",
    "- Swap donors: LFW photos (one per person, from `lfw_extra/`) of people outside the evaluated "
    "set, indexed once (68 landmarks, pose, mouth, skin tone, glasses, dlib embedding).",
    "- *replace*: the defaults: 8 draws of the attributes per face, dlib keeps the one farthest "
    "from the original (so dlib's column is not a transfer figure for replace; the other "
    "recognizers never saw the face), drawn on the anti-face (`--shape-mix 2`): the person's "
    "68 landmarks moved past the mean shape of the 20 nearest training faces by as much again, "
    "each departure from that mean reversed, the mouth keeping the mean's shape (its "
    f"expression). *{MEAN_SHAPE}*: `--shape-mix 1`, drawn on that mean (the default until "
    f"session 18); *{FIRST_DRAW}*: `--candidates 1`, no search; *{OWN_SHAPE}*: `--shape-mix 0`, "
    "the new face drawn on the person's own landmarks. *replace+cloak*: `--then cloak`, the "
    "default cloak against every recognizer (white-box for all of them).",
    "- *replace*: the committed generator (its step count is in its MODEL_CARD.md). Unlike the "
    "seed system (40 CelebA attributes from a ResNet-50 classifier, word2vec attribute embeddings, "
    "CelebA on a GPU), its 12 attributes are measured on the face (pose, mouth, eyes, smile, skin, "
    "lighting, glasses, beard) with embeddings learned with the generator, and it trains on LFW "
    "on 2 CPU cores: see docs/replacer.md. The *LFW* set's people are in its training photos "
    "(their evaluated photo included); *LFW, held out of training* are the people its training "
    "set aside, and *deepface* is outside LFW: those rows are the ones that say how it does on "
    "people it never saw.",
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--identities", type=int, default=100, help="LFW identities (>= 2 photos)")
    parser.add_argument("--donors", type=int, default=400, help="LFW donor photos for swap")
    parser.add_argument("--methods", default=None, help="comma-separated (default: all)")
    parser.add_argument("--no-deepface", action="store_true", help="LFW only")
    parser.add_argument(
        "--no-held-out",
        action="store_true",
        help="skip the set of LFW people the generator's training held out",
    )
    parser.add_argument(
        "--cloak-identities",
        type=int,
        default=None,
        help="at most this many identities per set for replace+cloak (default: all)",
    )
    args = parser.parse_args()
    faces_dir = require_shared_faces()
    methods = args.methods.split(",") if args.methods else list(CLASSICAL)
    if args.methods is None and learned_available():
        methods += list(LEARNED)
    lfw = subjects(faces_dir / "lfw", args.identities)
    deepface = {} if args.no_deepface else subjects(faces_dir / "deepface", None)
    unseen = {}
    if not args.no_held_out and learned_available():
        unseen = {k: v for k, v in held_out_subjects(faces_dir).items() if k not in lfw}
    donors = donor_folder(faces_dir, set(lfw) | set(deepface) | set(unseen), args.donors)
    names = [name for name, reason in available_recognizers().items() if reason is None]
    recognizers = [load_recognizer(name) for name in names]
    chosen = configs(methods, donors)
    if "swap" in chosen:  # indexed once, before any timing
        index_donors(donors, load_recognizer("dlib"))

    def centre(found, rgb):
        return centre_face(found, rgb.shape[1], rgb.shape[0])

    sets = {"LFW": (lfw, centre, chosen)}
    if unseen:
        learned = {k: v for k, v in chosen.items() if k in LEARNED}
        sets["LFW, held out of training"] = (unseen, centre, learned)
    if deepface:
        sets["deepface"] = (deepface, lambda f, rgb: largest_face(f), chosen)
    results = {
        name: run_dataset(
            name, clean_faces(groups, pick), per_set, recognizers, args.cloak_identities
        )
        for name, (groups, pick, per_set) in sets.items()
    }
    save_json("replacement", {"args": vars(args), "recognizers": names, "results": results})
    write_sample_grid(RESULTS_DIR / "replacement-samples.jpg", [m for m in methods if m in chosen])
    write_section("replacement", markdown(results, args, names))


if __name__ == "__main__":
    main()
