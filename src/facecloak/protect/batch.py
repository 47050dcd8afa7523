"""``facecloak protect`` over many files: one report per photo, a progress bar, no surprises."""

from __future__ import annotations

import argparse
import logging
import shutil
import time
from pathlib import Path

import torch
from tqdm import tqdm

from facecloak.errors import FacecloakError, NoFaceError
from facecloak.images import DEFAULT_MAX_PIXELS, read_image
from facecloak.models import DEFAULT_DETECTOR, detect
from facecloak.protect.config import ProtectConfig
from facecloak.protect.files import discover_inputs, output_path, write_like_input
from facecloak.protect.pipeline import protect

logger = logging.getLogger(__name__)


def protect_files(args: argparse.Namespace) -> dict:
    """Protect every photo named by the CLI arguments; returns the JSON-ready report."""
    photos = discover_inputs(args.inputs)
    if not photos:
        raise FacecloakError("no photos found in the inputs (JPEG, PNG, WebP, TIFF, BMP)")
    detector = args.detector or DEFAULT_DETECTOR
    classifier = _classifier(getattr(args, "model", None))
    target_class = str(args.target) if classifier is not None and args.target else None
    target = (
        _target_embeddings(args.target, detector) if args.target and classifier is None else None
    )
    config = ProtectConfig(
        against=getattr(args, "against", "recognition"),
        method=args.method,
        strength=args.strength,
        faces=None if args.faces is None else tuple(args.faces),
        largest=args.largest,
        recognizers=("dlib", *(getattr(args, "ensemble", None) or [])),
        target=target,
        robust=args.robust,
        eps=None if args.eps is None else args.eps / 255,
        steps=args.steps,
        step_size=None if args.step_size is None else args.step_size / 255,
        lam=args.lam,
        detector=detector,
        evade=tuple(getattr(args, "evade", None) or ("centerface",)),
        classifier=classifier,
        target_class=target_class,
    )
    max_pixels = DEFAULT_MAX_PIXELS if args.max_pixels is None else int(args.max_pixels)
    reports = []
    with tqdm(total=len(photos), unit="photo", disable=args.json, leave=False) as bar:
        for path, relative in photos:
            bar.set_description(path.name)
            reports.append(_protect_one(path, relative, args, config, max_pixels, bar))
            bar.update(1)
    return {"ok": True, "photos": reports}


def _protect_one(
    path: Path,
    relative: Path,
    args: argparse.Namespace,
    config: ProtectConfig,
    max_pixels: int,
    bar: tqdm,
) -> dict:
    started = time.perf_counter()
    item: dict = {"input": str(path)}
    try:
        destination = output_path(args.outdir, relative, list(args.inputs), args.overwrite)
        loaded = read_image(path, max_pixels=max_pixels)
        result = protect(
            loaded.rgb,
            config,
            progress=lambda done, total: bar.set_postfix_str(f"step {done}/{total}"),
        )
    except NoFaceError as exc:
        return {**item, **_no_face(path, relative, args, str(exc))}
    except FacecloakError as exc:
        logger.error("%s", exc)
        return {**item, "status": "error", "reason": str(exc)}
    write_like_input(result.image, loaded, destination, keep_metadata=args.keep_metadata)
    return {
        **item,
        "status": "protected",
        "output": str(destination),
        **result.to_dict(),
        "seconds": round(time.perf_counter() - started, 3),
    }


def _no_face(path: Path, relative: Path, args: argparse.Namespace, reason: str) -> dict:
    if not args.copy_unprotected:
        return {"status": "skipped", "reason": f"{reason}; not copied (see --copy-unprotected)"}
    destination = output_path(args.outdir, relative, list(args.inputs), args.overwrite)
    destination.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(path, destination)
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
