"""``protect`` over a folder keeps a manifest: a re-run skips what is done, redoes what changed,
retries failures only when asked, and a run killed with ``kill -9`` resumes with every photo
done exactly once (issue 14)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from facecloak.data import samples
from facecloak.protect.manifest import MANIFEST_NAME

FINAL = ("protected", "partial", "failed", "error", "skipped", "copied unchanged")


def _small_photos(folder: Path, count: int) -> Path:
    """``count`` small photos of Grace Hopper (each a little different) in ``folder/sub``."""
    hopper = Image.fromarray(samples.grace_hopper()).resize((128, 160))
    for index in range(count):
        sub = folder / ("sub" if index % 2 else "")
        sub.mkdir(parents=True, exist_ok=True)
        shifted = np.asarray(hopper).astype(np.int16) + index
        Image.fromarray(np.clip(shifted, 0, 255).astype(np.uint8)).save(sub / f"p{index}.jpg")
    return folder


def _records(outdir: Path) -> list[dict]:
    lines = (outdir / MANIFEST_NAME).read_text().splitlines()
    return [json.loads(line) for line in lines if line.strip().endswith("}")]


def _finished(outdir: Path) -> Counter:
    return Counter(r["key"] for r in _records(outdir) if r["status"] in FINAL)


def test_a_rerun_skips_what_is_done_and_redoes_what_changed(cli, tmp_path: Path) -> None:
    source = _small_photos(tmp_path / "in", 3)
    out = tmp_path / "out"
    first = cli("protect", source, "-o", out, "--method", "blur", "--workers", "1", "--json")
    assert first.code == 0, first.err
    assert (out / "sub" / "p1.jpg").is_file()  # the tree mirrors the input's
    again = cli("protect", source, "-o", out, "--method", "blur", "--workers", "1", "--json")
    report = json.loads(again.out)
    assert again.code == 0 and report["counts"] == {"already done": 3}
    assert set(_finished(out).values()) == {1}
    Image.new("RGB", (64, 64), "white").save(source / "p0.jpg")  # a changed photo
    changed = cli("protect", source, "-o", out, "--method", "blur", "--workers", "1", "--json")
    assert json.loads(changed.out)["counts"] == {"skipped": 1, "already done": 2}
    other = cli("protect", source, "-o", out, "--method", "pixelate", "--workers", "1", "--json")
    assert json.loads(other.out)["counts"]["protected"] == 2  # new settings: redone, replaced


def test_failures_are_retried_only_when_asked(cli, tmp_path: Path) -> None:
    source = _small_photos(tmp_path / "in", 1)
    (source / "broken.jpg").write_text("not a photo")
    out = tmp_path / "out"
    command = ("protect", source, "-o", out, "--method", "blur", "--workers", "1", "--json")
    assert cli(*command).code == 1
    kept = cli(*command)
    report = json.loads(kept.out)
    assert kept.code == 1 and report["counts"] == {"error": 1, "already done": 1}
    assert "--retry-failed" in next(p for p in report["photos"] if p["status"] == "error")["reason"]
    assert Counter(_finished(out).values()) == Counter({1: 2})
    assert cli(*command, "--retry-failed").code == 1
    assert sorted(_finished(out).values()) == [1, 2]  # the broken photo tried once more
    samples_image = Image.fromarray(samples.grace_hopper()).resize((128, 160))
    samples_image.save(source / "broken.jpg")  # mended: a changed file is redone anyway
    assert cli(*command).code == 0


def test_a_torn_manifest_line_is_ignored(cli, tmp_path: Path) -> None:
    source = _small_photos(tmp_path / "in", 2)
    out = tmp_path / "out"
    command = ("protect", source, "-o", out, "--method", "blur", "--workers", "1", "--json")
    assert cli(*command).code == 0
    with (out / MANIFEST_NAME).open("a") as manifest:
        manifest.write('{"input": "half a li')
    assert json.loads(cli(*command).out)["counts"] == {"already done": 2}
    assert cli("protect", source, "-o", out, "--method", "pixelate", "--workers", "1").code == 0
    assert all(isinstance(r, dict) for r in _records(out))


def test_two_workers_give_the_same_outputs_as_one(cli, tmp_path: Path) -> None:
    source = _small_photos(tmp_path / "in", 4)
    for workers, out in (("1", tmp_path / "one"), ("2", tmp_path / "two")):
        done = cli("protect", source, "-o", out, "--method", "blur", "--workers", workers)
        assert done.code == 0, done.err
    names = sorted(p.relative_to(tmp_path / "one") for p in (tmp_path / "one").rglob("*.jpg"))
    assert names == sorted(
        p.relative_to(tmp_path / "two") for p in (tmp_path / "two").rglob("*.jpg")
    )
    for name in names:
        one = np.asarray(Image.open(tmp_path / "one" / name))
        assert np.array_equal(one, np.asarray(Image.open(tmp_path / "two" / name)))


@pytest.mark.slow
def test_a_run_killed_mid_way_resumes_with_every_photo_done_once(tmp_path: Path) -> None:
    source = _small_photos(tmp_path / "in", 8)
    out = tmp_path / "out"
    command = [sys.executable, "-m", "facecloak", "protect", str(source), "-o", str(out)]
    command += ["--method", "blur", "--workers", "1", "--json"]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "src")}
    run = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and run.poll() is None:
        if (out / MANIFEST_NAME).is_file() and sum(_finished(out).values()) >= 2:
            break
        time.sleep(0.05)
    os.kill(run.pid, signal.SIGKILL)
    run.wait()
    assert sum(_finished(out).values()) < 8, "the run ended before it could be killed"
    resumed = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    finished = _finished(out)
    assert len(finished) == 8 and set(finished.values()) == {1}
    outputs = [p for p in out.rglob("*.jpg") if not p.name.startswith(".")]
    assert len(outputs) == sum(r.get("output") is not None for r in _latest(out))
    for output in outputs:
        Image.open(output).load()


def _latest(outdir: Path) -> list[dict]:
    return list({r["key"]: r for r in _records(outdir)}.values())


@pytest.mark.slow
def test_ctrl_c_of_a_pool_says_what_finished_and_a_rerun_does_the_rest(tmp_path: Path) -> None:
    source = _small_photos(tmp_path / "in", 12)
    out = tmp_path / "out"
    command = [sys.executable, "-m", "facecloak", "protect", str(source), "-o", str(out)]
    command += ["--method", "blur", "--workers", "2"]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "src")}
    run = subprocess.Popen(
        command,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and run.poll() is None:
        if (out / MANIFEST_NAME).is_file() and sum(_finished(out).values()) >= 1:
            break
        time.sleep(0.05)
    run.send_signal(signal.SIGINT)
    stdout, _ = run.communicate(timeout=60)
    assert run.returncode == 1
    summary = stdout.strip().splitlines()[-1]
    assert "not started" in summary and "protected" in summary
    resumed = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    assert "already done" in resumed.stdout.splitlines()[-1]
    finished = _finished(out)
    assert len(finished) == 12 and set(finished.values()) == {1}
