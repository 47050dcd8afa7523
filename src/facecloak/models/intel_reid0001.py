"""Intel's face-reidentification-retail-0001 (2018) as a differentiable recognizer.

RMNet: residual blocks of 1x1, depthwise 3x3 and 1x1 convolutions with ELU, a global max pool
and a 1x1 convolution to 128; 0.59 M parameters, trained with AM-softmax. The network is read
from its OpenVINO IR v2 graph (FP32 weights) by :mod:`facecloak.models.openvino_ir`. Input:
128x128 **RGB** 0-255 faces (a folded batch norm on the data normalises them) on the same
five-point template as 0095; output: 128-d, compared by cosine. The weights are read from
``<shared>/models/intel_reid0001/`` or a path you give.

>>> IntelReid0001.chip_size, IntelReid0001.embedding_size
((128, 128), 128)
>>> recognizer = IntelReid0001.load()  # doctest: +SKIP
"""

from __future__ import annotations

from facecloak.models.intel_reid0095 import INTEL_TEMPLATE_128, IntelReidRecognizer
from facecloak.models.recognizer import register_recognizer


@register_recognizer
class IntelReid0001(IntelReidRecognizer):
    """face-reidentification-retail-0001: RGB input, 128-d cosine embeddings."""

    name = "intel_reid0001"
    folder = "intel_reid0001"
    xml_name = "face-reidentification-retail-0001.xml"
    chip_size = (128, 128)
    embedding_size = 128
    template = INTEL_TEMPLATE_128
    bgr = False
    channels_last = True
    # Best-accuracy cosine distance on 500 + 500 LFW pairs of people absent from the View-1
    # test pairs (seed 0, our alignment): see benchmarks/recognizers.py.
    threshold = 0.69
