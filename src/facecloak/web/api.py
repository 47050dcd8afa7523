"""``/api/v1``: jobs (protect photos), their files and zip, compare, detect, models, health."""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, File, Form, HTTPException, Request, UploadFile
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from facecloak import __version__
from facecloak.models import DEFAULT_DETECTOR, DETECTORS
from facecloak.protect import DEFAULT_STRENGTH
from facecloak.web.analysis import ModelPool, compare_report, detect_report
from facecloak.web.jobs import Job, JobStore, Photo
from facecloak.web.limits import Gate
from facecloak.web.service import CLOAK, option_choices, protect_options
from facecloak.web.settings import ServerSettings
from facecloak.web.uploads import Caps, UploadError, decode_photo

router = APIRouter(prefix="/api/v1")
VARIANTS = ("protected", "difference")


@dataclass(frozen=True)
class Services:
    """What the routes share, kept on ``app.state.services``."""

    settings: ServerSettings
    pool: ModelPool
    store: JobStore
    gate: Gate

    @property
    def caps(self) -> Caps:
        return Caps(self.settings.max_bytes, self.settings.max_megapixels)


def services(request: Request) -> Services:
    return request.app.state.services


Photos = Annotated[list[UploadFile], File(description="one or more photos (JPEG, PNG, WebP...)")]
OneUpload = Annotated[UploadFile, File(description="a photo")]


@router.post("/jobs", status_code=202, summary="Protect photos (returns a job id to poll)")
async def create_job(
    request: Request,
    photos: Photos,
    against: Annotated[str, Form(description="recognition, detection or both")] = "recognition",
    method: Annotated[str, Form(description="cloak, blur, pixelate, mask or an attack")] = CLOAK,
    strength: Annotated[str, Form(description="low, mid or high")] = DEFAULT_STRENGTH,
) -> dict:
    svc = services(request)
    options = protect_options(against, method, strength)
    if len(photos) > svc.settings.max_photos:
        raise UploadError(
            413, f"{len(photos)} photos: send at most {svc.settings.max_photos} per job"
        )
    accepted = []
    for number, upload in enumerate(photos):
        name = display_name(upload.filename, number)
        data = await read_capped(upload, svc.caps, name)
        await run_in_threadpool(decode_photo, data, svc.caps, name)
        accepted.append(Photo(name=name, upload=data))
    job = svc.store.submit(options, accepted)
    return {
        "id": job.id,
        "status": job.status,
        "photos": len(accepted),
        "url": f"/api/v1/jobs/{job.id}",
    }


@router.get("/jobs/{job_id}", summary="A job's status, progress and per-face results")
def get_job(request: Request, job_id: str) -> dict:
    return find_job(request, job_id).to_dict()


@router.delete("/jobs/{job_id}", status_code=204, summary="Forget a job and its photos now")
def delete_job(request: Request, job_id: str) -> Response:
    if not services(request).store.delete(job_id):
        raise HTTPException(404, f"no job {job_id!r} (finished jobs expire)")
    return Response(status_code=204)


@router.get("/jobs/{job_id}/files/{n}", summary="One protected photo (PNG, no metadata)")
def get_file(request: Request, job_id: str, n: int, variant: str = "protected") -> Response:
    if variant not in VARIANTS:
        raise HTTPException(
            422, f"variant={variant!r} is not known: choose from {', '.join(VARIANTS)}"
        )
    job = find_job(request, job_id)
    if not 0 <= n < len(job.photos):
        raise HTTPException(404, f"no photo {n} in this job (it has {len(job.photos)})")
    photo = job.photos[n]
    if photo.status == "failed":
        raise HTTPException(409, f"photo {n} failed: {photo.error}")
    if photo.status != "done":
        raise HTTPException(409, f"photo {n} is not ready yet ({photo.status}); poll the job")
    suffix = "" if variant == "protected" else "-difference"
    return png_response(photo.files[variant], f"{stem(photo.name)}-protected{suffix}.png")


