"""Generated clips shared by the video tests (small: 320x240, 2 s, 25 fps)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from facecloak.video.synthetic import SceneConfig, SyntheticFrame, write_clip

CLIP = SceneConfig(width=320, height=240, fps=25, seconds=2.0)


@dataclass(frozen=True)
class Clip:
    path: Path
    truth: list[SyntheticFrame]
    config: SceneConfig


@pytest.fixture(scope="session")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Clip:
    path = tmp_path_factory.mktemp("clips") / "clip.mp4"
    return Clip(path, write_clip(path, CLIP), CLIP)


@pytest.fixture(scope="session")
def rotated_clip(tmp_path_factory: pytest.TempPathFactory) -> Clip:
    config = SceneConfig(width=160, height=120, fps=10, seconds=1.0, rotation=90)
    path = tmp_path_factory.mktemp("clips") / "rotated.mov"
    return Clip(path, write_clip(path, config), config)


@pytest.fixture(scope="session")
def bad_inputs(tmp_path_factory: pytest.TempPathFactory, clip: Clip) -> dict[str, Path]:
    """Files that must be refused with a one-line error."""
    import av

    folder = tmp_path_factory.mktemp("bad")
    data = clip.path.read_bytes()
    files = {
        "truncated": folder / "truncated.mp4",
        "not_a_video": folder / "notes.mp4",
        "empty": folder / "empty.mp4",
        "unsupported_codec": folder / "odd_codec.mp4",
        "audio_only": folder / "tone.m4a",
    }
    files["truncated"].write_bytes(data[: len(data) // 2])
    files["not_a_video"].write_text("not a video\n")
    files["empty"].touch()
    files["unsupported_codec"].write_bytes(data.replace(b"avc1", b"zzzz"))
    with av.open(str(files["audio_only"]), "w") as container:
        stream = container.add_stream("aac", rate=8000)
        samples = np.zeros((1, 8000), dtype=np.float32)
        for start in range(0, 8000, 1024):
            part = np.ascontiguousarray(samples[:, start : start + 1024])
            frame = av.AudioFrame.from_ndarray(part, format="fltp", layout="mono")
            frame.sample_rate, frame.pts = 8000, start
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return files
