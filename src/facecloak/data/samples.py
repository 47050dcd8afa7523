"""Public-domain sample faces: NASA's astronaut (scikit-image) and Grace Hopper (matplotlib).

Run ``python -m facecloak.data OUTDIR`` to write them as files for the demo.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image


def astronaut() -> np.ndarray:
    """Eileen Collins, NASA portrait (public domain), ``(512, 512, 3)`` uint8."""
    from skimage import data

    return np.ascontiguousarray(data.astronaut())


def grace_hopper_path() -> Path:
    """Path of matplotlib's sample ``grace_hopper.jpg`` (US Navy photo, public domain)."""
    import matplotlib

    return Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg"


def grace_hopper() -> np.ndarray:
    """Rear Admiral Grace Hopper (public domain), ``(600, 512, 3)`` uint8."""
    from facecloak.images import load_image

    return load_image(grace_hopper_path())


def write_samples(outdir: str | Path) -> list[Path]:
    """Write ``astronaut.png``, ``grace_hopper.jpg`` and a smaller re-compressed copy of the latter
    (``grace_hopper_reshared.jpg``) into ``outdir`` and return their paths."""
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    astronaut_path = outdir / "astronaut.png"
    Image.fromarray(astronaut()).save(astronaut_path)
    hopper_path = outdir / "grace_hopper.jpg"
    hopper_path.write_bytes(grace_hopper_path().read_bytes())
    # The same photo as a social network might serve it: smaller and re-compressed.
    reshared_path = outdir / "grace_hopper_reshared.jpg"
    with Image.open(hopper_path) as hopper:
        smaller = hopper.resize((hopper.width * 3 // 4, hopper.height * 3 // 4))
        smaller.save(reshared_path, quality=80)
    return [astronaut_path, hopper_path, reshared_path]
