"""The settings ``benchmarks/transfer.py`` compares: the presets and the ablation's variants."""

from __future__ import annotations

from dataclasses import dataclass, replace

from facecloak.protect import PRESETS, Strength


@dataclass(frozen=True)
class TransferConfig:
    """A named setting: a strength (``None``: the unprotected photo), EOT on or off, and the
    surrogates (``None``: every recognizer but the left-out one; else only these)."""

    name: str
    strength: Strength | None
    robust: bool = True
    surrogates: tuple[str, ...] | None = None


def _variant(
    name: str, base: str = "mid", surrogates: tuple[str, ...] | None = None, **knobs: object
) -> TransferConfig:
    return TransferConfig(name, replace(PRESETS[base], name=name, **knobs), surrogates=surrogates)


CONFIGS: dict[str, TransferConfig] = {
    config.name: config
    for config in (
        TransferConfig("none", None),
        *(TransferConfig(name, preset) for name, preset in PRESETS.items()),
        _variant("mid-dlib-only", surrogates=("dlib",)),
        _variant("mid-sp3", min_spacing=3.0),
        _variant("high-sp3", "high", min_spacing=3.0),
        _variant("high-sp3-luma", "high", min_spacing=3.0, chroma_share=0.0),
        _variant("high-luma", "high", chroma_share=0.0),
        _variant("high-chroma25", "high", chroma_share=0.25),
        _variant("xhigh", "high", eps=24 / 255, ssim_floor=0.9, margin=1.0),
        _variant("xhigh-sp3", "high", eps=24 / 255, ssim_floor=0.9, margin=1.0, min_spacing=3.0),
        _variant(
            "xhigh-sp3-luma",
            "high",
            eps=24 / 255,
            ssim_floor=0.9,
            margin=1.0,
            min_spacing=3.0,
            chroma_share=0.0,
        ),
        _variant("mid-luma", chroma_share=0.0),
        _variant("mid-chroma25", chroma_share=0.25),
        _variant("mid-tex", texture_floor=0.2),
        _variant("mid-m6", margin=0.6),
        _variant("mid-eps16", eps=16 / 255),
        _variant("mid-s60", steps=60),
        _variant("mid-jpeg", eot="jpeg"),
        _variant("mid-fine", coarse=False),
        _variant("mid-mixed", eot="mixed"),
        _variant("mid-m10", margin=1.0),
        _variant("mid-m10-mixed", margin=1.0, eot="mixed"),
        _variant("mid-m10-mixed-s60", margin=1.0, eot="mixed", steps=60),
    )
}
