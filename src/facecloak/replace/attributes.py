"""Attributes any face shows and a few lines of code can measure, and their tokens.

The seed system fed a CelebA attribute classifier's 40 labels to the generator. CelebA's images
are out of reach here, so each attribute is measured on the aligned crop instead (head pose from
the landmarks, mouth and eyes open, smile, skin tone, lighting, glasses, beard) and cut into a few
bins; bin edges are the training set's quantiles (kept with the model). Token 0 means "absent":
its embedding is zero, so the generator works without it.

Example:
    >>> edges = {name: np.linspace(-1, 1, ATTRIBUTES[name] + 1)[1:-1] for name in ATTRIBUTES}
    >>> tokens = tokenize(np.zeros(len(ATTRIBUTES)), edges)
    >>> tokens.shape, int(tokens.min()) >= 1
    ((12,), True)
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from facecloak.faces.shape import inter_ocular, mouth_opening, yaw
from facecloak.faces.traits import skin_tone, wears_glasses

ATTRIBUTES = {
    "yaw": 5,
    "pitch": 3,
    "roll": 3,
    "mouth": 3,
    "eyes": 3,
    "smile": 3,
    "skin": 4,
    "hue": 3,
    "brightness": 3,
    "contrast": 3,
    "glasses": 2,
    "beard": 2,
}
"""Each attribute and its number of bins (tokens 1..bins; 0 is absent)."""
NAMES = tuple(ATTRIBUTES)
FIXED_EDGES = {"glasses": np.array([0.5])}
"""Edges not learned from the data (yes/no measures)."""
QUANTILE_EDGES = {"beard": np.array([0.8])}
"""Quantiles for attributes whose bins are not equally filled."""
POSE = ("yaw", "pitch", "roll", "mouth", "eyes")
"""Attributes the landmarks already fix: ``random`` keeps them as measured."""
CHIN = (5, 6, 7, 8, 9, 10, 11, 57)


def measure(crop: np.ndarray, points: np.ndarray, roll_degrees: float) -> np.ndarray:
    """The :data:`NAMES` measures (float32) of an aligned ``crop`` with its 68 ``points``;
    ``roll_degrees`` is measured in the photo (the crop is upright by construction)."""
    lab = cv2.cvtColor(crop.astype(np.float32) / 255.0, cv2.COLOR_RGB2LAB)
    skin = skin_tone(crop, points)
    values = {
        "yaw": yaw(points),
        "pitch": _pitch(points),
        "roll": roll_degrees,
        "mouth": mouth_opening(points),
        "eyes": _eyes_open(points),
        "smile": _smile(points),
        "skin": skin[0],
        "hue": math.degrees(math.atan2(skin[2], skin[1])),
        "brightness": float(lab[..., 0].mean()),
        "contrast": float(lab[..., 0].std()),
        "glasses": float(wears_glasses(crop, points)),
        "beard": skin[0] - _median_lightness(lab, points[list(CHIN)]),
    }
    return np.array([values[name] for name in NAMES], np.float32)


def roll(points: np.ndarray) -> float:
    """The eye line's angle to the horizontal, in degrees."""
    dx, dy = points[42:48].mean(0) - points[36:42].mean(0)
    return math.degrees(math.atan2(dy, dx))


def learn_edges(measures: np.ndarray) -> dict[str, np.ndarray]:
    """Bin edges per attribute from the training ``measures`` (N, attributes)."""
    edges = {}
    for column, (name, bins) in enumerate(ATTRIBUTES.items()):
        if name in FIXED_EDGES:
            edges[name] = FIXED_EDGES[name]
            continue
        quantiles = QUANTILE_EDGES.get(name, np.linspace(0, 1, bins + 1)[1:-1])
        edges[name] = np.quantile(measures[:, column], quantiles).astype(np.float64)
    return edges


