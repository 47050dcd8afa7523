"""The seed-table prose lives in benchmarks/templates/; the script only fills in numbers."""

from __future__ import annotations

import copy
import json
import string
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
RESULTS = BENCHMARKS / "results" / "reproduce_seed_tables.json"


@pytest.fixture(scope="module")
def seed_tables(import_benchmark):
    return import_benchmark("reproduce_seed_tables")


@pytest.fixture(scope="module")
def payload() -> dict:
    return json.loads(RESULTS.read_text())


def test_every_placeholder_is_filled(seed_tables, payload) -> None:
    markdown = seed_tables.render(payload, write=False)
    assert "${" not in markdown and "$" not in markdown
    assert markdown.startswith("## Seed table: P-FGVM vs I-FGVM vs I-FGSM")
    assert "\n## Seed table: targeted PGD grid" in markdown


def test_dummy_numbers_reach_the_prose(seed_tables, payload) -> None:
    dummy = copy.deepcopy(payload)
    dummy["machine"] = "a dummy machine"
    dummy["grid"]["model"]["confidence"] = 0.123
    dummy["pfgvm"]["models"]["B"]["test_accuracy"] = 0.5
    markdown = seed_tables.render(dummy, write=False)
    assert markdown.count("Machine: a dummy machine.") == 2
    assert "probability of 0.12 on the clean test chips" in markdown
    assert "(test accuracy 50.0%)" in markdown


@pytest.mark.parametrize("name", ["seed_pfgvm", "seed_grid"])
def test_templates_have_only_known_placeholders(name: str) -> None:
    template = string.Template((BENCHMARKS / "templates" / f"{name}.md").read_text())
    assert template.is_valid()
    assert template.get_identifiers()
