"""Training settings for the identity classifiers, with per-architecture defaults.

Example:
    >>> config = TrainConfig(arch="resnet18").resolved()
    >>> config.optimizer, config.image_size, config.epochs
    ('sgd', 64, 30)
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

from facecloak.models.classifiers import ARCHITECTURES

ARCH_DEFAULTS: dict[str, dict[str, Any]] = {
    "small-cnn": {"image_size": 64, "epochs": 40, "lr": 1e-3, "l2": 1e-3, "optimizer": "adam"},
    "resnet18": {"image_size": 64, "epochs": 30, "lr": 0.05, "l2": 2.5e-4, "optimizer": "sgd"},
    "dlib-head": {"image_size": 150, "epochs": 60, "lr": 1e-3, "l2": 1e-3, "optimizer": "adam"},
}
"""Per-architecture defaults for the settings :class:`TrainConfig` leaves at ``None``."""


@dataclass(frozen=True)
class TrainConfig:
    """Training settings; ``None`` takes the architecture's default from :data:`ARCH_DEFAULTS`.

    Attributes:
        arch: ``small-cnn``, ``resnet18`` or ``dlib-head``.
        epochs: passes over the training chips.
        lr: peak learning rate (one warm-up epoch, then cosine decay to 0).
        batch_size: chips per step.
        image_size: side the network sees (``dlib-head``: 150).
        l2: weight penalty ``l2 * sum(w ** 2)`` on conv and linear weights (Keras-style; Model A's
            1e-3), applied as ``weight_decay = 2 * l2``.
        optimizer: ``adam`` or ``sgd`` (Nesterov momentum 0.9).
        augment: random flips and crops.
        min_scale: smallest random crop side (fraction of the image).
        max_shift: largest random crop shift (fraction of the image).
        seed: seeds the weights, batches and augmentation.
    """

    arch: str = "small-cnn"
    epochs: int | None = None
    lr: float | None = None
    batch_size: int = 32
    image_size: int | None = None
    l2: float | None = None
    optimizer: str | None = None
    augment: bool = True
    min_scale: float = 0.9
    max_shift: float = 0.05
    seed: int = 0

    def resolved(self) -> TrainConfig:
        """This config with every ``None`` replaced by the architecture's default."""
        if self.arch not in ARCHITECTURES:
            raise ValueError(
                f"unknown architecture {self.arch!r}; choose one of {', '.join(ARCHITECTURES)}"
            )
        defaults = ARCH_DEFAULTS[self.arch]
        filled = {k: v for k, v in asdict(self).items() if v is None and k in defaults}
        config = replace(self, **{k: defaults[k] for k in filled})
        if config.arch == "dlib-head" and config.image_size != 150:
            raise ValueError(f"dlib-head works on 150 px chips, got image size {config.image_size}")
        if config.epochs < 1 or config.batch_size < 2 or config.lr <= 0:
            raise ValueError("need epochs >= 1, batch size >= 2 and a positive learning rate")
        if config.optimizer not in ("adam", "sgd"):
            raise ValueError(f"optimizer must be 'adam' or 'sgd', got {config.optimizer!r}")
        return config
