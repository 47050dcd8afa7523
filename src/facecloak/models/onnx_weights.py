"""Weights from an ONNX graph into the same architecture rebuilt in torch, layer by layer.

The graph's Conv, ConvTranspose and BatchNormalization nodes are matched in order with the torch
model's layers; every attribute that changes the arithmetic is checked before a weight is copied.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import torch
from torch import Tensor, nn

if TYPE_CHECKING:
    import onnx


def copy_onnx_weights(
    graph: onnx.GraphProto, torch_layers: Sequence[nn.Module], model: str
) -> None:
    """Copy every Conv / ConvTranspose / BatchNormalization node's initializers of ``graph`` into
    ``torch_layers`` (the same layers, in the graph's node order), checking kernel, stride,
    padding, groups and shapes on the way. Call it under ``torch.no_grad()``.

    Raises:
        ValueError: the graph's layers do not match ``model``'s.
    """
    from onnx import helper, numpy_helper

    initializers = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    onnx_layers = [n for n in graph.node if n.op_type in _LOADERS]
    if len(onnx_layers) != len(torch_layers):
        raise ValueError(
            f"ONNX graph has {len(onnx_layers)} conv/deconv/batchnorm nodes, "
            f"{model} has {len(torch_layers)}: not the {model} model"
        )
    for node, layer in zip(onnx_layers, torch_layers, strict=True):
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        tensors = [torch.from_numpy(initializers[name].copy()) for name in node.input[1:]]
        _LOADERS[node.op_type](layer, tensors, attrs, node.name or node.output[0])


def _load_conv(layer: nn.Module, tensors: list[Tensor], attrs: dict, where: str) -> None:
    _load_convolution(layer, nn.Conv2d, tensors, attrs, where)


def _load_conv_transpose(layer: nn.Module, tensors: list[Tensor], attrs: dict, where: str) -> None:
    _load_convolution(layer, nn.ConvTranspose2d, tensors, attrs, where)


def _load_convolution(
    layer: nn.Module, expected_type: type, tensors: list[Tensor], attrs: dict, where: str
) -> None:
    if type(layer) is not expected_type:
        raise ValueError(f"{where}: ONNX node maps onto {type(layer).__name__}")
    _check_equal(where, "kernel", tuple(attrs["kernel_shape"]), layer.kernel_size)
    _check_equal(where, "stride", tuple(attrs.get("strides", (1, 1))), layer.stride)
    _check_equal(where, "dilation", tuple(attrs.get("dilations", (1, 1))), layer.dilation)
    _check_equal(where, "groups", attrs.get("group", 1), layer.groups)
    _check_equal(where, "padding", tuple(attrs.get("pads", (0, 0, 0, 0))), tuple(layer.padding) * 2)
    weight, *bias = tensors
    _check_equal(where, "weight shape", tuple(weight.shape), tuple(layer.weight.shape))
    _check_equal(where, "has bias", bool(bias), layer.bias is not None)
    layer.weight.copy_(weight)
    if bias:
        layer.bias.copy_(bias[0])


def _load_batch_norm(layer: nn.Module, tensors: list[Tensor], attrs: dict, where: str) -> None:
    if not isinstance(layer, nn.BatchNorm2d):
        raise ValueError(f"{where}: ONNX BatchNormalization maps onto {type(layer).__name__}")
    _check_equal(where, "epsilon", round(attrs.get("epsilon", 1e-5), 6), round(layer.eps, 6))
    weight, bias, mean, var = tensors
    _check_equal(where, "channels", tuple(weight.shape), (layer.num_features,))
    layer.weight.copy_(weight)
    layer.bias.copy_(bias)
    layer.running_mean.copy_(mean)
    layer.running_var.copy_(var)


def _check_equal(where: str, what: str, onnx_value: object, torch_value: object) -> None:
    if onnx_value != torch_value:
        raise ValueError(f"{where}: {what} is {onnx_value} in ONNX but {torch_value} in torch")


_LOADERS = {
    "Conv": _load_conv,
    "ConvTranspose": _load_conv_transpose,
    "BatchNormalization": _load_batch_norm,
}
