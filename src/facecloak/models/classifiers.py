"""Closed-set identity classifiers: the networks :mod:`facecloak.classify` trains.

Three architectures, all mapping a normalised image batch to ``(N, num_classes)`` logits:

* :class:`SmallCNN` ("small-cnn"): Model A of *Adversarial Face De-Identification*
  (Chatzikyriakidis et al. 2019): conv 32 5x5 "same" + BN + ReLU + max-pool 2, conv 64 5x5 "same"
  + BN + ReLU + max-pool 2, FC 512 + BN + ReLU + dropout, FC ``num_classes`` (softmax lives in the
  loss; the paper's L2 1e-3 is the trainer's weight penalty).
* :class:`ResNet18` ("resnet18"): the ResNet-18 of He et al. (2016), written here (basic blocks,
  stages of 2-2-2-2, widths 64-512, 7x7/2 stem and 3x3/2 max-pool), trained from scratch.
* :class:`DlibClassifier` ("dlib-head"): dlib's frozen 128-D face descriptor network followed by a
  trainable :class:`DlibHead` (FC 256 + BN + ReLU + FC ``num_classes``): our Model B, which used
  the VGG-Face descriptor (not available offline).

Example::

    net = build_network("small-cnn", num_classes=30, image_size=64)
    logits = net(torch.randn(8, 3, 64, 64))  # (8, 30)
"""

from __future__ import annotations

import logging

import torch
from torch import Tensor, nn

logger = logging.getLogger(__name__)

ARCHITECTURES: tuple[str, ...] = ("small-cnn", "resnet18", "dlib-head")
"""Names :func:`build_network` accepts."""

DLIB_INPUT_SIZE = 150


class SmallCNN(nn.Module):
    """Model A: two 5x5 conv blocks and two fully connected layers.

    Args:
        num_classes: number of identities.
        image_size: input width and height; must be a multiple of 4 (two 2x2 max-pools).
        dropout: dropout probability after the 512-unit layer.
    """

    def __init__(self, num_classes: int, image_size: int = 64, dropout: float = 0.5) -> None:
        super().__init__()
        _check_classes(num_classes)
        if image_size < 4 or image_size % 4:
            raise ValueError(f"small-cnn needs an image size divisible by 4, got {image_size}")
        self.features = nn.Sequential(
            _conv_bn_relu(3, 32, kernel=5),
            nn.MaxPool2d(2),
            _conv_bn_relu(32, 64, kernel=5),
            nn.MaxPool2d(2),
        )
        flat = 64 * (image_size // 4) ** 2
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Linear(flat, 512, bias=False),
            nn.BatchNorm1d(512),
            nn.ReLU(inplace=True),
            nn.Dropout(dropout),
            nn.Linear(512, num_classes),
        )

    def forward(self, x: Tensor) -> Tensor:
        """``(N, 3, S, S)`` normalised images -> ``(N, num_classes)`` logits."""
        return self.classifier(self.features(x))


class BasicBlock(nn.Module):
    """ResNet basic block: two 3x3 convs with BN, plus an identity or 1x1 projection shortcut."""

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, 1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or in_channels != out_channels:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride, bias=False),
                nn.BatchNorm2d(out_channels),
            )

    def forward(self, x: Tensor) -> Tensor:
        out = torch.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return torch.relu(out + self.shortcut(x))


class ResNet18(nn.Module):
    """ResNet-18 for ``num_classes`` identities, any input size of at least 32 px.

    The last BN of every residual branch starts at zero, so each block starts as the identity
    (Goyal et al. 2017): a small gain when training from scratch on little data.
    """

    stage_widths: tuple[int, ...] = (64, 128, 256, 512)

    def __init__(self, num_classes: int) -> None:
        super().__init__()
        _check_classes(num_classes)
        self.stem = nn.Sequential(
            nn.Conv2d(3, 64, 7, stride=2, padding=3, bias=False),
            nn.BatchNorm2d(64),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(3, stride=2, padding=1),
        )
        stages, channels = [], 64
        for index, width in enumerate(self.stage_widths):
            stride = 1 if index == 0 else 2
            blocks = [BasicBlock(channels, width, stride), BasicBlock(width, width)]
            stages.append(nn.Sequential(*blocks))
            channels = width
        self.stages = nn.Sequential(*stages)
        self.fc = nn.Linear(channels, num_classes)
        self._initialise()

    def _initialise(self) -> None:
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
        for module in self.modules():
            if isinstance(module, BasicBlock):
                nn.init.zeros_(module.bn2.weight)

    def forward(self, x: Tensor) -> Tensor:
        """``(N, 3, S, S)`` normalised images -> ``(N, num_classes)`` logits."""
        features = self.stages(self.stem(x))
        return self.fc(features.mean(dim=(2, 3)))


