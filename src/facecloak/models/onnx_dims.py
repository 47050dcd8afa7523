"""Rename the fixed dimensions of an ONNX file's inputs and outputs into free ones, without the
``onnx`` package (whose import takes longer than running CenterFace on a dozen frames).

The file is read with a schema of only the messages on the way to a dimension (``ModelProto.graph
-> GraphProto.input/output -> ValueInfoProto.type -> TypeProto.tensor_type -> shape -> dim``, field
numbers from ``onnx.proto``); protobuf keeps every other field as it was read and writes it back
unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cache

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

_PACKAGE = "facecloak_onnx_dims"
_Field = descriptor_pb2.FieldDescriptorProto
# (message, ((field, number, type, repeated, message type or ""), ...)), from onnx.proto
_SCHEMA = (
    ("Model", (("graph", 7, _Field.TYPE_MESSAGE, False, "Graph"),)),
    (
        "Graph",
        (
            ("input", 11, _Field.TYPE_MESSAGE, True, "ValueInfo"),
            ("output", 12, _Field.TYPE_MESSAGE, True, "ValueInfo"),
        ),
    ),
    (
        "ValueInfo",
        (
            ("name", 1, _Field.TYPE_STRING, False, ""),
            ("type", 2, _Field.TYPE_MESSAGE, False, "Type"),
        ),
    ),
    ("Type", (("tensor_type", 1, _Field.TYPE_MESSAGE, False, "Tensor"),)),
    ("Tensor", (("shape", 2, _Field.TYPE_MESSAGE, False, "Shape"),)),
    ("Shape", (("dim", 1, _Field.TYPE_MESSAGE, True, "Dim"),)),
    (
        "Dim",
        (
            ("dim_value", 1, _Field.TYPE_INT64, False, ""),
            ("dim_param", 2, _Field.TYPE_STRING, False, ""),
        ),
    ),
)


def with_free_dims(model: bytes, dims: Mapping[str, Sequence[int | str]]) -> bytes:
    """``model`` (a serialized ONNX file) with the shapes of the inputs and outputs named in
    ``dims`` replaced: an int is a fixed size, a string a free (symbolic) one.

    Raises:
        KeyError: a name in ``dims`` is no input or output of the graph.
    """
    parsed = _model_class()()
    parsed.ParseFromString(model)
    values = {value.name: value for value in [*parsed.graph.input, *parsed.graph.output]}
    for name, shape in dims.items():
        tensor_shape = values[name].type.tensor_type.shape
        tensor_shape.ClearField("dim")
        for size in shape:
            dim = tensor_shape.dim.add()
            if isinstance(size, str):
                dim.dim_param = size
            else:
                dim.dim_value = size
    return parsed.SerializeToString()


@cache
def _model_class() -> type:
    schema = descriptor_pb2.FileDescriptorProto(
        name=f"{_PACKAGE}.proto", package=_PACKAGE, syntax="proto2"
    )
    for message_name, fields in _SCHEMA:
        message = schema.message_type.add(name=message_name)
        for name, number, kind, repeated, type_name in fields:
            field = message.field.add(name=name, number=number, type=kind)
            field.label = _Field.LABEL_REPEATED if repeated else _Field.LABEL_OPTIONAL
            if type_name:
                field.type_name = f".{_PACKAGE}.{type_name}"
    pool = descriptor_pool.DescriptorPool()
    pool.Add(schema)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName(f"{_PACKAGE}.Model"))
