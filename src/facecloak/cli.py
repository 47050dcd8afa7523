"""The ``facecloak`` command line.

Every command takes ``--json`` for machine-readable output, exits 0 on success and, on failure,
prints one line saying what went wrong and what to do, and exits non-zero (no traceback).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from facecloak import __version__
from facecloak.errors import FacecloakError, NoFaceError

logger = logging.getLogger("facecloak")

EXIT_OK = 0
EXIT_FAILURE = 1


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``facecloak`` command."""
    parser = _build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        return args.run(args)
    except FacecloakError as exc:
        return _fail(str(exc), args)
    except KeyboardInterrupt:
        return _fail("interrupted", args)
    except MemoryError:
        return _fail("out of memory; try a smaller image", args)


def _fail(message: str, args: argparse.Namespace) -> int:
    if getattr(args, "json", False):
        print(json.dumps({"ok": False, "error": message}))
    print(f"facecloak: error: {message}", file=sys.stderr)
    return EXIT_FAILURE


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="facecloak",
        description="Protect faces in photos from face recognition and detection.",
    )
    parser.add_argument("--version", action="version", version=f"facecloak {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log what happens")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_detect(commands)
    _add_compare(commands)
    _add_protect(commands)
    _add_evaluate(commands)
    _add_evaluate_detection(commands)
    _add_train(commands)
    _add_classify(commands)
    return parser


