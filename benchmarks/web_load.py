"""Load on ``facecloak serve``: many concurrent clients uploading small photos for a while.

Starts the server on 127.0.0.1 (its own process, default settings: one worker per core), warms
it up, then runs ``--clients`` threads for ``--seconds``; each loops over ``detect`` (one
photo), ``compare`` (two photos) and, every few rounds, a ``blur`` job it polls to the end and
downloads. A 429 is the server saying "busy": the client waits half a second and goes on. Reports
requests served, p50/p95 latency per kind, 429s, errors (anything else that is not a 2xx, or no
answer) and the server's resident memory before and after; writes its BENCHMARKS.md section.
Stops by itself: the clients at the deadline, the server after them.

    python benchmarks/web_load.py [--clients 50] [--seconds 60] [--port 8765]
"""

from __future__ import annotations

import argparse
import io
import os
import socket
import subprocess
import sys
import threading
import time
from collections import defaultdict
from pathlib import Path

import httpx
import numpy as np
from PIL import Image

from _report import machine_line, markdown_table, save_json, write_section
from facecloak.data import astronaut, grace_hopper

JOB_EVERY = 4
"""One client round in this many submits a blur job (detect and compare run every round)."""


def small_jpeg(rgb: np.ndarray, side: int = 256) -> bytes:
    image = Image.fromarray(rgb)
    image.thumbnail((side, side))
    stream = io.BytesIO()
    image.save(stream, format="JPEG", quality=90)
    return stream.getvalue()


class Tally:
    """Latencies and status counts of every request, from every client thread."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.latency: dict[str, list[float]] = defaultdict(list)
        self.status: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        self.error_samples: list[str] = []

    def merge(self, other: Tally) -> None:
        """Add another run's counts and latencies to these."""
        with self.lock:
            for kind, latencies in other.latency.items():
                self.latency[kind] += latencies
            for kind, codes in other.status.items():
                for code, count in codes.items():
                    self.status[kind][code] += count
            self.error_samples = (self.error_samples + other.error_samples)[:10]

    def add(
        self, kind: str, started: float, response: httpx.Response | None, note: str = ""
    ) -> None:
        code = "no answer" if response is None else str(response.status_code)
        with self.lock:
            self.status[kind][code] += 1
            if response is not None and response.is_success:
                self.latency[kind].append(time.perf_counter() - started)
            elif code != "429" and len(self.error_samples) < 10:
                self.error_samples.append(
                    f"{kind} {code} {note or (response and response.text)}"[:200]
                )


def request(
    client: httpx.Client, tally: Tally, kind: str, method: str, url: str, **kw
) -> httpx.Response | None:
    started = time.perf_counter()
    try:
        response = client.request(method, url, **kw)
    except httpx.HTTPError as exc:
        tally.add(kind, started, None, type(exc).__name__)
        return None
    tally.add(kind, started, response)
    if response.status_code == 429:
        time.sleep(0.5)
    return response


def run_job(client: httpx.Client, tally: Tally, photo: bytes, deadline: float) -> None:
    files = [("photos", ("a.jpg", photo))]
    created = request(
        client, tally, "job submit", "POST", "/api/v1/jobs", files=files, data={"method": "blur"}
    )
    if created is None or created.status_code != 202:
        return
    job_id = created.json()["id"]
    while time.monotonic() < deadline + 30:
        polled = request(client, tally, "job poll", "GET", f"/api/v1/jobs/{job_id}")
        if polled is None or polled.json().get("status") in ("done", "failed"):
            break
        time.sleep(0.3)
    request(client, tally, "job file", "GET", f"/api/v1/jobs/{job_id}/files/0")
    request(client, tally, "job delete", "DELETE", f"/api/v1/jobs/{job_id}")


def client_loop(base: str, tally: Tally, photos: list[bytes], deadline: float, seed: int) -> None:
    rounds = seed
    with httpx.Client(base_url=base, timeout=120) as client:
        while time.monotonic() < deadline:
            a, b = photos[rounds % 2], photos[(rounds + 1) % 2]
            request(
                client, tally, "detect", "POST", "/api/v1/detect", files={"photo": ("a.jpg", a)}
            )
            pair = {"photo_a": ("a.jpg", a), "photo_b": ("b.jpg", b)}
            request(client, tally, "compare", "POST", "/api/v1/compare", files=pair)
            if rounds % JOB_EVERY == 0:
                run_job(client, tally, a, deadline)
            rounds += 1


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def start_server(port: int) -> subprocess.Popen:
    src = Path(__file__).resolve().parents[1] / "src"
    env = {**os.environ, "PYTHONPATH": f"{src}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    command = [
        sys.executable,
        "-m",
        "facecloak",
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]
    server = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    for _ in range(600):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=1).is_success:
                return server
        except httpx.HTTPError:
            time.sleep(0.1)
    server.terminate()
    sys.exit("the server did not start within 60 s")