class DlibHead(nn.Module):
    """The trainable part of Model B: FC 256 + BN + ReLU + FC ``num_classes`` on an embedding."""

    def __init__(self, num_classes: int, embedding_dim: int = 128, hidden: int = 256) -> None:
        super().__init__()
        _check_classes(num_classes)
        self.layers = nn.Sequential(
            nn.Linear(embedding_dim, hidden, bias=False),
            nn.BatchNorm1d(hidden),
            nn.ReLU(inplace=True),
            nn.Linear(hidden, num_classes),
        )

    def forward(self, embeddings: Tensor) -> Tensor:
        """``(N, embedding_dim)`` -> ``(N, num_classes)`` logits."""
        return self.layers(embeddings)


class DlibClassifier(nn.Module):
    """Frozen dlib ResNet (chips in [0, 1] -> 128-D) followed by a trainable :class:`DlibHead`.

    The backbone stays frozen and in eval mode whatever ``train()`` is called with; gradients
    still flow through it to the input, so attacks work end to end on pixels.

    Args:
        num_classes: number of identities.
        backbone: dlib's network; by default ``load_recognizer("dlib")``.
    """

    def __init__(self, num_classes: int, backbone: nn.Module | None = None) -> None:
        super().__init__()
        if backbone is None:
            from facecloak.models.recognizers import load_recognizer

            backbone = load_recognizer("dlib")
        self.backbone = backbone.requires_grad_(False).eval()
        self.head = DlibHead(num_classes)

    def train(self, mode: bool = True) -> DlibClassifier:
        super().train(mode)
        self.backbone.eval()
        return self

    def embed(self, chips: Tensor) -> Tensor:
        """dlib's descriptors of ``(N, 3, 150, 150)`` chips in [0, 1]."""
        return self.backbone(chips)

    def forward(self, chips: Tensor) -> Tensor:
        """``(N, 3, 150, 150)`` chips in [0, 1] -> ``(N, num_classes)`` logits."""
        return self.head(self.embed(chips))


def build_network(arch: str, num_classes: int, image_size: int) -> nn.Module:
    """A freshly initialised network of architecture ``arch`` (see :data:`ARCHITECTURES`).

    ``image_size`` is the input size the network gets (``dlib-head`` needs 150).
    """
    if arch == "small-cnn":
        return SmallCNN(num_classes, image_size)
    if arch == "resnet18":
        if image_size < 32:
            raise ValueError(f"resnet18 needs an image size of at least 32, got {image_size}")
        return ResNet18(num_classes)
    if arch == "dlib-head":
        if image_size != DLIB_INPUT_SIZE:
            raise ValueError(f"dlib-head takes {DLIB_INPUT_SIZE} px chips, got {image_size}")
        return DlibClassifier(num_classes)
    raise ValueError(f"unknown architecture {arch!r}; choose one of {', '.join(ARCHITECTURES)}")


def decayed_parameters(network: nn.Module) -> tuple[list[nn.Parameter], list[nn.Parameter]]:
    """Trainable parameters split into (conv/linear weights, everything else).

    Weight penalties (the L2 of Model A) apply to the first list only, not to biases or BN.
    """
    decay, no_decay = [], []
    for module in network.modules():
        for name, param in module.named_parameters(recurse=False):
            if not param.requires_grad:
                continue
            is_kernel = name == "weight" and isinstance(module, nn.Conv2d | nn.Linear)
            (decay if is_kernel else no_decay).append(param)
    return decay, no_decay


def _conv_bn_relu(in_channels: int, out_channels: int, kernel: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel, padding=kernel // 2, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
    )


def _check_classes(num_classes: int) -> None:
    if num_classes < 2:
        raise ValueError(f"a classifier needs at least 2 classes, got {num_classes}")
