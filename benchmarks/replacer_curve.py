"""The replacement generator's training curve: held-out masked L1 per checkpoint, as a table
and a plot, from the ``<name>.curve.csv`` that ``facecloak train-replacer`` writes beside its
checkpoint.

Writes the "replacer-training" section of BENCHMARKS.md and
``benchmarks/results/replacer-curve.png``.

    python benchmarks/replacer_curve.py benchmarks/results/replacer.curve.csv \
        --warm-start-steps 1100
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

from _report import RESULTS_DIR, markdown_table, write_section

HEADER = ["epoch", "step", "train masked L1", "held-out masked L1", "crops / s"]


def read_curve(path: Path) -> list[dict[str, float]]:
    with open(path, newline="") as handle:
        return [{key: float(value) for key, value in row.items()} for row in csv.DictReader(handle)]


def plot(rows: list[dict[str, float]], path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(6, 3.2), dpi=80)
    epochs = [row["epoch"] for row in rows]
    axes.plot(epochs, [row["train_l1"] for row in rows], label="train (since last row)")
    axes.plot(epochs, [row["held_out_masked_l1"] for row in rows], label="held-out (128 faces)")
    axes.set_xlabel("epoch (12,773 training faces)")
    axes.set_ylabel("masked L1, pixels in [0, 1]")
    axes.grid(alpha=0.3)
    axes.legend()
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)
    from PIL import Image

    # A line plot needs few colours: a palette PNG keeps it small enough to commit.
    Image.open(path).convert("RGB").quantize(32).save(path, optimize=True)
    return path


def markdown(rows: list[dict[str, float]], curve: Path, every: int, warm_start: int = 0) -> str:
    shown = rows[::every] + ([rows[-1]] if (len(rows) - 1) % every else [])
    table = [
        [
            f"{r['epoch']:.2f}",
            int(r["step"]),
            f"{r['train_l1']:.4f}",
            f"{r['held_out_masked_l1']:.4f}",
            f"{r['images_per_s']:.1f}",
        ]
        for r in shown
    ]
    best = min(rows, key=lambda r: r["held_out_masked_l1"])
    command = " ".join(sys.argv[1:]) or str(curve)
    return f"""## Replacement generator training (issue 11)

`python benchmarks/replacer_curve.py {command}`: the curve `facecloak train-replacer` wrote (see
`docs/replacer.md` for the command). {len(rows)} checkpoints up to step {int(rows[-1]["step"])}
(epoch {rows[-1]["epoch"]:.2f}); lowest held-out masked L1 {best["held_out_masked_l1"]:.4f} at
step {int(best["step"])}.{_warm_start_line(warm_start)} The discriminator joins at step 500.
Crops / s follows the machine's load (training runs at nice 19 beside other work, and was
paused during benchmarks).

{markdown_table(HEADER, table)}

![training curve](benchmarks/results/replacer-curve.png)"""


def _warm_start_line(steps: int) -> str:
    if not steps:
        return ""
    return (
        f" This run started (`--warm-start`) from a generator already trained for {steps:,} "
        "steps, with a fresh discriminator; steps and epochs count from there."
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("curve", type=Path, help="the .curve.csv beside the checkpoint")
    parser.add_argument("--every", type=int, default=2, help="table: every Nth checkpoint")
    parser.add_argument(
        "--warm-start-steps", type=int, default=0, help="steps of the weights the run started from"
    )
    args = parser.parse_args()
    rows = read_curve(args.curve)
    if not rows:
        raise SystemExit(f"{args.curve}: no checkpoint rows yet")
    plot(rows, RESULTS_DIR / "replacer-curve.png")
    text = markdown(rows, args.curve, args.every, args.warm_start_steps)
    write_section("replacer-training", text)
    print(text)


if __name__ == "__main__":
    main()
