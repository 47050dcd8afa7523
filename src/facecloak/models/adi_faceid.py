"""Analog Devices' MAX78000 FaceID net (``ai85faceidnet``): its int8 weights, made differentiable.

A small, differently trained surrogate (distilled from FaceNet embeddings on VGGFace2); weak on
its own (LFW AUC about 0.94) but useful in ensembles and for transfer measurements. From input to
output (``N x C x H x W``):

* input: 160x120 (H x W) RGB, quantised as ``clamp((v / 255 - 0.5) * 256, -128, 127)``
  (the device also rounds; the smooth form leaves the rounding out so gradients flow);
* eight 3x3 convolutions without bias, 3 -> 16 -> 32 -> 32 -> 64 -> 64 -> 64 -> 64 channels
  (padding 1), a 2x2 max pool before convolutions 2-5, ReLU after convolutions 1-7;
* a 2x2 max pool, then a 1x1 convolution 64 -> 512 (no ReLU): 5x3 maps;
* a 5x3 average pool -> 512-d, compared by cosine.

Layer ``i`` computes ``conv(x, w_i) * 2**output_shift_i / 128`` with the int8 weights ``w_i``
of ``ai85-faceid-qat8-q.pth.tar`` (the device's arithmetic). ``exact=True`` adds the device's
rounding and 8-bit clamping after every layer (the integer form, for checks);
the default smooth form leaves rounding out and is differentiable.

Faces are placed roughly as at training (unaligned face boxes inside the window): the five points
are fitted to the ArcFace template, and the template's face box, scaled to 125 px wide, is centred
in the 120x160 window (on LFW this reproduces the reference AUC; scaling the whole 112 px
ArcFace crop to 125 px instead loses 0.007 AUC with our keypoints).

>>> FaceID.chip_size, FaceID.embedding_size
((160, 120), 512)
>>> recognizer = FaceID.load()  # doctest: +SKIP
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from facecloak.errors import FacecloakError
from facecloak.faces.face import Face
from facecloak.models.recognizer import (
    Recognizer,
    five_points,
    register_recognizer,
    require_file,
    sample_chips,
    shared_weights,
    template_transforms,
)

logger = logging.getLogger(__name__)

WEIGHTS_FOLDER = "adi_faceid"
WEIGHTS_FILE = "ai85-faceid-qat8-q.pth.tar"
LAYERS = 8
POOL_BEFORE = frozenset({2, 3, 4, 5, 8})
"""Layers preceded by a 2x2 / 2 max pool."""
FACE_WIDTH = 125.0
"""Width (window pixels) of the face box, centred in the 120 px wide window."""
FACE_BOX_IN_TEMPLATE = (12.6, 8.5, 99.4, 120.8)
"""The default detector's face box in ArcFace-template (112x112) coordinates: the mean over
400 LFW faces (CenterFace boxes mapped through each face's five-point alignment)."""


class FaceIDFormatError(FacecloakError, ValueError):
    """A checkpoint that is not the quantised ``ai85faceidnet`` facecloak expects."""


def window_placement(face_width: float = FACE_WIDTH, size: tuple[int, int] = (160, 120)):
    """``(2, 3)`` affine from ArcFace-template (112x112) coordinates to window coordinates:
    the face box of the template (:data:`FACE_BOX_IN_TEMPLATE`) scaled to ``face_width`` pixels
    and centred in the ``size`` (height, width) window.

    >>> window_placement().round(2).tolist()
    [[1.44, 0.0, -21.15], [0.0, 1.44, -13.6]]
    """
    x0, y0, x1, y1 = FACE_BOX_IN_TEMPLATE
    scale = face_width / (x1 - x0)
    # pixel centres: the window's centre is ((w - 1) / 2, (h - 1) / 2)
    dx = (size[1] - 1) / 2 - scale * (x0 + x1) / 2
    dy = (size[0] - 1) / 2 - scale * (y0 + y1) / 2
    return np.array([[scale, 0.0, dx], [0.0, scale, dy]])


@register_recognizer
class FaceID(Recognizer):
    """MAX78000 FaceID: 160x120 face windows -> unit 512-d embeddings compared by cosine."""

    name = "adi_faceid"
    chip_size = (160, 120)
    embedding_size = 512
    metric = "cosine"
    # Best-accuracy cosine distance on 500 + 500 LFW pairs of people absent from the View-1
    # test pairs (seed 0, our alignment): see benchmarks/recognizers.py.
    threshold = 0.41
    channels_last = True

    def __init__(self, weights: Sequence[torch.Tensor], shifts: Sequence[float]) -> None:
        super().__init__()
        if len(weights) != LAYERS or len(shifts) != LAYERS:
            raise FaceIDFormatError(f"expected {LAYERS} layers, got {len(weights)}")
        for index, (weight, shift) in enumerate(zip(weights, shifts, strict=True), start=1):
            # The device's per-layer scale folded into the weights: 2**shift / 128.
            self.register_buffer(f"weight{index}", weight.float() * (2.0**shift / 128.0))
        self.exact = False
        self.freeze()

    @classmethod
    def default_path(cls) -> Path:
        return shared_weights(WEIGHTS_FOLDER, WEIGHTS_FILE)

    @classmethod
    def load(cls, path: str | Path | None = None) -> FaceID:
        """Read the quantised checkpoint (``state_dict`` with ``conv{i}.op.weight`` int8 values
        and ``conv{i}.output_shift``); default ``<shared>/models/adi_faceid/``."""
        path = require_file(Path(path) if path is not None else cls.default_path(), cls.name)
        try:
            checkpoint = torch.load(path, map_location="cpu", weights_only=False)
            state = checkpoint["state_dict"]
            weights = [state[f"conv{i}.op.weight"] for i in range(1, LAYERS + 1)]
            shifts = [float(state[f"conv{i}.output_shift"]) for i in range(1, LAYERS + 1)]
        except (KeyError, TypeError, RuntimeError, OSError) as exc:
            raise FaceIDFormatError(f"{path}: not a quantised ai85faceidnet ({exc})") from exc
        if any(float(w.abs().max()) > 128 or not torch.equal(w, w.round()) for w in weights):
            raise FaceIDFormatError(f"{path}: weights are not int8 values; use the -q checkpoint")
        logger.info("loaded FaceID from %s", path)
        return cls(weights, shifts)

    def chip_transforms(self, rgb: np.ndarray, faces: Sequence[Face]) -> np.ndarray:
        from facecloak.faces.align_arcface import ARCFACE_TEMPLATE

        points = five_points(rgb, faces)
        return template_transforms(points, ARCFACE_TEMPLATE, window_placement())

    def warp(
        self, photo: torch.Tensor, transforms: np.ndarray, offset: tuple[int, int] = (0, 0)
    ) -> torch.Tensor:
        return sample_chips(photo, transforms, self.chip_size, offset)

    def forward(self, chips: torch.Tensor) -> torch.Tensor:
        """``(N, 3, 160, 120)`` RGB in [0, 1] -> ``(N, 512)`` unit embeddings."""
        if chips.ndim != 4 or tuple(chips.shape[1:]) != (3, *self.chip_size):
            raise ValueError(f"FaceID expects (N, 3, 160, 120) chips, got {tuple(chips.shape)}")
        x = ((chips - 0.5) * 256.0).clamp(-128.0, 127.0)
        x = self._quantise(x)
        for index in range(1, LAYERS + 1):
            if index in POOL_BEFORE:
                x = F.max_pool2d(x, 2, 2)
            weight = getattr(self, f"weight{index}").to(x.dtype)
            x = F.conv2d(x, weight, padding=weight.shape[-1] // 2)
            if index < LAYERS:
                x = F.relu(x)
            x = self._quantise(x)
        x = self._quantise(F.avg_pool2d(x, (5, 3)))
        return F.normalize(x.flatten(1), dim=-1)

    def _quantise(self, x: torch.Tensor) -> torch.Tensor:
        """The device's 8-bit clamp; the exact form also rounds (half up), as the device does."""
        if self.exact:
            x = torch.floor(x + 0.5)
        return x.clamp(-128.0, 127.0)

    def integer_form(self) -> FaceID:
        """A copy that computes as the device does (rounding and clamping every activation)."""
        import copy

        exact = copy.deepcopy(self)
        exact.exact = True
        return exact
