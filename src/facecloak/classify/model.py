"""``ClassifierModel``: a trained identity classifier that takes dlib-aligned face chips."""

from __future__ import annotations

import difflib
import logging
from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from facecloak.errors import FacecloakError

logger = logging.getLogger(__name__)

CHIP_SIZE = 150


@dataclass(frozen=True)
class Prediction:
    """One identity and the classifier's softmax probability for it."""

    identity: str
    probability: float

    def to_dict(self) -> dict:
        return {"identity": self.identity, "probability": round(self.probability, 6)}


def resize_chips(chips: Tensor, size: int) -> Tensor:
    """``(N, 3, H, W)`` images resized to ``size`` x ``size`` (bilinear, antialiased,
    differentiable); returned unchanged when they already have that size."""
    if chips.shape[-2:] == (size, size):
        return chips
    return F.interpolate(
        chips, size=(size, size), mode="bilinear", align_corners=False, antialias=True
    )


class ClassifierModel(nn.Module):
    """An identity classifier on dlib face chips, with its preprocessing built in.

    ``forward`` takes ``(N, 3, 150, 150)`` float RGB chips in [0, 1] (from
    :func:`facecloak.faces.align.face_chips`), resizes them to ``image_size`` (bilinear,
    antialiased), normalises them (``(x - mean) / std``, per-channel mean, one std for all
    channels so that a step of ``s`` normalised units is ``s * std`` on the [0, 1] scale) and
    returns ``(N, num_classes)`` logits. Every operation is differentiable, so attacks run on
    the chip.

    Attributes:
        network: the classifier proper, on preprocessed input.
        arch: ``small-cnn``, ``resnet18`` or ``dlib-head``.
        class_names: identity of each logit.
        input_size: 150, the chip size ``forward`` expects.
        image_size: the size the network sees.
        mean: ``(1, 3, 1, 1)`` buffer; std: scalar buffer.
    """

    input_size = CHIP_SIZE

    def __init__(
        self,
        network: nn.Module,
        *,
        arch: str,
        class_names: Sequence[str],
        image_size: int,
        mean: Sequence[float] = (0.0, 0.0, 0.0),
        std: float = 1.0,
    ) -> None:
        super().__init__()
        if len(set(class_names)) != len(class_names):
            raise ValueError("class names must be unique")
        if std <= 0:
            raise ValueError(f"std must be positive, got {std}")
        self.network = network
        self.arch = arch
        self.name = f"classifier:{arch}"
        self.class_names = list(class_names)
        self.image_size = int(image_size)
        self.register_buffer("mean", torch.tensor(list(mean), dtype=torch.float32).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(float(std), dtype=torch.float32))

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def resize(self, chips: Tensor) -> Tensor:
        """Chips resized to ``image_size`` (unchanged when it is 150)."""
        return resize_chips(chips, self.image_size)

    def normalize(self, images: Tensor) -> Tensor:
        """``(images - mean) / std``."""
        return (images - self.mean.to(images.dtype)) / self.std.to(images.dtype)

    def forward(self, chips: Tensor) -> Tensor:
        """``(N, 3, 150, 150)`` chips in [0, 1] -> ``(N, num_classes)`` logits."""
        expected = (3, self.input_size, self.input_size)
        if chips.ndim != 4 or tuple(chips.shape[1:]) != expected:
            raise ValueError(
                f"the classifier expects face chips of shape (N, 3, 150, 150), got "
                f"{tuple(chips.shape)}; align faces with facecloak.faces.align.face_chips"
            )
        if not chips.is_floating_point():
            raise ValueError(f"expected float chips in [0, 1], got {chips.dtype}; divide by 255")
        return self.network(self.normalize(self.resize(chips)))

    def predict(self, chips: Tensor, top_k: int = 5) -> list[list[Prediction]]:
        """The ``top_k`` most likely identities of each chip, most likely first."""
        with torch.no_grad():
            probabilities = self(chips).softmax(-1)
        k = min(top_k, self.num_classes)
        values, indices = probabilities.topk(k, dim=-1)
        return [
            [Prediction(self.class_names[i], float(p)) for p, i in zip(row_p, row_i, strict=True)]
            for row_p, row_i in zip(values.tolist(), indices.tolist(), strict=True)
        ]

    def class_index(self, name: str) -> int:
        """The logit index of identity ``name``.

        Raises:
            FacecloakError: the classifier does not know ``name`` (the message suggests names).
        """
        if name in self.class_names:
            return self.class_names.index(name)
        close = difflib.get_close_matches(name, self.class_names, n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise FacecloakError(
            f"identity {name!r} is not one of the classifier's {self.num_classes} classes{hint} "
            "(`facecloak classify` lists the closest ones for a photo)"
        )

    def trainable_state(self) -> dict[str, Tensor]:
        """The network's weights without a frozen pretrained backbone (what checkpoints store)."""
        return {
            key: value.detach().clone()
            for key, value in self.network.state_dict().items()
            if not key.startswith("backbone.")
        }

    def load_trainable_state(self, state: dict[str, Tensor]) -> None:
        """Load weights saved by :meth:`trainable_state`."""
        result = self.network.load_state_dict(state, strict=False)
        missing = [k for k in result.missing_keys if not k.startswith("backbone.")]
        if missing or result.unexpected_keys:
            raise ValueError(
                f"weights do not fit the {self.arch} network: missing {missing[:3]}, "
                f"unexpected {result.unexpected_keys[:3]}"
            )
