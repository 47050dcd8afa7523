"""Issue 14 at scale: photos/s over 1 and 2 workers, ``--method blur`` against deface, a local
3-node Ray cluster that loses a node mid-way, ``kill -9`` at random moments then a re-run, worker
memory per photo, and what 10 million photos would cost.

Run under the shared lock: ``flock /tmp/facecloak-bench.lock nice -n 5 python benchmarks/scale.py``.
LFW photos come from the shared folder (never copied into the repo: a temporary folder holds the
copies deface needs, as it writes beside its inputs).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

from _report import (
    ROOT,
    machine_line,
    markdown_table,
    require_shared_faces,
    save_json,
    write_section,
)

ENV = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
MANIFEST = "facecloak-manifest.jsonl"
FINAL = ("protected", "partial", "failed", "error", "skipped", "copied unchanged")


def lfw_photos(count: int) -> list[Path]:
    faces = require_shared_faces()
    found = sorted((faces / "lfw").rglob("*.jpg")) + sorted((faces / "lfw_extra").rglob("*.jpg"))
    if len(found) < count:
        sys.exit(f"only {len(found)} LFW photos under {faces}; ask for fewer")
    return found[:count]


def staged(photos: list[Path], folder: Path) -> Path:
    """Copies of ``photos`` under ``folder`` (a temporary folder, never the repo)."""
    folder.mkdir(parents=True, exist_ok=True)
    for path in photos:
        shutil.copyfile(path, folder / path.name)
    return folder


def _tree_rss_mb(root: int, include_root: bool = True) -> float:
    """Resident memory of ``root`` and every process under it, in MB (from /proc)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                parents[int(entry.name)] = int(
                    (entry / "stat").read_text().rsplit(")", 1)[1].split()[1]
                )
    family, frontier = set(), [root]
    while frontier:
        pid = frontier.pop()
        family.add(pid)
        frontier += [child for child, parent in parents.items() if parent == pid]
    if not include_root:
        family.discard(root)
    total = 0
    for pid in family:
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
    return total / 1024


def measured(command: list[str]) -> dict:
    """Wall time and peak resident memory (the whole process tree) of ``command``."""
    started = time.perf_counter()
    process = subprocess.Popen(command, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak = 0.0
    while process.poll() is None:
        peak = max(peak, _tree_rss_mb(process.pid))
        time.sleep(0.1)
    wall = time.perf_counter() - started
    if process.returncode not in (0, 1):
        sys.exit(f"{command[:4]} failed: {process.stderr.read().decode()[-500:]}")  # type: ignore[union-attr]
    return {"seconds": round(wall, 2), "peak_mb": round(peak)}


def facecloak(folder: Path, out: Path, *options: str) -> list[str]:
    return [sys.executable, "-m", "facecloak", "protect", str(folder), "-o", str(out), *options]


def workers_and_deface(photos: list[Path], work: Path) -> dict:
    """photos/s of ``--method blur`` with 1 and 2 workers, and deface on the same folder."""
    folder = staged(photos, work / "local")
    rows = {}
    for workers in (1, 2):
        out = work / f"out-{workers}"
        rows[f"facecloak --workers {workers}"] = measured(
            facecloak(folder, out, "--method", "blur", "--workers", str(workers))
        )
    deface = shutil.which("deface", path=str(Path(sys.executable).parent))
    if deface is None:
        sys.exit("deface is not installed in this environment: pip install deface")
    rows["deface (its defaults)"] = measured([deface, str(folder)])
    for row in rows.values():
        row["photos_per_s"] = round(len(photos) / row["seconds"], 2)
    return rows


def ray_cluster_run(photos: list[Path], work: Path, name: str, options: list[str]) -> dict:
    """A 3-node local Ray cluster (1 CPU each) protecting ``photos``; one worker node removed
    (not gracefully) when 40% are done; checks every photo is recorded once and decodes."""
    import ray
    from ray.cluster_utils import Cluster

    from facecloak.cli import main

    folder, out = staged(photos, work / f"ray-{name}"), work / f"ray-{name}-out"
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1})
    nodes = [cluster.add_node(num_cpus=1) for _ in range(2)]
    cluster.wait_for_nodes()
    ray.init(address=cluster.address, log_to_driver=False)
    removed: dict = {}
    watcher = threading.Thread(
        target=_remove_node_at,
        args=(cluster, nodes[0], out, int(0.4 * len(photos)), removed),
        daemon=True,  # a failed run must not wait for it
    )
    started = time.perf_counter()
    try:
        watcher.start()
        with contextlib.redirect_stdout(io.StringIO()):
            code = main(["protect", str(folder), "-o", str(out), *options, "--ray", "auto"])
        watcher.join()
    finally:
        ray.shutdown()
        cluster.shutdown()
    seconds = time.perf_counter() - started
    check = exactly_once(out, len(photos))
    return {"photos": len(photos), "exit": code, "seconds": round(seconds, 1), **removed, **check}


