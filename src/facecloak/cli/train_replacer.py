"""``facecloak train-replacer``: train the identity-replacement generator on labelled faces.

Rerunning with the same ``-o`` resumes the training where it stopped (the checkpoint holds both
networks and their optimisers); ``--export-fp16 PATH`` writes the small generator that ships.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from facecloak.cli import checks
from facecloak.cli.common import (
    EXIT_OK,
    Subcommands,
    add_common,
    check_output_dir,
    print_json,
    refuse,
)


def add_parser(subcommands: Subcommands) -> None:
    sub = subcommands.add_parser(
        "train-replacer",
        help="train the face-replacement generator on folders of labelled face photos",
        description="Each FACES_DIR holds labels.csv (path,identity) or one sub-folder per "
        "identity. Faces are detected, aligned to 128 px crops with 68 landmarks and measured "
        "once (cached outside the project); 3% of identities are held out for the loss curve. "
        "Rerun with the same -o to resume.",
    )
    sub.add_argument("faces", type=Path, nargs="*", metavar="FACES_DIR")
    sub.add_argument("-o", "--output", type=Path, required=True, metavar="REPLACER.pt")
    sub.add_argument("--epochs", type=checks.integer(1), default=20, help="(default 20)")
    sub.add_argument("--batch-size", type=checks.integer(2), default=16, help="(default 16)")
    sub.add_argument("--threads", type=checks.integer(1), default=2, help="torch threads (2)")
    sub.add_argument("--max-faces", type=checks.integer(1), metavar="N", help="use at most N")
    sub.add_argument(
        "--checkpoint-every",
        type=checks.integer(1),
        default=200,
        metavar="STEPS",
        help="save the full state every STEPS steps (default 200) and at each epoch's end",
    )
    sub.add_argument(
        "--cache",
        type=Path,
        metavar="DIR",
        help="prepared faces (default: $XDG_CACHE_HOME/facecloak/replacer)",
    )
    sub.add_argument(
        "--warm-start",
        type=Path,
        metavar="WEIGHTS.pt",
        help="a new training (no -o file yet) starts its generator from these weights "
        "(for example the committed replacer-fp16.pt); the discriminator starts fresh",
    )
    sub.add_argument(
        "--export-fp16",
        type=Path,
        metavar="PATH",
        help="write the fp16 generator of -o to PATH and stop (no training); with FACES_DIR, "
        "its bank of landmark shapes comes from those (prepared) faces",
    )
    sub.add_argument(
        "--grid",
        type=Path,
        metavar="IMAGE.jpg",
        help="with --export-fp16: also draw the public-domain sample grid there",
    )
    add_common(sub, max_pixels=False)
    sub.set_defaults(run=run)


def check(args: argparse.Namespace) -> None:
    """Refuse bad options before any work."""
    if args.grid is not None and args.export_fp16 is None:
        raise refuse("--grid", "goes with --export-fp16 (training writes its grids itself)")
    for folder in args.faces:
        if not folder.is_dir():
            raise refuse("FACES_DIR", f"{str(folder)!r} is not a folder of labelled photos")
    if args.export_fp16 is not None:
        if args.warm_start is not None:
            raise refuse("--warm-start", "starts a training; drop it with --export-fp16")
        if not args.output.is_file():
            raise refuse("-o/--output", f"{str(args.output)!r} does not exist: nothing to export")
        return
    if not args.faces:
        raise refuse("FACES_DIR", "is required: give folders of labelled face photos")
    if args.output.is_dir():
        raise refuse("-o/--output", f"{str(args.output)!r} is a folder; name a file")
    if not args.output.parent.is_dir():
        raise refuse("-o/--output", f"{str(args.output.parent)!r} does not exist")
    check_output_dir("--cache", args.cache)
    if args.warm_start is not None and not args.warm_start.is_file():
        raise refuse("--warm-start", f"{str(args.warm_start)!r} does not exist; give a .pt file")


def run(args: argparse.Namespace) -> int:
    check(args)
    if args.export_fp16 is not None:
        return _export(args)
    import torch

    from facecloak.replace.prepare import prepare_faces
    from facecloak.replace.sample_grid import public_domain_samples
    from facecloak.replace.train import ReplacerTraining, curve_path, train_replacer

    torch.set_num_threads(args.threads)
    faces = prepare_faces(args.faces, args.cache, args.max_faces, progress=not args.json)
    config = ReplacerTraining(
        epochs=args.epochs,
        batch_size=args.batch_size,
        checkpoint_every=args.checkpoint_every,
        warm_start=args.warm_start,
    )
    state = train_replacer(
        faces, args.output, config, public_domain_samples(), progress=not args.json
    )
    record = {
        "ok": True,
        "model": str(args.output),
        "faces": len(faces),
        "held_out": int(faces.held_out.sum()),
        "epochs": state.epoch,
        "steps": state.step,
        "curve": str(curve_path(args.output)),
    }
    return _done(args, record, f"saved {args.output}: {state.epoch} epochs, {state.step} steps")


def _export(args: argparse.Namespace) -> int:
    """The fp16 generator of the checkpoint; with FACES_DIR, the shape bank from those faces
    (checkpoints from before shapes were kept have none)."""
    import numpy as np

    from facecloak.replace.checkpoint import export_fp16
    from facecloak.replace.prepare import prepare_faces
    from facecloak.replace.shapes import sample_shapes

    shapes = None
    if args.faces:
        faces = prepare_faces(args.faces, args.cache, args.max_faces, progress=not args.json)
        shapes = sample_shapes(np.asarray(faces.points)[~np.asarray(faces.held_out)])
    path = export_fp16(args.output, args.export_fp16, shapes)
    if args.grid is not None:
        _draw_grid(path, args.grid)
    return _done(args, {"ok": True, "exported": str(path)}, f"exported {path}")


def _draw_grid(weights: Path, image: Path) -> None:
    from facecloak.replace.checkpoint import load_generator
    from facecloak.replace.sample_grid import public_domain_samples, write_grid

    loaded = load_generator(weights)
    write_grid(loaded.generator, public_domain_samples(), loaded.edges, image)


def _done(args: argparse.Namespace, record: dict, line: str) -> int:
    if args.json:
        print_json(record)
    else:
        print(line)
    return EXIT_OK
