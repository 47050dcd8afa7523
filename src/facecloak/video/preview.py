"""``--preview``: one protected frame as a PNG, to check the settings before a long run.

The clip is entered at the keyframe before the chosen frame; only the frames around it are
detected and tracked (the track context the full run would have there), the rest is not processed.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from PIL import Image

from facecloak.errors import FacecloakError
from facecloak.video.adapters import Detector, make_detector, make_drawer
from facecloak.video.media import open_video
from facecloak.video.options import VideoOptions
from facecloak.video.pipeline import keep_face_matcher
from facecloak.video.stage import TrackingStage


def preview_video(
    src: str | Path,
    png: str | Path,
    options: VideoOptions | None = None,
    frame_index: int | None = None,
    detector: Detector | None = None,
) -> dict:
    """Write frame ``frame_index`` (default: the middle one) of ``src``, protected, to ``png``."""
    options = options or VideoOptions()
    src, png = Path(src), Path(png)
    if png.exists() and not options.overwrite:
        raise FacecloakError(f"{png}: already exists; pass --overwrite to replace it")
    draw = make_drawer(options.method, options.mask_scale, options.cloak, options.donors)
    with open_video(src) as reader:
        total = reader.frame_count
        target = total // 2 if frame_index is None else frame_index
        if target < 0 or (total and target >= total):
            raise FacecloakError(
                f"--preview-frame {target}: {src} has {total} frames; pick one in 0-{total - 1}"
            )
        stage = TrackingStage(
            options, detector or make_detector(options.detector), keep_face_matcher(options)
        )
        found = _protected_frame(reader, stage, target)
    if found is None:
        raise FacecloakError(f"{src}: frame {target} could not be decoded; pick an earlier one")
    frame, boxes = found
    rgb = draw(frame.rgb, boxes) if boxes else frame.rgb
    _save_png(rgb, png)
    return {
        "input": str(src),
        "status": "preview",
        "output": str(png),
        "frame": target,
        "faces_drawn": len(boxes),
    }


def _protected_frame(reader, stage: TrackingStage, target: int):
    """Run the tracking stage from a little before ``target`` until ``target`` is released."""
    start = max(
        0, target - stage.lookahead - stage.smoothing.window - 2 * stage.options.detect_every
    )
    for frame in reader.frames_from(start):
        for ready, boxes in stage.push(frame):
            if ready.index == target:
                return ready, boxes
    for ready, boxes in stage.flush():
        if ready.index == target:
            return ready, boxes
    return None


def _save_png(rgb, png: Path) -> None:
    png.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(
        prefix=f".{png.stem[:40]}.", suffix=".partial.png", dir=png.parent
    )
    os.close(handle)
    try:
        Image.fromarray(rgb).save(name, "PNG")
        os.chmod(name, 0o644)
        os.replace(name, png)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise
