"""Identity replacement by the learned generator (:mod:`facecloak.replace`): each face is aligned
to the generator's 128 px crop, its ellipse is painted with a new face that takes the chosen
attributes and follows landmarks with the face's pose and expression but not its proportions
(moved toward the mean of the nearest training shapes, :mod:`facecloak.replace.shapes`), the new
face's colour mean is moved to the original face's (the photo's light and the skin's colour), and
it is pasted back at the photo's resolution with a feathered seam. Pixels outside the ellipses
(the face's and the new shape's; and outside the face's working crop) keep their exact values.
With a judge recognizer, several draws are made and the one it finds farthest from the face is
kept.

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
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np

from facecloak.errors import FacecloakError
from facecloak.faces.face import Face
from facecloak.faces.landmarks import predict_landmarks_68
from facecloak.faces.regions import face_region
from facecloak.models.recognizer import Recognizer
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
from facecloak.replace.shapes import (
    DEFAULT_STRENGTH,
    MAX_STRENGTH,
    NEIGHBOURS,
    anonymous_geometry,
)

log = logging.getLogger(__name__)

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
    shape_mix: float = DEFAULT_STRENGTH
    """How far the landmarks the new face is drawn on move from the person's own toward, and
    past, the mean of the nearest training shapes (:mod:`facecloak.replace.shapes`): 0 keeps
    the person's proportions, 1 takes the anonymous ones, 2 (the default) the anti-face, the
    person's departures from them reversed (pose and expression kept throughout). Needs a
    generator file with shapes; without them the person's own landmarks are used."""

    candidates: int = 1
    """Draws generated per face; with a judge recognizer, the one it finds farthest from the
    original face is kept (a search over the attributes, as the seed's PPAS searched them)."""

    def __post_init__(self) -> None:
        parse_choice(self.attributes)
        if not 0.0 <= self.shape_mix <= MAX_STRENGTH:
            raise FacecloakError(
                f"shape mix {self.shape_mix}: give a value from 0 to {MAX_STRENGTH:g}"
            )
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
    own_ellipse, drawn_ellipse = ellipse_mask(crop_points), ellipse_mask(drawn_points)
    mask = np.maximum(own_ellipse, drawn_ellipse)
    generated = generate_crops(
        loaded.generator,
        np.repeat(crop[None], count, 0),
        np.repeat(drawn_points[None], count, 0),
        tokens,
        np.repeat(mask[None], count, 0),
    )
    height, width = image.shape[:2]
    limit = face_region(face, height, width).crop if face.landmarks is not None else None
    plan = plan_paste(image.shape, _feathered(mask), matrix, limit)
    if settings.colour:
        inside, target = _inner(drawn_ellipse), _lab_mean(crop, _inner(own_ellipse))
        if target is not None:
            generated = np.stack([_shift_lab_mean(g, inside, target) for g in generated])
    if count == 1:
        return _with_window(result, plan, blend_window(result, generated[0], plan))
    return _farthest(image, result, generated, plan, face, judge)


def _draws_vary(choice: dict[str, str | int]) -> bool:
    """Whether the attribute choice leaves anything to the random draw (else every draw is
    the same face and one is enough)."""
    return any(choice.get(name, "keep") == "random" and name not in POSE for name in NAMES)


def _farthest(
    original: np.ndarray,
    result: np.ndarray,
    new_faces: np.ndarray,
    plan: PastePlan,
    face: Face,
    judge: Recognizer | None,
) -> np.ndarray:
    """``result`` with the one of ``new_faces`` that ``judge`` finds farthest from the
    original face pasted in (each tried in one working copy of the photo: only the window
    changes between them)."""
    assert judge is not None
    before = judge.embed(original, [face])
    x0, y0, x1, y1 = plan.window
    work = result.copy()
    best, best_distance = None, -1.0
    for new_face in new_faces:
        work[y0:y1, x0:x1] = blend_window(result, new_face, plan)
        distance = float(judge.distance(before, judge.embed(work, [face]))[0])
        if distance > best_distance:
            best, best_distance = work[y0:y1, x0:x1].copy(), distance
    assert best is not None
    return _with_window(result, plan, best)


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


@dataclass(frozen=True)
class PastePlan:
    """Where a crop lands in a photo: ``window`` ``(x0, y0, x1, y1)`` of the photo,
    ``region_to_crop`` (the affine ``warpAffine`` reads the crop through) and ``alpha``
    ``(h, w)``, the blend weight over the window (``None``: nothing lands)."""

    window: tuple[int, int, int, int]
    region_to_crop: np.ndarray
    alpha: np.ndarray | None


