"""Training identity classifiers on aligned face chips.

``small-cnn`` and ``resnet18`` train on the chips resized once to ``image_size``, with random
flips and small random crops every batch. ``dlib-head`` trains only its head, on dlib descriptors
computed once for every training chip and its mirror image (a flip picks one of the two); the
saved model still runs the frozen dlib network, so it classifies (and is attacked) from pixels.

Every epoch reports the training loss and accuracy and, with a validation set, its accuracy; the
epoch with the best validation accuracy (ties: lower validation loss) is the one kept and, with
``output``, saved as soon as it is reached.

Example::

    train, val = split_per_identity(load_chip_set("faces/"), fraction=0.2)
    result = train_classifier(train, val, TrainConfig(arch="small-cnn"), output="model.pt")
    print(result.best_val_accuracy)
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from tqdm import tqdm

from facecloak.classify.checkpoint import save_classifier
from facecloak.classify.config import TrainConfig
from facecloak.classify.data import ChipSet
from facecloak.classify.model import ClassifierModel
from facecloak.classify.tasks import EVAL_BATCH, EmbeddingTask, PixelTask
from facecloak.models.classifiers import DlibClassifier, build_network, decayed_parameters

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class EpochStats:
    """What one epoch achieved (validation fields are ``None`` without a validation set)."""

    epoch: int
    train_loss: float
    train_accuracy: float
    val_loss: float | None
    val_accuracy: float | None
    seconds: float


@dataclass
class TrainResult:
    """The best model, its epoch, the full history and where it was saved (or ``None``)."""

    model: ClassifierModel
    config: TrainConfig
    output: Path | None = None
    history: list[EpochStats] = field(default_factory=list)
    best_epoch: int = 0
    seconds: float = 0.0

    @property
    def best(self) -> EpochStats:
        return self.history[self.best_epoch - 1]

    @property
    def best_val_accuracy(self) -> float | None:
        return self.best.val_accuracy

    def record(self) -> dict[str, Any]:
        """JSON-ready settings and history (stored in the checkpoint)."""
        return {
            "config": asdict(self.config),
            "history": [asdict(stats) for stats in self.history],
            "best_epoch": self.best_epoch,
            "seconds": round(self.seconds, 2),
        }


def train_classifier(
    train: ChipSet,
    val: ChipSet | None = None,
    config: TrainConfig | None = None,
    *,
    output: str | Path | None = None,
    progress: bool = True,
    on_epoch: Callable[[EpochStats], None] | None = None,
    backbone: nn.Module | None = None,
) -> TrainResult:
    """Train a classifier of ``config.arch`` on ``train``, keeping the best epoch on ``val``.

    Args:
        train: training chips; its class names become the classifier's.
        val: validation chips with the same class names, or ``None`` (the last epoch is kept).
        config: settings (default :class:`TrainConfig`).
        output: save the best model here, as soon as each new best is reached.
        progress: show a progress bar over the training steps.
        on_epoch: called with each epoch's :class:`EpochStats`.
        backbone: dlib's network for ``dlib-head`` (default: loaded from the installed model).

    Returns:
        The best model (eval mode, frozen) and the history.
    """
    config = (config or TrainConfig()).resolved()
    _check_sets(train, val)
    started = time.perf_counter()
    torch.manual_seed(config.seed)
    generator = torch.Generator().manual_seed(config.seed)
    task = _make_task(config, train, val, backbone, progress)
    model = task.model
    optimizer = _optimizer(task.trainable, config)
    steps_per_epoch = _batches_per_epoch(len(train), config.batch_size)
    result = TrainResult(
        model=model, config=config, output=None if output is None else Path(output)
    )
    best = _Best(state=model.trainable_state())
    bar = _progress_bar(config, config.epochs * steps_per_epoch, progress)
    step = 0
    for epoch in range(1, config.epochs + 1):
        epoch_start = time.perf_counter()
        train_loss, train_accuracy, step = _train_epoch(
            task, optimizer, config, generator, step, steps_per_epoch, bar
        )
        stats = _validated(task, epoch, train_loss, train_accuracy, epoch_start)
        result.history.append(stats)
        if best.offer(stats, model):
            result.best_epoch = epoch
            if output is not None:
                result.seconds = time.perf_counter() - started
                save_classifier(model, output, result.record())
        if on_epoch is not None:
            on_epoch(stats)
    bar.close()
    model.load_trainable_state(best.state)
    model.requires_grad_(False).eval()
    result.seconds = time.perf_counter() - started
    if output is not None:
        save_classifier(model, output, result.record())
    return result


def _progress_bar(config: TrainConfig, steps: int, shown: bool) -> tqdm:
    return tqdm(
        total=steps, desc=f"train {config.arch}", unit="step", disable=not shown, leave=False
    )


@dataclass
class _Best:
    """The best epoch so far: by validation accuracy, then lower validation loss (without a
    validation set, the latest), and the trainable weights it had."""

    state: dict[str, Tensor]
    key: tuple[float, float] | None = None

    def offer(self, stats: EpochStats, model: ClassifierModel) -> bool:
        """Keep ``model``'s weights if ``stats`` beats the best so far (and say so)."""
        accuracy = stats.val_accuracy
        key = (stats.epoch, 0.0) if accuracy is None else (accuracy, -(stats.val_loss or 0.0))
        if self.key is not None and key <= self.key:
            return False
        self.key, self.state = key, model.trainable_state()
        return True


