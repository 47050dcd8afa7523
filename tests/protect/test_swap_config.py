"""``ProtectConfig(method="swap", donors=...)``: checked when made; one obfuscation stage."""

from __future__ import annotations

import pytest

from facecloak.errors import InvalidOptionError
from facecloak.protect import ProtectConfig


def test_swap_is_one_obfuscation_stage(tmp_path):
    config = ProtectConfig(method="swap", donors=tmp_path)
    assert config.stages == ("obfuscation",)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"method": "swap"}, "method=swap needs donors"),
        ({"method": "blur", "donors": "."}, "donors apply to method=swap, not method=blur"),
        ({"method": "swap", "donors": "/nowhere/at/all"}, "is not a folder"),
        ({"method": "swap", "donors": ".", "against": "both"}, "use it with against=recognition"),
    ],
)
def test_bad_swap_settings_are_one_line(fields, message):
    with pytest.raises(InvalidOptionError, match=message) as caught:
        ProtectConfig(**fields)
    assert "\n" not in str(caught.value)
