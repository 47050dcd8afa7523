"""``protect --ray``: the same photos, outputs and manifest as a local run, on a small local Ray
session (skipped when Ray is not installed)."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from facecloak.cli import main
from facecloak.data import samples
from facecloak.protect.manifest import MANIFEST_NAME

ray = pytest.importorskip("ray")


@pytest.fixture(scope="module")
def ray_session():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def _photos(folder: Path, count: int = 4) -> Path:
    hopper = Image.fromarray(samples.grace_hopper()).resize((128, 160))
    for index in range(count):
        sub = folder / ("sub" if index % 2 else "")
        sub.mkdir(parents=True, exist_ok=True)
        hopper.rotate(index * 3).save(sub / f"p{index}.png")
    return folder


@pytest.mark.slow
def test_a_ray_run_writes_what_a_local_run_writes(ray_session, tmp_path: Path, capsys) -> None:
    source = _photos(tmp_path / "in")
    local, distributed = tmp_path / "local", tmp_path / "ray"
    assert (
        main(["protect", str(source), "-o", str(local), "--method", "blur", "--workers", "1"]) == 0
    )
    capsys.readouterr()
    argv = ["protect", str(source), "-o", str(distributed), "--method", "blur", "--ray", "auto"]
    assert main([*argv, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["counts"] == {"protected": 4}
    assert {p["input"] for p in report["photos"]} == {str(p) for p in source.rglob("*.png")}
    for output in local.rglob("*.png"):
        twin = distributed / output.relative_to(local)
        assert np.array_equal(np.asarray(Image.open(output)), np.asarray(Image.open(twin)))
    lines = (distributed / MANIFEST_NAME).read_text().splitlines()
    assert sum(json.loads(line)["status"] == "protected" for line in lines) == 4
    assert main([*argv, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["counts"] == {"already done": 4}


@pytest.mark.slow
def test_a_node_lost_mid_way_loses_no_photo(tmp_path: Path) -> None:
    from ray.cluster_utils import Cluster

    if ray.is_initialized():
        ray.shutdown()
    source = _photos(tmp_path / "in", count=8)
    out = tmp_path / "out"
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1})
    doomed = cluster.add_node(num_cpus=1)
    cluster.wait_for_nodes()
    ray.init(address=cluster.address, log_to_driver=False)
    killer = threading.Thread(target=_remove_after_first_photo, args=(cluster, doomed, out))
    try:
        killer.start()
        argv = ["protect", str(source), "-o", str(out), "--method", "blur", "--ray", "auto"]
        code = main([*argv, "--workers", "2"])
        killer.join()
    finally:
        ray.shutdown()
        cluster.shutdown()
    assert code == 0
    records = [json.loads(line) for line in (out / MANIFEST_NAME).read_text().splitlines()]
    finished = Counter(r["key"] for r in records if r["status"] != "started")
    assert len(finished) == 8 and set(finished.values()) == {1}
    assert {r["status"] for r in records} == {"started", "protected"}
    for output in out.rglob("p*.png"):
        Image.open(output).load()


def _remove_after_first_photo(cluster, node, out: Path) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        manifest = out / MANIFEST_NAME
        if manifest.is_file() and '"protected"' in manifest.read_text():
            break
        time.sleep(0.05)
    cluster.remove_node(node, allow_graceful=False)
