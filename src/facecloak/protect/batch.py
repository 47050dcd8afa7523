"""``facecloak protect`` over many files: one report per photo, a progress bar, no surprises."""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path
from typing import Any

import torch
from tqdm import tqdm

from facecloak.errors import FacecloakError, NoFaceError
from facecloak.images import DEFAULT_MAX_PIXELS, LoadedImage, read_image
from facecloak.models import detect
from facecloak.protect.config import ProtectConfig
from facecloak.protect.files import (
    check_output_format,
    copy_file_safely,
    discover_inputs,
    output_path,
    write_like_input,
)
from facecloak.protect.pipeline import ProtectResult, protect

logger = logging.getLogger(__name__)


STATUSES = ("protected", "partial", "failed", "error", "skipped", "copied unchanged")
"""What can become of a photo; only ``partial``, ``failed`` and ``error`` make a run not ok."""
NOT_OK = ("partial", "failed", "error")


def protect_files(args: argparse.Namespace, fields: dict[str, Any]) -> dict:
    """Protect every photo named by the CLI arguments with the :class:`ProtectConfig` ``fields``
    (the target embeddings and the classifier are loaded here); returns the JSON-ready report,
    whose ``ok`` is true only when no photo is partial, failed or in error."""
    photos = discover_inputs(args.inputs)
    if not photos:
        raise FacecloakError("no photos found in the inputs (JPEG, PNG, WebP, TIFF, BMP)")
    config = ProtectConfig(**fields, **_loaded_goals(args, fields["detector"]))
    max_pixels = DEFAULT_MAX_PIXELS if args.max_pixels is None else int(args.max_pixels)
    inputs = {path.resolve() for path, _ in photos}
    reports = []
    with tqdm(total=len(photos), unit="photo", disable=args.json, leave=False) as bar:
        for path, relative in photos:
            bar.set_description(path.name)
            reports.append(_protect_one(path, relative, args, config, max_pixels, inputs, bar))
            bar.update(1)
    counts = {status: sum(r["status"] == status for r in reports) for status in STATUSES}
    ok = not any(counts[status] for status in NOT_OK)
    return {"ok": ok, "counts": {k: v for k, v in counts.items() if v}, "photos": reports}


def summary_line(report: dict) -> str:
    """``N protected, M partial, ...`` for the end of a run."""
    counts = report.get("counts", {})
    return ", ".join(f"{count} {status}" for status, count in counts.items()) or "nothing done"


def _loaded_goals(args: argparse.Namespace, detector: str) -> dict[str, Any]:
    """The config fields that need loading: a classifier (``--model``) and its target class, or
    the target identity's embeddings (``--target`` photos)."""
    classifier = _classifier(getattr(args, "model", None))
    if classifier is not None:
        target_class = str(args.target) if args.target else None
        return {"classifier": classifier, "target_class": target_class}
    target = _target_embeddings(args.target, detector) if args.target else None
    return {"target": target}


def _protect_one(
    path: Path,
    relative: Path,
    args: argparse.Namespace,
    config: ProtectConfig,
    max_pixels: int,
    inputs: set[Path],
    bar: tqdm,
) -> dict:
    started = time.perf_counter()
    item: dict = {"input": str(path)}
    try:
        destination = output_path(args.outdir, relative, inputs, args.overwrite)
        loaded = read_image(path, max_pixels=max_pixels)
        if config.stages != ("obfuscation",):  # a blur survives a palette; a cloak does not
            check_output_format(loaded)
        result = protect(
            loaded.rgb,
            config,
            progress=lambda done, total: bar.set_postfix_str(f"step {done}/{total}"),
        )
        status, reason = outcome_status(result)
        if status != "failed":
            write_like_input(result.image, loaded, destination, keep_metadata=args.keep_metadata)
    except NoFaceError as exc:
        return {**item, **_no_face(loaded, destination, args, str(exc))}
    except FacecloakError as exc:
        logger.error("%s", exc)
        return {**item, "status": "error", "reason": str(exc)}
    written = {"output": str(destination)} if status != "failed" else {}
    return {
        **item,
        "status": status,
        **({"reason": reason} if reason else {}),
        **written,
        **result.to_dict(),
        "seconds": round(time.perf_counter() - started, 3),
    }


def outcome_status(result: ProtectResult) -> tuple[str, str]:
    """``protected`` when every chosen face met every goal it had, ``partial`` when some did,
    ``failed`` when none did; with the reason when not all."""
    flags = [o.protected for o in result.outcomes]
    flags += [h.protected for h in result.hidden]
    flags += [c.protected for c in result.classified]
    met = sum(flags)
    if met == len(flags):
        return "protected", ""
    reason = f"{len(flags) - met} of {len(flags)} face goals not met (still matched or found)"
    return ("partial" if met else "failed"), reason


def _no_face(loaded: LoadedImage, destination: Path, args: argparse.Namespace, reason: str) -> dict:
    """A photo without a face: skipped, or with ``--copy-unprotected`` copied (its metadata
    removed, as for every output, unless ``--keep-metadata``)."""
    if not args.copy_unprotected:
        return {"status": "skipped", "reason": f"{reason}; not copied (see --copy-unprotected)"}
    if args.keep_metadata:
        copy_file_safely(loaded.path, destination)
    else:
        write_like_input(loaded.rgb, loaded, destination, keep_metadata=False)
    return {"status": "copied unchanged", "reason": reason, "output": str(destination)}


def _target_embeddings(target: Path, detector: str) -> torch.Tensor:
    """Embeddings of the largest face in each target photo (a file or a folder of photos)."""
    from facecloak.recognition import default_recognizer, embed_faces

    recognizer = default_recognizer()
    embeddings = []
    for path, _ in discover_inputs([target]):
        rgb = read_image(path).rgb
        faces = detect(rgb, detector=detector)
        if faces:
            largest = max(faces, key=lambda face: face.area)
            embeddings.append(embed_faces(rgb, [largest], recognizer)[0])
    if not embeddings:
        raise NoFaceError(f"{target}: no face found in the target photos; give clear portraits")
    return torch.stack(embeddings)


def _classifier(path: Path | None) -> torch.nn.Module | None:
    """The identity classifier of ``--model`` (a ``facecloak train`` checkpoint), if any."""
    if path is None:
        return None
    from facecloak.classify import load_classifier

    return load_classifier(path)
