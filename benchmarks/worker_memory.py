"""Issue 14's worker memory on its own: one worker process running the default cloak over LFW
photos, resident memory after each photo, for several
:class:`~facecloak.protect.runners.PoolOptions` in the same run (the full
``benchmarks/scale.py`` runs the same measurement beside the others).

Run under the shared lock, on a quiet machine:
``flock /tmp/facecloak-bench.lock python benchmarks/worker_memory.py --photos 40``.
Writes the "worker-memory" section of BENCHMARKS.md and ``benchmarks/results/worker-memory.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from _report import RESULTS_DIR, machine_line, markdown_table, save_json, write_section
from scale import MEMORY_HEADER, MEMORY_VARIANTS, lfw_photos, worker_memory


def _earlier_runs() -> list[dict]:
    path = RESULTS_DIR / "worker-memory.json"
    if not path.is_file():
        return []
    earlier = json.loads(path.read_text())
    return earlier.get("runs") or [earlier]  # the first runs saved a single run


def to_markdown(payload: dict) -> str:
    rows = []
    for run in payload["runs"]:
        for name, r in run["memory"].items():
            rows.append(
                [
                    name,
                    run["photos"],
                    run.get("steps") or "40 (mid)",
                    r["start_mb"],
                    r["end_mb"],
                    r["max_mb"],
                    f"{r.get('first_fifth_max_mb', '-')} / {r.get('last_fifth_max_mb', '-')}",
                    f"{r['mb_per_photo']:.3f}",
                    f"{r['seconds_per_photo']:.2f}",
                ]
            )
    commands = "; ".join(
        f"`python benchmarks/worker_memory.py {r['argv']}`" for r in payload["runs"]
    )
    header = [MEMORY_HEADER[0], "photos", "cloak steps", *MEMORY_HEADER[1:4]]
    header += ["max MB, first / last fifth", *MEMORY_HEADER[4:]]
    return f"""## Worker memory (issue 14): the kernel cache and the allocator

{commands} on {payload["machine"]}: one worker process, the default cloak, LFW photos; each run's
variants one after the other; resident MB after each photo, growth by least squares. Fewer cloak
steps (`--steps`) make a photo faster without changing the layer shapes oneDNN caches kernels for,
so a long run measures the same growth in a fraction of the time. A worker that is replaced shows
a saw-tooth: what matters is that the peak in the last fifth of the run is no higher than in the
first.

{markdown_table(header, rows)}
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--photos", type=int, default=1000, help="photos per variant")
    parser.add_argument(
        "--steps", type=int, default=None, help="cloak steps (default: the preset's 40)"
    )
    parser.add_argument(
        "--add", action="store_true", help="keep the earlier runs' rows (another run, its size)"
    )
    parser.add_argument(
        "--variants", default=",".join(MEMORY_VARIANTS), help=", ".join(MEMORY_VARIANTS)
    )
    args = parser.parse_args()
    unknown = [name for name in args.variants.split(",") if name not in MEMORY_VARIANTS]
    if unknown:
        sys.exit(f"--variants: unknown {', '.join(unknown)}; choose from {list(MEMORY_VARIANTS)}")
    variants = {name: MEMORY_VARIANTS[name] for name in args.variants.split(",")}
    with tempfile.TemporaryDirectory(prefix="facecloak-memory-") as folder:
        memory = worker_memory(lfw_photos(args.photos), Path(folder), variants, args.steps)
    run = {"argv": " ".join(sys.argv[1:]), "photos": args.photos, "steps": args.steps}
    runs = [{**run, "memory": memory}]
    if args.add:
        runs = _earlier_runs() + runs
    payload = {"machine": machine_line(), "runs": runs}
    save_json("worker-memory", payload)
    write_section("worker-memory", to_markdown(payload))
    print(to_markdown(payload))


if __name__ == "__main__":
    main()
