"""dlib's primitive binary encodings (``dlib/serialize.h``), read from an in-memory buffer.

* **Compact integers**: a control byte whose low 4 bits say how many little-endian magnitude bytes
  follow and whose 0x80 bit marks a negative number (``01 02`` is 2, ``81 1c`` is -28).
* **Floats**: a mantissa (int64) then an exponent (int16), both compact integers; the value is
  ``mantissa * 2**exponent``.
* **Strings**: a compact length then the bytes; **bools**: the ASCII byte ``'1'`` or ``'0'``.
* **Tensors**: version 2, four compact dimensions, then little-endian float32 values.

Example:
    >>> reader = DlibReader(bytes([0x01, 0x02, 0x81, 0x1C]))
    >>> reader.read_int(), reader.read_int()
    (2, -28)
"""

from __future__ import annotations

import math

import numpy as np

from facecloak.errors import FacecloakError

# float_details marks non-finite values with these exponents (dlib/float_details.h).
_EXPONENT_INF = 32000
_EXPONENT_NEG_INF = 32001
_EXPONENT_NAN = 32002

_TENSOR_VERSION = 2
_ALIAS_TENSOR_VERSION = 1


class DlibFormatError(FacecloakError, ValueError):
    """A dlib model file does not hold what the reader expects at some byte offset."""


class DlibReader:
    """Sequential reader of dlib's primitive encodings over an in-memory byte buffer.

    ``source`` names the file in error messages.

    >>> DlibReader(b"\\x01\\x02\\x81\\x1c").read_int(), DlibReader(b"\\x81\\x1c").read_int()
    (2, -28)
    """

    def __init__(self, data: bytes, source: str = "<bytes>") -> None:
        self._data = memoryview(data)
        self._offset = 0
        self.source = source

    @property
    def offset(self) -> int:
        """Index of the next byte to read."""
        return self._offset

    @property
    def remaining(self) -> int:
        """How many bytes are left."""
        return len(self._data) - self._offset

    def error(self, message: str, offset: int | None = None) -> DlibFormatError:
        """An exception naming the source and byte offset, for the caller to raise."""
        at = self._offset if offset is None else offset
        return DlibFormatError(f"{self.source}: {message} (at byte {at})")

    def read_bytes(self, count: int) -> memoryview:
        """The next ``count`` bytes, without copying."""
        if count < 0 or count > self.remaining:
            raise self.error(f"wanted {count} bytes but only {self.remaining} are left")
        chunk = self._data[self._offset : self._offset + count]
        self._offset += count
        return chunk

    def peek_byte(self) -> int:
        """The next byte, without consuming it."""
        if self.remaining < 1:
            raise self.error("unexpected end of data")
        return self._data[self._offset]

    def peek_string(self) -> str | None:
        """The string ahead if the next bytes parse as one, else ``None``; consumes nothing."""
        saved = self._offset
        try:
            return self.read_string()
        except DlibFormatError:
            return None
        finally:
            self._offset = saved

    def read_int(self) -> int:
        """A compact integer (signed or unsigned: both share the encoding for valid values)."""
        start = self._offset
        control = self.read_bytes(1)[0]
        size = control & 0x0F
        if control & 0x70 or size == 0 or size > 8:
            raise self.error(f"invalid integer control byte 0x{control:02x}", start)
        magnitude = int.from_bytes(self.read_bytes(size), "little")
        return -magnitude if control & 0x80 else magnitude

    def read_bool(self) -> bool:
        """A bool, stored as the ASCII character ``'1'`` or ``'0'``."""
        start = self._offset
        value = self.read_bytes(1)[0]
        if value not in (ord("0"), ord("1")):
            raise self.error(f"expected a bool ('0' or '1') but found byte 0x{value:02x}", start)
        return value == ord("1")

    def read_float(self) -> float:
        """A float written as mantissa then exponent (dlib's ``float_details``)."""
        start = self._offset
        if self.peek_byte() & 0x70:
            raise self.error("found a float in dlib's old text format, which is not supported")
        mantissa = self.read_int()
        exponent = self.read_int()
        if not -(2**63) <= mantissa < 2**63 or not -(2**15) <= exponent < 2**15:
            raise self.error(f"float parts out of range: {mantissa} * 2^{exponent}", start)
        if exponent == _EXPONENT_INF:
            return math.inf
        if exponent == _EXPONENT_NEG_INF:
            return -math.inf
        if exponent == _EXPONENT_NAN:
            return math.nan
        try:
            return math.ldexp(mantissa, exponent)
        except OverflowError as exc:
            raise self.error(f"float {mantissa} * 2^{exponent} overflows", start) from exc

    def read_float32(self) -> float:
        """A float that dlib keeps as a C++ ``float``, as the shortest decimal naming that float32.

        Gives 0.6 rather than 0.6000000238418579 for the threshold stored as float32(0.6).
        """
        value = self.read_float()
        if not math.isfinite(value):
            return value
        return float(np.format_float_positional(np.float32(value), unique=True, trim="-"))

    def read_string(self) -> str:
        """A string: compact length then the bytes (decoded as UTF-8, as dlib writes ASCII)."""
        start = self._offset
        length = self.read_int()
        if length < 0:
            raise self.error(f"negative string length {length}", start)
        raw = bytes(self.read_bytes(length))
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise self.error(f"string of {length} bytes is not text", start) from exc

    def expect_version(self, allowed: tuple[int, ...], what: str) -> int:
        """Read an integer version and check it is one of ``allowed``."""
        start = self._offset
        version = self.read_int()
        if version not in allowed:
            raise self.error(f"{what} has version {version}, expected one of {allowed}", start)
        return version

    def read_tensor(self) -> np.ndarray:
        """A ``resizable_tensor``: an array of shape ``(num_samples, k, nr, nc)``, float32."""
        self.expect_version((_TENSOR_VERSION,), "tensor")
        shape = self._read_dims("tensor")
        count = math.prod(shape)
        raw = self.read_bytes(4 * count)
        # astype copies, so the array owns its memory instead of pinning the whole file buffer
        values = np.frombuffer(raw, dtype="<f4").astype(np.float32).reshape(shape)
        values.flags.writeable = False  # parsed networks may be cached and shared
        return values

    def skip_tensor(self) -> tuple[int, int, int, int]:
        """Step over a tensor (e.g. a saved gradient) and return its shape."""
        self.expect_version((_TENSOR_VERSION,), "tensor")
        shape = self._read_dims("tensor")
        self.read_bytes(4 * math.prod(shape))
        return shape

    def read_alias_tensor(self) -> tuple[int, int, int, int]:
        """An ``alias_tensor``: only a shape, a view into a layer's flat parameter tensor."""
        self.expect_version((_ALIAS_TENSOR_VERSION,), "alias tensor")
        return self._read_dims("alias tensor")

    def _read_dims(self, what: str) -> tuple[int, int, int, int]:
        start = self._offset
        dims = (self.read_int(), self.read_int(), self.read_int(), self.read_int())
        if any(d < 0 for d in dims):
            raise self.error(f"{what} has negative dimensions {dims}", start)
        return dims
