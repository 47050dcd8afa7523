"""Self-supervised training of the replacement generator: blank the face's ellipse, give the
generator the surroundings, landmarks and attribute tokens, and make it paint the face back (L1,
weighted to the ellipse, plus a hinge loss from a patch discriminator once the L1 has settled).

Training resumes: the full state (both networks, both optimisers, the step, the epoch and the batch
within it) is saved every ``checkpoint_every`` steps and at each epoch's end, and a rerun with the
same output carries on where it stopped. Beside the checkpoint: ``<name>.curve.csv`` (held-out
masked L1 per epoch) and ``<name>-samples/epoch-NNN.jpg`` (public-domain faces only).
"""

from __future__ import annotations

import csv
import logging
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import Tensor
from tqdm import tqdm

from facecloak.errors import FacecloakError
from facecloak.replace.attributes import NAMES, learn_edges, tokenize
from facecloak.replace.batches import Batch, augment, make_batch
from facecloak.replace.checkpoint import KIND, load_generator, save_atomic
from facecloak.replace.model import Generator, GeneratorConfig, PatchDiscriminator
from facecloak.replace.prepare import FaceSet
from facecloak.replace.sample_grid import SampleFaces, write_grid
from facecloak.replace.shapes import sample_shapes

log = logging.getLogger(__name__)
CURVE_FIELDS = ("epoch", "step", "train_l1", "held_out_masked_l1", "images_per_s", "seconds")


@dataclass(frozen=True)
class ReplacerTraining:
    """``l1_weight`` and ``adversarial_weight`` weigh the losses; the discriminator joins after
    ``warmup`` steps. ``held_out_faces``: how many held-out faces the curve measures."""

    epochs: int = 20
    batch_size: int = 16
    lr: float = 2e-4
    checkpoint_every: int = 200
    seed: int = 0
    l1_weight: float = 20.0
    adversarial_weight: float = 1.0
    warmup: int = 500
    held_out_faces: int = 128
    generator: GeneratorConfig = field(default_factory=GeneratorConfig)
    warm_start: Path | None = None
    """A new run (no checkpoint at the output yet) starts its generator, and its attribute
    bins, from these weights (an fp16 export or a checkpoint); the discriminator starts fresh."""

    def __post_init__(self) -> None:
        if self.epochs < 1 or self.batch_size < 2 or self.checkpoint_every < 1:
            raise ValueError("epochs >= 1, batch_size >= 2 and checkpoint_every >= 1 are needed")


@dataclass
class TrainingState:
    generator: Generator
    discriminator: PatchDiscriminator
    optimiser_g: torch.optim.Optimizer
    optimiser_d: torch.optim.Optimizer
    edges: dict[str, np.ndarray]
    step: int = 0
    epoch: int = 0
    batch: int = 0
    earlier_steps: int = 0
    """Steps the warm-start weights had been trained for before this run."""
    shapes: np.ndarray | None = None
    """A sample of the training faces' landmarks (:mod:`facecloak.replace.shapes`)."""

    def payload(self, config: ReplacerTraining, faces: int) -> dict:
        return {
            "kind": KIND,
            "config": self.generator.config.to_dict(),
            "edges": {name: edge.tolist() for name, edge in self.edges.items()},
            "generator": self.generator.state_dict(),
            "discriminator": self.discriminator.state_dict(),
            "optimiser_g": self.optimiser_g.state_dict(),
            "optimiser_d": self.optimiser_d.state_dict(),
            "position": {"step": self.step, "epoch": self.epoch, "batch": self.batch},
            "shapes": None if self.shapes is None else torch.from_numpy(self.shapes),
            "trained": {
                "steps": self.step,
                "epochs": self.epoch,
                "faces": faces,
                "warm_start_steps": self.earlier_steps,
            },
            "training": {
                **asdict(config),
                "generator": config.generator.to_dict(),
                "warm_start": str(config.warm_start) if config.warm_start else None,
            },
        }