def tokenize(values: np.ndarray, edges: dict[str, np.ndarray]) -> np.ndarray:
    """Tokens (int64, 1..bins) of measures ``values`` (..., attributes)."""
    values = np.asarray(values)
    columns = [
        np.digitize(values[..., column], edges[name]) + 1 for column, name in enumerate(NAMES)
    ]
    return np.stack(columns, axis=-1).astype(np.int64)


def _pitch(points: np.ndarray) -> float:
    """Nose tip's height between the eye line and the mouth (about 0.5 frontal; larger: head
    tilted down)."""
    eyes = points[36:48].mean(0)
    mouth = (points[48] + points[54]) / 2
    span = np.linalg.norm(mouth - eyes)
    if span < 1e-6:
        return 0.5
    return float(np.dot(points[30] - eyes, mouth - eyes) / span**2)


def _eyes_open(points: np.ndarray) -> float:
    """Mean eye aspect ratio (lid gap over eye width; about 0.3 open, under 0.15 closed)."""
    ratios = []
    for first in (36, 42):
        eye = points[first : first + 6]
        gap = np.linalg.norm(eye[1] - eye[5]) + np.linalg.norm(eye[2] - eye[4])
        ratios.append(gap / (2 * max(1e-6, float(np.linalg.norm(eye[0] - eye[3])))))
    return float(np.mean(ratios))


def _smile(points: np.ndarray) -> float:
    """How far the mouth corners sit above the lips' middle, in inter-ocular distances (upright
    crop: larger is a wider smile)."""
    middle = (points[51, 1] + points[57, 1]) / 2
    corners = (points[48, 1] + points[54, 1]) / 2
    return float((middle - corners) / inter_ocular(points))


def _median_lightness(lab: np.ndarray, polygon: np.ndarray) -> float:
    mask = np.zeros(lab.shape[:2], np.uint8)
    cv2.fillPoly(mask, [np.round(polygon).astype(np.int32)], 1)
    if not mask.any():
        return float(np.median(lab[..., 0]))
    return float(np.median(lab[..., 0][mask.astype(bool)]))


def parse_choice(spec: str) -> dict[str, str | int]:
    """``random``, ``keep`` or ``name=value,...`` (value: a bin number from 0, ``keep``,
    ``random`` or ``none``) as a choice per named attribute; names left out are ``random``.

    Raises:
        ValueError: an unknown name or a value out of range, saying what is valid.
    """
    spec = spec.strip()
    if spec in ("random", "keep"):
        return dict.fromkeys(NAMES, spec)
    choice: dict[str, str | int] = dict.fromkeys(NAMES, "random")
    for item in filter(None, (part.strip() for part in spec.split(","))):
        name, _, value = item.partition("=")
        name, value = name.strip(), value.strip()
        if name not in ATTRIBUTES:
            raise ValueError(f"unknown attribute {name!r}: choose from {', '.join(NAMES)}")
        if value in ("keep", "random", "none"):
            choice[name] = value
        elif value.isdigit() and int(value) < ATTRIBUTES[name]:
            choice[name] = int(value)
        else:
            top = ATTRIBUTES[name] - 1
            raise ValueError(f"{name}={value!r}: give 0 to {top}, keep, random or none")
    return choice


def choose_tokens(
    measured: np.ndarray, choice: dict[str, str | int], rng: np.random.Generator
) -> np.ndarray:
    """Tokens for the generator: ``measured`` tokens changed per ``choice`` (``random`` keeps
    the :data:`POSE` attributes, which the landmarks fix anyway, and draws the others)."""
    tokens = np.array(measured, np.int64, copy=True)
    for column, name in enumerate(NAMES):
        value = choice.get(name, "keep")
        draw = rng.integers(1, ATTRIBUTES[name] + 1)  # drawn always: same seed, same face
        if value == "random" and name not in POSE:
            tokens[..., column] = draw
        elif value == "none":
            tokens[..., column] = 0
        elif isinstance(value, int):
            tokens[..., column] = value + 1
    return tokens
