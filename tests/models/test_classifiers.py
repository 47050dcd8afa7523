"""The classifier architectures: shapes, Model A's layout, the frozen dlib backbone."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from facecloak.models.classifiers import (
    DlibClassifier,
    DlibHead,
    ResNet18,
    SmallCNN,
    build_network,
    decayed_parameters,
)


@pytest.fixture(autouse=True)
def single_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_small_cnn_is_model_a() -> None:
    net = SmallCNN(30, image_size=64).eval()
    convs = [m for m in net.modules() if isinstance(m, nn.Conv2d)]
    assert [(c.out_channels, c.kernel_size, c.padding) for c in convs] == [
        (32, (5, 5), (2, 2)),
        (64, (5, 5), (2, 2)),
    ]
    linears = [m for m in net.modules() if isinstance(m, nn.Linear)]
    assert [(lin.in_features, lin.out_features) for lin in linears] == [
        (64 * 16 * 16, 512),
        (512, 30),
    ]
    assert sum(isinstance(m, nn.Dropout) for m in net.modules()) == 1
    assert sum(isinstance(m, nn.BatchNorm2d | nn.BatchNorm1d) for m in net.modules()) == 3
    assert net(torch.randn(2, 3, 64, 64)).shape == (2, 30)


@pytest.mark.parametrize("size", [32, 64, 80])
def test_resnet18_takes_any_size(size: int) -> None:
    net = ResNet18(7).eval()
    assert net(torch.randn(2, 3, size, size)).shape == (2, 7)
    blocks = sum(1 for m in net.modules() if m.__class__.__name__ == "BasicBlock")
    convs = sum(1 for m in net.modules() if isinstance(m, nn.Conv2d) and m.kernel_size != (1, 1))
    assert blocks == 8 and convs == 17  # 16 block convs + the stem: 17 conv + 1 fc = 18 layers


def test_dlib_head_layers() -> None:
    head = DlibHead(5).eval()
    assert head(torch.randn(3, 128)).shape == (3, 5)
    assert [m.out_features for m in head.modules() if isinstance(m, nn.Linear)] == [256, 5]


def test_dlib_classifier_keeps_its_backbone_frozen() -> None:
    net = DlibClassifier(4).train()
    assert not net.backbone.training and net.head.training
    assert not any(p.requires_grad for p in net.backbone.parameters())
    chips = torch.rand(2, 3, 150, 150, requires_grad=True)
    net.eval()(chips).sum().backward()
    assert chips.grad is not None


def test_build_network_checks_its_arguments() -> None:
    assert isinstance(build_network("small-cnn", 3, 32), SmallCNN)
    with pytest.raises(ValueError, match="divisible by 4"):
        build_network("small-cnn", 3, 30)
    with pytest.raises(ValueError, match="150"):
        build_network("dlib-head", 3, 64)
    with pytest.raises(ValueError, match="unknown architecture"):
        build_network("vgg", 3, 64)
    with pytest.raises(ValueError, match="at least 2 classes"):
        build_network("resnet18", 1, 64)


def test_weight_penalty_applies_to_kernels_only() -> None:
    decay, no_decay = decayed_parameters(SmallCNN(3, 32))
    assert len(decay) == 4  # two conv and two linear weights
    assert all(p.ndim == 1 for p in no_decay)  # biases and BN
