"""The replacer's files: the full training state (resumable) and the small fp16 generator that
ships with facecloak.

Example:
    >>> from facecloak.replace.model import Generator, GeneratorConfig
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> generator = Generator(GeneratorConfig(widths=(8, 8, 8, 8, 8)))
    >>> edges = {name: np.zeros(bins - 1) for name, bins in ATTRIBUTES.items()}
    >>> path = save_generator(folder / "g.pt", generator, edges, {"steps": 0})
    >>> load_generator(path).edges["yaw"].shape
    (4,)
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import torch

from facecloak.errors import FacecloakError
from facecloak.models.seeding import keeps_random_state
from facecloak.replace.attributes import ATTRIBUTES
from facecloak.replace.model import Generator, GeneratorConfig

KIND = "facecloak-replacer"
DEFAULT_WEIGHTS = Path(__file__).resolve().parent.parent / "data" / "replacer" / "replacer-fp16.pt"
"""The generator committed with facecloak (see the MODEL_CARD.md beside it)."""


@dataclass(frozen=True)
class LoadedGenerator:
    """A generator ready to run (eval mode, float32), the bin edges of its attribute tokens,
    what its training did (steps, epochs, faces) and, when the file has them, training faces'
    landmark shapes ``(M, 68, 2)`` (see :mod:`facecloak.replace.shapes`)."""

    generator: Generator
    edges: dict[str, np.ndarray]
    trained: dict[str, Any]
    shapes: np.ndarray | None = None


def save_atomic(payload: dict, path: Path) -> None:
    """``torch.save`` to a temporary file renamed over ``path`` (never half-written)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    torch.save(payload, partial)
    os.replace(partial, path)


def save_generator(
    path: Path,
    generator: Generator,
    edges: dict[str, np.ndarray],
    trained: dict[str, Any],
    shapes: np.ndarray | None = None,
) -> Path:
    """The generator alone in half precision (what ships), with its config, token edges and
    (optionally) a bank of training landmark shapes."""
    state = {name: tensor.detach().half() for name, tensor in generator.state_dict().items()}
    payload = {
        "kind": KIND,
        "config": generator.config.to_dict(),
        "edges": {name: np.asarray(edge).tolist() for name, edge in edges.items()},
        "generator": state,
        "trained": trained,
    }
    if shapes is not None:
        payload["shapes"] = torch.from_numpy(np.asarray(shapes, np.float16))
    save_atomic(payload, Path(path))
    return Path(path)


def export_fp16(checkpoint: Path, output: Path, shapes: np.ndarray | None = None) -> Path:
    """The fp16 generator of a training ``checkpoint`` (see :func:`save_generator`), with
    ``shapes`` or else the checkpoint's own."""
    loaded = load_generator(checkpoint)
    shapes = shapes if shapes is not None else loaded.shapes
    return save_generator(output, loaded.generator, loaded.edges, loaded.trained, shapes)


@lru_cache(maxsize=2)
def shared_generator(path: str | Path | None = None) -> LoadedGenerator:
    """:func:`load_generator`, loaded once per process and path (default: the committed one)."""
    return load_generator(None if path is None else Path(path))


@keeps_random_state
def load_generator(path: Path | None = None) -> LoadedGenerator:
    """The generator of a training checkpoint or an fp16 export (default: the committed one).

    Loading leaves torch's global random stream as it was (:mod:`facecloak.models.seeding`)."""
    path = Path(path) if path is not None else DEFAULT_WEIGHTS
    if not path.is_file():
        raise FacecloakError(f"{path}: no replacer weights there; give --replacer PATH")
    payload = torch.load(path, map_location="cpu", weights_only=False)
    if not isinstance(payload, dict) or payload.get("kind") != KIND:
        raise FacecloakError(f"{path}: not a facecloak replacer; make one with train-replacer")
    generator = Generator(GeneratorConfig.from_dict(payload["config"]))
    state = {name: tensor.float() for name, tensor in payload["generator"].items()}
    generator.load_state_dict(state)
    generator.eval()
    edges = {name: np.asarray(payload["edges"][name], np.float64) for name in ATTRIBUTES}
    shapes = payload.get("shapes")
    if shapes is not None:
        shapes = np.asarray(shapes.float().numpy() if torch.is_tensor(shapes) else shapes)
    return LoadedGenerator(generator, edges, dict(payload.get("trained", {})), shapes)
