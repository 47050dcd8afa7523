"""Face recognizers as differentiable PyTorch modules, looked up by name."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from torch import nn

from facecloak.models.dlib_resnet import DlibResNet
from facecloak.models.mobilefacenet import load_mobilefacenet

_RECOGNIZER_LOADERS: dict[str, Callable[[str | Path | None], nn.Module]] = {
    "dlib": DlibResNet.from_file,
    "mobilefacenet": load_mobilefacenet,
}


def known_recognizers() -> list[str]:
    """Names accepted by :func:`load_recognizer`."""
    return sorted(_RECOGNIZER_LOADERS)


def load_recognizer(name: str = "dlib", path: str | Path | None = None) -> nn.Module:
    """A face recognizer in eval mode with frozen weights, mapping face chips to embeddings.

    ``path`` overrides where the weights are read from (default: the installed model). The module
    has ``input_size``, ``threshold`` and ``name`` attributes.

    >>> model = load_recognizer("dlib")
    >>> model.input_size, model.threshold
    (150, 0.6)
    """
    loader = _RECOGNIZER_LOADERS.get(name)
    if loader is None:
        raise ValueError(f"unknown recognizer {name!r}; known recognizers: {known_recognizers()}")
    return loader(path)
