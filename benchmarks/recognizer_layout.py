"""Each recognizer's forward + backward on one chip, with its weights in the usual (contiguous)
memory order and in channels-last order, on 1 torch thread (as the cloak's side-by-side workers
run them) and on 2 (as the verdicts run them). The faster order on one thread is the one each
recognizer's ``channels_last`` flag takes.

    python benchmarks/recognizer_layout.py [--repeats 40] [--no-write]
"""

from __future__ import annotations

import argparse
import time

import torch

from _report import machine_line, markdown_table, save_json, write_section
from facecloak.models.recognizers import available_recognizers, recognizer_class

LAYOUTS = {"contiguous": torch.contiguous_format, "channels_last": torch.channels_last}


def step_ms(model: torch.nn.Module, chips: torch.Tensor, repeats: int) -> float:
    """Milliseconds of one forward + backward to the chips (median of ``repeats``)."""
    times = []
    for _ in range(repeats + 3):
        started = time.perf_counter()
        torch.autograd.grad(model(chips).sum(), chips)
        times.append(time.perf_counter() - started)
    return 1000 * sorted(times[3:])[len(times[3:]) // 2]


def measure(name: str, repeats: int) -> dict:
    model = recognizer_class(name).load()  # as loaded, before its own layout choice
    chips = torch.rand(1, 3, *model.chip_size, requires_grad=True)
    row = {"recognizer": name, "flag": bool(model.channels_last)}
    for threads in (1, 2):
        torch.set_num_threads(threads)
        for layout, memory_format in LAYOUTS.items():
            model.to(memory_format=memory_format)
            row[f"{layout}_{threads}"] = step_ms(model, chips, repeats)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=40)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    names = [name for name, reason in available_recognizers().items() if reason is None]
    rows = [measure(name, args.repeats) for name in names]
    machine = machine_line().rsplit(",", 1)[0]
    header = [
        "recognizer",
        "1 thread: contiguous",
        "channels-last",
        "2 threads: contiguous",
        "channels-last",
        "`channels_last` flag",
    ]
    table = markdown_table(
        header,
        [
            [
                r["recognizer"],
                *(f"{r[f'{lay}_{t}']:.1f}" for t in (1, 2) for lay in LAYOUTS),
                "yes" if r["flag"] else "no",
            ]
            for r in rows
        ],
    )
    markdown = (
        f"`python benchmarks/recognizer_layout.py` ({machine}): milliseconds of one forward and "
        "backward on one chip (median), by the memory order of the weights.\n\n" + table
    )
    print(markdown)
    if not args.no_write:
        save_json("recognizer_layout", {"machine": machine, "rows": rows})
        write_section("recognizer-layout", markdown)


if __name__ == "__main__":
    main()