def _add_common(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("--json", action="store_true", help="print machine-readable JSON")
    sub.add_argument(
        "--max-pixels",
        type=float,
        default=None,
        metavar="N",
        help="refuse images above N pixels (default 40e6; 0 for no limit)",
    )
    sub.add_argument("-v", "--verbose", action="store_true", help="log what happens")


def _add_detect(commands: argparse._SubParsersAction) -> None:
    from facecloak.faces.detectors import DETECTORS

    sub = commands.add_parser("detect", help="find faces: boxes, scores, landmarks")
    sub.add_argument("image", type=Path, help="a photo (JPEG, PNG, WebP, TIFF, BMP)")
    sub.add_argument(
        "--detector",
        choices=sorted(DETECTORS),
        default=None,
        help="face detector (default: centerface)",
    )
    sub.add_argument(
        "--draw", type=Path, metavar="OUT.png", help="save the photo with the faces drawn on it"
    )
    _add_common(sub)
    sub.set_defaults(run=_run_detect)


def _add_compare(commands: argparse._SubParsersAction) -> None:
    sub = commands.add_parser("compare", help="is it the same person? (largest face in each photo)")
    sub.add_argument("image_a", type=Path)
    sub.add_argument("image_b", type=Path)
    sub.add_argument("--detector", default=None, help="face detector (default: centerface)")
    _add_common(sub)
    sub.set_defaults(run=_run_compare)


def _add_protect(commands: argparse._SubParsersAction) -> None:
    from facecloak.protect import (
        AGAINST,
        ATTACK_METHODS,
        CLASSICAL_METHODS,
        DEFAULT_STRENGTH,
        EVASION_DETECTORS,
        PRESETS,
    )
    from facecloak.video.command import add_video_arguments

    sub = commands.add_parser(
        "protect",
        help="cloak the faces in photos against face recognition and/or detection",
        description="Protected copies keep each input's name and format; EXIF/GPS metadata is "
        "removed unless --keep-metadata.",
    )
    sub.add_argument(
        "inputs", type=Path, nargs="+", metavar="INPUT", help="photos, clips or folders"
    )
    sub.add_argument("-o", "--outdir", type=Path, help="folder for the results (or output clip)")
    sub.add_argument(
        "--method",
        choices=ATTACK_METHODS + CLASSICAL_METHODS,
        default=None,
        help="default: pgd for photos, blur for clips",
    )
    sub.add_argument("--strength", choices=sorted(PRESETS), default=DEFAULT_STRENGTH)
    sub.add_argument("--eps", type=float, help="L-inf budget in 0-255 pixel levels")
    sub.add_argument("--steps", type=int, help="attack steps")
    sub.add_argument("--step-size", type=float, help="step size in 0-255 pixel levels")
    sub.add_argument("--lam", type=float, help="P-FGVM realism weight")
    which = sub.add_mutually_exclusive_group()
    which.add_argument(
        "--faces",
        type=_index_list,
        metavar="I,J",
        help="protect only these faces (numbers from `facecloak detect`)",
    )
    which.add_argument("--largest", action="store_true", help="protect only the largest face")
    sub.add_argument(
        "--target",
        type=Path,
        metavar="IMAGE_OR_DIR",
        help="look like the person in these photos (targeted cloak)",
    )
    sub.add_argument(
        "--robust",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="survive JPEG re-compression and resizing (default: on)",
    )
    sub.add_argument(
        "--model",
        type=Path,
        metavar="MODEL.pt",
        help="cloak against this identity classifier (from `facecloak train`); --target then "
        "names one of its classes",
    )
    sub.add_argument(
        "--ensemble",
        type=_name_list,
        default=[],
        metavar="NAME,...",
        help="also beat these recognizers (mobilefacenet: weights from <shared>/models)",
    )
    sub.add_argument(
        "--against",
        choices=AGAINST,
        default="recognition",
        help="cloak the identity (default), hide the faces from detectors, or both",
    )
    sub.add_argument(
        "--evade",
        type=_name_list,
        default=["centerface"],
        metavar="NAME,...",
        help="detectors to hide from with --against detection/both: "
        + ", ".join(EVASION_DETECTORS),
    )
    sub.add_argument("--detector", default=None, help="face detector (default: centerface)")
    sub.add_argument("--keep-metadata", action="store_true", help="keep EXIF (incl. GPS)")
    sub.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    sub.add_argument(
        "--copy-unprotected",
        action="store_true",
        help="copy photos without a face to OUTDIR unchanged",
    )
    _add_common(sub)
    add_video_arguments(sub)
    sub.set_defaults(run=_run_protect)


def _add_evaluate(commands: argparse._SubParsersAction) -> None:
    from facecloak.protect import (
        ATTACK_METHODS,
        CLASSICAL_METHODS,
        DEFAULT_STRENGTH,
        PRESETS,
    )

    sub = commands.add_parser(
        "evaluate",
        help="measure protection on a labelled folder of photos",
        description="DIR holds labels.csv (path,identity) or one sub-folder per identity.",
    )
    sub.add_argument("folder", type=Path, metavar="DIR")
    sub.add_argument("--method", choices=ATTACK_METHODS + CLASSICAL_METHODS, default="pgd")
    sub.add_argument("--strength", choices=sorted(PRESETS), default=DEFAULT_STRENGTH)
    sub.add_argument("--robust", action=argparse.BooleanOptionalAction, default=True)
    sub.add_argument("--limit", type=int, default=0, help="evaluate only the first N photos")
    sub.add_argument(
        "--report",
        type=Path,
        metavar="OUTDIR",
        help="write report.json, report.md and grid.png there",
    )
    sub.add_argument(
        "--check-with",
        type=_name_list,
        default=[],
        metavar="NAME,...",
        help="more recognizers to check the result with (mobilefacenet): transfer, unless "
        "--ensemble",
    )
    sub.add_argument(
        "--ensemble", action="store_true", help="the cloak attacks the --check-with ones too"
    )
    sub.add_argument("--detector", default=None, help="face detector (default: centerface)")
    _add_common(sub)
    sub.set_defaults(run=_run_evaluate)


def _run_evaluate(args: argparse.Namespace) -> int:
    from facecloak.evaluate.protection import evaluate_protection, load_judges, write_report
    from facecloak.faces import DEFAULT_DETECTOR

    if args.ensemble and not args.check_with:
        raise FacecloakError("--ensemble needs --check-with NAME (e.g. mobilefacenet)")
    report = evaluate_protection(
        args.folder,
        method=args.method,
        strength=args.strength,
        robust=args.robust,
        detector=args.detector or DEFAULT_DETECTOR,
        limit=args.limit or None,
        judges=load_judges(args.check_with, attacked=args.ensemble),
    )
    summary = report.summary()
    written = write_report(report, args.report) if args.report else {}
    if args.json:
        _print_json({"ok": True, **summary, "report": {k: str(v) for k, v in written.items()}})
    else:
        protected = summary["verification_protected"]
        missed = summary["identification_miss_rate"]
        print(
            f"{summary['photos']} photos, {args.method}/{args.strength}: "
            f"no longer matched {protected['clean']:.1%} (JPEG q75 {protected['jpeg75']:.1%}, "
            f"0.5x {protected['resize50']:.1%}); rank-1 missed {missed['clean']:.1%} "
            f"(unprotected {missed['unprotected']:.1%}); face SSIM "
            f"{summary['face_ssim_mean']:.4f}; {summary['seconds_per_face']:.2f} s per face"
        )
        for name, other in summary["other_recognizers"].items():
            print(
                f"  {name} ({other['role']}): no longer matched "
                f"{other['verification_protected']['clean']:.1%} (JPEG q75 "
                f"{other['verification_protected']['jpeg75']:.1%}); rank-1 missed "
                f"{other['identification_miss_rate']['clean']:.1%}"
            )
        if written:
            print(f"report: {written['markdown']}")
    return EXIT_OK


def _add_evaluate_detection(commands: argparse._SubParsersAction) -> None:
    from facecloak.protect import CLASSICAL_METHODS, DEFAULT_EVASION

    sub = commands.add_parser(
        "evaluate-detection",
        help="measure how well protection hides faces from face detectors",
        description="Protect every photo of DIR (recursively) and run each detector on the "
        "original and the protected photo, clean and after JPEG q75: AP / recall / precision at "
        "IoU 0.5 on labelled photos, detection rate (share of the faces found on the original "
        "still found) on all, face-region SSIM, seconds per photo.",
    )
    sub.add_argument("folder", type=Path, metavar="DIR", help="a folder of photos")
    sub.add_argument(
        "--boxes",
        type=Path,
        metavar="CSV",
        help="labelled faces (path,left,top,width,height; paths relative to DIR); "
        "default DIR/boxes.csv when it exists",
    )
    sub.add_argument(
        "--method",
        choices=("cloak", *CLASSICAL_METHODS),
        default="cloak",
        help="the detector-evasion cloak (default) or a classical baseline",
    )
    sub.add_argument("--against", choices=("detection", "both"), default="detection")
    sub.add_argument(
        "--eps", type=float, default=DEFAULT_EVASION.eps, help="L-inf budget, [0, 1] scale"
    )
    sub.add_argument("--steps", type=int, default=DEFAULT_EVASION.steps, help="attack iterations")
    sub.add_argument(
        "--robust",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="survive JPEG re-compression (default: on)",
    )
    sub.add_argument(
        "--detectors",
        type=_name_list,
        default=None,
        metavar="A,B",
        help="detectors to evaluate (default: every installed one but the slow cnn)",
    )
    sub.add_argument(
        "--attack-detectors",
        type=_name_list,
        default=["centerface"],
        metavar="A,B",
        help="detectors the cloak is computed against (default: centerface)",
    )
    sub.add_argument("--limit", type=int, default=0, help="evaluate only the first N photos")
    sub.add_argument(
        "--report", type=Path, metavar="OUTDIR", help="write report.json, report.md and grid.png"
    )
    _add_common(sub)
    sub.set_defaults(run=_run_evaluate_detection)


def _run_evaluate_detection(args: argparse.Namespace) -> int:
    from facecloak.evaluate import detection_protection as dp

    photos = dp.photos_from_folder(args.folder, args.boxes, limit=args.limit or None)
    if args.method == "cloak":
        protector = dp.cloak_protector(
            against=args.against,
            eps=args.eps,
            steps=args.steps,
            robust=args.robust,
            attack_detectors=args.attack_detectors,
        )
    else:
        protector = dp.classical_protector(args.method)
    default = [d for d in dp.DEFAULT_DETECTORS if d != "cnn"]
    report = dp.evaluate_detection_protection(
        photos,
        protector,
        args.detectors or default,
        skip_unknown=args.detectors is None,
    )
    summary = report.summary()
    written = report.write_report(args.report) if args.report else {}
    if args.json:
        _print_json({"ok": True, **summary, "report": {k: str(v) for k, v in written.items()}})
        return EXIT_OK
    ssim = _maybe(summary["face_ssim_mean"], ".4f")
    print(
        f"{summary['photos']} photos, {summary['protector']}: "
        f"{summary['seconds_per_photo']:.2f} s per photo, face SSIM {ssim} "
        f"(min {_maybe(summary['face_ssim_min'], '.4f')})"
    )
    for name, entry in summary["detectors"].items():
        print(_detection_line(name, entry))
    for name, reason in summary["skipped_detectors"].items():
        print(f"  {name}: skipped ({reason})")
    if written:
        print(f"report: {written['markdown']}")
    return EXIT_OK


def _detection_line(name: str, entry: dict) -> str:
    """One detector's result: detection rates, and recall / AP before -> after when labelled."""
    images = ("protected", "protected_jpeg75", "original_jpeg75")
    rate = {image: _maybe(entry[image]["detection_rate"], ".1%") for image in images}
    line = (
        f"  {name} ({entry['role']}): detection rate {rate['protected']} "
        f"(JPEG q75 {rate['protected_jpeg75']}; unprotected after JPEG q75 "
        f"{rate['original_jpeg75']})"
    )
    before, after = entry["original"], entry["protected"]
    if "recall" in before:
        line += (
            f"; recall {before['recall']:.3f} -> {after['recall']:.3f}, "
            f"AP {before['ap']:.3f} -> {after['ap']:.3f}"
        )
    return line


def _name_list(text: str) -> list[str]:
    names = [part.strip() for part in text.split(",") if part.strip()]
    if not names:
        raise argparse.ArgumentTypeError(f"expected names like centerface,hog - got {text!r}")
    return names


def _maybe(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def _add_train(commands: argparse._SubParsersAction) -> None:
    from facecloak.classify import DEFAULT_CACHE_DIR
    from facecloak.models.classifiers import ARCHITECTURES

    sub = commands.add_parser(
        "train",
        help="train an identity classifier on a labelled folder of photos",
        description="DATASET holds labels.csv (path,identity) or one sub-folder per identity. "
        "Each photo's face is aligned to a 150x150 chip (cached); the epoch with the best "
        "validation accuracy is saved with its class names and preprocessing.",
    )
    sub.add_argument("dataset", type=Path, metavar="DATASET")
    sub.add_argument("-o", "--output", type=Path, required=True, metavar="MODEL.pt")
    sub.add_argument("--arch", choices=ARCHITECTURES, default="small-cnn")
    sub.add_argument("--epochs", type=int, help="passes over the data (default: per arch)")
    sub.add_argument("--lr", type=float, help="peak learning rate (default: per arch)")
    sub.add_argument("--batch-size", type=int, default=32)
    sub.add_argument(
        "--val-split", type=float, default=0.2, help="share of each identity held out (0: none)"
    )
    sub.add_argument("--image-size", type=int, help="network input side (default: per arch)")
    sub.add_argument(
        "--min-per-identity",
        type=int,
        default=2,
        metavar="N",
        help="leave out identities with fewer photos with a face (default 2)",
    )
    sub.add_argument(
        "--aligned", action="store_true", help="photos already are face chips: skip detection"
    )
    sub.add_argument(
        "--cache",
        type=Path,
        default=DEFAULT_CACHE_DIR,
        metavar="DIR",
        help=f"where aligned chips are cached (default {DEFAULT_CACHE_DIR})",
    )
    sub.add_argument("--seed", type=int, default=0)
    sub.add_argument("--detector", default=None, help="face detector (default: centerface)")
    sub.add_argument("--overwrite", action="store_true", help="replace an existing MODEL.pt")
    sub.add_argument("--json", action="store_true", help="print machine-readable JSON")
    sub.add_argument("-v", "--verbose", action="store_true", help="log what happens")
    sub.set_defaults(run=_run_train)


def _run_train(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from facecloak.classify import (
        EpochStats,
        TrainConfig,
        load_chip_set,
        split_per_identity,
        train_classifier,
    )
    from facecloak.faces import DEFAULT_DETECTOR

    if args.output.exists() and not args.overwrite:
        raise FacecloakError(f"{args.output}: already exists; pass --overwrite to replace it")
    if not 0 <= args.val_split < 1:
        raise FacecloakError(f"--val-split must be in [0, 1), got {args.val_split}")
    try:
        config = TrainConfig(
            arch=args.arch,
            epochs=args.epochs,
            lr=args.lr,
            batch_size=args.batch_size,
            image_size=args.image_size,
            seed=args.seed,
        ).resolved()
    except ValueError as exc:
        raise FacecloakError(f"{exc}; fix the training options") from exc
    chips = load_chip_set(
        args.dataset,
        min_per_identity=args.min_per_identity,
        cache_dir=args.cache,
        detector=args.detector or DEFAULT_DETECTOR,
        aligned=args.aligned,
        progress=not args.json,
    )
    train, val = chips, None
    if args.val_split > 0:
        train, val = split_per_identity(chips, fraction=args.val_split, seed=args.seed)
        val = val if len(val) else None

    def report(stats: EpochStats) -> None:
        if not args.json:
            held_out = stats.val_accuracy
            val_text = "" if held_out is None else f", val accuracy {held_out:.1%}"
            tqdm.write(
                f"epoch {stats.epoch}/{config.epochs}: loss {stats.train_loss:.4f}, "
                f"train accuracy {stats.train_accuracy:.1%}{val_text} ({stats.seconds:.1f} s)"
            )

    result = train_classifier(
        train, val, config, output=args.output, progress=not args.json, on_epoch=report
    )
    best = result.best
    if args.json:
        _print_json(
            {
                "ok": True,
                "model": str(args.output),
                "arch": config.arch,
                "classes": chips.num_classes,
                "train_chips": len(train),
                "val_chips": 0 if val is None else len(val),
                **result.record(),
            }
        )
    else:
        accuracy = "" if best.val_accuracy is None else f", val accuracy {best.val_accuracy:.1%}"
        print(
            f"saved {args.output}: {config.arch}, {chips.num_classes} identities, "
            f"{len(train)} training chips, best epoch {result.best_epoch}{accuracy} "
            f"({result.seconds:.0f} s)"
        )
    return EXIT_OK


def _add_classify(commands: argparse._SubParsersAction) -> None:
    sub = commands.add_parser(
        "classify", help="who is it? top identities of a trained classifier (largest face)"
    )
    sub.add_argument("image", type=Path)
    sub.add_argument("--model", type=Path, required=True, metavar="MODEL.pt")
    sub.add_argument("--top", type=int, default=5, help="how many identities to list")
    sub.add_argument(
        "--aligned", action="store_true", help="the photo already is a face chip: skip detection"
    )
    sub.add_argument("--detector", default=None, help="face detector (default: centerface)")
    _add_common(sub)
    sub.set_defaults(run=_run_classify)


def _run_classify(args: argparse.Namespace) -> int:
    from facecloak.classify import classify, load_classifier
    from facecloak.faces import DEFAULT_DETECTOR

    if args.top < 1:
        raise FacecloakError(f"--top must be at least 1, got {args.top}")
    model = load_classifier(args.model)
    rgb = _load(args.image, args)
    detector = args.detector or DEFAULT_DETECTOR
    try:
        result = classify(model, rgb, top_k=args.top, detector=detector, aligned=args.aligned)
    except NoFaceError as exc:
        raise NoFaceError(
            f"{args.image}: no face found ({detector} detector); use a photo where a face is "
            "clearly visible, try --detector cnn, or pass --aligned for face chips"
        ) from exc
    if args.json:
        _print_json(
            {"ok": True, "image": str(args.image), "model": str(args.model), **result.to_dict()}
        )
    else:
        print(f"{args.image}: {result.identity}")
        for rank, prediction in enumerate(result.predictions, start=1):
            print(f"  {rank}. {prediction.identity}  {prediction.probability:.1%}")
    return EXIT_OK


def _index_list(text: str) -> list[int]:
    try:
        return [int(part) for part in text.split(",") if part.strip()]
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected face numbers like 0,2 - got {text!r}") from exc


def _run_protect(args: argparse.Namespace) -> int:
    from facecloak.protect.batch import protect_files
    from facecloak.video.command import protect_video_inputs, video_summary

    videos = protect_video_inputs(args)  # the clips among the inputs; photos are left to us
    report: dict = {"ok": True, "photos": []}
    if videos.photo_inputs or not videos.items:
        if args.outdir is None:
            raise FacecloakError("-o is required: the folder for the results")
        args.method = args.method or "pgd"
        report = protect_files(argparse.Namespace(**{**vars(args), "inputs": videos.photo_inputs}))
    if videos.items:
        report["videos"] = videos.items
    if args.json:
        _print_json(report)
    else:
        for item in report["photos"]:
            print(_protect_summary(item))
        for item in videos.items:
            print(video_summary(item))
    items = report["photos"] + videos.items
    failed = [p for p in items if p["status"] == "error"]
    return EXIT_FAILURE if failed and len(failed) == len(items) else EXIT_OK


def _protect_summary(item: dict) -> str:
    if item["status"] != "protected":
        return f"{item['input']}: {item['status']} ({item.get('reason', '')})"
    parts = []
    faces = item["faces_protected"]
    if faces:
        worst = min(f["distance"] for f in faces)
        safe = sum(f["protected"] for f in faces)
        parts.append(
            f"{safe}/{len(faces)} faces no longer match "
            f"(closest distance {worst:.3f}, threshold 0.6)"
        )
    classified = item.get("faces_classified", [])
    if classified:
        fooled = sum(c["protected"] for c in classified)
        answers = ", ".join(f"{c['before']} -> {c['after']}" for c in classified)
        parts.append(f"{fooled}/{len(classified)} faces fool the classifier ({answers})")
    hidden = item.get("faces_hidden", [])
    if hidden:
        gone = sum(h["protected"] for h in hidden)
        after_jpeg = sum(not h["found_after_jpeg75"] for h in hidden)
        parts.append(
            f"{gone}/{len(hidden)} faces hidden from the detector ({after_jpeg} after JPEG q75)"
        )
    return f"{item['input']} -> {item['output']}: {'; '.join(parts)} in {item['seconds']:.1f} s"


def _load(path: Path, args: argparse.Namespace):
    from facecloak.images import DEFAULT_MAX_PIXELS, load_image

    limit = DEFAULT_MAX_PIXELS if args.max_pixels is None else int(args.max_pixels)
    return load_image(path, max_pixels=limit)


def _run_detect(args: argparse.Namespace) -> int:
    from facecloak.faces import DEFAULT_DETECTOR, detect
    from facecloak.faces.draw import draw_faces

    rgb = _load(args.image, args)
    detector = args.detector or DEFAULT_DETECTOR
    faces = detect(rgb, detector=detector)
    if args.draw:
        _refuse_to_overwrite_input(args.draw, [args.image])
        args.draw.parent.mkdir(parents=True, exist_ok=True)
        draw_faces(rgb, faces).save(args.draw)
    if args.json:
        _print_json(
            {
                "ok": True,
                "image": str(args.image),
                "detector": detector,
                "size": [rgb.shape[1], rgb.shape[0]],
                "faces": [face.to_dict() for face in faces],
            }
        )
    else:
        print(f"{args.image}: {len(faces)} face{'s' if len(faces) != 1 else ''} ({detector})")
        for index, face in enumerate(faces):
            x0, y0, x1, y1 = face.box
            print(f"  [{index}] box=({x0:.0f},{y0:.0f},{x1:.0f},{y1:.0f}) score={face.score:.3f}")
        if args.draw:
            print(f"drawn: {args.draw}")
    return EXIT_OK


def _run_compare(args: argparse.Namespace) -> int:
    from facecloak.faces import DEFAULT_DETECTOR
    from facecloak.recognition import compare_embeddings, embed_largest_face

    detector = args.detector or DEFAULT_DETECTOR
    embedded = []
    for path in (args.image_a, args.image_b):
        rgb = _load(path, args)
        try:
            embedded.append(embed_largest_face(rgb, detector=detector))
        except NoFaceError as exc:
            raise NoFaceError(
                f"{path}: no face found ({detector} detector); use a photo where a face is "
                "clearly visible or try --detector cnn"
            ) from exc
    (embedding_a, face_a), (embedding_b, face_b) = embedded
    result = compare_embeddings(embedding_a, embedding_b)
    if args.json:
        _print_json(
            {
                "ok": True,
                "image_a": str(args.image_a),
                "image_b": str(args.image_b),
                **result.to_dict(),
                "face_a": face_a.to_dict(),
                "face_b": face_b.to_dict(),
            }
        )
    else:
        verdict = "SAME person" if result.same else "DIFFERENT people (no match)"
        print(f"distance {result.distance:.4f} (threshold {result.threshold}): {verdict}")
    return EXIT_OK


def _refuse_to_overwrite_input(output: Path, inputs: list[Path]) -> None:
    if any(output.resolve() == path.resolve() for path in inputs):
        raise FacecloakError(f"{output}: would overwrite an input image; choose another path")


def _print_json(payload: dict) -> None:
    print(json.dumps(payload, indent=2))


if __name__ == "__main__":
    sys.exit(main())
