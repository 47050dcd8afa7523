"""What an attack optimises: per-sample losses to minimise and per-sample success flags.

An objective turns a model's output into an :class:`ObjectiveResult`: a ``(n,)`` loss that the
attack drives down and a ``(n,)`` boolean success flag that early stopping reads. Objectives are
called as ``objective(output, clean_output, index)``:

- ``output``: the model's output for the ``n`` samples being evaluated. A tensor whose first
  dimension is the sample, or a list/tuple/dict of such tensors (intermediate features).
- ``clean_output``: the model's output on the same samples before any perturbation (detached),
  or ``None`` for objectives whose :attr:`Objective.uses_clean_output` is ``False``.
- ``index``: which samples of the attacked batch these ``n`` rows are (``None``: all of them, in
  order). Objectives use it to pick the rows of per-sample data given at construction (labels,
  per-sample reference embeddings).

Embeddings are ``(n, D)``, or ``(n, F, D)`` for ``F`` faces per sample (one photo holding several
faces): the loss is then averaged over faces and a sample succeeds only when all its faces do.

Feature space: a model may return a list/tuple/dict of features. Embedding objectives read the
embedding for success and distances from ``embedding_key`` (default: the tensor itself, the last
entry of a list/tuple, or ``"embedding"`` of a dict) and, with ``feature_weights``, add a weighted
RMS distance per named feature to the loss (the embedding term keeps weight 1 unless
``feature_weights`` names it, so ``{"conv3": 1.0}`` alone is a pure feature-space loss whose
success is still judged on the embedding).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import torch
from torch import Tensor

OutputKey = int | str
"""Index of a list/tuple output or key of a dict output."""

_DISTANCE_FLOOR = 1e-12  # keeps sqrt differentiable where two embeddings coincide


@dataclass(frozen=True)
class ObjectiveResult:
    """Per-sample outcome of one evaluation.

    Attributes:
        loss: ``(n,)`` float, lower is better for the attacker.
        success: ``(n,)`` bool, the attack's goal is met for that sample.
    """

    loss: Tensor
    success: Tensor


class Objective(ABC):
    """Maps model outputs to per-sample losses (to minimise) and success flags.

    Subclasses set :attr:`uses_clean_output` when they need the model's output on the unperturbed
    input (the attack then computes it once), and :attr:`stationary_at_clean` when their loss has
    a zero gradient at the unperturbed input (pushing away from the clean embedding: the attack
    then starts from a tiny random jitter instead of the exact input).

    Example::

        class MeanOutput(Objective):
            def __call__(self, output, clean_output=None, index=None):
                loss = output.flatten(1).mean(1)
                return ObjectiveResult(loss=loss, success=loss < 0)
    """

    uses_clean_output: ClassVar[bool] = False
    stationary_at_clean: ClassVar[bool] = False

    @property
    def goal(self) -> float | None:
        """The loss at or below which a sample succeeds, where one such value exists (``None``:
        success is not a loss level). Attacks that cap the loss at the goal read it."""
        return None

    @abstractmethod
    def __call__(
        self, output: Any, clean_output: Any = None, index: Tensor | None = None
    ) -> ObjectiveResult:
        """Evaluate ``output`` (rows ``index`` of the attacked batch, ``None``: all)."""


# --------------------------------------------------------------------------- output helpers


def select_output(output: Any, key: OutputKey | None) -> Tensor:
    """The tensor at ``key`` of a model output (``None``: the embedding by convention).

    ``None`` means the output itself when it is a tensor, the last entry of a list/tuple and
    ``"embedding"`` of a dict.
    """
    if isinstance(output, Tensor):
        if key is not None:
            raise TypeError(f"output key {key!r} given but the model returned a single tensor")
        return output
    if isinstance(output, Mapping):
        return output["embedding" if key is None else key]
    if isinstance(output, Sequence):
        return output[-1 if key is None else key]
    raise TypeError(f"cannot read a tensor out of a model output of type {type(output).__name__}")


def canonical_key(output: Any, key: OutputKey | None) -> OutputKey | None:
    """``key`` in a form that compares equal however it was written (``-1`` and ``len - 1``)."""
    if isinstance(output, Tensor):
        return None
    if isinstance(output, Mapping):
        return "embedding" if key is None else key
    length = len(output)
    index = -1 if key is None else int(key)
    return index % length


def index_output(output: Any, index: Tensor | None) -> Any:
    """Rows ``index`` of every tensor in a (possibly nested) model output."""
    if index is None or output is None:
        return output
    if isinstance(output, Tensor):
        return output[index]
    if isinstance(output, Mapping):
        return {k: index_output(v, index) for k, v in output.items()}
    if isinstance(output, tuple | list):
        return type(output)(index_output(v, index) for v in output)
    return output


def detach_output(output: Any) -> Any:
    """A copy of a (possibly nested) model output cut from the autograd graph."""
    if isinstance(output, Tensor):
        return output.detach()
    if isinstance(output, Mapping):
        return {k: detach_output(v) for k, v in output.items()}
    if isinstance(output, tuple | list):
        return type(output)(detach_output(v) for v in output)
    return output


# --------------------------------------------------------------------------- distances


def euclidean_distance(a: Tensor, b: Tensor) -> Tensor:
    """Euclidean distance along the last dimension, with a finite gradient where ``a == b``."""
    return ((a - b).square().sum(-1) + _DISTANCE_FLOOR).sqrt()


def rms_distance(a: Tensor, b: Tensor) -> Tensor:
    """Per-sample root-mean-square difference, comparable across layers of different sizes."""
    diff = (a - b).flatten(1) if a.ndim > 1 else (a - b).unsqueeze(1)
    return (diff.square().mean(1) + _DISTANCE_FLOOR).sqrt()


def _per_sample_mean(values: Tensor) -> Tensor:
    """``(n, ...)`` -> ``(n,)``: mean over faces (or identity for ``(n,)``)."""
    return values.reshape(values.shape[0], -1).mean(1)


def _per_sample_all(flags: Tensor) -> Tensor:
    return flags.reshape(flags.shape[0], -1).all(1)


def _reference_rows(references: Tensor, embedding: Tensor, index: Tensor | None) -> Tensor:
    """References laid out as ``embedding.shape[:-1] + (K, D)``.

    References with one more dimension than the embedding are per sample and are indexed by
    ``index``; fewer dimensions broadcast to every sample (``(K, D)``: shared by the batch).
    """
    refs = references.to(device=embedding.device, dtype=embedding.dtype)
    if refs.ndim == embedding.ndim + 1 and index is not None:
        refs = refs[index]
    return refs.expand(*embedding.shape[:-1], *refs.shape[-2:])


def _as_reference_set(embeddings: Tensor) -> Tensor:
    """A single ``(D,)`` embedding becomes a set of one, ``(1, D)``."""
    return embeddings.unsqueeze(0) if embeddings.ndim == 1 else embeddings


# --------------------------------------------------------------------------- embedding objectives


class _EmbeddingObjective(Objective):
    """Shared handling of thresholds and feature-space terms."""

    def __init__(
        self,
        threshold: float,
        margin: float,
        feature_weights: Mapping[OutputKey, float] | None,
        embedding_key: OutputKey | None,
    ) -> None:
        if threshold <= 0:
            raise ValueError(f"threshold must be positive, got {threshold}")
        self.threshold = float(threshold)
        self.margin = float(margin)
        self.feature_weights = dict(feature_weights) if feature_weights else None
        self.embedding_key = embedding_key

    def _embedding_weight(self, output: Any) -> float:
        if self.feature_weights is None:
            return 1.0
        wanted = canonical_key(output, self.embedding_key)
        for key, weight in self.feature_weights.items():
            if canonical_key(output, key) == wanted:
                return float(weight)
        return 0.0

    def _feature_terms(self, output: Any) -> list[tuple[OutputKey, float]]:
        """``(key, weight)`` of every non-embedding feature in the loss."""
        if self.feature_weights is None:
            return []
        if isinstance(output, Tensor):
            raise TypeError(
                "feature_weights need a model that returns a list/tuple/dict of features, "
                "but it returned a single tensor"
            )
        embedding = canonical_key(output, self.embedding_key)
        return [
            (key, float(weight))
            for key, weight in self.feature_weights.items()
            if canonical_key(output, key) != embedding
        ]


class EmbeddingUntargeted(_EmbeddingObjective):
    """Push embeddings away from the clean embedding and other embeddings of the same person.

    Loss: minus the Euclidean distance to the nearest reference (the clean embedding of the
    sample, plus ``references`` when given), averaged over faces. Success: every distance is at
    least ``threshold + margin``.

    Args:
        threshold: the recognizer's match threshold (dlib: 0.6).
        margin: extra distance beyond the threshold before a sample counts as protected.
        references: other embeddings of the same person: ``(K, D)`` shared by the batch, or
            ``(N, K, D)`` per sample (``(N, F, K, D)`` for ``F`` faces per sample).
        feature_weights: loss weight per feature key, for models returning several features.
        embedding_key: where the embedding is in a list/tuple/dict output.
        anchor: the clean embedding to push away from, ``(D,)`` or one row per sample, instead
            of the model's output on the clean input: for models whose forward is random
            (expectation over transformations inside the model). Not with ``feature_weights``.

    Example::

        objective = EmbeddingUntargeted(threshold=0.6, margin=0.1, references=other_photos_emb)
        x_adv = PGD(recognizer, objective, eps=4 / 255)(chips)
    """

    uses_clean_output = True
    stationary_at_clean = True

    def __init__(
        self,
        threshold: float = 0.6,
        margin: float = 0.0,
        references: Tensor | None = None,
        feature_weights: Mapping[OutputKey, float] | None = None,
        embedding_key: OutputKey | None = None,
        anchor: Tensor | None = None,
    ) -> None:
        super().__init__(threshold, margin, feature_weights, embedding_key)
        if anchor is not None and feature_weights:
            raise ValueError("anchor replaces the clean output and cannot carry feature terms")
        self.references = None if references is None else _as_reference_set(references.detach())
        self.anchor = None if anchor is None else anchor.detach()
        self.uses_clean_output = anchor is None

    @property
    def goal(self) -> float | None:
        return None if self.feature_weights else -(self.threshold + self.margin)

    def _clean_embedding(
        self, embedding: Tensor, clean_output: Any, index: Tensor | None
    ) -> Tensor:
        if self.anchor is None:
            return select_output(clean_output, self.embedding_key).to(embedding.dtype)
        anchor = self.anchor.to(embedding.dtype)
        if anchor.ndim == embedding.ndim and index is not None:
            anchor = anchor[index]
        return anchor.expand_as(embedding)

    def distances(self, output: Any, clean_output: Any, index: Tensor | None = None) -> Tensor:
        """``(n, ..., 1 + K)`` distances of each embedding to its clean one and the references."""
        embedding = select_output(output, self.embedding_key)
        clean = self._clean_embedding(embedding, clean_output, index).unsqueeze(-2)
        refs = clean
        if self.references is not None:
            refs = torch.cat([clean, _reference_rows(self.references, embedding, index)], dim=-2)
        return euclidean_distance(embedding.unsqueeze(-2), refs)

    def __call__(
        self, output: Any, clean_output: Any = None, index: Tensor | None = None
    ) -> ObjectiveResult:
        if clean_output is None and self.anchor is None:
            raise ValueError("EmbeddingUntargeted needs the clean output or an anchor")
        nearest = self.distances(output, clean_output, index).min(-1).values
        loss = -self._embedding_weight(output) * _per_sample_mean(nearest)
        for key, weight in self._feature_terms(output):
            feature = select_output(output, key)
            clean_feature = select_output(clean_output, key).to(feature.dtype)
            loss = loss - weight * rms_distance(feature, clean_feature)
        success = _per_sample_all(nearest >= self.threshold + self.margin)
        return ObjectiveResult(loss=loss, success=success)


class EmbeddingTargeted(_EmbeddingObjective):
    """Pull embeddings toward a target identity.

    ``mode="centroid"``: loss is the distance to the mean of the target embeddings; success when
    it is below ``threshold - margin``. ``mode="all"``: loss is the mean distance to each target
    embedding; success when every one of them is below ``threshold - margin``.

    Args:
        target: the target identity's embeddings, ``(D,)`` or ``(K, D)`` shared by the batch, or
            ``(N, K, D)`` per sample; or, for feature-space terms, the raw model output (list/
            tuple/dict) on ``K`` target images, whose features are averaged over the ``K``.
        threshold: the recognizer's match threshold (dlib: 0.6).
        margin: how far inside the threshold a sample must get to count as a success.
        mode: ``"centroid"`` or ``"all"``.
        feature_weights: loss weight per feature key, for models returning several features.
        embedding_key: where the embedding is in a list/tuple/dict output.

    Example::

        objective = EmbeddingTargeted(recognizer(decoy_chips), threshold=0.6, margin=0.05)
        x_adv = IFGSM(recognizer, objective, eps=8 / 255, early_stop=True)(chips)
    """

    def __init__(
        self,
        target: Any,
        threshold: float = 0.6,
        margin: float = 0.0,
        mode: Literal["centroid", "all"] = "centroid",
        feature_weights: Mapping[OutputKey, float] | None = None,
        embedding_key: OutputKey | None = None,
    ) -> None:
        super().__init__(threshold, margin, feature_weights, embedding_key)
        if mode not in ("centroid", "all"):
            raise ValueError(f"mode must be 'centroid' or 'all', got {mode!r}")
        self.mode = mode
        self.target = detach_output(target)
        self.target_embeddings = _as_reference_set(select_output(self.target, embedding_key))

    @property
    def goal(self) -> float | None:
        return None if self.feature_weights or self.mode == "all" else self.threshold - self.margin

    def distances(self, output: Any, index: Tensor | None = None) -> Tensor:
        """``(n, ..., K)`` distances to each target embedding (``K = 1`` for the centroid)."""
        embedding = select_output(output, self.embedding_key)
        targets = _reference_rows(self.target_embeddings, embedding, index)
        if self.mode == "centroid":
            targets = targets.mean(-2, keepdim=True)
        return euclidean_distance(embedding.unsqueeze(-2), targets)

    def __call__(
        self, output: Any, clean_output: Any = None, index: Tensor | None = None
    ) -> ObjectiveResult:
        distances = self.distances(output, index)
        loss = self._embedding_weight(output) * _per_sample_mean(distances.mean(-1))
        for key, weight in self._feature_terms(output):
            loss = loss + weight * rms_distance(*self._feature_and_target(output, key))
        success = _per_sample_all(distances < self.threshold - self.margin)
        return ObjectiveResult(loss=loss, success=success)

    def _feature_and_target(self, output: Any, key: OutputKey) -> tuple[Tensor, Tensor]:
        if isinstance(self.target, Tensor):
            raise TypeError(
                "feature-space targeting needs the target's features: pass the model's full "
                "output on the target images as `target`"
            )
        feature = select_output(output, key)
        target = select_output(self.target, key).to(feature.device, feature.dtype)
        return feature, target.mean(0, keepdim=True)
