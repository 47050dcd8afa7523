"""``facecloak protect`` over many files: one report per photo, a progress bar, a manifest that
lets a re-run go on where a killed one stopped, and the work spread over processes or a Ray
cluster."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Generator
from contextlib import closing
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tqdm import tqdm

from facecloak.errors import FacecloakError, NoFaceError
from facecloak.images import DEFAULT_MAX_PIXELS, read_image
from facecloak.models import detect
from facecloak.paths import remove_stale_temporaries
from facecloak.protect.config import ProtectConfig
from facecloak.protect.files import discover_inputs, output_path
from facecloak.protect.manifest import NOT_OK as MANIFEST_NOT_OK
from facecloak.protect.manifest import STARTED, Manifest, Resume, settings_fingerprint
from facecloak.protect.runners import (
    PoolOptions,
    default_pool,
    default_workers,
    run_inline,
    run_pool,
)
from facecloak.protect.work import PhotoJob, WorkSettings, outcome_status

if TYPE_CHECKING:
    import torch

logger = logging.getLogger(__name__)

__all__ = ["outcome_status", "protect_files", "summary_line"]


STATUSES = (
    "protected",
    "partial",
    "failed",
    "error",
    "skipped",
    "copied unchanged",
    "already done",
    "not started",
)
"""What can become of a photo; only ``partial``, ``failed``, ``error`` and ``not started`` (an
interrupted run) make a run not ok."""
NOT_OK = (*MANIFEST_NOT_OK, "not started")


@dataclass(frozen=True)
class RunOptions:
    """How a batch is spread: ``workers`` processes (``None``: one per core), or Ray actors when
    ``ray`` names a cluster (``auto`` or an address); a finished photo is redone only when it
    failed and ``retry_failed``."""

    workers: int | None = None
    ray: str | None = None
    retry_failed: bool = False
    pool: PoolOptions | None = None


def protect_files(
    args: argparse.Namespace, fields: dict[str, Any], run: RunOptions | None = None
) -> dict:
    """Protect every photo named by the CLI arguments with the :class:`ProtectConfig` ``fields``
    (the target embeddings and the classifier are loaded here), recording each in the manifest
    of the output folder and skipping what an earlier run of the same command finished; returns
    the JSON-ready report, whose ``ok`` is true only when every photo is done and none is
    partial, failed or in error."""
    run = run or RunOptions()
    photos = discover_inputs(args.inputs)
    if not photos:
        raise FacecloakError("no photos found in the inputs (JPEG, PNG, WebP, TIFF, BMP)")
    config = ProtectConfig(**fields, **_loaded_goals(args, fields["detector"]))
    max_pixels = DEFAULT_MAX_PIXELS if args.max_pixels is None else int(args.max_pixels)
    settings = WorkSettings(config, max_pixels, args.copy_unprotected, args.keep_metadata)
    remove_stale_temporaries(args.outdir)
    manifest = Manifest(args.outdir)
    resume = Resume(settings_fingerprint(_decisive(args, fields)), run.retry_failed)
    try:
        plan = plan_batch(photos, args, manifest, resume)
        _announce(plan, manifest, args.json)
        reports = plan.earlier + plan.refused + _work_through(plan, settings, run, args.json)
    finally:
        manifest.close()
    counts = {status: sum(r["status"] == status for r in reports) for status in STATUSES}
    ok = not any(counts[status] for status in NOT_OK)
    return {"ok": ok, "counts": {k: v for k, v in counts.items() if v}, "photos": reports}


def summary_line(report: dict) -> str:
    """``N protected, M partial, ...`` for the end of a run."""
    counts = report.get("counts", {})
    return ", ".join(f"{count} {status}" for status, count in counts.items()) or "nothing done"


@dataclass
class BatchPlan:
    """The photos of a run: to do (``jobs``), finished earlier (their reports), refused."""

    jobs: list[PhotoJob]
    earlier: list[dict]
    refused: list[dict]
    manifest: Manifest
    settings_key: str
    keys: dict[str, str]


def plan_batch(
    photos: list[tuple[Path, Path]], args: argparse.Namespace, manifest: Manifest, resume: Resume
) -> BatchPlan:
    """Sort the photos: finished earlier (and unchanged), refused outright, or to do."""
    inputs = {path.resolve() for path, _ in photos}
    plan = BatchPlan([], [], [], manifest, resume.settings, {})
    for path, relative in photos:
        key = str(path.resolve())
        record = manifest.finished(key, path, resume)
        if record is not None:
            plan.earlier.append(_earlier_report(path, record))
            continue
        overwrite = args.overwrite or manifest.claims(key)
        try:
            destination = output_path(args.outdir, relative, inputs, overwrite)
        except FacecloakError as exc:
            logger.error("%s", exc)
            refused = {"input": str(path), "status": "error", "reason": str(exc)}
            manifest.append({**refused, "key": key, "settings": resume.settings})
            plan.refused.append(refused)
            continue
        plan.keys[str(path)] = key
        plan.jobs.append(PhotoJob(path, destination))
    return plan


def _earlier_report(path: Path, record: dict) -> dict:
    if record["status"] in MANIFEST_NOT_OK:
        reason = record.get("reason", "")
        return {
            "input": str(path),
            "status": record["status"],
            "reason": f"in an earlier run: {reason}; pass --retry-failed to try again",
        }
    output = {"output": record["output"]} if "output" in record else {}
    return {"input": str(path), "status": "already done", "earlier": record["status"], **output}


def _work_through(
    plan: BatchPlan, settings: WorkSettings, run: RunOptions, quiet: bool
) -> list[dict]:
    """Do the plan's jobs, each record streamed to the manifest as it comes back; on Ctrl-C,
    the photos not finished are reported ``not started`` (their outputs never half-written)."""
    reports: list[dict] = []
    bar = tqdm(total=len(plan.jobs), unit="photo", disable=quiet or not plan.jobs, leave=False)
    with bar, closing(_records(plan, settings, run, bar)) as records:
        try:
            for record in records:
                key = plan.keys.get(record["input"], "")
                plan.manifest.append({**record, "key": key, "settings": plan.settings_key})
                reports.append(record)
                bar.update(1)
        except KeyboardInterrupt:
            logger.warning("interrupted: the photos finished so far are in %s", plan.manifest.path)
            done = {r["input"] for r in reports}
            reports += [
                {"input": str(job.path), "status": "not started", "reason": "interrupted"}
                for job in plan.jobs
                if str(job.path) not in done
            ]
    return reports


def _records(
    plan: BatchPlan, settings: WorkSettings, run: RunOptions, bar: tqdm
) -> Generator[dict, None, None]:
    def on_start(job: PhotoJob) -> None:
        started = {"input": str(job.path), "status": STARTED, "output": str(job.destination)}
        plan.manifest.append(
            {**started, "key": plan.keys[str(job.path)], "settings": plan.settings_key}
        )

    if run.ray is not None:
        from facecloak.protect.ray_runner import run_on_ray

        return run_on_ray(plan.jobs, settings, on_start, run.ray, run.workers)
    workers = min(run.workers or default_workers(), len(plan.jobs))
    if workers <= 1:
        return run_inline(
            plan.jobs,
            settings,
            on_start,
            progress=lambda done, total: bar.set_postfix_str(f"step {done}/{total}"),
        )
    pool = replace(run.pool, workers=workers) if run.pool else default_pool(workers, settings)
    return run_pool(plan.jobs, settings, on_start, pool)


def _announce(plan: BatchPlan, manifest: Manifest, quiet: bool) -> None:
    if plan.earlier and not quiet:
        print(
            f"{len(plan.earlier)} photos already done in an earlier run ({manifest.path}), "
            f"{len(plan.jobs)} to do",
            file=sys.stderr,
        )


def _decisive(args: argparse.Namespace, fields: dict[str, Any]) -> dict[str, Any]:
    """Everything that decides what an output looks like: a change means redoing the photo."""
    return {
        **fields,
        "target": str(args.target) if args.target else None,
        "model": str(getattr(args, "model", None) or ""),
        "max_pixels": args.max_pixels,
        "copy_unprotected": args.copy_unprotected,
        "keep_metadata": args.keep_metadata,
    }


def _loaded_goals(args: argparse.Namespace, detector: str) -> dict[str, Any]:
    """The config fields that need loading: a classifier (``--model``) and its target class, or
    the target identity's embeddings (``--target`` photos)."""
    classifier = _classifier(getattr(args, "model", None))
    if classifier is not None:
        target_class = str(args.target) if args.target else None
        return {"classifier": classifier, "target_class": target_class}
    target = _target_embeddings(args.target, detector) if args.target else None
    return {"target": target}


def _target_embeddings(target: Path, detector: str) -> torch.Tensor:
    """Embeddings of the largest face in each target photo (a file or a folder of photos)."""
    import torch

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
