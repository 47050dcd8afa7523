"""What a training run feeds the optimiser, per kind of network: pixels (``small-cnn``,
``resnet18``) or frozen dlib descriptors (``dlib-head``). A task yields batches, computes training
logits and validates; :func:`facecloak.classify.train.train_classifier` runs the loop.

Example:
    >>> logits = torch.tensor([[9.0, 0.0], [0.0, 9.0]])
    >>> loss_and_accuracy(logits, torch.tensor([0, 0]))[1]
    0.5
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from tqdm import tqdm

from facecloak.classify.augment import augment_batch
from facecloak.classify.config import TrainConfig
from facecloak.classify.data import ChipSet
from facecloak.classify.model import ClassifierModel, resize_chips
from facecloak.models.classifiers import DlibClassifier

EVAL_BATCH = 64
"""Chips per forward pass when nothing is trained (resizing, descriptors, validation)."""


class PixelTask:
    """small-cnn / resnet18: chips resized once, normalised with the training set's statistics."""

    def __init__(
        self,
        network: nn.Module,
        train: ChipSet,
        val: ChipSet | None,
        config: TrainConfig,
        progress: bool,
    ) -> None:
        self.config = config
        self.train_images = _resized(train, config.image_size, progress)
        mean = self.train_images.mean(dim=(0, 2, 3))
        std = float((self.train_images - mean.view(1, 3, 1, 1)).square().mean().sqrt())
        self.model = ClassifierModel(
            network,
            arch=config.arch,
            class_names=train.class_names,
            image_size=config.image_size,
            mean=mean.tolist(),
            std=std,
        )
        self.train_labels = train.labels
        self.val_images = None if val is None else _resized(val, config.image_size, progress)
        self.val_labels = None if val is None else val.labels
        self.trainable: nn.Module = network

    def batches(self, config: TrainConfig, generator: torch.Generator) -> Iterator:
        yield from _shuffled_batches(self.train_images, self.train_labels, config, generator)

    def train_logits(self, images: Tensor, generator: torch.Generator) -> Tensor:
        if self.config.augment:
            images = augment_batch(
                images,
                generator,
                min_scale=self.config.min_scale,
                max_shift=self.config.max_shift,
            )
        return self.trainable(self.model.normalize(images))

    def validate(self) -> tuple[float | None, float | None]:
        if self.val_images is None or self.val_labels is None:
            return None, None
        with torch.no_grad():
            logits = torch.cat(
                [
                    self.trainable(self.model.normalize(batch))
                    for batch in self.val_images.split(EVAL_BATCH)
                ]
            )
        return loss_and_accuracy(logits, self.val_labels)


class EmbeddingTask:
    """dlib-head: the head trains on frozen descriptors of each chip and of its mirror image."""

    def __init__(
        self, model: ClassifierModel, train: ChipSet, val: ChipSet | None, progress: bool
    ) -> None:
        self.model = model
        network = model.network
        assert isinstance(network, DlibClassifier)
        self.trainable: nn.Module = network.head
        self.train_embeddings = _embeddings(network, train, flips=True, progress=progress)
        self.train_labels = train.labels
        self.val_embeddings = (
            None if val is None else _embeddings(network, val, flips=False, progress=progress)
        )
        self.val_labels = None if val is None else val.labels

    def batches(self, config: TrainConfig, generator: torch.Generator) -> Iterator:
        yield from _shuffled_batches(self.train_embeddings, self.train_labels, config, generator)

    def train_logits(self, embeddings: Tensor, generator: torch.Generator) -> Tensor:
        flipped = torch.randint(0, 2, (embeddings.shape[0],), generator=generator)
        return self.trainable(embeddings[torch.arange(embeddings.shape[0]), flipped])

    def validate(self) -> tuple[float | None, float | None]:
        if self.val_embeddings is None or self.val_labels is None:
            return None, None
        with torch.no_grad():
            logits = self.trainable(self.val_embeddings[:, 0])
        return loss_and_accuracy(logits, self.val_labels)


def _resized(chips: ChipSet, size: int, progress: bool) -> Tensor:
    """Every chip as float in [0, 1], resized as :class:`ClassifierModel` resizes its input."""
    out = []
    with torch.no_grad():
        for start in tqdm(
            range(0, len(chips), EVAL_BATCH),
            desc=f"resize to {size}px",
            disable=not progress,
            leave=False,
        ):
            index = torch.arange(start, min(start + EVAL_BATCH, len(chips)))
            out.append(resize_chips(chips.float_chips(index), size))
    return torch.cat(out)


def _embeddings(network: DlibClassifier, chips: ChipSet, flips: bool, progress: bool) -> Tensor:
    """``(N, V, 128)`` descriptors: ``V = 2`` (chip, mirror) with ``flips``, else 1."""
    out = []
    with torch.no_grad():
        for start in tqdm(
            range(0, len(chips), EVAL_BATCH // 2),
            desc="dlib descriptors",
            disable=not progress,
            leave=False,
        ):
            index = torch.arange(start, min(start + EVAL_BATCH // 2, len(chips)))
            batch = chips.float_chips(index)
            views = [batch, batch.flip(-1)] if flips else [batch]
            out.append(torch.stack([network.embed(v) for v in views], dim=1))
    return torch.cat(out)


def _shuffled_batches(
    inputs: Tensor, labels: Tensor, config: TrainConfig, generator: torch.Generator
) -> Iterator[tuple[Tensor, Tensor]]:
    order = torch.randperm(len(labels), generator=generator)
    for start in range(0, len(order), config.batch_size):
        index = order[start : start + config.batch_size]
        if len(index) < 2:  # batch norm needs two samples
            continue
        yield inputs[index], labels[index]


def loss_and_accuracy(logits: Tensor, labels: Tensor) -> tuple[float, float]:
    loss = float(F.cross_entropy(logits, labels))
    accuracy = float((logits.argmax(1) == labels).float().mean())
    return loss, accuracy