def _remove_node_at(cluster, node, out: Path, after: int, removed: dict) -> None:
    deadline = time.monotonic() + 3600
    while time.monotonic() < deadline and _finished_count(out) < after:
        time.sleep(0.2)
    removed["node_removed_after"] = _finished_count(out)
    cluster.remove_node(node, allow_graceful=False)


def _records(out: Path) -> list[dict]:
    path = out / MANIFEST
    if not path.is_file():
        return []
    lines = path.read_text().splitlines()
    return [json.loads(line) for line in lines if line.strip().endswith("}")]


def _finished_count(out: Path) -> int:
    return sum(r["status"] in FINAL for r in _records(out))


def exactly_once(out: Path, expected: int) -> dict:
    """Every photo recorded finished exactly once; every output decodes."""
    from PIL import Image

    finished = Counter(r["key"] for r in _records(out) if r["status"] in FINAL)
    statuses = Counter(r["status"] for r in _records(out) if r["status"] in FINAL)
    outputs = [p for p in out.rglob("*.jpg") if not p.name.startswith(".")]
    broken = 0
    for path in outputs:
        try:
            with Image.open(path) as image:
                image.load()
        except OSError:
            broken += 1
    once = len(finished) == expected and set(finished.values()) == {1}
    return {
        "exactly_once": once,
        "statuses": dict(statuses),
        "outputs": len(outputs),
        "broken": broken,
    }


