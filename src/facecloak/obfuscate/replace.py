"""Identity replacement by the learned generator (:mod:`facecloak.replace`): each face is aligned
to the generator's 128 px crop, its ellipse is painted with a new face that takes the chosen
attributes and follows landmarks with the face's pose and expression but not its proportions
(moved toward the mean of the nearest training shapes, :mod:`facecloak.replace.shapes`), the new
face's colours are matched to the original's on a ring just outside the ellipse, and it is pasted
back at the photo's resolution with a feathered seam. Pixels outside the ellipses (the face's and
the new shape's; and outside the face's working crop) keep their exact values. With a judge
recognizer, several draws are made and the one it finds farthest from the face is kept.

The same ``seed`` gives the same new face for the same photo; faces are drawn in order, so face
``k`` always gets the ``k``-th draw.

Example:
    >>> from facecloak.data import astronaut
    >>> from facecloak.faces.face import Face
    >>> from facecloak.replace.checkpoint import LoadedGenerator
    >>> from facecloak.replace.model import Generator, GeneratorConfig
    >>> from facecloak.replace.attributes import ATTRIBUTES
    >>> edges = {n: np.linspace(-1, 1, b + 1)[1:-1] for n, b in ATTRIBUTES.items()}
    >>> tiny = LoadedGenerator(Generator(GeneratorConfig(widths=(8, 8, 8, 8, 8))).eval(), edges, {})
    >>> photo = astronaut()
    >>> out = replace_faces(photo, [Face((175, 76, 266, 167), 1.0)], tiny)
    >>> out.shape == photo.shape, bool((out != photo).any())
    (True, True)
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np

from facecloak.errors import FacecloakError
from facecloak.faces.face import Face
from facecloak.faces.landmarks import predict_landmarks_68
from facecloak.faces.regions import face_region
from facecloak.models.recognizer import Recognizer
from facecloak.obfuscate.swap import transfer_colour
from facecloak.replace.attributes import (
    NAMES,
    POSE,
    choose_tokens,
    measure,
    parse_choice,
    roll,
    tokenize,
)
from facecloak.replace.checkpoint import LoadedGenerator
from facecloak.replace.crops import align_crop, ellipse_mask
from facecloak.replace.generate import generate_crops
from facecloak.replace.shapes import NEIGHBOURS, anonymous_geometry

log = logging.getLogger(__name__)

RING = 6
"""Width of the ring outside the ellipse the colours are matched on (crop pixels)."""
FEATHER = 4
"""Width of the soft seam inside the ellipse (crop pixels)."""


@dataclass(frozen=True)
class ReplaceSettings:
    """``attributes``: ``random``, ``keep`` or ``name=value,...`` (see
    :func:`facecloak.replace.attributes.parse_choice`); ``seed``: the random draw; ``colour``:
    match the new face's colours to the photo's."""

    attributes: str = "random"
    seed: int = 0
    colour: bool = True
    shape_mix: float = 1.0
    """How far the landmarks the new face is drawn on move from the person's own toward the
    mean of the nearest training shapes (:mod:`facecloak.replace.shapes`): 0 keeps the person's
    proportions, 1 takes the anonymous ones (pose and expression kept either way). Needs a
    generator file with shapes; without them the person's own landmarks are used."""

    candidates: int = 1
    """Draws generated per face; with a judge recognizer, the one it finds farthest from the
    original face is kept (a search over the attributes, as the seed's PPAS searched them)."""

    def __post_init__(self) -> None:
        parse_choice(self.attributes)
        if not 0.0 <= self.shape_mix <= 1.0:
            raise FacecloakError(f"shape mix {self.shape_mix}: give a value from 0 to 1")
        if self.candidates < 1:
            raise FacecloakError(f"candidates {self.candidates}: give 1 or more")


def replace_faces(
    image: np.ndarray,
    faces: list[Face],
    loaded: LoadedGenerator,
    settings: ReplaceSettings | None = None,
    draws: Sequence[int] | None = None,
    judge: Recognizer | None = None,
) -> np.ndarray:
    """A copy of ``image`` with each of ``faces`` replaced by a generated face.

    ``draws``: each face's random draw of attributes, with ``settings.seed`` (default: its
    number in ``faces``); a clip gives each track its own, so a person keeps one new face.
    ``judge``: with ``settings.candidates`` > 1, the recognizer that picks among the draws."""
    settings = settings or ReplaceSettings()
    result = image.copy()
    for number, face in enumerate(faces):
        draw = number if draws is None else draws[number]
        result = _replace_one(result, image, face, loaded, settings, draw, judge)
    return result


def _replace_one(
    result: np.ndarray,
    image: np.ndarray,
    face: Face,
    loaded: LoadedGenerator,
    settings: ReplaceSettings,
    draw: int,
    judge: Recognizer | None,
) -> np.ndarray:
    """``result`` with ``face`` (of the original ``image``) replaced."""
    choice = parse_choice(settings.attributes)
    points = predict_landmarks_68(image, face.box)
    rng = np.random.default_rng([settings.seed, draw])
    crop, crop_points, matrix = align_crop(image, points)
    measured = tokenize(measure(crop, crop_points, roll(points)), loaded.edges)
    count = settings.candidates if judge is not None and _draws_vary(choice) else 1
    tokens = np.stack([choose_tokens(measured, choice, rng) for _ in range(count)])
    drawn_points = _drawn_points(crop_points, loaded, settings.shape_mix)
    mask = np.maximum(ellipse_mask(crop_points), ellipse_mask(drawn_points))
    generated = generate_crops(
        loaded.generator,
        np.repeat(crop[None], count, 0),
        np.repeat(drawn_points[None], count, 0),
        tokens,
        np.repeat(mask[None], count, 0),
    )
    height, width = image.shape[:2]
    limit = face_region(face, height, width).crop if face.landmarks is not None else None
    ring, alpha = _ring(mask), _feathered(mask)

    def pasted(new_face: np.ndarray) -> np.ndarray:
        if settings.colour:
            new_face = transfer_colour(new_face, crop, ring)
        return paste_back(result, new_face, alpha, matrix, limit)

    if count == 1:
        return pasted(generated[0])
    return _farthest(image, (pasted(g) for g in generated), face, judge)


