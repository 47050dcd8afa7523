"""`facecloak protect`: every bad option, value or combination is refused before any work."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

import facecloak.models.recognizers
import facecloak.protect.batch

BAD_VALUES = [
    ("--method", "foo"),
    ("--strength", "extreme"),
    ("--detector", "foo"),
    ("--against", "everything"),
    ("--ensemble", "foo"),
    ("--ensemble", "dlib"),
    ("--ensemble", ","),
    ("--eps", "-5"),
    ("--eps", "0"),
    ("--eps", "nan"),
    ("--eps", "inf"),
    ("--eps", "256"),
    ("--eps", "x"),
    ("--steps", "0"),
    ("--steps", "-3"),
    ("--steps", "2.5"),
    ("--steps", "nan"),
    ("--step-size", "-1"),
    ("--step-size", "0"),
    ("--step-size", "nan"),
    ("--lam", "-1"),
    ("--lam", "nan"),
    ("--lam", "1e400"),
    ("--faces", "-1"),
    ("--faces", "a"),
    ("--faces", ""),
    ("--faces", "1,,2"),
    ("--faces", "1.5"),
]


@pytest.mark.parametrize(("option", "value"), BAD_VALUES)
def test_bad_values_are_refused(cli, no_work, photo, tmp_path, option, value) -> None:
    outcome = cli("protect", photo, "-o", tmp_path / "out", option, value)
    outcome.assert_refused(option, repr(value))


@pytest.mark.parametrize("value", ["foo", "hog", "centerface,cnn"])
def test_evade_names_a_detector_evasion_can_attack(cli, no_work, photo, tmp_path, value) -> None:
    argv = ["protect", photo, "-o", tmp_path, "--against", "detection", "--evade", value]
    cli(*argv).assert_refused("--evade", "centerface", "yunet")


COMBINATIONS = [
    (["--method", "ifgsm", "--ensemble", "mobilefacenet"], ["--ensemble", "--method ifgsm"]),
    (["--method", "blur", "--ensemble", "mobilefacenet"], ["--ensemble", "blur"]),
    (["--ensemble", "mobilefacenet", "--target", "{photo}"], ["--ensemble", "--target"]),
    (["--ensemble", "mobilefacenet", "--model", "m.pt"], ["--ensemble", "--model"]),
    (["--method", "blur", "--target", "{photo}"], ["--target", "blur"]),
    (["--method", "mask", "--eps", "4"], ["--eps", "mask"]),
    (["--method", "pixelate", "--steps", "5"], ["--steps", "pixelate"]),
    (["--method", "blur", "--step-size", "1"], ["--step-size", "blur"]),
    (["--method", "blur", "--strength", "high"], ["--strength", "blur"]),
    (["--method", "blur", "--against", "both"], ["--method", "'blur'", "--against both"]),
    (["--ensemble", "mobilefacenet", "--method", "pgd"], ["--ensemble", "--method pgd"]),
    (["--model", "m.pt", "--method", "pgd"], ["--model", "--method pgd"]),
    (["--method", "blur", "--no-robust"], ["--no-robust", "blur"]),
    (["--method", "mask", "--robust"], ["--robust", "mask"]),
    (["--lam", "10"], ["--lam", "10", "pfgvm", "not perceptual"]),
    (["--method", "ifgsm", "--lam", "10"], ["--lam", "not ifgsm"]),
    (["--evade", "yunet"], ["--evade", "--against"]),
    (["--against", "detection", "--method", "pgd"], ["--method", "--against detection"]),
    (["--against", "detection", "--method", "blur"], ["--method", "--against detection"]),
    (["--against", "detection", "--strength", "low"], ["--strength", "--against detection"]),
    (["--against", "detection", "--target", "{photo}"], ["--target", "--against detection"]),
    (["--against", "detection", "--model", "m.pt"], ["--model", "--against detection"]),
    (
        ["--against", "detection", "--ensemble", "mobilefacenet"],
        ["--ensemble", "--against detection"],
    ),
    (["--model", "m.pt", "--against", "both"], ["--model", "--against both"]),
    (["--model", "m.pt", "--method", "ifgsm"], ["--model", "--method ifgsm"]),
    (["--model", "m.pt", "--method", "blur"], ["--model", "--method blur"]),
    (["--target", "{missing}"], ["--target", "does not exist"]),
    (["--faces", "0", "--largest"], ["--largest", "--faces"]),
]


@pytest.mark.parametrize(("options", "names"), COMBINATIONS)
def test_combinations_that_cannot_work_are_refused(
    cli, no_work, photo, tmp_path, options, names
) -> None:
    paths = {"photo": str(photo), "missing": str(tmp_path / "nobody.jpg")}
    options = [option.format(**paths) for option in options]
    cli("protect", photo, "-o", tmp_path / "out", *options).assert_refused(*names)


def test_outdir_that_is_a_file_is_refused(cli, no_work, photo, tmp_path: Path) -> None:
    cli("protect", photo, "-o", photo).assert_refused("-o/--outdir", "is a file")
    outcome = cli("protect", photo, "-o", photo / "out")
    outcome.assert_refused("-o/--outdir", "lies under the file")


@pytest.fixture
def captured(monkeypatch: pytest.MonkeyPatch) -> list[argparse.Namespace]:
    """The arguments and config fields ``protect`` hands to the batch (which does nothing),
    as one namespace (the fields win: they are what the photos are protected with)."""
    calls: list[argparse.Namespace] = []

    def protect_files(args: argparse.Namespace, fields: dict, run: object = None) -> dict:
        calls.append(argparse.Namespace(**{**vars(args), **fields, "run": run}))
        return {"ok": True, "photos": []}

    monkeypatch.setattr(facecloak.protect.batch, "protect_files", protect_files)
    # Whether a recognizer's weights are here is the machine's business, not these tests'.
    everything = dict.fromkeys(facecloak.models.recognizers.known_recognizers())
    monkeypatch.setattr(facecloak.models.recognizers, "available_recognizers", lambda: everything)
    return calls


def test_defaults_reach_the_batch(cli, captured, photo, tmp_path: Path) -> None:
    from facecloak.protect import DEFAULT_STRENGTH

    assert cli("protect", photo, "-o", tmp_path / "out").code == 0
    args = captured[0]
    assert (args.method, args.strength, args.against) == (
        "perceptual",
        DEFAULT_STRENGTH,
        "recognition",
    )
    assert args.evade is None and args.ensemble == [] and args.robust
    assert args.eps is None and args.steps is None and args.max_pixels is None
    assert args.run.workers is None and args.run.ray is None and not args.run.retry_failed


def test_batch_options_reach_the_batch(cli, captured, photo, tmp_path: Path) -> None:
    options = ("--workers", "3", "--retry-failed", "--ray", "auto")
    assert cli("protect", photo, "-o", tmp_path / "out", *options).code == 0
    assert (captured[0].run.workers, captured[0].run.ray, captured[0].run.retry_failed) == (
        3,
        "auto",
        True,
    )
    cli("protect", photo, "-o", tmp_path / "out", "--workers", "0").assert_refused("--workers")


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        (["--against", "detection", "--eps", "8", "--steps", "3"], {"eps": 8 / 255, "steps": 3}),
        (["--against", "both", "--evade", "yunet,centerface"], {"evade": ("yunet", "centerface")}),
        (["--method", "pfgvm", "--lam", "0"], {"method": "pfgvm", "lam": 0.0}),
        (["--ensemble", "mobilefacenet", "--strength", "low"], {"ensemble": ["mobilefacenet"]}),
        (["--faces", "0,2", "--max-pixels", "40e6"], {"faces": (0, 2), "max_pixels": 40_000_000}),
        (["--against", "detection", "--no-robust"], {"against": "detection", "robust": False}),
        (["--method", "blur"], {"method": "blur", "robust": True}),
    ],
)
def test_valid_options_reach_the_batch(cli, captured, photo, tmp_path, options, expected) -> None:
    assert cli("protect", photo, "-o", tmp_path / "out", *options).code == 0
    assert {name: getattr(captured[0], name) for name in expected} == expected


def test_blur_protects_a_photo(cli, grace_hopper_path: Path, tmp_path: Path) -> None:
    outcome = cli("protect", grace_hopper_path, "-o", tmp_path, "--method", "blur")
    assert outcome.code == 0, outcome.err
    assert (tmp_path / grace_hopper_path.name).is_file()
    assert "1/1 faces covered (not checked" in outcome.out


def test_blur_is_checked_with_the_recognizers_on_request(
    cli, grace_hopper_path: Path, tmp_path: Path
) -> None:
    outcome = cli("protect", grace_hopper_path, "-o", tmp_path, "--method", "blur", "--verify")
    assert outcome.code == 0, outcome.err
    assert "1/1 faces no longer match" in outcome.out


def test_unchecked_blur_loads_no_recognizer(grace_hopper, monkeypatch) -> None:
    import facecloak.protect.stages as stages
    from facecloak.protect import ProtectConfig, protect

    def refuse(*_):
        raise AssertionError("the model stages ran for an unchecked blur")

    monkeypatch.setattr(stages, "run_stages", refuse)
    result = protect(grace_hopper, ProtectConfig(method="blur"))
    outcome = result.outcomes[0]
    assert not outcome.verified and outcome.protected and outcome.verdicts == []
    assert outcome.ssim < 0.9  # the face really is covered


def test_the_config_checks_what_the_command_line_did_not(cli, no_work, monkeypatch, photo) -> None:
    import facecloak.protect
    from facecloak.errors import InvalidOptionError

    def config(**fields: object) -> None:
        raise InvalidOptionError(f"steps={fields['steps']} is out of range: give an integer <= 9")

    monkeypatch.setattr(facecloak.protect, "ProtectConfig", config)
    outcome = cli("protect", photo, "-o", photo.parent / "out", "--steps", "10", "--json")
    outcome.assert_refused("steps=10", "<= 9")


def test_config_fields_scale_pixel_levels(photo, tmp_path: Path) -> None:
    from facecloak.cli import build_parser
    from facecloak.cli.protect import config_fields
    from facecloak.protect import ProtectConfig

    argv = ["protect", str(photo), "-o", str(tmp_path), "--eps", "51", "--step-size", "2.55"]
    fields = config_fields(build_parser().parse_args(argv))
    assert fields["eps"] == pytest.approx(0.2) and fields["step_size"] == pytest.approx(0.01)
    assert fields["recognizers"] == ("all",) and fields["evade"] is None
    assert ProtectConfig(**fields).stages == ("identity",)


def test_recognizers_option_names_the_ensemble(photo, tmp_path: Path) -> None:
    from facecloak.cli import build_parser
    from facecloak.cli.protect import config_fields

    argv = ["protect", str(photo), "-o", str(tmp_path), "--recognizers", "dlib"]
    assert config_fields(build_parser().parse_args(argv))["recognizers"] == ("dlib",)


def test_unknown_recognizer_in_recognizers_is_refused(cli, no_work, photo) -> None:
    outcome = cli("protect", photo, "-o", photo.parent / "out", "--recognizers", "dlib,foo")
    outcome.assert_refused("--recognizers", "'foo'", "mobilefacenet")


def test_a_recognizer_without_its_weights_is_refused(cli, no_work, monkeypatch, photo) -> None:
    import facecloak.models.recognizers

    reasons = {"dlib": None, "mobilefacenet": "weights absent from /nowhere"}
    monkeypatch.setattr(
        facecloak.models.recognizers, "available_recognizers", lambda: reasons, raising=False
    )
    outcome = cli("protect", photo, "-o", photo.parent / "out", "--ensemble", "mobilefacenet")
    outcome.assert_refused("--ensemble", "'mobilefacenet'", "weights absent from /nowhere")
