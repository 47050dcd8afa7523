"""The contract every face recognizer implements, and the registry its model file fills.

A :class:`Recognizer` is a frozen ``nn.Module`` that aligns its own faces and compares its own
embeddings, so callers never pick an alignment or a threshold by hand:

* :meth:`~Recognizer.chip_transforms` (not differentiable: landmarks -> ``(F, 2, 3)`` chip-to-photo
  affines) and :meth:`~Recognizer.warp` (differentiable sampling of those chips from the photo, or
  from a crop of it with ``offset``); :meth:`~Recognizer.align` is both;
* :meth:`~Recognizer.forward`: aligned chips ``(F, 3, h, w)`` in [0, 1] -> ``(F, D)`` embeddings;
* :meth:`~Recognizer.distance` and :attr:`~Recognizer.threshold` on one scale (below = same
  person), :meth:`~Recognizer.margin` in threshold units (> 0 = no match) for ensembles.

A model file defines a subclass and decorates it with :func:`register_recognizer`;
:mod:`facecloak.models.recognizers` looks recognizers up by name.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, TypeVar

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from facecloak.errors import ModelNotFoundError
from facecloak.faces.face import Face
from facecloak.paths import PROJECT_ROOT, shared_dir

METRICS = ("euclidean", "cosine")


@dataclass(frozen=True)
class Verdict:
    """One comparison by one recognizer: distance, the recognizer's threshold, the verdict.

    >>> verdict = Verdict(distance=0.45, threshold=0.6, recognizer="dlib")
    >>> verdict.same, round(verdict.margin, 2)
    (True, -0.25)
    """

    distance: float
    threshold: float
    recognizer: str = "dlib"

    @property
    def same(self) -> bool:
        """The recognizer takes both faces for the same person."""
        return self.distance < self.threshold

    @property
    def margin(self) -> float:
        """``distance / threshold - 1``: above 0 the faces do not match."""
        return self.distance / self.threshold - 1.0

    def to_dict(self) -> dict:
        return {
            "recognizer": self.recognizer,
            "distance": round(self.distance, 6),
            "threshold": self.threshold,
            "same": self.same,
        }


class Recognizer(nn.Module, ABC):
    """A face recognizer: photo + faces -> aligned chips -> embeddings -> distance vs threshold.

    Subclasses set ``name``, ``chip_size`` (height, width), ``embedding_size``, ``metric``
    (``euclidean`` or ``cosine``) and ``threshold`` (a distance on :meth:`distance`'s scale),
    and implement :meth:`chip_transforms`, :meth:`warp`, :meth:`forward` and :meth:`load`. The
    weights are frozen and the module is in eval mode, so gradients flow to the input only.
    """

    name: ClassVar[str]
    chip_size: ClassVar[tuple[int, int]]
    embedding_size: ClassVar[int]
    metric: ClassVar[str] = "cosine"
    threshold: float
    channels_last: ClassVar[bool] = False
    """Keep the weights in channels-last order (:meth:`in_fast_layout`): set where that made the
    network's forward and backward on one chip faster on a CPU thread."""

    @classmethod
    @abstractmethod
    def load(cls, path: str | Path | None = None) -> Recognizer:
        """The recognizer with its weights read from ``path`` (default: :meth:`default_path`)."""

    @classmethod
    @abstractmethod
    def default_path(cls) -> Path:
        """Where :meth:`load` reads the weights by default (the file may be absent)."""

    @classmethod
    def unavailable_reason(cls, path: str | Path | None = None) -> str | None:
        """Why :meth:`load` cannot work here (one line), or ``None`` when it can."""
        try:
            where = Path(path) if path is not None else cls.default_path()
        except ModelNotFoundError as exc:
            return str(exc)
        return None if where.is_file() else f"weights absent at {where}"

    @abstractmethod
    def chip_transforms(self, rgb: np.ndarray, faces: Sequence[Face]) -> np.ndarray:
        """``(F, 2, 3)`` affines mapping chip pixel ``(x, y, 1)`` to a photo point (no grad)."""

    @abstractmethod
    def warp(
        self, photo: torch.Tensor, transforms: np.ndarray, offset: tuple[int, int] = (0, 0)
    ) -> torch.Tensor:
        """Chips ``(F, 3, h, w)`` sampled differentiably from ``photo`` (``(1, 3, H, W)`` or
        ``(3, H, W)`` in [0, 1]); ``offset`` ``(x0, y0)``: ``photo`` is a crop whose top-left
        pixel is ``(x0, y0)`` of the photo the transforms were made for."""

    @abstractmethod
    def forward(self, chips: torch.Tensor) -> torch.Tensor:
        """Aligned chips ``(F, 3, h, w)`` RGB in [0, 1] -> ``(F, D)`` embeddings."""

    def align(self, photo: torch.Tensor, faces: Sequence[Face]) -> torch.Tensor:
        """The aligned chips of ``faces``, differentiable with respect to ``photo``."""
        return self.warp(photo, self.chip_transforms(photo_to_rgb(photo), faces))

    def distance(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """Distance along the last dimension on the scale of :attr:`threshold` (broadcasts)."""
        if self.metric == "euclidean":
            return torch.linalg.vector_norm(a - b, dim=-1)
        return 1.0 - F.cosine_similarity(a, b, dim=-1, eps=1e-8)

    def margin(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """``distance / threshold - 1``: above 0 means "not the same person"."""
        return self.distance(a, b) / self.threshold - 1.0

    def embed(self, rgb: np.ndarray, faces: Sequence[Face]) -> torch.Tensor:
        """``(F, D)`` embeddings of ``faces`` in an ``(H, W, 3)`` uint8 photo (no gradient)."""
        if not faces:
            return torch.empty(0, self.embedding_size)
        with torch.no_grad():
            return self(self._chips(rgb, faces))

    def embed_each(self, photos: Sequence[np.ndarray], faces: Sequence[Face]) -> torch.Tensor:
        """``(N, D)``: the embedding of ``faces[i]`` in ``photos[i]``, all in one batch (no
        gradient)."""
        with torch.no_grad():
            return self(
                torch.cat([self._chips(p, [f]) for p, f in zip(photos, faces, strict=True)])
            )

    def _chips(self, rgb: np.ndarray, faces: Sequence[Face]) -> torch.Tensor:
        transforms = self.chip_transforms(rgb, faces)
        x0, y0, x1, y1 = read_region(transforms, max(self.chip_size), rgb.shape[0], rgb.shape[1])
        # Only the part the chips read becomes floats: on a large photo, converting the whole
        # of it took longer than the network.
        photo = rgb_to_tensor(rgb[y0:y1, x0:x1])
        return self.warp(photo, transforms, offset=(x0, y0))

    def compare(self, a: torch.Tensor, b: torch.Tensor) -> Verdict:
        """The :class:`Verdict` on two ``(D,)`` embeddings."""
        distance = float(self.distance(a.detach(), b.detach()))
        return Verdict(distance=distance, threshold=float(self.threshold), recognizer=self.name)

    def in_fast_layout(self) -> Recognizer:
        """The weights in the memory order :attr:`channels_last` names; returns ``self``.

        Outputs stay the same up to float rounding; the chips stay in the usual order.
        """
        if self.channels_last:
            self.to(memory_format=torch.channels_last)
        return self

    def freeze(self) -> Recognizer:
        """Frozen weights, eval mode; returns ``self``."""
        self.requires_grad_(False)
        return self.eval()

    def extra_repr(self) -> str:
        return f"name={self.name!r}, chip_size={self.chip_size}, threshold={self.threshold:g}"


RecognizerT = TypeVar("RecognizerT", bound=type[Recognizer])

IDENTITY_AFFINE = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])

RECOGNIZERS: dict[str, type[Recognizer]] = {}
"""Every registered recognizer class by name (filled by :func:`register_recognizer`)."""


def register_recognizer(cls: RecognizerT) -> RecognizerT:
    """Class decorator: make ``cls`` loadable by its ``name``."""
    RECOGNIZERS[cls.name] = cls
    return cls


def rgb_to_tensor(rgb: np.ndarray) -> torch.Tensor:
    """``(H, W, 3)`` uint8 -> ``(1, 3, H, W)`` float32 in [0, 1].

    >>> rgb_to_tensor(np.zeros((4, 5, 3), np.uint8)).shape
    torch.Size([1, 3, 4, 5])
    """
    from facecloak.faces.align import to_tensor

    return to_tensor(np.asarray(rgb))[None]


def photo_to_rgb(photo: torch.Tensor) -> np.ndarray:
    """``(1, 3, H, W)`` / ``(3, H, W)`` float in [0, 1] -> ``(H, W, 3)`` uint8 (detached).

    >>> photo_to_rgb(torch.ones(1, 3, 2, 2))[0, 0].tolist()
    [255, 255, 255]
    """
    image = photo.detach()
    image = image[0] if image.ndim == 4 else image
    pixels = (image.clamp(0, 1) * 255).round().to(torch.uint8)
    return pixels.permute(1, 2, 0).cpu().numpy()


def as_batch(photo: torch.Tensor) -> torch.Tensor:
    """A photo as ``(1, 3, H, W)``."""
    return photo.unsqueeze(0) if photo.ndim == 3 else photo


def shift_transforms(transforms: np.ndarray, offset: tuple[int, int]) -> np.ndarray:
    """Chip-to-photo affines made chip-to-crop for a crop starting at ``offset`` ``(x0, y0)``.

    >>> shift_transforms(np.zeros((1, 2, 3)), (3, 4))[0, :, 2].tolist()
    [-3.0, -4.0]
    """
    moved = np.array(transforms, dtype=np.float64).reshape(-1, 2, 3)
    moved[:, :, 2] -= np.asarray(offset, dtype=np.float64)
    return moved


def template_transforms(
    points: Sequence[np.ndarray], template: np.ndarray, place: np.ndarray | None = None
) -> np.ndarray:
    """``(F, 2, 3)`` chip-to-photo affines: each face's five points fitted to ``template`` by a
    least-squares similarity; ``place`` (a ``(2, 3)`` affine from template to chip coordinates)
    moves the template inside the chip.

    >>> template = np.array([[0.0, 0], [10, 0], [5, 5], [0, 10], [10, 10]])
    >>> template_transforms([template * 2 + 1], template).round(6).tolist()
    [[[2.0, 0.0, 1.0], [0.0, 2.0, 1.0]]]
    """
    from facecloak.faces.align_arcface import invert_affine, similarity_transform

    place = IDENTITY_AFFINE if place is None else np.asarray(place, dtype=np.float64)
    out = np.zeros((len(points), 2, 3))
    for index, face_points in enumerate(points):
        photo_to_template = similarity_transform(np.asarray(face_points), template)
        out[index] = invert_affine(_compose(place, photo_to_template))
    return out


def _compose(outer: np.ndarray, inner: np.ndarray) -> np.ndarray:
    """The ``(2, 3)`` affine ``outer o inner``."""
    return outer[:, :2] @ inner + np.hstack([np.zeros((2, 2)), outer[:, 2:]])


def five_points(rgb: np.ndarray, faces: Sequence[Face]) -> list[np.ndarray]:
    """Eye centres, nose tip and mouth corners of each face (image left first), ``(5, 2)`` each."""
    from facecloak.faces.align_arcface import arcface_points

    return [arcface_points(rgb, face) for face in faces]


READ_ALIGN = 16
"""The read region starts on multiples of this, so that pyramids which halve the photo see
the same pixel phase as on the whole photo."""


def read_region(
    transforms: np.ndarray, chip_size: int, height: int, width: int
) -> tuple[int, int, int, int]:
    """``(x0, y0, x1, y1)`` of a ``height`` x ``width`` photo that holds every chip of
    ``transforms`` (chip-to-photo affines) with a wide margin for the warps' filters; the whole
    photo when the chips lie wholly outside it.

    >>> read_region(np.array([[[1.0, 0.0, 100.0], [0.0, 1.0, 50.0]]]), 20, 400, 300)
    (64, 16, 141, 91)
    """
    corners = np.array([[0, 0, 1], [chip_size, 0, 1], [0, chip_size, 1], [chip_size, chip_size, 1]])
    points = (np.asarray(transforms, np.float64) @ corners.T.astype(np.float64)).transpose(0, 2, 1)
    low, high = points.reshape(-1, 2).min(0), points.reshape(-1, 2).max(0)
    margin = 0.25 * float((high - low).max()) + 16.0
    x0, y0 = (np.floor((low - margin) / READ_ALIGN) * READ_ALIGN).astype(int)
    x1, y1 = np.ceil(high + margin).astype(int)
    if x1 <= 0 or y1 <= 0 or x0 >= width or y0 >= height:
        return (0, 0, width, height)  # the warps draw the black chip and warn
    x0, y0, x1, y1 = max(int(x0), 0), max(int(y0), 0), min(int(x1), width), min(int(y1), height)
    return (x0, y0, x1, y1)


def sample_chips(
    photo: torch.Tensor,
    transforms: np.ndarray,
    size: tuple[int, int],
    offset: tuple[int, int] = (0, 0),
) -> torch.Tensor:
    """Anti-aliased bilinear chips ``(F, 3, h, w)`` of similarity ``transforms``, differentiably."""
    from facecloak.faces.align_arcface import sample_chip

    batch = as_batch(photo)
    moved = shift_transforms(transforms, offset)
    if len(moved) == 0:
        return batch.new_zeros((0, batch.shape[1], *size))
    return torch.cat([sample_chip(batch, matrix, size) for matrix in moved])


def shared_weights(folder: str, filename: str) -> Path:
    """``<shared>/models/<folder>/<filename>``, existing or not (so errors can name it).

    >>> shared_weights("mobilefacenet", "mobilefacenet.pt").parts[-3:]
    ('models', 'mobilefacenet', 'mobilefacenet.pt')
    """
    root = shared_dir()
    if root is None:
        root = Path(os.environ.get("FACECLOAK_SHARED") or PROJECT_ROOT.parent / "shared")
    return root / "models" / folder / filename


def require_file(path: Path, what: str) -> Path:
    """``path`` if it is a file, else :class:`ModelNotFoundError` saying where it looked."""
    if not path.is_file():
        raise ModelNotFoundError(
            f"{what} not found at {path}: set FACECLOAK_SHARED to the folder holding "
            "models/, or pass the file's path"
        )
    return path
