"""The settings ``benchmarks/transfer.py`` compares: the presets and the ablation's variants.

The ablation's variants are spelled out from two fixed bases (the ``mid`` and ``high`` presets
as they were before this benchmark chose new ones: plain RGB), so their numbers stay comparable
whatever the presets become.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from facecloak.protect import PRESETS, Strength

RGB_MID = Strength(
    "rgb-mid",
    eps=12 / 255,
    steps=35,
    step_size=1.5 / 255,
    ssim_floor=0.98,
    margin=0.3,
    attack="perceptual",
    coarse=True,
    eot="none",
    retries=1,
)
RGB_HIGH = replace(RGB_MID, name="rgb-high", eps=16 / 255, steps=40, ssim_floor=0.95, margin=0.5)
BASES = {"mid": RGB_MID, "high": RGB_HIGH}


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
    return TransferConfig(name, replace(BASES[base], name=name, **knobs), surrogates=surrogates)


CONFIGS: dict[str, TransferConfig] = {
    config.name: config
    for config in (
        TransferConfig("none", None),
        *(TransferConfig(name, preset) for name, preset in PRESETS.items()),
        TransferConfig("rgb-mid", RGB_MID),
        TransferConfig("rgb-high", RGB_HIGH),
        _variant("mid-dlib-only", surrogates=("dlib",)),
        _variant("high-dlib-only", "high", surrogates=("dlib",)),
        _variant("mid-sp3", min_spacing=3.0),
        _variant("high-sp3", "high", min_spacing=3.0),
        _variant("xhigh-sp3", "high", eps=24 / 255, ssim_floor=0.9, margin=1.0, min_spacing=3.0),
        _variant("mid-luma", chroma_share=0.0),
        _variant("high-luma", "high", chroma_share=0.0),
        _variant("high-chroma10", "high", chroma_share=0.1),
        _variant("high-chroma25", "high", chroma_share=0.25),
        _variant("xhigh", "high", eps=24 / 255, ssim_floor=0.9, margin=1.0),
        _variant("xhigh-luma", "high", eps=24 / 255, ssim_floor=0.9, margin=1.0, chroma_share=0.0),
        _variant(
            "xxhigh-luma", "high", eps=32 / 255, ssim_floor=0.85, margin=1.0, chroma_share=0.0
        ),
        _variant("x3-luma", "high", eps=48 / 255, ssim_floor=0.75, margin=1.0, chroma_share=0.0),
        _variant("x4-luma", "high", eps=64 / 255, ssim_floor=0.6, margin=1.0, chroma_share=0.0),
        *(
            TransferConfig(f"{name}-no-s2", replace(preset, name=f"{name}-no-s2", s2_floor=None))
            for name, preset in PRESETS.items()
        ),
        # The face's SSIMULACRA2 as the only visibility budget (no SSIM floor to speak of): how
        # much transfer small faces give at the target's quality bar (S2 >= 70).
        *(
            _variant(
                f"s2-e{eps}-m{margin:g}",
                "high",
                eps=eps / 255,
                ssim_floor=0.5,
                margin=margin,
                chroma_share=0.0,
                s2_floor=70.0,
            )
            for eps, margin in ((32, 1.0), (48, 1.0), (48, 2.0), (64, 2.0))
        ),
        # The default with the SSIMULACRA2 floor (70) as its only binding budget: twice the
        # L-inf budget, no SSIM floor to speak of, twice the margin. What the quality
        # bar alone would allow on the current optimiser (two surrogates drawn per step).
        TransferConfig(
            "mid-s2only",
            replace(PRESETS["mid"], name="mid-s2only", eps=32 / 255, ssim_floor=0.5, margin=1.0),
        ),
        # Away from the face and toward a decoy (protect.decoys): a public-domain sample face,
        # or the face replaced by the committed generator.
        *(
            TransferConfig(
                f"mid-pull{pull:g}{suffix}",
                replace(PRESETS["mid"], name=f"mid-pull{pull:g}{suffix}", pull=pull, decoy=decoy),
            )
            for pull in (0.5, 1.0, 2.0)
            for decoy, suffix in (("samples", ""), ("replaced", "-replaced"))
        ),
        # One recognizer per step on large faces, as `mid` does, for the strongest preset.
        TransferConfig(
            "high-large1", replace(PRESETS["high"], name="high-large1", large_face_members=1)
        ),
        # Every step cuts each recognizer's chip a little off (scale, rotation, shift).
        *(
            TransferConfig(
                f"mid-jitter{jitter:g}",
                replace(PRESETS["mid"], name=f"mid-jitter{jitter:g}", align_jitter=jitter / 100),
            )
            for jitter in (3, 6, 10)
        ),
        # The default pushed farther past each surrogate's threshold: its whole budget, not the
        # first step that crosses the margin.
        *(
            TransferConfig(
                f"mid-margin{margin:g}",
                replace(PRESETS["mid"], name=f"mid-margin{margin:g}", margin=margin),
            )
            for margin in (1.0, 2.0)
        ),
        # The soft minimum of the surrogates' ratios in place of their capped sum, at four
        # temperatures, two of them with twice the margin.
        *(
            TransferConfig(
                f"mid-softmin{temperature:g}{suffix}",
                replace(
                    PRESETS["mid"],
                    name=f"mid-softmin{temperature:g}{suffix}",
                    worst_case_temperature=temperature,
                    margin=margin,
                ),
            )
            for temperature, margin, suffix in (
                *((t, 0.5, "") for t in (0.01, 0.02, 0.05, 0.2)),
                (0.05, 1.0, "-margin1"),
                (0.2, 1.0, "-margin1"),
            )
        ),
        TransferConfig(
            "high-softmin0.05",
            replace(PRESETS["high"], name="high-softmin0.05", worst_case_temperature=0.05),
        ),
        # The same with the sum kept on large faces, as the default does.
        TransferConfig(
            "high-softmin",
            replace(
                PRESETS["high"],
                name="high-softmin",
                worst_case_temperature=0.05,
                large_face_sum=True,
            ),
        ),
        # Between the default's SSIM floor (0.95) and none (mid-s2only): the soft minimum moves
        # far more with SSIM unbound, but draws creases on smooth faces.
        *(
            TransferConfig(
                f"mid-ssim{floor:g}-e{eps}",
                replace(
                    PRESETS["mid"],
                    name=f"mid-ssim{floor:g}-e{eps}",
                    eps=eps / 255,
                    ssim_floor=floor,
                ),
            )
            for floor, eps in ((0.94, 24), (0.93, 24), (0.92, 24), (0.92, 32), (0.9, 24), (0.9, 32))
        ),
        # The default's SSIM floor on the face shrunk twice (creases count, fine texture
        # less), with more L-inf budget for what that lets through.
        *(
            TransferConfig(
                f"mid-shrink2-e{eps}",
                replace(PRESETS["mid"], name=f"mid-shrink2-e{eps}", eps=eps / 255, ssim_shrink=2.0),
            )
            for eps in (24, 32)
        ),
        _variant("mid-mixed", eot="mixed"),
        _variant("mid-m10", margin=1.0),
        # Each preset with every surrogate on every step (the presets draw two per step), and
        # the default with other counts drawn.
        *(
            TransferConfig(name, replace(PRESETS[preset], name=name, members_per_step=count))
            for preset, count in (
                ("low", None),
                ("mid", None),
                ("high", None),
                ("mid", 1),
                ("mid", 3),
            )
            for name in (f"{preset}-members{count or 'all'}",)
        ),
    )
}
