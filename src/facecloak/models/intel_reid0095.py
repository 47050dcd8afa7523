"""Intel's face-reidentification-retail-0095 (Open Model Zoo) as a differentiable recognizer.

MobileNetV2-style inverted residuals with squeeze-excitation and PReLU, an 8x8 global depthwise
convolution and a 1x1 convolution to 256; 1.1 M parameters, trained on VGGFace2. The network is
read from its OpenVINO IR v5 graph (FP16 weights) by :mod:`facecloak.models.openvino_ir`. Input:
128x128 **BGR** 0-255 faces aligned by a similarity warp of five points onto Intel's template;
output: 256-d, compared by cosine. The weights are not shipped: they are read from
``<shared>/models/intel_reid0095/`` or a path you give.

>>> IntelReid0095.chip_size, IntelReid0095.embedding_size
((128, 128), 256)
>>> recognizer = IntelReid0095.load()  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar

import numpy as np
import torch
import torch.nn.functional as F

from facecloak.faces.face import Face
from facecloak.models.openvino_ir import IRFormatError, IRNetwork, load_ir
from facecloak.models.recognizer import (
    Recognizer,
    five_points,
    register_recognizer,
    require_file,
    sample_chips,
    shared_weights,
    template_transforms,
)

INTEL_TEMPLATE_128 = (
    np.array(
        [
            [0.31556875, 0.46157411],  # eye centre, image left
            [0.68262292, 0.46157411],  # eye centre, image right
            [0.5002625, 0.64050536],  # nose tip
            [0.34947188, 0.82469196],  # mouth corner, image left
            [0.65343646, 0.82469196],  # mouth corner, image right
        ]
    )
    * 128
)
"""Where Intel's re-identification models want the five points in a 128x128 chip."""


class IntelReidRecognizer(Recognizer):
    """A recognizer whose network is an OpenVINO IR graph on 5-point-aligned square chips.

    Subclasses set ``name``, ``folder`` / ``xml_name`` (under ``<shared>/models``), ``template``
    (``(5, 2)`` chip points: eye centres, nose tip, mouth corners, image left first), ``bgr``
    (the graph wants BGR) and ``threshold``. The graph takes raw 0-255 pixels; ``forward``
    returns its output flattened and L2-normalised, compared by cosine distance.
    """

    folder: ClassVar[str]
    xml_name: ClassVar[str]
    template: ClassVar[np.ndarray]
    bgr: ClassVar[bool]
    metric = "cosine"

    def __init__(self, network: IRNetwork) -> None:
        super().__init__()
        self.network = network
        self.freeze()

    @classmethod
    def default_path(cls) -> Path:
        return shared_weights(cls.folder, cls.xml_name)

    @classmethod
    def load(cls, path: str | Path | None = None) -> IntelReidRecognizer:
        """Read ``path`` (the ``.xml``; its ``.bin`` beside it), default :meth:`default_path`."""
        xml = require_file(Path(path) if path is not None else cls.default_path(), cls.name)
        require_file(xml.with_suffix(".bin"), f"{cls.name} weights (.bin)")
        network = load_ir(xml)
        expected = (1, 3, *cls.chip_size)
        if tuple(network.input_shape) != expected:
            raise IRFormatError(f"{xml}: input {network.input_shape}, expected {expected}")
        return cls(network)

    def chip_transforms(self, rgb: np.ndarray, faces: Sequence[Face]) -> np.ndarray:
        return template_transforms(five_points(rgb, faces), self.template)

    def warp(
        self, photo: torch.Tensor, transforms: np.ndarray, offset: tuple[int, int] = (0, 0)
    ) -> torch.Tensor:
        return sample_chips(photo, transforms, self.chip_size, offset)

    def forward(self, chips: torch.Tensor) -> torch.Tensor:
        """``(N, 3, 128, 128)`` RGB in [0, 1] -> ``(N, D)`` unit embeddings."""
        if chips.ndim != 4 or tuple(chips.shape[1:]) != (3, *self.chip_size):
            raise ValueError(
                f"{self.name} expects (N, 3, 128, 128) chips, got {tuple(chips.shape)}"
            )
        pixels = chips * 255.0
        if self.bgr:
            pixels = pixels.flip(1)
        return F.normalize(self.network(pixels).flatten(1), dim=-1)


@register_recognizer
class IntelReid0095(IntelReidRecognizer):
    """face-reidentification-retail-0095: BGR input, 256-d cosine embeddings."""

    name = "intel_reid0095"
    folder = "intel_reid0095"
    xml_name = "face-reidentification-retail-0095.xml"
    chip_size = (128, 128)
    embedding_size = 256
    template = INTEL_TEMPLATE_128
    bgr = True
    # Best-accuracy cosine distance on 500 + 500 LFW pairs of people absent from the View-1
    # test pairs (seed 0, our alignment): see benchmarks/recognizers.py.
    threshold = 0.66