def train_replacer(
    faces: FaceSet,
    output: Path,
    config: ReplacerTraining | None = None,
    samples: SampleFaces | None = None,
    progress: bool = True,
) -> TrainingState:
    """Train (or resume training of) the generator on ``faces``; returns the final state."""
    config = config or ReplacerTraining()
    train_rows = np.flatnonzero(~np.asarray(faces.held_out))
    if len(train_rows) < config.batch_size:
        raise FacecloakError(f"{len(train_rows)} training faces: need at least one batch")
    state = _start(faces, train_rows, output, config)
    state.shapes = sample_shapes(np.asarray(faces.points)[train_rows])
    tokens = tokenize(np.asarray(faces.measures), state.edges)
    held = np.flatnonzero(np.asarray(faces.held_out))[: config.held_out_faces]
    batches = len(train_rows) // config.batch_size
    log_curve = CurveLogger(output, faces, held, tokens)
    while state.epoch < config.epochs:
        order = np.random.default_rng([config.seed, state.epoch]).permutation(train_rows)
        bar = tqdm(
            range(state.batch, batches),
            initial=state.batch,
            total=batches,
            unit="batch",
            desc=f"epoch {state.epoch + 1}/{config.epochs}",
            disable=not progress,
        )
        for number in bar:
            rows = np.sort(order[number * config.batch_size : (number + 1) * config.batch_size])
            rng = np.random.default_rng([config.seed, state.epoch, number])
            batch = make_batch(*augment(faces.crops[rows], faces.points[rows], tokens[rows], rng))
            log_curve.losses.append(train_step(state, batch, config))
            log_curve.images += len(rows)
            state.step, state.batch = state.step + 1, number + 1
            bar.set_postfix(l1=f"{np.mean(log_curve.losses[-50:]):.4f}")
            if state.step % config.checkpoint_every == 0 and state.batch < batches:
                log_curve(state, state.epoch + state.batch / batches)
                save_atomic(state.payload(config, len(faces)), output)
        state.epoch, state.batch = state.epoch + 1, 0
        log_curve(state, float(state.epoch))
        save_atomic(state.payload(config, len(faces)), output)
        if samples is not None:
            write_grid(state.generator, samples, state.edges, grid_path(output, state.epoch))
    return state


def train_step(state: TrainingState, batch: Batch, config: ReplacerTraining) -> float:
    """One generator (and, after the warm-up, discriminator) update; returns the masked L1."""
    state.generator.train()
    fake = state.generator(batch.inputs, batch.tokens)
    composite = batch.target * (1 - batch.mask) + fake * batch.mask
    adversarial = state.step >= config.warmup
    if adversarial:
        state.optimiser_d.zero_grad(set_to_none=True)
        real_score = state.discriminator(batch.target, batch.maps)
        fake_score = state.discriminator(composite.detach(), batch.maps)
        loss_d = torch.relu(1 - real_score).mean() + torch.relu(1 + fake_score).mean()
        loss_d.backward()
        state.optimiser_d.step()
    error = (fake - batch.target).abs()
    masked = masked_l1(fake, batch.target, batch.mask)
    loss = config.l1_weight * (masked + 0.1 * error.mean())
    if adversarial:
        ramp = min(1.0, (state.step - config.warmup + 1) / config.warmup)
        loss = (
            loss
            - ramp * config.adversarial_weight * state.discriminator(composite, batch.maps).mean()
        )
    state.optimiser_g.zero_grad(set_to_none=True)
    loss.backward()
    state.optimiser_g.step()
    return float(masked.detach()) / 2  # in [0, 1] pixel units


def masked_l1(fake: Tensor, target: Tensor, mask: Tensor) -> Tensor:
    """Mean absolute difference inside ``mask`` (per channel, in the images' units)."""
    return ((fake - target).abs() * mask).sum() / (3 * mask.sum()).clamp_min(1.0)


@torch.no_grad()
def held_out_l1(
    generator: Generator, faces: FaceSet, rows: np.ndarray, tokens: np.ndarray, batch: int = 32
) -> float:
    """Masked L1 (pixel values in [0, 1]) of the generator on the held-out ``rows``."""
    generator.eval()
    total, weight = 0.0, 0.0
    for start in range(0, len(rows), batch):
        part = rows[start : start + batch]
        data = make_batch(faces.crops[part], faces.points[part], tokens[part])
        fake = generator(data.inputs, data.tokens)
        total += float(((fake - data.target).abs() * data.mask).sum()) / 2
        weight += float(3 * data.mask.sum())
    return total / max(weight, 1.0)


