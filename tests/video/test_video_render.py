from __future__ import annotations

import numpy as np

from facecloak.video.render import cover_mask, covered, obfuscate_boxes


def test_the_mask_covers_the_box_and_little_beyond():
    union = covered([(100, 50, 160, 130)], 240, 320, scale=1.3)
    inside = union[50:130, 100:160]
    assert inside.mean() > 0.95
    assert not union[:20].any() and not union[:, :80].any()


def test_boxes_partly_outside_the_frame_are_clipped():
    (x0, y0, x1, y1), alpha = cover_mask((-30, -30, 30, 30), 100, 100)
    assert (x0, y0) == (0, 0) and alpha.shape == (y1 - y0, x1 - x0)
    (_, _, _, _), empty = cover_mask((500, 500, 600, 600), 100, 100)
    assert empty.size == 0


def test_only_masked_pixels_change():
    frame = np.random.default_rng(0).integers(0, 255, (120, 160, 3), dtype=np.uint8)
    out = obfuscate_boxes(frame, [(60, 30, 100, 80)], lambda crop, size: np.zeros_like(crop))
    changed = np.any(out != frame, axis=-1)
    assert changed[55, 80] and not changed[:10].any() and not changed[:, :40].any()