def plan_paste(
    shape: tuple[int, ...],
    alpha: np.ndarray,
    matrix: np.ndarray,
    limit: tuple[int, int, int, int] | None = None,
) -> PastePlan:
    """Where a crop blended by ``alpha`` (crop pixels, 0 outside) lands in a photo of
    ``shape``, through the inverse of ``matrix`` (photo to crop), kept inside ``limit``."""
    height, width = shape[:2]
    inverse = cv2.invertAffineTransform(matrix)
    ys, xs = np.nonzero(alpha > 0)
    if len(xs) == 0:
        return PastePlan((0, 0, 0, 0), inverse, None)
    left, top, right, bottom = xs.min(), ys.min(), xs.max() + 1, ys.max() + 1
    corners = np.array([[left, top], [right, top], [left, bottom], [right, bottom]], np.float64)
    mapped = corners @ inverse[:, :2].T + inverse[:, 2]
    x0, y0 = np.floor(mapped.min(0)).astype(int) - 1
    x1, y1 = np.ceil(mapped.max(0)).astype(int) + 2
    lx0, ly0, lx1, ly1 = limit if limit is not None else (0, 0, width, height)
    x0, y0, x1, y1 = max(x0, lx0, 0), max(y0, ly0, 0), min(x1, lx1, width), min(y1, ly1, height)
    if x1 <= x0 or y1 <= y0:
        return PastePlan((0, 0, 0, 0), inverse, None)
    shifted = inverse.copy()
    shifted[:, 2] -= (x0, y0)
    region_to_crop = cv2.invertAffineTransform(shifted)
    flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
    big_alpha = cv2.warpAffine(alpha, region_to_crop, (x1 - x0, y1 - y0), flags=flags)
    window = (int(x0), int(y0), int(x1), int(y1))
    return PastePlan(window, region_to_crop, np.clip(big_alpha, 0.0, 1.0))


def blend_window(photo: np.ndarray, face: np.ndarray, plan: PastePlan) -> np.ndarray:
    """The pixels of ``photo``'s window with the crop ``face`` blended in as ``plan`` says
    (only where its alpha is above 0 do they change)."""
    x0, y0, x1, y1 = plan.window
    region = photo[y0:y1, x0:x1]
    if plan.alpha is None:
        return region.copy()
    flags = cv2.INTER_CUBIC | cv2.WARP_INVERSE_MAP
    big_face = cv2.warpAffine(
        face, plan.region_to_crop, (x1 - x0, y1 - y0), flags=flags, borderMode=cv2.BORDER_REPLICATE
    )
    return cv2.blendLinear(region, big_face, 1.0 - plan.alpha, plan.alpha)


def _with_window(photo: np.ndarray, plan: PastePlan, pixels: np.ndarray) -> np.ndarray:
    result = photo.copy()
    x0, y0, x1, y1 = plan.window
    result[y0:y1, x0:x1] = pixels
    return result


def match_lighting(
    new_face: np.ndarray, new_inside: np.ndarray, original: np.ndarray, original_inside: np.ndarray
) -> np.ndarray:
    """``new_face`` with its CIE Lab mean inside ``new_inside`` moved to ``original``'s mean
    inside ``original_inside`` (boolean masks): the new face takes the photo's light and the
    skin's colour and keeps its own contrast. Measured on the faces themselves: a ring round
    the face also holds hair, collars and background, which made new faces dark or olive.

    Example:
        >>> grey = np.full((4, 4, 3), 100, np.uint8)
        >>> inside = np.ones((4, 4), bool)
        >>> match_lighting(grey, inside, np.full((4, 4, 3), 150, np.uint8), inside)[0, 0]
        array([150, 150, 150], dtype=uint8)
    """
    target = _lab_mean(original, original_inside)
    return new_face if target is None else _shift_lab_mean(new_face, new_inside, target)


MIN_COLOUR_PIXELS = 16
"""Fewer pixels than this inside a mask give no colour mean worth matching."""


def _lab_mean(rgb: np.ndarray, inside: np.ndarray) -> np.ndarray | None:
    """The CIE Lab mean of ``rgb`` inside ``inside`` (``None`` if it holds too few pixels)."""
    return _lab(rgb)[inside].mean(0) if inside.sum() >= MIN_COLOUR_PIXELS else None


def _shift_lab_mean(rgb: np.ndarray, inside: np.ndarray, target: np.ndarray) -> np.ndarray:
    """``rgb`` with its Lab mean inside ``inside`` moved to ``target``."""
    if inside.sum() < MIN_COLOUR_PIXELS:
        return rgb
    lab = _lab(rgb)
    moved = cv2.cvtColor((lab - lab[inside].mean(0) + target).astype(np.float32), cv2.COLOR_LAB2RGB)
    return np.clip(np.rint(moved * 255.0), 0, 255).astype(np.uint8)


def _lab(rgb: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(rgb.astype(np.float32) / 255.0, cv2.COLOR_RGB2LAB)


def _inner(ellipse: np.ndarray) -> np.ndarray:
    """The ellipse less a seam's width at its edge, where the face meets its surroundings."""
    kernel = np.ones((2 * FEATHER + 1, 2 * FEATHER + 1), np.uint8)
    return cv2.erode(ellipse.astype(np.uint8), kernel).astype(bool)


def _feathered(mask: np.ndarray) -> np.ndarray:
    """``mask`` softened inward: 1 deep inside, 0 on and outside the ellipse's edge."""
    core = _inner(mask).astype(np.float32)
    # A blur no wider than the erosion keeps the alpha at 0 outside the ellipse.
    return cv2.blur(core, (2 * FEATHER + 1, 2 * FEATHER + 1))