def grid_path(output: Path, epoch: int) -> Path:
    return output.parent / f"{output.stem}-samples" / f"epoch-{epoch:03d}.jpg"


def curve_path(output: Path) -> Path:
    return output.with_name(output.stem + ".curve.csv")


def _start(
    faces: FaceSet, train_rows: np.ndarray, output: Path, config: ReplacerTraining
) -> TrainingState:
    torch.manual_seed(config.seed)
    # channels-last runs the CPU convolutions about a fifth faster; the state dicts are the same
    generator = Generator(config.generator).to(memory_format=torch.channels_last)
    discriminator = PatchDiscriminator().to(memory_format=torch.channels_last)
    state = TrainingState(
        generator,
        discriminator,
        torch.optim.Adam(generator.parameters(), config.lr, betas=(0.5, 0.999)),
        torch.optim.Adam(discriminator.parameters(), config.lr, betas=(0.5, 0.999)),
        learn_edges(np.asarray(faces.measures)[train_rows]),
    )
    if output.is_file():
        _resume(state, output)
        if config.warm_start is not None:
            log.info("%s exists: resuming it (the warm start served its first run)", output)
    elif config.warm_start is not None:
        _warm_start(state, config.warm_start)
    return state


def _warm_start(state: TrainingState, weights: Path) -> None:
    loaded = load_generator(weights)
    if loaded.generator.config != state.generator.config:
        raise FacecloakError(f"{weights}: another generator size; it cannot start this training")
    state.generator.load_state_dict(loaded.generator.state_dict())
    state.edges = loaded.edges
    trained = loaded.trained
    state.earlier_steps = int(trained.get("steps", 0)) + int(trained.get("warm_start_steps", 0))
    log.info("new training starts from %s (%d steps)", weights, state.earlier_steps)


def _resume(state: TrainingState, output: Path) -> None:
    payload = torch.load(output, map_location="cpu", weights_only=False)
    if not isinstance(payload, dict) or payload.get("kind") != KIND or "optimiser_g" not in payload:
        raise FacecloakError(f"{output}: not a replacer training checkpoint; give another -o")
    if GeneratorConfig.from_dict(payload["config"]) != state.generator.config:
        raise FacecloakError(f"{output}: trained with another generator size; give another -o")
    state.generator.load_state_dict(payload["generator"])
    state.discriminator.load_state_dict(payload["discriminator"])
    state.optimiser_g.load_state_dict(payload["optimiser_g"])
    state.optimiser_d.load_state_dict(payload["optimiser_d"])
    state.edges = {name: np.asarray(payload["edges"][name]) for name in NAMES}
    position = payload["position"]
    state.step, state.epoch, state.batch = position["step"], position["epoch"], position["batch"]
    state.earlier_steps = int(payload["trained"].get("warm_start_steps", 0))
    log.info("resumed %s at epoch %d, step %d", output, state.epoch, state.step)


class CurveLogger:
    """Appends a row to the curve (held-out masked L1, train L1 and speed since the last row)."""

    def __init__(self, output: Path, faces: FaceSet, held: np.ndarray, tokens: np.ndarray):
        self.output, self.faces, self.held, self.tokens = output, faces, held, tokens
        self.losses: list[float] = []
        self.images, self.started = 0, time.monotonic()

    def __call__(self, state: TrainingState, epoch: float) -> None:
        seconds = time.monotonic() - self.started
        held_l1 = float("nan")
        if len(self.held):
            held_l1 = held_out_l1(state.generator, self.faces, self.held, self.tokens)
        path = curve_path(self.output)
        new = not path.is_file()
        with open(path, "a", newline="") as handle:
            writer = csv.writer(handle)
            if new:
                writer.writerow(CURVE_FIELDS)
            train_l1 = float(np.mean(self.losses)) if self.losses else float("nan")
            rate = self.images / max(seconds, 1e-9)
            writer.writerow(
                [
                    f"{epoch:.3f}",
                    state.step,
                    f"{train_l1:.5f}",
                    f"{held_l1:.5f}",
                    f"{rate:.2f}",
                    f"{seconds:.0f}",
                ]
            )
        log.info("epoch %.3f, step %d: held-out masked L1 %.4f", epoch, state.step, held_l1)
        self.losses, self.images, self.started = [], 0, time.monotonic()
