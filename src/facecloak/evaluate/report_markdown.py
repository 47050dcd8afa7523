"""The evaluation reports as files: JSON, Markdown and an image grid. The Markdown covers
detection before and after protection, and what a recognizer still finds. Numbers come in as each
report's ``summary()``; nothing is measured here.

Example:
    >>> _number(None, ".2f"), _number(0.5, ".2f"), _percent(0.25)
    ('-', '0.50', '25.0%')
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from PIL import Image

from facecloak.errors import FacecloakError
from facecloak.evaluate.detection_metrics import IMAGES


def write_report_files(
    outdir: str | Path,
    record: dict,
    grid: Image.Image | None,
    markdown: Callable[[str | None], str],
) -> dict[str, Path]:
    """Write ``report.json`` (``record``), ``grid.png`` (when there is a grid) and ``report.md``
    (``markdown`` given the grid's file name, or ``None``) into ``outdir``; their paths."""
    outdir = Path(outdir)
    paths = {"json": outdir / "report.json", "markdown": outdir / "report.md"}
    current = outdir
    try:
        outdir.mkdir(parents=True, exist_ok=True)
        current = paths["json"]
        current.write_text(json.dumps(record, indent=2))
        if grid is not None:
            current = paths["grid"] = outdir / "grid.png"
            grid.save(current)
        current = paths["markdown"]
        current.write_text(markdown("grid.png" if grid is not None else None))
    except OSError as exc:
        raise FacecloakError(
            f"{current}: could not be written ({exc.strerror or exc}); check the free space and "
            "permissions of the --report folder (the results are printed above)"
        ) from exc
    return paths


IMAGE_LABELS = {
    "original": "original",
    "original_jpeg75": "original, JPEG q75",
    "protected": "protected",
    "protected_jpeg75": "protected, JPEG q75",
}


def detection_markdown(summary: dict, grid_name: str | None = None) -> str:
    """The detection evaluation's report (its ``summary()``): one row per detector and image
    seen."""
    settings = ", ".join(f"{k} {v}" for k, v in summary["settings"].items())
    seconds = _number(summary["seconds_per_photo"], ".2f")
    slowest = _number(summary["seconds_per_photo_max"], ".2f")
    ssim_mean = _number(summary["face_ssim_mean"], ".4f")
    ssim_min = _number(summary["face_ssim_min"], ".4f")
    psnr = _number(summary["face_psnr_mean"], ".2f")
    lines = [
        f"# Detection evaluation: {summary['protector']}" + (f" ({settings})" if settings else ""),
        "",
        f"{summary['photos']} photos ({summary['labelled_photos']} labelled, "
        f"{summary['labelled_faces']} labelled faces). Protection: {seconds} s per photo "
        f"(max {slowest}); face-region SSIM mean {ssim_mean} (min {ssim_min}), PSNR {psnr} dB "
        f"over {summary['faces_measured']} faces; largest pixel change "
        f"{summary['linf_255_max']}/255.",
        "",
        "| detector | role | seen as | faces found | detection rate | AP | recall | precision "
        "| s / photo |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, entry in summary["detectors"].items():
        for image in IMAGES:
            cell = entry[image]
            lines.append(
                f"| {name} | {entry['role']} | {IMAGE_LABELS[image]} | {cell['faces_found']} | "
                f"{_percent(cell['detection_rate'])} | {_number(cell.get('ap'), '.3f')} | "
                f"{_number(cell.get('recall'), '.3f')} | {_number(cell.get('precision'), '.3f')} | "
                f"{_number(entry['seconds_per_photo'], '.3f')} |"
            )
    lines += [
        "",
        "Detection rate: of the faces a detector finds on the original photo, the share it still "
        f"finds (IoU >= {summary['iou_threshold']}) on the image seen. AP, recall and precision "
        f"at IoU {summary['iou_threshold']} against the labelled boxes (labelled photos only). "
        "White-box: the protection was computed against that detector; transfer: it was not.",
    ]
    if summary["skipped_detectors"]:
        skipped = "; ".join(f"{k}: {v}" for k, v in summary["skipped_detectors"].items())
        lines += ["", f"Skipped detectors: {skipped}."]
    if grid_name:
        lines += [
            "",
            f"![original, protected (boxes found), 10x difference]({grid_name})",
        ]
    return "\n".join(lines) + "\n"


def _number(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def protection_markdown(summary: dict, grid_name: str | None = None) -> str:
    """The recognition evaluation's report (its ``summary()``): verification and identification
    per variant seen, for our recognizer and every extra one, then the change to the face."""
    variants = list(summary["verification_protected"])
    lines = [
        f"# Protection report: {summary['method']} / {summary['strength']}",
        "",
        f"{summary['photos']} photos ({summary['skipped_no_face']} left out: no face found).",
        "",
        "| seen as | verification: face no longer matches | identification: rank-1 miss |",
        "|---|---|---|",
        f"| unprotected | - | {_percent(summary['identification_miss_rate']['unprotected'])} |",
    ]
    for variant in variants:
        lines.append(
            f"| {variant} | {_percent(summary['verification_protected'][variant])} | "
            f"{_percent(summary['identification_miss_rate'][variant])} |"
        )
    for name, other in summary.get("other_recognizers", {}).items():
        lines += ["", f"**{name}** ({other['role']}):", ""]
        lines += ["| seen as | verification | identification: rank-1 miss |", "|---|---|---|"]
        lines.append(
            f"| unprotected | - | {_percent(other['identification_miss_rate']['unprotected'])} |"
        )
        for variant in variants:
            lines.append(
                f"| {variant} | {_percent(other['verification_protected'][variant])} | "
                f"{_percent(other['identification_miss_rate'][variant])} |"
            )
    lines += [
        "",
        f"Face region: SSIM mean {summary['face_ssim_mean']:.4f} "
        f"(min {summary['face_ssim_min']:.4f}), MS-SSIM {summary['face_ms_ssim_mean']:.4f}, "
        f"PSNR {summary['face_psnr_mean']:.2f} dB, "
        f"SSIMULACRA2 {summary['face_ssimulacra2_mean']:.1f}, "
        f"L2 {summary['face_l2_mean']:.3f}. Whole photo: SSIM {summary['photo_ssim_mean']:.4f}. "
        f"{summary['seconds_per_face']:.2f} s per face.",
    ]
    if grid_name:
        lines += ["", f"![before, after, 10x difference]({grid_name})"]
    return "\n".join(lines) + "\n"
