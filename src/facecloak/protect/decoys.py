"""Decoys: another person a cloak may pull a face toward (``Strength.pull``).

Moving a face away from itself lets each recognizer pick its own way out, and a recognizer the
cloak never saw need not follow. Moving it toward one other person gives every recognizer the
same destination (as Fawkes does with its target identities). Two kinds (``Strength.decoy``):

- ``samples``: the two bundled public-domain faces (the astronaut, Grace Hopper); a face goes
  toward whichever is farther from it across the ensemble, so nobody is pulled toward their own
  look-alike;
- ``replaced``: the face itself replaced by the committed generator (same pose, light and
  framing, a new identity): only what makes the person who they are has to move.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache

import torch
from torch import Tensor

from facecloak.faces import Face
from facecloak.models.recognizer import Recognizer


@cache
def _decoy_photos() -> tuple:
    from facecloak.data import astronaut, grace_hopper
    from facecloak.models import detect, largest_face

    return tuple((rgb, largest_face(detect(rgb))) for rgb in (astronaut(), grace_hopper()))


@cache
def _decoy_embeddings(recognizer: Recognizer) -> tuple[Tensor, ...]:
    from facecloak.recognition import embed_with_fresh_landmarks

    return tuple(embed_with_fresh_landmarks(rgb, face, recognizer) for rgb, face in _decoy_photos())


def decoy_embeddings(
    kind: str, recognizers: Sequence[Recognizer], clean: Sequence[Tensor], image, face: Face
) -> list[Tensor]:
    """Each recognizer's embedding of the person a cloak pulls ``face`` toward: ``kind`` is
    ``samples`` (:func:`farthest_decoy`, from ``clean``, the face's own embeddings) or
    ``replaced`` (:func:`replaced_decoy`, from ``image``)."""
    if kind == "replaced":
        return replaced_decoy(recognizers, image, face)
    return farthest_decoy(recognizers, clean)


def farthest_decoy(recognizers: Sequence[Recognizer], clean: Sequence[Tensor]) -> list[Tensor]:
    """Each recognizer's embedding of the decoy farthest from ``clean`` (each recognizer's
    embedding of the face), summed over the recognizers in threshold units."""
    per_decoy = list(zip(*(_decoy_embeddings(r) for r in recognizers), strict=True))

    def distance(decoy: tuple[Tensor, ...]) -> float:
        return sum(
            float(r.distance(d.to(c.dtype), c).mean()) / float(r.threshold)
            for r, d, c in zip(recognizers, decoy, clean, strict=True)
        )

    with torch.no_grad():
        best = max(per_decoy, key=distance)
    return list(best)


def replaced_decoy(recognizers: Sequence[Recognizer], image, face: Face) -> list[Tensor]:
    """Each recognizer's embedding of ``face`` in ``image`` replaced by the committed generator
    (the draw the first recognizer finds farthest from the face)."""
    from facecloak.obfuscate.replace import ReplaceSettings, replace_faces
    from facecloak.recognition import embed_with_fresh_landmarks
    from facecloak.replace.checkpoint import shared_generator

    generator = shared_generator()
    replaced = replace_faces(image, [face], generator, ReplaceSettings(), judge=recognizers[0])
    return [embed_with_fresh_landmarks(replaced, face, r) for r in recognizers]
