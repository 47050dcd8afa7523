"""Which recognizer should pick among `replace`'s draws: does choosing the new face by more
recognizers, or by the judge itself, lift the one recognizer replace alone leaves short of its
target (adi_faceid)?

`protect --method replace` draws 8 new faces and keeps the one dlib finds farthest from the
original. Here the same draws are picked by: ``dlib`` (the default); ``four``: the draw whose
nearest recognizer, in threshold units, is farthest, over every recognizer but adi_faceid (so
adi_faceid's column is still a transfer figure); ``adi_faceid``: the judge itself picks (an upper
bound for picking, not evidence of protection). Each set is judged as in
``benchmarks/replacement.py`` (no match against the person's other photos, fresh landmarks on
the changed photo), with a stranger's real photo as the ceiling.

    python benchmarks/replacement_pick.py [--pickers dlib,four,adi_faceid]
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

import numpy as np
import torch

from _report import machine_line, markdown_table, require_shared_faces, save_json, write_section
from facecloak.evaluate.replacement import assess, build_gallery, summarise
from facecloak.faces import Face
from facecloak.models import centre_face, largest_face, load_recognizer
from facecloak.models.recognizer import Recognizer
from facecloak.obfuscate.replace import replace_faces
from facecloak.protect import ProtectConfig
from facecloak.protect.stages import replace_settings
from facecloak.replace.checkpoint import shared_generator
from replacement import ANOTHER, clean_faces, held_out_subjects, reference_rates, subjects

JUDGED = ("dlib", "mobilefacenet", "intel_reid0095", "intel_reid0001", "adi_faceid")
PICKERS = {"dlib": ("dlib",), "four": JUDGED[:4], "adi_faceid": ("adi_faceid",)}


class NearestOf:
    """A picker over several recognizers: a draw's distance is its nearest recognizer's, in
    units of that recognizer's threshold (what ``replace`` reads from its judge)."""

    def __init__(self, recognizers: list[Recognizer]) -> None:
        self.recognizers = recognizers

    def embed(self, rgb: np.ndarray, faces: Sequence[Face]) -> list[torch.Tensor]:
        return [r.embed(rgb, faces) for r in self.recognizers]

    def distance(self, before: list[torch.Tensor], after: list[torch.Tensor]) -> torch.Tensor:
        ratios = [
            r.distance(a, b) / r.threshold
            for r, a, b in zip(self.recognizers, before, after, strict=True)
        ]
        return torch.stack(ratios).min(0).values


def run_set(
    faces: dict, pickers: dict[str, Recognizer | NearestOf], recognizers: list[Recognizer]
) -> dict[str, dict]:
    """Each picker's replacement of the first photo of each identity, judged by every one."""
    config = ProtectConfig(method="replace")
    settings = replace_settings(config)
    loaded = shared_generator(config.replacer)
    galleries = [build_gallery(r, {k: v[1:] for k, v in faces.items()}) for r in recognizers]
    results = {ANOTHER: reference_rates(faces, galleries)[ANOTHER]}
    for name, picker in pickers.items():
        assessments = []
        for identity, photos in faces.items():
            rgb, face = photos[0]
            changed = replace_faces(rgb, [face], loaded, settings, judge=picker)
            assessments.append(assess(rgb, changed, face, identity, galleries))
        results[name] = summarise(assessments, [])
        print(name, results[name]["no_match"], flush=True)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pickers", default=",".join(PICKERS), help="of " + ", ".join(PICKERS))
    args = parser.parse_args()
    recognizers = {name: load_recognizer(name) for name in JUDGED}
    pickers = {}
    for name in args.pickers.split(","):
        members = [recognizers[n] for n in PICKERS[name]]
        pickers[name] = members[0] if len(members) == 1 else NearestOf(members)
    faces_dir = require_shared_faces()
    lfw = subjects(faces_dir / "lfw", 100)
    held = {k: v for k, v in held_out_subjects(faces_dir).items() if k not in lfw}
    sets = {
        "LFW, held out of training": clean_faces(
            held, lambda found, rgb: centre_face(found, rgb.shape[1], rgb.shape[0])
        ),
        "deepface": clean_faces(
            subjects(faces_dir / "deepface", None), lambda found, rgb: largest_face(found)
        ),
    }
    results = {
        name: run_set(faces, pickers, list(recognizers.values())) for name, faces in sets.items()
    }
    save_json("replacement_pick", {"results": results, "machine": machine_line()})
    rows = [
        [set_name, label, rates["photos"], *(f"{rates['no_match'][n]:.0%}" for n in JUDGED)]
        for set_name, by_label in results.items()
        for label, rates in by_label.items()
    ]
    table = markdown_table(["set", "picked by", "photos", *(f"{n} no match" for n in JUDGED)], rows)
    write_section(
        "replacement-pick",
        "## Replacement: which recognizer picks among the draws\n\n"
        f"`python benchmarks/replacement_pick.py --pickers {args.pickers}` ({machine_line()}): "
        "`replace` with its defaults (8 draws), the draw kept by each picker; *four*: the draw "
        "whose nearest recognizer (in threshold units) is farthest, over every recognizer but "
        "adi_faceid; *adi_faceid*: the judge itself picks (an upper bound, not evidence). "
        f"*{ANOTHER}*: a stranger's real photo in the person's place.\n\n{table}",
    )
    print(table)


if __name__ == "__main__":
    main()
