"""What every command shares: ``--max-pixels``, ``--json`` on errors, exit codes, ``-m``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import facecloak
from facecloak.cli import COMMANDS

READS_PHOTOS = ("detect", "compare", "protect", "evaluate", "evaluate-detection", "classify")


def _argv(command: str, photo: Path, tmp_path: Path) -> list:
    """The smallest valid command line of ``command``."""
    return {
        "detect": ["detect", photo],
        "compare": ["compare", photo, photo],
        "protect": ["protect", photo, "-o", tmp_path / "out"],
        "evaluate": ["evaluate", tmp_path],
        "evaluate-detection": ["evaluate-detection", tmp_path],
        "classify": ["classify", photo, "--model", tmp_path / "m.pt"],
    }[command]


@pytest.mark.parametrize("command", READS_PHOTOS)
@pytest.mark.parametrize("value", ["nan", "inf", "1e400", "-1", "1.5", "abc", ""])
def test_max_pixels_must_be_a_whole_finite_count(
    cli, no_work, photo, tmp_path: Path, command: str, value: str
) -> None:
    outcome = cli(*_argv(command, photo, tmp_path), "--max-pixels", value)
    outcome.assert_refused("--max-pixels", repr(value), ">= 0")


def test_max_pixels_accepts_scientific_notation(cli, photos) -> None:
    code, out, _ = cli("detect", photos["blank"], "--max-pixels", "40e6")
    assert code == 0 and "0 faces" in out
    code, _, err = cli("detect", photos["blank"], "--max-pixels", "1e3")
    assert code == 1 and "--max-pixels" in err


@pytest.mark.parametrize("command", READS_PHOTOS)
def test_json_mode_prints_a_json_error(cli, no_work, photo, tmp_path, command: str) -> None:
    outcome = cli(*_argv(command, photo, tmp_path), "--json", "--bogus")
    outcome.assert_refused("--bogus")
    assert json.loads(outcome.out)["ok"] is False


def test_unknown_command_and_no_command(cli) -> None:
    cli("frobnicate").assert_refused("'frobnicate'", "detect", "protect")
    cli().assert_refused("COMMAND")


def test_missing_required_option_is_one_line(cli, photo) -> None:
    cli("protect", photo).assert_refused("-o/--outdir")


def test_help_and_version_return_zero(cli) -> None:
    outcome = cli("--version")
    assert outcome.code == 0 and facecloak.__version__ in outcome.out
    assert cli("protect", "--help").code == 0


def test_every_command_module_has_add_parser_and_run() -> None:
    for module in COMMANDS:
        assert callable(module.add_parser) and callable(module.run)


def test_python_dash_m_runs_the_command(tmp_path: Path) -> None:
    src = Path(facecloak.__file__).parents[1]
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(src), os.environ.get("PYTHONPATH", "")]),
    }
    done = subprocess.run(
        [sys.executable, "-m", "facecloak", "detect", "x.png", "--steps", "3", "--json"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        check=False,
    )
    assert done.returncode == 2
    assert json.loads(done.stdout)["ok"] is False
    assert done.stderr.count("\n") == 1 and "--steps" in done.stderr


@pytest.mark.parametrize("argv", [["-v", "detect", "x.png"], ["detect", "x.png", "-v"]])
def test_verbose_before_or_after_the_command(argv: list[str]) -> None:
    from facecloak.cli import build_parser

    assert build_parser().parse_args(argv).verbose is True
    assert build_parser().parse_args(["detect", "x.png"]).verbose is False