def _draws_vary(choice: dict[str, str | int]) -> bool:
    """Whether the attribute choice leaves anything to the random draw (else every draw is
    the same face and one is enough)."""
    return any(choice.get(name, "keep") == "random" and name not in POSE for name in NAMES)


def _farthest(
    original: np.ndarray, candidates: Iterable[np.ndarray], face: Face, judge: Recognizer | None
) -> np.ndarray:
    """The candidate photo whose face ``judge`` finds farthest from the original's (one
    candidate photo held at a time besides the best so far)."""
    assert judge is not None
    before = judge.embed(original, [face])
    best, best_distance = None, -1.0
    for candidate in candidates:
        distance = float(judge.distance(before, judge.embed(candidate, [face]))[0])
        if distance > best_distance:
            best, best_distance = candidate, distance
    assert best is not None
    return best


def _drawn_points(points: np.ndarray, loaded: LoadedGenerator, shape_mix: float) -> np.ndarray:
    """The landmarks the new face is drawn on (see :attr:`ReplaceSettings.shape_mix`)."""
    if loaded.shapes is None and shape_mix > 0:
        _warn_no_shape_bank()
    if loaded.shapes is None or shape_mix == 0:
        return points
    return anonymous_geometry(points, loaded.shapes, NEIGHBOURS, shape_mix)


@lru_cache(maxsize=1)
def _warn_no_shape_bank() -> None:
    log.warning(
        "these replacer weights hold no landmark shapes: new faces keep the person's own "
        "proportions (export them with `train-replacer --export-fp16 PATH FACES_DIR`)"
    )


def paste_back(
    photo: np.ndarray,
    face: np.ndarray,
    alpha: np.ndarray,
    matrix: np.ndarray,
    limit: tuple[int, int, int, int] | None = None,
) -> np.ndarray:
    """``photo`` with the crop ``face`` blended in by ``alpha`` (crop pixels, 0 outside), both
    mapped back through the inverse of ``matrix`` (photo to crop); only pixels where the mapped
    alpha is above 0 (and inside ``limit``) change."""
    height, width = photo.shape[:2]
    inverse = cv2.invertAffineTransform(matrix)
    ys, xs = np.nonzero(alpha > 0)
    if len(xs) == 0:
        return photo.copy()
    corners = np.array(
        [
            [xs.min(), ys.min()],
            [xs.max() + 1, ys.min()],
            [xs.min(), ys.max() + 1],
            [xs.max() + 1, ys.max() + 1],
        ],
        np.float64,
    )
    mapped = corners @ inverse[:, :2].T + inverse[:, 2]
    x0, y0 = np.floor(mapped.min(0)).astype(int) - 1
    x1, y1 = np.ceil(mapped.max(0)).astype(int) + 2
    lx0, ly0, lx1, ly1 = limit if limit is not None else (0, 0, width, height)
    x0, y0, x1, y1 = max(x0, lx0, 0), max(y0, ly0, 0), min(x1, lx1, width), min(y1, ly1, height)
    result = photo.copy()
    if x1 <= x0 or y1 <= y0:
        return result
    shifted = inverse.copy()
    shifted[:, 2] -= (x0, y0)
    size = (x1 - x0, y1 - y0)
    flags = cv2.INTER_CUBIC | cv2.WARP_INVERSE_MAP
    big_face = cv2.warpAffine(
        face, _as_inverse_map(shifted), size, flags=flags, borderMode=cv2.BORDER_REPLICATE
    )
    big_alpha = cv2.warpAffine(
        alpha, _as_inverse_map(shifted), size, flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
    )
    big_alpha = np.clip(big_alpha, 0.0, 1.0)[..., None]
    region = photo[y0:y1, x0:x1]
    mixed = region * (1 - big_alpha) + big_face.astype(np.float32) * big_alpha
    mixed = np.clip(np.rint(mixed), 0, 255).astype(np.uint8)
    result[y0:y1, x0:x1] = np.where(big_alpha > 0, mixed, region)
    return result


def _as_inverse_map(crop_to_region: np.ndarray) -> np.ndarray:
    """WARP_INVERSE_MAP wants region-to-crop: the inverse of ``crop_to_region``."""
    return cv2.invertAffineTransform(crop_to_region)


def _ring(mask: np.ndarray) -> np.ndarray:
    kernel = np.ones((2 * RING + 1, 2 * RING + 1), np.uint8)
    return (cv2.dilate(mask.astype(np.uint8), kernel) - mask.astype(np.uint8)).astype(np.uint8)


def _feathered(mask: np.ndarray) -> np.ndarray:
    """``mask`` softened inward: 1 deep inside, 0 on and outside the ellipse's edge."""
    kernel = np.ones((2 * FEATHER + 1, 2 * FEATHER + 1), np.uint8)
    core = cv2.erode(mask.astype(np.uint8), kernel).astype(np.float32)
    # A blur no wider than the erosion keeps the alpha at 0 outside the ellipse.
    return cv2.blur(core, (2 * FEATHER + 1, 2 * FEATHER + 1))