def load(base: str, photos: list[bytes], clients: int, seconds: float) -> Tally:
    """``clients`` threads looping for ``seconds`` (then finishing their current round)."""
    tally = Tally()
    deadline = time.monotonic() + seconds
    threads = [
        threading.Thread(target=client_loop, args=(base, tally, photos, deadline, i), daemon=True)
        for i in range(clients)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=max(1.0, deadline - time.monotonic() + 150))
    return tally


def warm_up(base: str, photos: list[bytes]) -> None:
    """Load every model once (the first compare loads every recognizer)."""
    with httpx.Client(base_url=base, timeout=300) as client:
        client.post("/api/v1/detect", files={"photo": ("a.jpg", photos[0])}).raise_for_status()
        pair = {"photo_a": ("a.jpg", photos[0]), "photo_b": ("b.jpg", photos[1])}
        client.post("/api/v1/compare", files=pair).raise_for_status()
        tally = Tally()
        run_job(client, tally, photos[0], time.monotonic())


def summary(
    tally: Tally, seconds: float, clients: int, memory: tuple[float, float], warmup: float
) -> dict:
    kinds = {}
    for kind, codes in sorted(tally.status.items()):
        times = np.array(tally.latency.get(kind, [])) * 1000
        kinds[kind] = {
            "served": len(times),
            "p50_ms": round(float(np.percentile(times, 50)), 1) if times.size else None,
            "p95_ms": round(float(np.percentile(times, 95)), 1) if times.size else None,
            "busy_429": codes.get("429", 0),
            "errors": sum(n for c, n in codes.items() if c != "429" and not c.startswith("2")),
        }
    return {
        "clients": clients,
        "warmup": warmup,
        "seconds": round(seconds, 1),
        "requests": sum(sum(codes.values()) for codes in tally.status.values()),
        "served": sum(k["served"] for k in kinds.values()),
        "busy_429": sum(k["busy_429"] for k in kinds.values()),
        "errors": sum(k["errors"] for k in kinds.values()),
        "error_samples": tally.error_samples,
        "rss_mb_before": round(memory[0], 1),
        "rss_mb_after": round(memory[1], 1),
        "kinds": kinds,
        "machine": machine_line(),
    }


def markdown(result: dict) -> str:
    rows = [
        [kind, k["served"], k["p50_ms"], k["p95_ms"], k["busy_429"], k["errors"]]
        for kind, k in result["kinds"].items()
    ]
    table = markdown_table(["request", "served", "p50 ms", "p95 ms", "429", "errors"], rows)
    return f"""## Web app under load (issue 12): `benchmarks/web_load.py`

{result["clients"]} concurrent clients for {result["seconds"]} s against `facecloak serve` on
127.0.0.1 (default limits: one job worker per core, 8 jobs queued, 8 detect/compare in flight).
Each client loops over `detect` (one 256 px JPEG) and `compare` (two), and every
{JOB_EVERY}th round submits a `blur` job, polls it, downloads the photo and deletes the job. A 429
is the server refusing work it has no slot for; the client waits 0.5 s and goes on.

Requests: **{result["requests"]}**, served (2xx): **{result["served"]}**, 429: {result["busy_429"]},
errors (any other answer, or none): **{result["errors"]}**. Server memory (RSS) after a first
{result["warmup"]} s of the same load: {result["rss_mb_before"]} MB; after each third of the
measured run: {", ".join(f"{v} MB" for v in result["rss_mb_rounds"])}.

{table}

Latency is the client's wall clock of a served request, queueing included; the 2 cores were
shared with other work. {result["machine"]}."""


ROUNDS = 3
"""The measured load runs in this many rounds, the server's memory read after each."""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--warmup", type=float, default=10.0, help="seconds of load not counted")
    parser.add_argument("--port", type=int, default=0, help="default: a free port")
    parser.add_argument("--no-write", action="store_true", help="print, do not touch BENCHMARKS.md")
    args = parser.parse_args()
    port = args.port or free_port()
    base = f"http://127.0.0.1:{port}"
    photos = [small_jpeg(astronaut()), small_jpeg(grace_hopper())]
    server = start_server(port)
    try:
        warm_up(base, photos)
        load(base, photos, args.clients, args.warmup)  # steady state: pools, arenas, caches
        time.sleep(3)
        before = rss_mb(server.pid)
        started = time.monotonic()
        tally, rounds = Tally(), []
        for _ in range(ROUNDS):  # memory read between rounds: flat, or growing?
            tally.merge(load(base, photos, args.clients, args.seconds / ROUNDS))
            time.sleep(3)  # let the last jobs finish and their memory go
            rounds.append(round(rss_mb(server.pid), 1))
        elapsed = time.monotonic() - started - 3 * ROUNDS
        after = rounds[-1]
    finally:
        server.terminate()
        server.wait(timeout=30)
    result = summary(tally, elapsed, args.clients, (before, after), args.warmup)
    result["rss_mb_rounds"] = rounds
    print(markdown(result))
    if result["error_samples"]:
        print("error samples:", *result["error_samples"], sep="\n  ")
    if not args.no_write:
        save_json("web_load", result)
        write_section("web-load", markdown(result))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


if __name__ == "__main__":
    main()
