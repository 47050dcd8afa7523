"""Face swap without training: a donor's face warped onto the target's 68 landmarks.

The landmarks (plus the brows raised a little, to take the lower forehead) are cut into
triangles (Delaunay, on the target's points); each triangle of the donor is mapped affinely onto
its twin in the target, so the donor's eyes, nose, mouth and skin take the target's pose and
expression. The target's mouth interior (teeth, tongue) is kept. The donor's colours are moved
to the target's (mean and spread per channel in CIE Lab) and the face is blended with a feathered
seam (or a Poisson one). Nothing outside the face outline changes.

Example:
    >>> from facecloak.data import astronaut, grace_hopper
    >>> from facecloak.faces.landmarks import predict_landmarks_68
    >>> target, donor = astronaut(), grace_hopper()
    >>> swapped = swap_face(
    ...     target, predict_landmarks_68(target, (175, 76, 266, 167)),
    ...     donor, predict_landmarks_68(donor, (170, 100, 360, 300)))
    >>> swapped.shape == target.shape, bool((swapped != target).any())
    (True, True)
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from scipy.spatial import Delaunay

from facecloak.faces.face import Face
from facecloak.faces.landmarks import predict_landmarks_68
from facecloak.faces.regions import face_region
from facecloak.faces.shape import INNER_LIPS, face_outline, inter_ocular
from facecloak.faces.traits import measure_traits
from facecloak.models.recognizer import Recognizer
from facecloak.obfuscate.donors import DonorIndex, DonorRules

BLENDS = ("feather", "poisson")


@dataclass(frozen=True)
class SwapSettings:
    """How the donor's face is pasted.

    Attributes:
        blend: ``feather`` (a soft alpha seam) or ``poisson`` (gradient-domain, OpenCV's
            seamless clone).
        forehead: how far above the brows the pasted face reaches, in inter-ocular distances.
        feather: the width of the soft seam, in inter-ocular distances.
        colour: move the donor's colours to the target's (mean and spread in Lab).
    """

    blend: str = "feather"
    forehead: float = 0.25
    feather: float = 0.12
    colour: bool = True

    def __post_init__(self) -> None:
        if self.blend not in BLENDS:
            raise ValueError(f"blend={self.blend!r} is not known: choose from {', '.join(BLENDS)}")


def swap_faces(
    image: np.ndarray,
    faces: list[Face],
    donors: DonorIndex,
    recognizer: Recognizer,
    settings: SwapSettings | None = None,
    rules: DonorRules | None = None,
) -> tuple[np.ndarray, list[int]]:
    """A copy of ``image`` with each of ``faces`` swapped for the donor that suits it best (see
    :meth:`DonorIndex.choose`), and the donor chosen per face. Each face changes only inside its
    working crop (:func:`~facecloak.faces.regions.face_region`), like every other protection."""
    result = image.copy()
    embeddings = recognizer.embed(image, faces) if faces else None
    chosen = []
    for number, face in enumerate(faces):
        points = predict_landmarks_68(image, face.box)
        donor = donors.choose(measure_traits(image, points), embeddings[number], recognizer, rules)
        limit = face_region(face, *image.shape[:2]).crop
        result = swap_face(
            result, points, donors.photo(donor), donors.points[donor], settings, limit
        )
        chosen.append(donor)
    return result, chosen


def swap_face(
    target: np.ndarray,
    target_points: np.ndarray,
    donor: np.ndarray,
    donor_points: np.ndarray,
    settings: SwapSettings | None = None,
    limit: tuple[int, int, int, int] | None = None,
) -> np.ndarray:
    """A copy of ``target`` whose face (68 ``target_points``) is the donor's, warped and blended.

    Only pixels inside the target's face outline (:func:`paste_mask`) change, and within
    ``limit`` (``(x0, y0, x1, y1)``) when it is given.
    """
    settings = settings or SwapSettings()
    height, width = target.shape[:2]
    mask = paste_mask(target_points, height, width, settings.forehead)
    if limit is not None:
        x0, y0, x1, y1 = limit
        outside = np.ones_like(mask, bool)
        outside[y0:y1, x0:x1] = False
        mask[outside] = 0
    box = _bounding_box(mask)
    if box is None:
        return target.copy()
    x0, y0, x1, y1 = box
    offset = np.array([x0, y0], np.float64)
    warped = warp_mesh(
        donor,
        mesh_points(donor_points, settings.forehead),
        mesh_points(target_points, settings.forehead) - offset,
        (y1 - y0, x1 - x0),
    )
    crop = target[y0:y1, x0:x1]
    inside = mask[y0:y1, x0:x1]
    if settings.colour:
        warped = transfer_colour(warped, crop, inside)
    seam = settings.feather * inter_ocular(target_points)
    pasted = _blend(crop, warped, inside, seam, settings.blend)
    result = target.copy()
    result[y0:y1, x0:x1] = np.where(inside[..., None] > 0, pasted, crop)
    return result


def mesh_points(points: np.ndarray, forehead: float) -> np.ndarray:
    """The 68 landmarks plus the brows raised by ``forehead`` inter-ocular distances (78 points,
    in the same order on every face, so the two meshes correspond)."""
    raised = face_outline(points, forehead)[17:]
    return np.concatenate([points, raised]).astype(np.float64)


def paste_mask(points: np.ndarray, height: int, width: int, forehead: float) -> np.ndarray:
    """``(H, W)`` uint8, 1 inside the face outline (jaw and raised brows), 0 in the open mouth."""
    mask = np.zeros((height, width), np.uint8)
    outline = face_outline(points, forehead)
    cv2.fillPoly(mask, [np.round(cv2.convexHull(outline.astype(np.float32))).astype(np.int32)], 1)
    cv2.fillPoly(mask, [np.round(points[INNER_LIPS]).astype(np.int32)], 0)
    return mask


def warp_mesh(
    source: np.ndarray, source_points: np.ndarray, points: np.ndarray, shape: tuple[int, int]
) -> np.ndarray:
    """``source`` warped piecewise-affinely so that ``source_points`` land on ``points``, as an
    image of ``shape`` (``(h, w)``; ``points`` are in its pixels). Outside the mesh: black."""
    triangles = Delaunay(points).simplices
    index = np.zeros(shape, np.uint8 if len(triangles) < 255 else np.int32)
    for number, triangle in enumerate(triangles, start=1):
        cv2.fillConvexPoly(index, np.round(points[triangle]).astype(np.int32), number)
    affines = np.zeros((len(triangles) + 1, 2, 3), np.float64)
    for number, triangle in enumerate(triangles, start=1):
        affines[number] = cv2.getAffineTransform(
            points[triangle].astype(np.float32), source_points[triangle].astype(np.float32)
        )
    ys, xs = np.mgrid[0 : shape[0], 0 : shape[1]].astype(np.float64)
    chosen = affines[index]
    map_x = chosen[..., 0, 0] * xs + chosen[..., 0, 1] * ys + chosen[..., 0, 2]
    map_y = chosen[..., 1, 0] * xs + chosen[..., 1, 1] * ys + chosen[..., 1, 2]
    outside = index == 0
    map_x[outside], map_y[outside] = -1.0, -1.0
    return cv2.remap(
        np.ascontiguousarray(source),
        map_x.astype(np.float32),
        map_y.astype(np.float32),
        cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
    )


def transfer_colour(source: np.ndarray, reference: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """``source`` with the mean and spread of each CIE Lab channel of ``reference`` (both
    measured where ``mask`` is set); the spread ratio is kept within [0.5, 2]."""
    where = mask.astype(bool)
    if where.sum() < 16:
        return source
    lab_source = cv2.cvtColor(source.astype(np.float32) / 255.0, cv2.COLOR_RGB2LAB)
    lab_reference = cv2.cvtColor(reference.astype(np.float32) / 255.0, cv2.COLOR_RGB2LAB)
    mean_s, std_s = lab_source[where].mean(0), lab_source[where].std(0) + 1e-3
    mean_r, std_r = lab_reference[where].mean(0), lab_reference[where].std(0) + 1e-3
    ratio = np.clip(std_r / std_s, 0.5, 2.0)
    moved = (lab_source - mean_s) * ratio + mean_r
    rgb = cv2.cvtColor(moved.astype(np.float32), cv2.COLOR_LAB2RGB)
    return np.clip(np.rint(rgb * 255.0), 0, 255).astype(np.uint8)


def _blend(
    crop: np.ndarray, warped: np.ndarray, inside: np.ndarray, seam: float, blend: str
) -> np.ndarray:
    if blend == "poisson" and inside.sum() > 64:
        return _poisson(crop, warped, inside)
    radius = max(1, round(seam / 2))
    kernel = np.ones((2 * radius + 1, 2 * radius + 1), np.uint8)
    core = cv2.erode(inside, kernel)
    # Blurring the eroded mask by a kernel no wider than the erosion keeps alpha = 0 outside.
    alpha = cv2.blur(core.astype(np.float32), (2 * radius + 1, 2 * radius + 1))[..., None]
    mixed = crop.astype(np.float32) * (1 - alpha) + warped.astype(np.float32) * alpha
    return np.clip(np.rint(mixed), 0, 255).astype(np.uint8)


def _poisson(crop: np.ndarray, warped: np.ndarray, inside: np.ndarray) -> np.ndarray:
    # seamlessClone needs the mask away from the image border: work on a padded copy.
    pad = 4
    padded_crop = cv2.copyMakeBorder(crop, pad, pad, pad, pad, cv2.BORDER_REFLECT)
    padded_warped = cv2.copyMakeBorder(warped, pad, pad, pad, pad, cv2.BORDER_REFLECT)
    padded_mask = cv2.copyMakeBorder(inside * 255, pad, pad, pad, pad, cv2.BORDER_CONSTANT)
    ys, xs = np.nonzero(padded_mask)
    centre = (int((xs.min() + xs.max() + 1) // 2), int((ys.min() + ys.max() + 1) // 2))
    cloned = cv2.seamlessClone(padded_warped, padded_crop, padded_mask, centre, cv2.NORMAL_CLONE)
    return cloned[pad:-pad, pad:-pad]


def _bounding_box(mask: np.ndarray) -> tuple[int, int, int, int] | None:
    ys, xs = np.nonzero(mask)
    if len(xs) == 0:
        return None
    return int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1
