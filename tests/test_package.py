from __future__ import annotations

import pytest

import facecloak
import facecloak.protect


def test_top_level_api_loads_lazily() -> None:
    recognizer = facecloak.load_recognizer("dlib")
    assert recognizer.chip_size == (150, 150) and recognizer.threshold == pytest.approx(0.6)
    assert callable(facecloak.detect) and callable(facecloak.load_image)
    assert callable(facecloak.protect.protect)
    with pytest.raises(AttributeError):
        _ = facecloak.not_a_thing


def test_unknown_recognizer_lists_the_known_ones() -> None:
    with pytest.raises(ValueError, match="dlib"):
        facecloak.load_recognizer("vggface")


def test_the_protect_package_is_callable(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple] = []
    monkeypatch.setattr(facecloak.protect, "protect", lambda *a, **k: calls.append((a, k)) or "r")
    assert facecloak.protect("photo.jpg", None, detected=[]) == "r"
    assert calls == [(("photo.jpg", None), {"detected": []})]
    from facecloak.protect.config import ProtectConfig  # submodule imports still work

    assert ProtectConfig is facecloak.protect.ProtectConfig