def _make_task(
    config: TrainConfig,
    train: ChipSet,
    val: ChipSet | None,
    backbone: nn.Module | None,
    progress: bool,
) -> PixelTask | EmbeddingTask:
    """The network for ``config.arch`` (seeded by the caller) and what it trains on."""
    if config.arch == "dlib-head":
        model = ClassifierModel(
            DlibClassifier(train.num_classes, backbone),
            arch=config.arch,
            class_names=train.class_names,
            image_size=150,
        )
        return EmbeddingTask(model, train, val, progress)
    network = build_network(config.arch, train.num_classes, config.image_size)
    return PixelTask(network, train, val, config, progress)


def _validated(
    task: PixelTask | EmbeddingTask,
    epoch: int,
    train_loss: float,
    train_accuracy: float,
    started: float,
) -> EpochStats:
    """The epoch's statistics, with the validation set's loss and accuracy (logged)."""
    val_loss, val_accuracy = task.validate()
    stats = EpochStats(
        epoch=epoch,
        train_loss=train_loss,
        train_accuracy=train_accuracy,
        val_loss=val_loss,
        val_accuracy=val_accuracy,
        seconds=time.perf_counter() - started,
    )
    logger.info(
        "epoch %d: loss %.4f, accuracy %.3f, val accuracy %s",
        epoch,
        stats.train_loss,
        stats.train_accuracy,
        "n/a" if val_accuracy is None else f"{val_accuracy:.3f}",
    )
    return stats


def _train_epoch(
    task: PixelTask | EmbeddingTask,
    optimizer: torch.optim.Optimizer,
    config: TrainConfig,
    generator: torch.Generator,
    step: int,
    steps_per_epoch: int,
    bar: tqdm,
) -> tuple[float, float, int]:
    """One pass over the training data: ``(mean loss, accuracy, global step after it)``."""
    task.trainable.train()
    total_loss, correct, seen = 0.0, 0, 0
    for inputs, labels in task.batches(config, generator):
        _set_lr(optimizer, _lr_at(step, steps_per_epoch, config))
        logits = task.train_logits(inputs, generator)
        loss = F.cross_entropy(logits, labels)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        step += 1
        total_loss += float(loss.detach()) * len(labels)
        correct += int((logits.argmax(1) == labels).sum())
        seen += len(labels)
        bar.update(1)
        bar.set_postfix(loss=f"{float(loss.detach()):.3f}")
    task.trainable.eval()
    return total_loss / max(seen, 1), correct / max(seen, 1), step


def evaluate_accuracy(model: nn.Module, chips: ChipSet, batch_size: int = EVAL_BATCH) -> float:
    """Top-1 accuracy of ``model`` (chips in [0, 1] -> logits) on ``chips``."""
    return float((predict_labels(model, chips, batch_size) == chips.labels).float().mean())


def predict_labels(model: nn.Module, chips: ChipSet, batch_size: int = EVAL_BATCH) -> Tensor:
    """``(N,)`` arg-max class of every chip."""
    was_training = model.training
    model.eval()
    out = []
    with torch.no_grad():
        for start in range(0, len(chips), batch_size):
            index = torch.arange(start, min(start + batch_size, len(chips)))
            out.append(model(chips.float_chips(index)).argmax(1))
    model.train(was_training)
    return torch.cat(out) if out else torch.empty(0, dtype=torch.long)


# --------------------------------------------------------------------------- helpers


def _check_sets(train: ChipSet, val: ChipSet | None) -> None:
    if train.num_classes < 2 or len(train) < 2:
        raise ValueError("training needs at least 2 identities and 2 chips")
    if val is not None and val.class_names != train.class_names:
        raise ValueError("the validation chips must have the training chips' class names")


def _batches_per_epoch(n: int, batch_size: int) -> int:
    full, rest = divmod(n, batch_size)
    return max(1, full + (rest >= 2))


def _optimizer(module: nn.Module, config: TrainConfig) -> torch.optim.Optimizer:
    decay, no_decay = decayed_parameters(module)
    groups = [
        {"params": decay, "weight_decay": 2 * config.l2},
        {"params": no_decay, "weight_decay": 0.0},
    ]
    if config.optimizer == "sgd":
        return torch.optim.SGD(groups, lr=config.lr, momentum=0.9, nesterov=True)
    return torch.optim.Adam(groups, lr=config.lr)


def _lr_at(step: int, steps_per_epoch: int, config: TrainConfig) -> float:
    """One epoch of linear warm-up, then cosine decay to zero at the last step."""
    total = config.epochs * steps_per_epoch
    warmup = min(steps_per_epoch, total // 2) if config.epochs > 1 else 0
    if step < warmup:
        return config.lr * (step + 1) / warmup
    progress = (step - warmup) / max(total - warmup, 1)
    return config.lr * 0.5 * (1 + math.cos(math.pi * min(progress, 1.0)))


def _set_lr(optimizer: torch.optim.Optimizer, lr: float) -> None:
    for group in optimizer.param_groups:
        group["lr"] = lr
