"""Pictures a person can check: boxes, scores and landmarks drawn on the photo."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from facecloak.faces.face import Face


def draw_faces(rgb: np.ndarray, faces: list[Face]) -> Image.Image:
    """A copy of ``rgb`` with each face's box, index, score and landmarks drawn on it."""
    image = Image.fromarray(rgb).convert("RGB")
    pen = ImageDraw.Draw(image)
    line = max(2, round(max(image.size) / 400))
    for index, face in enumerate(faces):
        pen.rectangle(face.box, outline=(0, 255, 0), width=line)
        pen.text(
            (face.box[0] + line, face.box[1] + line), f"{index} {face.score:.2f}", fill=(0, 255, 0)
        )
        for points, colour in (
            (face.landmarks, (255, 0, 0)),
            (face.detector_keypoints, (0, 128, 255)),
        ):
            if points is None:
                continue
            for x, y in points:
                pen.ellipse((x - line, y - line, x + line, y + line), fill=colour)
    return image
