"""`facecloak evaluate`: options checked before any work, settings passed on, one summary line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import facecloak.evaluate.protection
import facecloak.models.recognizers
from facecloak.errors import FacecloakError

BAD_VALUES = [
    ("--method", "foo"),
    ("--strength", "extreme"),
    ("--detector", "foo"),
    ("--check-with", "foo"),
    ("--check-with", "dlib"),
    ("--check-with", ","),
    ("--limit", "0"),
    ("--limit", "-1"),
    ("--limit", "ten"),
]


@pytest.mark.parametrize(("option", "value"), BAD_VALUES)
def test_bad_values_are_refused(cli, no_work, tmp_path: Path, option: str, value: str) -> None:
    cli("evaluate", tmp_path, option, value).assert_refused(option, repr(value))


@pytest.mark.parametrize(
    ("options", "names"),
    [
        (
            ["--ensemble", "--check-with", "mobilefacenet", "--method", "ifgsm"],
            ["--ensemble", "--method ifgsm"],
        ),
        (
            ["--ensemble", "--check-with", "mobilefacenet", "--method", "blur"],
            ["--ensemble", "--method blur"],
        ),
    ],
)
def test_combinations_that_cannot_work_are_refused(cli, no_work, tmp_path, options, names) -> None:
    cli("evaluate", tmp_path, *options).assert_refused(*names)


def test_report_under_a_file_is_refused(cli, no_work, tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    outcome = cli("evaluate", tmp_path, "--report", tmp_path / "file" / "out", "--json")
    outcome.assert_refused("--report", "lies under the file")


SUMMARY = {
    "photos": 4,
    "photos_failed": 0,
    "failed": [],
    "verification_protected": {"clean": 1.0, "jpeg75": 0.75, "resize50": 0.5},
    "identification_miss_rate": {"clean": 1.0, "unprotected": 0.0},
    "face_ssim_mean": 0.98,
    "face_ssimulacra2_mean": 80.0,
    "seconds_per_face": 2.0,
    "other_recognizers": {
        "mobilefacenet": {
            "role": "transfer",
            "verification_protected": {"clean": 0.25, "jpeg75": 0.0},
            "identification_miss_rate": {"clean": 0.5},
        }
    },
}


class _Report:
    def summary(self) -> dict:
        return SUMMARY


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[dict]:
    """What ``evaluate`` asked of :func:`evaluate_protection` (which returns :data:`SUMMARY`)."""
    seen: list[dict] = []

    def evaluate_protection(folder: Path, **settings: object) -> _Report:
        seen.append({"folder": folder, **settings})
        return _Report()

    monkeypatch.setattr(facecloak.evaluate.protection, "evaluate_protection", evaluate_protection)
    monkeypatch.setattr(facecloak.evaluate.protection, "load_judges", lambda names, attacked: [])
    return seen


def test_settings_and_summary_line(cli, calls, tmp_path: Path) -> None:
    outcome = cli("evaluate", tmp_path, "--method", "ifgsm", "--strength", "low", "--limit", "4")
    assert outcome.code == 0
    assert calls[0]["method"] == "ifgsm" and calls[0]["strength"] == "low"
    assert calls[0]["limit"] == 4 and calls[0]["detector"] == "centerface"
    lines = outcome.out.splitlines()
    assert lines[0].startswith("4 photos, ifgsm/low: no longer matched 100.0% (JPEG q75 75.0%")
    assert lines[1].startswith("  mobilefacenet (transfer): no longer matched 25.0%")


def test_json_summary(cli, calls, tmp_path: Path) -> None:
    outcome = cli("evaluate", tmp_path, "--json")
    assert outcome.code == 0 and calls[0]["limit"] is None
    assert json.loads(outcome.out) == {"ok": True, **SUMMARY, "report": {}}


def test_a_recognizer_the_evaluation_cannot_use_is_refused(cli, monkeypatch, tmp_path) -> None:
    def load_judges(names: list[str], attacked: bool) -> list:
        raise ValueError(f"unknown recognizer {names[0]!r}; choose mobilefacenet")

    everything = dict.fromkeys(facecloak.models.recognizers.known_recognizers())
    monkeypatch.setattr(facecloak.models.recognizers, "available_recognizers", lambda: everything)
    monkeypatch.setattr(facecloak.evaluate.protection, "load_judges", load_judges)
    outcome = cli("evaluate", tmp_path, "--check-with", "mobilefacenet")
    outcome.assert_refused("--check-with", "'mobilefacenet'", "unknown recognizer")


def test_a_recognizer_without_its_weights_is_refused(cli, no_work, monkeypatch, tmp_path) -> None:
    import facecloak.models.recognizers

    reasons = {"dlib": None, "mobilefacenet": "weights absent from /nowhere"}
    monkeypatch.setattr(
        facecloak.models.recognizers, "available_recognizers", lambda: reasons, raising=False
    )
    outcome = cli("evaluate", tmp_path, "--check-with", "mobilefacenet")
    outcome.assert_refused("--check-with", "'mobilefacenet'", "weights absent from /nowhere")


def test_a_report_that_cannot_be_written_is_one_line_after_the_results(
    cli, calls, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    def full(report: object, folder: Path) -> dict:
        raise FacecloakError(f"{folder / 'report.json'}: could not be written (No space left)")

    monkeypatch.setattr(facecloak.evaluate.protection, "write_report", full)
    outcome = cli("evaluate", tmp_path, "--report", tmp_path / "r")
    assert outcome.code == 1 and outcome.out.startswith("4 photos, ")
    assert f"{tmp_path / 'r' / 'report.json'}: could not be written" in outcome.err
    assert "Traceback" not in outcome.err
    outcome = cli("evaluate", tmp_path, "--report", tmp_path / "r", "--json")
    payload = json.loads(outcome.out)
    assert outcome.code == 1 and payload["ok"] is False and payload["photos"] == 4
    assert "report.json: could not be written" in payload["error"]