def kill_and_resume(photos: list[Path], work: Path, kills: int, seed: int = 14) -> dict:
    """``kill -9`` a 2-worker run ``kills`` times, each after a random number of new photos were
    recorded (so every kill lands mid-work, whatever the start-up costs), re-run to the end, and
    compare with one clean run: the same statuses and byte-identical outputs."""
    folder = staged(photos, work / "kill")
    clean, killed = work / "kill-clean", work / "kill-killed"
    full = measured(facecloak(folder, clean, "--method", "blur", "--workers", "2"))["seconds"]
    randomness = random.Random(seed)
    per_kill = max(1, len(photos) // (kills + 1))
    moments = []
    for _ in range(kills):
        before = _finished_count(killed)
        wanted = before + randomness.randint(1, per_kill)
        process = subprocess.Popen(
            facecloak(folder, killed, "--method", "blur", "--workers", "2"),
            env=ENV,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        started = time.perf_counter()
        while process.poll() is None and _finished_count(killed) < wanted:
            time.sleep(0.05)
        os.killpg(process.pid, signal.SIGKILL)  # the parent and its workers at once
        process.wait()
        moments.append(
            {
                "after_s": round(time.perf_counter() - started, 1),
                "new_before_kill": _finished_count(killed) - before,
                "finished": _finished_count(killed),
            }
        )
    measured(facecloak(folder, killed, "--method", "blur", "--workers", "2"))
    same = _same_result(clean, killed)
    return {"clean_seconds": full, "kills": moments, **exactly_once(killed, len(photos)), **same}


def _same_result(clean: Path, killed: Path) -> dict:
    import numpy as np
    from PIL import Image

    def statuses(out: Path) -> dict:
        return {r["key"]: r["status"] for r in _records(out) if r["status"] in FINAL}

    names = sorted(p.name for p in clean.glob("*.jpg"))
    same_names = names == sorted(p.name for p in killed.glob("*.jpg") if not p.name.startswith("."))
    identical = all(
        np.array_equal(np.asarray(Image.open(clean / n)), np.asarray(Image.open(killed / n)))
        for n in names
    )
    return {
        "same_statuses": statuses(clean) == statuses(killed),
        "same_outputs": same_names and identical,
    }


def worker_memory(
    photos: list[Path], work: Path, variants: dict[str, dict], steps: int | None = None
) -> dict:
    """Resident memory of a single worker process over the photos (default cloak; ``steps``
    overrides its optimiser steps, which changes the time per photo but not the layer shapes the
    kernel cache keys on), per variant of :class:`~facecloak.protect.runners.PoolOptions`: MB at
    the start, at the end, the peak in the first and the last fifth of the run, and the
    least-squares growth per photo."""
    import numpy as np

    from facecloak.protect import ProtectConfig
    from facecloak.protect.runners import PoolOptions, run_pool
    from facecloak.protect.work import PhotoJob, WorkSettings

    folder = staged(photos, work / "memory")
    settings = WorkSettings(ProtectConfig(steps=steps), max_pixels=40_000_000)
    rows = {}
    for name, options in variants.items():
        out = work / f"memory-{name}"
        out.mkdir()
        jobs = [PhotoJob(p, out / p.name) for p in sorted(folder.glob("*.jpg"))]
        samples, started = [], time.perf_counter()
        for _ in run_pool(jobs, settings, lambda job: None, PoolOptions(1, **options)):
            samples.append(_tree_rss_mb(os.getpid(), include_root=False))
        slope = float(np.polyfit(np.arange(len(samples)), samples, 1)[0])
        rows[name] = {
            "start_mb": round(samples[0]),
            "end_mb": round(samples[-1]),
            "max_mb": round(max(samples)),
            "first_fifth_max_mb": round(max(samples[: max(1, len(samples) // 5)])),
            "last_fifth_max_mb": round(max(samples[-max(1, len(samples) // 5) :])),
            "mb_per_photo": round(slope, 3),
            "seconds_per_photo": round((time.perf_counter() - started) / len(jobs), 2),
        }
    return rows


MEMORY_VARIANTS = {
    "as is (malloc_trim after each photo)": {},
    "without malloc_trim": {"trim_memory": False},
    "oneDNN kernel cache 64": {"kernel_cache": 64},
    "oneDNN kernel cache 0": {"kernel_cache": 0},
    "worker replaced every 20 photos": {"photos_per_worker": 20},
    "the default pool (worker replaced every 200 photos)": {"photos_per_worker": 200},
}


def cost_plan(payload: dict, photos: int = 10_000_000, node_cores: int = 32) -> dict:
    """Core-seconds per photo from the runs above, and what ``photos`` cost in node-hours."""
    two = payload["local"]["facecloak --workers 2"]
    blur_core_s = 2 / two["photos_per_s"]  # this machine's 2 cores, start-up included
    first_variant = next(iter(payload["memory"].values()))
    cloak_core_s = 2 * first_variant["seconds_per_photo"]  # 1 worker, 2 threads
    plan = {}
    for name, core_s in (("--method blur", blur_core_s), ("default cloak", cloak_core_s)):
        core_hours = photos * core_s / 3600
        plan[name] = {
            "core_s_per_photo": round(core_s, 2),
            "core_hours": round(core_hours),
            "node_hours": round(core_hours / node_cores),
        }
    return {"photos": photos, "node_cores": node_cores, "rows": plan}


RAY_HEADER = ["run", "photos", "seconds", "node removed after", "each photo once", "statuses"]
RAY_HEADER += ["outputs"]
MEMORY_HEADER = ["worker", "MB after photo 1", "MB at the end", "max MB", "MB per photo"]
MEMORY_HEADER += ["s per photo"]


def to_markdown(payload: dict) -> str:
    local = payload["local"]
    one, two = local["facecloak --workers 1"], local["facecloak --workers 2"]
    deface = local["deface (its defaults)"]
    local_rows = [
        [name, row["seconds"], row["photos_per_s"], row["peak_mb"]] for name, row in local.items()
    ]
    ray_rows = [
        [
            name,
            run["photos"],
            run["seconds"],
            run["node_removed_after"],
            run["exactly_once"],
            ", ".join(f"{v} {k}" for k, v in run["statuses"].items()),
            f"{run['outputs']} ({run['broken']} broken)",
        ]
        for name, run in payload["ray"].items()
    ]
    kill = payload["kill"]
    memory_rows = [
        [name, r["start_mb"], r["end_mb"], r["max_mb"], r["mb_per_photo"], r["seconds_per_photo"]]
        for name, r in payload["memory"].items()
    ]
    plan = payload["plan"]
    plan_rows = [
        [name, r["core_s_per_photo"], f"{r['core_hours']:,}", f"{r['node_hours']:,}"]
        for name, r in plan["rows"].items()
    ]
    sizes = payload["sizes"]
    moments = ", ".join(str(k["after_s"]) for k in kill["kills"])
    recorded = ", ".join(str(k["finished"]) for k in kill["kills"])
    return f"""## Scale (issue 14): workers, deface, a Ray cluster losing a node, kill -9, memory

{payload["machine"]}; `python benchmarks/scale.py {payload["argv"]}` (defaults: the full sizes
{sizes["defaults"]}). Every figure below comes from the same run, under the benchmark lock, on a
machine shared with other work (wall clocks vary with it).

**Local, `--method blur` on {sizes["local"]} LFW photos** (whole command, start-up included; peak
memory of the whole process tree): 2 workers run at {two["photos_per_s"] / one["photos_per_s"]:.2f}x
the photos/s of 1 worker; facecloak with 2 workers takes {two["seconds"] / deface["seconds"]:.2f}x
deface's wall time, at {two["peak_mb"]} MB against deface's {deface["peak_mb"]} MB.

{markdown_table(["run", "seconds", "photos/s", "peak MB"], local_rows)}

**A local 3-node Ray cluster** (`ray.cluster_utils.Cluster`, 1 CPU per node, 3 actors) with one
worker node removed (not gracefully) when 40% of the photos were done:

{markdown_table(RAY_HEADER, ray_rows)}

**`kill -9` at random moments**: a 2-worker `--method blur` run over {sizes["kill"]} photos
was killed {len(kill["kills"])} times (parent and workers at once; at {moments} s, with
{recorded} photos recorded), then run to the end: every photo recorded once:
{kill["exactly_once"]}; the same statuses as one clean run: {kill["same_statuses"]}; the same
outputs, pixel for pixel: {kill["same_outputs"]}; {kill["broken"]} of {kill["outputs"]} outputs
fail to decode.

**Worker memory** (one worker process, default cloak, {sizes["memory"]} LFW photos; resident
MB after each photo, growth by least squares):

{markdown_table(MEMORY_HEADER, memory_rows)}

**Plan on paper: {plan["photos"]:,} photos** at the per-photo costs measured above (blur: 2 cores /
the 2-worker photos/s; cloak: 2 threads x the single worker's seconds per photo), on nodes of
{plan["node_cores"]} cores, assuming throughput scales with cores as the 1-to-2 worker ratio above
suggests and the photos are LFW-sized (250x250, one face; cost grows with faces per photo, and
detection with pixels):

{markdown_table(["method", "core-s per photo", "core-hours", "node-hours"], plan_rows)}
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--local", type=int, default=200, help="photos for workers/deface")
    parser.add_argument("--ray-blur", type=int, default=1000)
    parser.add_argument("--ray-cloak", type=int, default=200)
    parser.add_argument("--kill", type=int, default=200, help="photos of the kill -9 run")
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument("--memory", type=int, default=1000, help="photos per memory variant")
    parser.add_argument(
        "--memory-variants", default=",".join(MEMORY_VARIANTS), help=", ".join(MEMORY_VARIANTS)
    )
    args = parser.parse_args()
    variants = {name: MEMORY_VARIANTS[name] for name in args.memory_variants.split(",")}
    defaults = "--local 200 --ray-blur 1000 --ray-cloak 200 --kill 200 --kills 10 --memory 1000"
    photos = lfw_photos(max(args.local, args.ray_blur, args.ray_cloak, args.kill, args.memory))
    payload: dict = {
        "machine": machine_line(),
        "argv": " ".join(sys.argv[1:]),
        "sizes": {**vars(args), "defaults": defaults},
    }
    with tempfile.TemporaryDirectory(prefix="facecloak-scale-") as folder:
        work = Path(folder)
        payload["local"] = workers_and_deface(photos[: args.local], work)
        print(json.dumps(payload["local"]), flush=True)
        payload["kill"] = kill_and_resume(photos[: args.kill], work, args.kills)
        print(json.dumps(payload["kill"]), flush=True)
        payload["memory"] = worker_memory(photos[: args.memory], work, variants)
        print(json.dumps(payload["memory"]), flush=True)
        payload["ray"] = {
            "--method blur": ray_cluster_run(
                photos[: args.ray_blur], work, "blur", ["--method", "blur"]
            ),
            "default cloak": ray_cluster_run(photos[: args.ray_cloak], work, "cloak", []),
        }
        print(json.dumps(payload["ray"]), flush=True)
    payload["plan"] = cost_plan(payload)
    save_json("scale", payload)
    markdown = to_markdown(payload)
    write_section("scale", markdown)
    print(markdown)


if __name__ == "__main__":
    main()
