"""Probe: how visible is a cloak on one large photo, and do the attacked recognizers still match?

Every usable recognizer is attacked (white-box: a lower bound of effort, not evidence of
protection); each variant of a preset prints the face's SSIMULACRA2 and SSIM and each
recognizer's distance in units of its threshold (above 1: no match). The variants are the
visibility budgets tried in session 5 (``transfer-s2-deepface`` in BENCHMARKS.md); the photo
comes from your disk (real photos are never written by this script).

    python benchmarks/visibility_probe.py PHOTO [--variants mid,mid-view,...] [--threads 2]
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace

import torch

from facecloak.images import load_image
from facecloak.models import detect, largest_face
from facecloak.protect import PRESETS, ProtectConfig, protect

VARIANTS: dict[str, tuple[str, dict]] = {
    "mid": ("mid", {}),
    "mid-no-s2": ("mid", {"s2_floor": None}),
    "mid-no-s2-view": ("mid", {"s2_floor": None, "ssim_at_view": True}),
    "mid-no-s2-texture": ("mid", {"s2_floor": None, "texture_floor": 0.15}),
    "mid-no-s2-ssim99": ("mid", {"s2_floor": None, "ssim_floor": 0.99}),
    "mid-no-s2-ssim995": ("mid", {"s2_floor": None, "ssim_floor": 0.995}),
    "high": ("high", {}),
    "high-s70-x2": ("high", {"s2_floor": 70.0, "eps": 64 / 255, "steps": 80, "ssim_floor": 0.9}),
    "high-s70-x2-fine": (
        "high",
        {"s2_floor": 70.0, "eps": 64 / 255, "steps": 80, "ssim_floor": 0.9, "coarse": False},
    ),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("photo")
    parser.add_argument("--variants", default=",".join(VARIANTS), help=", ".join(VARIANTS))
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    rgb = load_image(args.photo)
    face = largest_face(detect(rgb))
    print(f"{args.photo}: {rgb.shape[1]}x{rgb.shape[0]}, face box {[round(v) for v in face.box]}")
    for name in args.variants.split(","):
        preset, knobs = VARIANTS[name]
        strength = replace(PRESETS[preset], name=name, **knobs)
        started = time.perf_counter()
        result = protect(rgb, ProtectConfig(strength=strength, robust=False), detected=[face])
        outcome = result.outcomes[0]
        ratios = {v.recognizer: round(v.distance / v.threshold, 2) for v in outcome.verdicts}
        print(
            f"{name}: SSIMULACRA2 {outcome.ssimulacra2:.1f}, SSIM {outcome.ssim:.4f}, "
            f"{time.perf_counter() - started:.0f} s, distance / threshold {ratios}",
            flush=True,
        )


if __name__ == "__main__":
    main()
