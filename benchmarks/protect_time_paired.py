"""Time per face of `protect`, this checkout against another git revision, face by face in turn.

On a shared host the same command can run 15-50% slower one hour than the next, so two
`protect_time.py` runs made apart cannot say whether a change made the cloak faster. This script
loads the two versions of the code side by side, each in its own process (this checkout, and a
git worktree of ``--against`` made under /tmp), and hands every face to one and then the other,
the order alternating from face to face, so drift falls on both alike. Only one process works at
a time. It reports each set's mean time per face for both, their ratio, and whether the two
cloaks reached the same face SSIMULACRA2 and dlib distance (a speed-up that changes nothing
gives the same numbers).

Photos: as :mod:`protect_time` (the largest face of the first ``--deepface`` deepface photos and
of ``--lfw`` seeded LFW photos); detection is not timed.

    python benchmarks/protect_time_paired.py --against e1da7d7 [--deepface 10] [--lfw 10]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from _report import machine_line, markdown_table, require_shared_faces, save_json, write_section

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def serve(strength: str, threads: int) -> None:
    """Worker: read ``set index`` lines, protect that face, answer one JSON line each."""
    import time

    import torch

    from facecloak.images import load_image
    from facecloak.models import detect, largest_face
    from facecloak.protect import ProtectConfig, protect
    from protect_time import photos, warm_up

    torch.set_num_threads(threads)
    sets = photos(require_shared_faces(), *map(int, os.environ["PAIRED_COUNTS"].split(",")))
    warm_up(strength)
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        name, index = line.split()
        rgb = load_image(sets[name][int(index)].path)
        face = largest_face(detect(rgb))
        if face is None:
            print(json.dumps({"face": False}), flush=True)
            continue
        started = time.perf_counter()
        outcome = protect(rgb, ProtectConfig(strength=strength), detected=[face]).outcomes[0]
        seconds = time.perf_counter() - started
        print(
            json.dumps(
                {
                    "face": True,
                    "seconds": seconds,
                    "s2": outcome.ssimulacra2,
                    "distance": outcome.distance,
                }
            ),
            flush=True,
        )


class Worker:
    """One version of the code in its own process, answering faces one at a time."""

    def __init__(self, source: Path, args: argparse.Namespace) -> None:
        env = {
            **os.environ,
            "PYTHONPATH": f"{source / 'src'}{os.pathsep}{HERE}",
            "PAIRED_COUNTS": f"{args.deepface},{args.lfw}",
        }
        command = [sys.executable, str(Path(__file__).resolve()), "--serve"]
        command += ["--strength", args.strength, "--threads", str(args.threads)]
        self.process = subprocess.Popen(
            command, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        self._answer()  # ready: models loaded

    def protect(self, name: str, index: int) -> dict:
        assert self.process.stdin is not None
        self.process.stdin.write(f"{name} {index}\n")
        self.process.stdin.flush()
        return self._answer()

    def _answer(self) -> dict:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise SystemExit("a timing worker stopped: see its error above")
        return json.loads(line)

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        self.process.wait()


def worktree(revision: str, folder: Path) -> Path:
    """A detached git worktree of ``revision`` under ``folder``."""
    path = folder / "code"
    subprocess.run(
        ["git", "-C", str(ROOT), "worktree", "add", "--detach", "-q", str(path), revision],
        check=True,
    )
    return path


def paired(workers: dict[str, Worker], counts: dict[str, int]) -> dict[str, dict]:
    """Every face through both workers, the first to go alternating; per set, the raw answers."""
    from tqdm import tqdm

    labels = list(workers)
    results: dict[str, dict] = {}
    for name, count in counts.items():
        answers: dict[str, list] = {label: [] for label in labels}
        for index in tqdm(range(count), desc=name):
            order = labels if index % 2 == 0 else labels[::-1]
            for label in order:
                answers[label].append(workers[label].protect(name, index))
        results[name] = answers
    return results


def summary(answers: dict[str, list]) -> dict:
    """Means, their ratio, and how many faces came out the same under both versions."""
    here, there = ([a for a in found if a["face"]] for found in answers.values())
    seconds = [np.array([a["seconds"] for a in side]) for side in (here, there)]
    same = sum(
        abs(a["s2"] - b["s2"]) < 0.05 and abs(a["distance"] - b["distance"]) < 1e-3
        for a, b in zip(here, there, strict=True)
    )
    return {
        "faces": len(here),
        "this": float(seconds[0].mean()),
        "against": float(seconds[1].mean()),
        "ratio": float(seconds[0].mean() / seconds[1].mean()),
        "ratio_median": float(np.median(seconds[0] / seconds[1])),
        "same_cloak": int(same),
    }


def markdown(args: argparse.Namespace, head: str, results: dict[str, dict]) -> str:
    header = ["set", "faces", f"s / face, this ({head})", f"s / face, {args.against}"]
    header += ["ratio of means", "median face ratio", "same cloak"]
    rows = [
        [
            name,
            r["faces"],
            f"{r['this']:.2f}",
            f"{r['against']:.2f}",
            f"{r['ratio']:.2f}",
            f"{r['ratio_median']:.2f}",
            f"{r['same_cloak']} of {r['faces']}",
        ]
        for name, r in results.items()
    ]
    return "\n".join(
        [
            f"## Time per face, paired: this code against {args.against}",
            "",
            f"Command: `python benchmarks/protect_time_paired.py --against {args.against} "
            f"--deepface {args.deepface} --lfw {args.lfw} --strength {args.strength} "
            f"--threads {args.threads}`. Machine: {machine_line()}. Each face went through both "
            "versions in turn (the first alternating); *same cloak*: face SSIMULACRA2 within "
            "0.05 and dlib distance within 0.001 of each other.",
            "",
            markdown_table(header, rows),
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--against", help="the git revision to compare with")
    parser.add_argument("--deepface", type=int, default=10)
    parser.add_argument("--lfw", type=int, default=10)
    parser.add_argument("--strength", default="mid")
    parser.add_argument("--threads", type=int, default=2, help="torch threads")
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.strength, args.threads)
        return
    if not args.against:
        parser.error("--against REVISION is required")
    head = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    with tempfile.TemporaryDirectory(prefix="facecloak-paired-") as folder:
        other = worktree(args.against, Path(folder))
        try:
            workers = {"this": Worker(ROOT, args), "against": Worker(other, args)}
            counts = {name: n for name, n in (("deepface", args.deepface), ("lfw", args.lfw)) if n}
            raw = paired(workers, counts)
            for worker in workers.values():
                worker.close()
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(other)])
    results = {name: summary(answers) for name, answers in raw.items()}
    text = markdown(args, head, results)
    print(text)
    if not args.no_write:
        save_json("protect_time_paired", {"args": vars(args), "head": head, "raw": raw})
        write_section("protect-time-paired", text)


if __name__ == "__main__":
    main()
