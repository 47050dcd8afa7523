"""The small result object every detector returns."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class Face:
    """One face found in a photo.

    Attributes:
        box: ``(x0, y0, x1, y1)`` in pixels of the original photo, ``x1``/``y1`` exclusive.
        score: detector confidence (its own scale: HOG/MMOD margins, CenterFace probability).
        landmarks: ``(5, 2)`` float array of ``(x, y)`` points from dlib's 5-point shape predictor,
            in dlib's order: right eye outer/inner corner, left eye outer/inner corner, nose base
            ("right"/"left" as the person sees them). ``None`` until landmarks are predicted.
        detector: name of the detector that found the face.
        detector_keypoints: the detector's own 5 points when it has them (CenterFace: eye centres,
            nose tip, mouth corners, in image-left-to-right order), else ``None``.
    """

    box: tuple[float, float, float, float]
    score: float
    landmarks: np.ndarray | None = None
    detector: str = ""
    detector_keypoints: np.ndarray | None = field(default=None, repr=False)

    @property
    def width(self) -> float:
        return self.box[2] - self.box[0]

    @property
    def height(self) -> float:
        return self.box[3] - self.box[1]

    @property
    def area(self) -> float:
        return max(self.width, 0.0) * max(self.height, 0.0)

    def to_dict(self) -> dict:
        """A JSON-ready description."""
        out: dict = {
            "box": [round(float(v), 2) for v in self.box],
            "score": round(float(self.score), 4),
            "detector": self.detector,
        }
        if self.landmarks is not None:
            out["landmarks"] = np.round(self.landmarks, 2).tolist()
        if self.detector_keypoints is not None:
            out["detector_keypoints"] = np.round(self.detector_keypoints, 2).tolist()
        return out
