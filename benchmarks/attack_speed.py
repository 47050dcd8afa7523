"""How fast is our PGD? Against its floor and against torchattacks' PGD on the same model and input.

- floor: ``steps`` x one forward+backward of dlib's ResNet on the same batch, measured in this run;
- ours: ``facecloak.attacks.PGD`` with the classifier objective;
- torchattacks: ``torchattacks.PGD`` (install it with ``pip install --no-deps torchattacks==3.5.1``:
  its core needs no torchvision), same eps, step size, steps and random start.

Both attack one model: dlib's ResNet followed by a nearest-centroid head over identities (logits are
minus the squared distance to each identity's mean embedding), so the untargeted cross-entropy both
libraries minimise is the same function. Chips are dlib-aligned faces of LFW identities with >= 10
photos. Writes the "attack-speed" section of BENCHMARKS.md.

    python benchmarks/attack_speed.py [--faces 8] [--steps 20] [--threads 2]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import torch
from torch import nn

from _report import machine_line, markdown_table, require_shared_faces, save_json, write_section
from facecloak.attacks import PGD, ClassifierUntargeted
from facecloak.datasets import read_labelled_folder
from facecloak.faces.align import face_chips
from facecloak.images import load_image
from facecloak.imaging import to_tensor
from facecloak.models import detect, largest_face, load_recognizer


class NearestCentroidClassifier(nn.Module):
    """Embedding network + logits ``-||e - c_k||^2`` over fixed identity centroids."""

    def __init__(self, embedder: nn.Module, centroids: torch.Tensor) -> None:
        super().__init__()
        self.embedder = embedder
        self.register_buffer("centroids", centroids)

    def forward(self, chips: torch.Tensor) -> torch.Tensor:
        return -torch.cdist(self.embedder(chips), self.centroids).pow(2)


def identity_chips(faces_per_identity: int, identities: int) -> tuple[torch.Tensor, torch.Tensor]:
    photos = read_labelled_folder(require_shared_faces() / "lfw", min_per_identity=10)
    names = sorted({p.identity for p in photos})[:identities]
    chips, labels = [], []
    for label, name in enumerate(names):
        mine = [p for p in photos if p.identity == name][:faces_per_identity]
        for photo in mine:
            rgb = load_image(photo.path)
            face = largest_face(detect(rgb))
            if face is not None:
                chips.append(face_chips(to_tensor(rgb), [face]).clamp(0, 1))
                labels.append(label)
    return torch.cat(chips), torch.tensor(labels)


def accuracy(logits: torch.Tensor, labels: torch.Tensor) -> float:
    return float((logits.argmax(1) == labels).float().mean())


def seconds(fn: Callable[[], object], repeats: int = 3) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--faces", type=int, default=8, help="faces attacked as one batch")
    parser.add_argument("--identities", type=int, default=10)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: default)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    import torchattacks

    chips, labels = identity_chips(8, args.identities)
    embedder = load_recognizer("dlib")
    with torch.no_grad():
        embeddings = embedder(chips)
    centroids = torch.stack([embeddings[labels == k].mean(0) for k in range(args.identities)])
    model = NearestCentroidClassifier(embedder, centroids).eval()
    index = torch.randperm(len(chips), generator=torch.Generator().manual_seed(0))[: args.faces]
    x, y = chips[index], labels[index]
    eps, alpha = 4 / 255, 1 / 255

    def forward_backward() -> None:
        probe = x.clone().requires_grad_(True)
        loss = nn.functional.cross_entropy(model(probe), y)
        torch.autograd.grad(loss, probe)

    ours = PGD(model, ClassifierUntargeted(y), eps=eps, steps=args.steps, step_size=alpha)
    theirs = torchattacks.PGD(model, eps=eps, alpha=alpha, steps=args.steps, random_start=True)
    floor = args.steps * seconds(forward_backward)
    ours_seconds = seconds(lambda: ours.run(x))
    theirs_seconds = seconds(lambda: theirs(x, y))
    adversarial = {"ours": ours.run(x).adversarial, "theirs": theirs(x, y)}
    with torch.no_grad():
        clean_acc = accuracy(model(x), y)
        ours_acc = accuracy(model(adversarial["ours"]), y)
        theirs_acc = accuracy(model(adversarial["theirs"]), y)
    rows = [
        ["floor: steps x forward+backward", f"{floor:.2f}", "1.00", "-"],
        ["facecloak PGD", f"{ours_seconds:.2f}", f"{ours_seconds / floor:.2f}", f"{ours_acc:.2%}"],
        [
            "torchattacks 3.5.1 PGD",
            f"{theirs_seconds:.2f}",
            f"{theirs_seconds / floor:.2f}",
            f"{theirs_acc:.2%}",
        ],
    ]
    markdown = "\n".join(
        [
            "## Attack speed: our PGD, its floor, and torchattacks",
            "",
            "Command: `python benchmarks/attack_speed.py` "
            "(needs `pip install --no-deps torchattacks==3.5.1`).",
            f"Machine: {machine_line()}. {len(x)} LFW face chips (150x150) attacked as one batch, "
            f"eps 4/255, step 1/255, {args.steps} steps, random start, untargeted; "
            f"model: dlib's ResNet + nearest-centroid head over {args.identities} identities "
            f"(clean accuracy {clean_acc:.0%}). Best of 3 runs each.",
            "",
            markdown_table(["run", "seconds", "x floor", "accuracy left (lower = stronger)"], rows),
        ]
    )
    save_json(
        "attack_speed",
        {
            "machine": machine_line(),
            "floor": floor,
            "ours": ours_seconds,
            "torchattacks": theirs_seconds,
            "clean_accuracy": clean_acc,
            "ours_accuracy": ours_acc,
            "torchattacks_accuracy": theirs_acc,
        },
    )
    write_section("attack-speed", markdown)
    print(markdown)


if __name__ == "__main__":
    main()
