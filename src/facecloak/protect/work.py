"""The work on one photo of a batch, the same in the CLI's process, a local worker process or a
Ray actor: read, protect, write beside the others, and say what became of it."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from facecloak.errors import FacecloakError, NoFaceError
from facecloak.images import LoadedImage, read_image
from facecloak.protect.config import ProtectConfig
from facecloak.protect.files import check_output_format, copy_file_safely, write_like_input
from facecloak.protect.manifest import file_fingerprint
from facecloak.protect.pipeline import ProtectResult, protect
from facecloak.protect.progress import Progress


@dataclass(frozen=True)
class PhotoJob:
    """One photo and where its protected copy goes (already checked: never an input)."""

    path: Path
    destination: Path


@dataclass(frozen=True)
class WorkSettings:
    """What every worker needs, sent to each once: the loaded config and the file options."""

    config: ProtectConfig
    max_pixels: int
    copy_unprotected: bool = False
    keep_metadata: bool = False


def protect_photo(job: PhotoJob, settings: WorkSettings, progress: Progress | None = None) -> dict:
    """The manifest record of one photo: its fingerprint, status, reason, output and results.
    A problem with this photo is recorded (status ``error``), never raised."""
    started = time.perf_counter()
    item: dict = {"input": str(job.path)}
    try:
        item.update(file_fingerprint(job.path))
        try:
            item.update(_protected(job, settings, progress))
        except NoFaceError as exc:
            item.update(_no_face(job, settings, str(exc)))
    except FacecloakError as exc:
        item.update(status="error", reason=str(exc))
    except OSError as exc:
        item.update(status="error", reason=f"{job.path}: could not be read ({exc.strerror})")
    item["seconds"] = round(time.perf_counter() - started, 3)
    return item


def _protected(job: PhotoJob, settings: WorkSettings, progress: Progress | None) -> dict:
    loaded = read_image(job.path, max_pixels=settings.max_pixels)
    if settings.config.stages != ("obfuscation",):  # a blur survives a palette; a cloak does not
        check_output_format(loaded)
    result = protect(loaded.rgb, settings.config, progress=progress)
    status, reason = outcome_status(result)
    written = {}
    if status != "failed":
        write_like_input(
            result.image, loaded, job.destination, keep_metadata=settings.keep_metadata
        )
        written = {"output": str(job.destination)}
    return {
        "status": status,
        **({"reason": reason} if reason else {}),
        **written,
        **result.to_dict(),
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


def _no_face(job: PhotoJob, settings: WorkSettings, reason: str) -> dict:
    """A photo without a face: skipped, or with ``copy_unprotected`` copied (its metadata
    removed, as for every output, unless ``keep_metadata``)."""
    if not settings.copy_unprotected:
        return {"status": "skipped", "reason": f"{reason}; not copied (see --copy-unprotected)"}
    if settings.keep_metadata:
        copy_file_safely(job.path, job.destination)
    else:
        loaded: LoadedImage = read_image(job.path, max_pixels=settings.max_pixels)
        write_like_input(loaded.rgb, loaded, job.destination, keep_metadata=False)
    return {"status": "copied unchanged", "reason": reason, "output": str(job.destination)}
