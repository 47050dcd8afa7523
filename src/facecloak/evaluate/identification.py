"""Closed-set identification: does the nearest gallery face carry the probe's identity?

Example:
    >>> import torch
    >>> gallery = torch.tensor([[0.0, 0.0], [1.0, 0.0]])
    >>> rank1_hits(torch.tensor([[0.1, 0.0], [0.2, 0.0]]), ["a", "b"], gallery, ["a", "b"])
    [True, False]
"""

from __future__ import annotations

from collections.abc import Sequence

import torch


def nearest_identities(
    probes: torch.Tensor, gallery: torch.Tensor, gallery_identities: Sequence[str]
) -> tuple[list[str], torch.Tensor]:
    """For each probe ``(P, D)``, the identity of the closest gallery embedding ``(G, D)``
    (Euclidean) and that distance."""
    if gallery.shape[0] != len(gallery_identities):
        raise ValueError("one identity per gallery embedding is needed")
    if gallery.shape[0] == 0:
        raise ValueError("the gallery is empty")
    distances = torch.cdist(probes.to(gallery.dtype), gallery)
    closest, index = distances.min(dim=1)
    return [gallery_identities[int(i)] for i in index], closest


def rank1_hits(
    probes: torch.Tensor,
    probe_identities: Sequence[str],
    gallery: torch.Tensor,
    gallery_identities: Sequence[str],
) -> list[bool]:
    """Whether each probe's nearest gallery face is the same identity (a recognizer's hit)."""
    predicted, _ = nearest_identities(probes, gallery, gallery_identities)
    return [guess == truth for guess, truth in zip(predicted, probe_identities, strict=True)]


def miss_rate(hits: Sequence[bool]) -> float:
    """Share of probes the recognizer failed to identify: the protection success rate."""
    return 1.0 - sum(hits) / len(hits) if hits else 0.0
