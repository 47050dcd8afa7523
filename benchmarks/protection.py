"""Protection benchmark: every method and preset on real photos, as a recognizer would check it.

Sets (from ``$FACECLOAK_SHARED/data/faces``): all 62 ``deepface/`` photos, and 2 photos each of the
first ``--lfw-identities`` LFW identities that have at least 2 (the gallery for rank-1
identification is the other clean photos of the same set). For each configuration it reports what
``facecloak evaluate`` reports (verification and rank-1 identification, clean / JPEG q75 / 0.5x;
face-region SSIM, MS-SSIM, PSNR, L2; seconds per face), writes the "protection" section of
BENCHMARKS.md, and plots protection against SSIM (``benchmarks/results/protection.png``).

MobileFaceNet (``<shared>/models/mobilefacenet``, when present) checks every result too: as a
*transfer* recognizer (the cloak never saw it), or white-box for configurations ending in ``+mfn``,
whose cloak attacks dlib's ResNet and MobileFaceNet together
(``ProtectConfig(recognizers=("dlib", "mobilefacenet"))``).

    python benchmarks/protection.py [--lfw-identities 100] [--configs perceptual:mid,blur:mid]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

from _report import (
    RESULTS_DIR,
    machine_line,
    markdown_table,
    require_shared_faces,
    save_json,
    write_section,
)
from facecloak.attacks import ATTACKS
from facecloak.datasets import LabelledPhoto, read_labelled_folder
from facecloak.errors import ModelNotFoundError
from facecloak.evaluate.protection import Judge, evaluate_protection, load_judges

DEFAULT_CONFIGS = (
    "perceptual:low,perceptual:mid,perceptual:high,perceptual:mid+mfn,perceptual:high+mfn,"
    "blur:mid,pixelate:mid,mask:mid"
)


def lfw_subset(faces_dir: Path, identities: int) -> list[LabelledPhoto]:
    photos = read_labelled_folder(faces_dir / "lfw", min_per_identity=2)
    chosen: dict[str, list[LabelledPhoto]] = {}
    for photo in photos:
        group = chosen.setdefault(photo.identity, [])
        if len(group) < 2:
            group.append(photo)
        if len(chosen) > identities:
            break
    return [p for name in list(chosen)[:identities] for p in chosen[name]]


def row(dataset: str, method: str, strength: str, summary: dict) -> list[object]:
    verification = summary["verification_protected"]
    identification = summary["identification_miss_rate"]
    other = summary.get("other_recognizers", {}).get("mobilefacenet")
    mobilefacenet = (
        "-"
        if other is None
        else f"{other['verification_protected']['clean']:.1%} / "
        f"{other['verification_protected']['jpeg75']:.1%} / "
        f"{other['identification_miss_rate']['clean']:.1%} ({other['role'].split()[0]})"
    )
    return [
        dataset,
        method,
        strength if method in ATTACKS else "-",
        summary["photos"],
        f"{verification['clean']:.1%}",
        f"{verification['jpeg75']:.1%}",
        f"{verification['resize50']:.1%}",
        f"{identification['clean']:.1%} ({identification['unprotected']:.1%})",
        f"{summary['face_ssim_mean']:.4f} / {summary['face_ssim_min']:.4f}",
        f"{summary['face_psnr_mean']:.1f}",
        mobilefacenet,
        f"{summary['seconds_per_face']:.2f}",
    ]


def mobilefacenet_judge(attacked: bool) -> list[Judge]:
    """MobileFaceNet as a second recognizer, or nothing when its weights are absent."""
    try:
        return load_judges(["mobilefacenet"], attacked=attacked)
    except ModelNotFoundError as exc:
        if attacked:
            raise SystemExit(f"benchmarks/protection.py: +mfn needs MobileFaceNet: {exc}") from exc
        print(f"MobileFaceNet left out: {exc}")
        return []


def plot(results: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(5, 3.5))
    for result in results:
        summary = result["summary"]
        label = f"{result['dataset']} {result['method']}" + (
            f" {result['strength']}" if result["method"] in ATTACKS else ""
        )
        axes.scatter(summary["face_ssim_mean"], summary["verification_protected"]["jpeg75"])
        axes.annotate(
            label,
            (summary["face_ssim_mean"], summary["verification_protected"]["jpeg75"]),
            fontsize=7,
        )
    axes.set_xlabel("face-region SSIM (mean)")
    axes.set_ylabel("faces no longer matched after JPEG q75")
    axes.grid(alpha=0.3)
    figure.tight_layout()
    # Small and palette-quantised: a plot, kept well under 20 KB in the repository.
    figure.savefig(path, dpi=72)
    _quantise_png(path)


def _quantise_png(path: Path) -> None:
    from PIL import Image

    with Image.open(path) as image:
        small = image.convert("RGB").quantize(colors=32)
    small.save(path, optimize=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lfw-identities", type=int, default=100)
    parser.add_argument("--configs", default=DEFAULT_CONFIGS, help="method:strength,...")
    parser.add_argument("--datasets", default="deepface,lfw")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: default)")
    parser.add_argument("--no-write", action="store_true", help="print only (for trial runs)")
    parser.add_argument(
        "--section",
        default="protection",
        help="BENCHMARKS.md section and results name (to run configurations in parallel)",
    )
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    faces_dir = require_shared_faces()
    sets = {
        "deepface": read_labelled_folder(faces_dir / "deepface"),
        "lfw": lfw_subset(faces_dir, args.lfw_identities),
    }
    results, rows = [], []
    for config in args.configs.split(","):
        for dataset in args.datasets.split(","):
            method, strength = config.split(":")
            strength, _, ensemble = strength.partition("+")
            report = evaluate_protection(
                sets[dataset],
                method=method,
                strength=strength,
                keep_images=0,
                judges=mobilefacenet_judge(attacked=ensemble == "mfn"),
            )
            strength += "+mfn" if ensemble == "mfn" else ""
            summary = report.summary()
            results.append(
                {"dataset": dataset, "method": method, "strength": strength, "summary": summary}
            )
            rows.append(row(dataset, method, strength, summary))
            print(markdown_table(HEADER, rows[-1:]), flush=True)
            if not args.no_write:  # after every configuration: a long run cut short keeps its rows
                publish(results, rows, args.section)


def publish(results: list[dict], rows: list[list[object]], section: str) -> None:
    markdown = "\n".join(
        [
            f"## Protection (verification and identification by dlib's recognizer): {section}",
            "",
            f"Command: `python benchmarks/protection.py {' '.join(sys.argv[1:])}` (results in "
            f"`benchmarks/results/{section}.json`, plot `benchmarks/results/{section}.png`).",
            f"Machine: {machine_line()}.",
            "",
            markdown_table(HEADER, rows),
            "",
            "Verification: the protected face, detected and aligned anew, is at least 0.6 from "
            "its clean self. Identification: rank-1 miss against the other clean photos of the "
            "set (in brackets: the miss rate of the unprotected photos). SSIM and PSNR over the "
            "face box (the pipeline keeps its SSIM floor over the same box). MobileFaceNet: "
            "no match clean / after JPEG q75 / rank-1 miss, as transfer (the cloak attacked "
            "dlib alone) or ensemble (it attacked both; `+mfn`), at cosine 0.28.",
        ]
    )
    save_json(section, {"machine": machine_line(), "results": results})
    plot(results, RESULTS_DIR / f"{section}.png")
    write_section(section, markdown)


HEADER = [
    "set",
    "method",
    "preset",
    "faces",
    "no match",
    "no match JPEG75",
    "no match 0.5x",
    "rank-1 miss (unprotected)",
    "face SSIM mean / min",
    "PSNR",
    "MobileFaceNet no match / JPEG75 / rank-1 miss",
    "s / face",
]


if __name__ == "__main__":
    main()