@router.get("/jobs/{job_id}/zip", summary="Every protected photo of a job in one zip")
def get_zip(request: Request, job_id: str) -> Response:
    job = find_job(request, job_id)
    done = [p for p in job.photos if p.status == "done"]
    if not done:
        raise HTTPException(409, f"no photo of this job is ready yet ({job.status})")
    stream = io.BytesIO()
    with zipfile.ZipFile(stream, "w", zipfile.ZIP_STORED) as archive:
        for number, photo in enumerate(job.photos):
            if photo.status == "done":
                name = f"{number:02d}-{stem(photo.name)}-protected.png"
                archive.writestr(
                    zipfile.ZipInfo(name, (1980, 1, 1, 0, 0, 0)), photo.files["protected"]
                )
    headers = {"content-disposition": 'attachment; filename="facecloak-protected.zip"'}
    return Response(stream.getvalue(), media_type="application/zip", headers=headers)


@router.post("/compare", summary="Is it still me? Two photos, every available recognizer")
async def compare(request: Request, photo_a: OneUpload, photo_b: OneUpload) -> dict:
    svc = services(request)
    data_a = await read_capped(photo_a, svc.caps, "photo a")
    data_b = await read_capped(photo_b, svc.caps, "photo b")
    return await run_in_threadpool(_compare, svc, data_a, data_b)


def _compare(svc: Services, data_a: bytes, data_b: bytes) -> dict:
    a = decode_photo(data_a, svc.caps, "photo a")
    b = decode_photo(data_b, svc.caps, "photo b")
    return svc.gate.run(compare_report, a, b, svc.pool)


@router.post("/detect", summary="The faces a detector finds in a photo")
async def detect(
    request: Request,
    photo: OneUpload,
    detector: Annotated[str, Form(description="a detector of GET /models")] = DEFAULT_DETECTOR,
) -> dict:
    svc = services(request)
    if detector not in DETECTORS:
        raise HTTPException(
            422, f"detector={detector!r} is not known: choose from {', '.join(DETECTORS)}"
        )
    data = await read_capped(photo, svc.caps, "photo")
    return await run_in_threadpool(_detect, svc, data, detector)


def _detect(svc: Services, data: bytes, detector: str) -> dict:
    rgb = decode_photo(data, svc.caps, "photo")
    return svc.gate.run(detect_report, rgb, detector)


@router.get("/models", summary="Recognizers and detectors, which are available and why not")
def models(request: Request) -> dict:
    reasons = services(request).pool.reasons()
    return {
        "recognizers": [
            {"name": name, "available": reason is None, "reason": reason}
            for name, reason in reasons.items()
        ],
        "detectors": list(DETECTORS),
        "default_detector": DEFAULT_DETECTOR,
        "options": option_choices(),
    }


@router.get("/health", summary="Is the server up, and how busy")
def health(request: Request) -> dict:
    svc = services(request)
    settings = svc.settings
    return {
        "status": "ok",
        "version": __version__,
        "jobs": len(svc.store),
        "queued": svc.store.waiting,
        "queue_size": settings.queue_size,
        "workers": settings.workers,
        "limits": {
            "max_bytes": settings.max_bytes,
            "max_request_bytes": settings.max_request_bytes,
            "max_megapixels": settings.max_megapixels,
            "max_photos": settings.max_photos,
        },
    }


def find_job(request: Request, job_id: str) -> Job:
    job = services(request).store.get(job_id)
    if job is None:
        raise HTTPException(404, f"no job {job_id!r} (finished jobs expire)")
    return job


async def read_capped(upload: UploadFile, caps: Caps, name: str) -> bytes:
    """The upload's bytes, refusing (413) past ``caps.max_bytes`` without reading further."""
    data = await upload.read(caps.max_bytes + 1)
    if len(data) > caps.max_bytes:
        raise UploadError(413, f"{name}: above the {caps.max_bytes / 1e6:g} MB limit per photo")
    return data


def display_name(filename: str | None, number: int) -> str:
    """A name to show and to offer for download; never used as a path."""
    base = re.split(r"[\\/]", filename or "")[-1]
    clean = re.sub(r"[^A-Za-z0-9._ -]", "_", base).strip(" .")[:80]
    return clean or f"photo-{number + 1}"


def stem(name: str) -> str:
    return name.rsplit(".", 1)[0] if "." in name.strip(".") else name


def png_response(data: bytes, filename: str) -> Response:
    headers = {"content-disposition": f'attachment; filename="{filename}"'}
    return Response(data, media_type="image/png", headers=headers)
