"""The human assessor: a line-up test people take in a browser, and its score.

Each trial shows one changed (obfuscated or replaced) photo of a person and 9 candidates in random
order: another photo of the same person and one photo each of 8 other people. The participant
picks who the changed photo shows. The page (:mod:`facecloak.evaluate.lineup_page`) is one
self-contained HTML file; its answers stay in the browser (``localStorage``) until exported as
JSON. The key (which candidate is right) is written beside the page, never into it: give people
the page only.

The re-identification rate is the share of trials answered with the right candidate, with a
Wilson 95% interval; chance is 1/9.

Example:
    >>> low, high = wilson_interval(5, 10)
    >>> round(low, 3), round(high, 3)
    (0.237, 0.763)
"""

from __future__ import annotations

import base64
import io
import json
import math
import random
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from facecloak.datasets import LabelledPhoto
from facecloak.errors import FacecloakError
from facecloak.evaluate.lineup_page import render_page
from facecloak.faces.face import Face
from facecloak.images import load_image
from facecloak.models import DEFAULT_DETECTOR, detect, largest_face

CANDIDATES = 9
TILE = 160
Change = Callable[[np.ndarray, Face], np.ndarray]
"""``(photo, face) -> the photo with that face changed`` (a protection)."""


@dataclass(frozen=True)
class LineupFiles:
    """Where :func:`write_lineup` put the page and its key, and how many trials it holds."""

    page: Path
    key: Path
    trials: int


@dataclass(frozen=True)
class LineupScore:
    """Right answers among the answered trials, the rate with its Wilson 95% interval."""

    right: int
    answered: int
    rate: float
    low: float
    high: float
    chance: float = 1 / CANDIDATES

    def to_dict(self) -> dict:
        return {k: round(v, 4) if isinstance(v, float) else v for k, v in vars(self).items()}


def write_lineup(
    photos: Sequence[LabelledPhoto],
    change: Change,
    outdir: str | Path,
    trials: int | None = None,
    seed: int = 0,
    detector: str = DEFAULT_DETECTOR,
) -> LineupFiles:
    """Write ``index.html`` (the test) and ``key.json`` (its answers) into ``outdir``.

    One trial per identity with at least 2 photos where a face is found in the first (up to
    ``trials``); the first photo is changed by ``change``, the second is the right candidate.

    Raises:
        FacecloakError: fewer than 9 identities, or no identity with 2 photos and a face.
    """
    groups: dict[str, list[LabelledPhoto]] = {}
    for photo in photos:
        groups.setdefault(photo.identity, []).append(photo)
    if len(groups) < CANDIDATES:
        raise FacecloakError(
            f"a line-up needs photos of at least {CANDIDATES} people; found {len(groups)}"
        )
    rng = random.Random(seed)
    test_id = secrets.token_hex(6)
    page_trials, key = [], {}
    for identity in [name for name, group in groups.items() if len(group) >= 2]:
        if trials is not None and len(page_trials) >= trials:
            break
        trial = _trial(identity, groups, change, rng, detector)
        if trial is None:
            continue
        trial_id = f"t{len(page_trials) + 1}"
        page, answer = trial
        page_trials.append({"id": trial_id, **page})
        key[trial_id] = {"answer": answer, "identity": identity}
    if not page_trials:
        raise FacecloakError("no identity has 2 photos with a face in the first; nothing to test")
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    page_path, key_path = outdir / "index.html", outdir / "key.json"
    page_path.write_text(render_page(test_id, page_trials))
    key_path.write_text(json.dumps({"test": test_id, "trials": key}, indent=1))
    return LineupFiles(page_path, key_path, len(page_trials))


def _trial(
    identity: str,
    groups: dict[str, list[LabelledPhoto]],
    change: Change,
    rng: random.Random,
    detector: str,
) -> tuple[dict, str] | None:
    probe, same = groups[identity][:2]
    rgb = load_image(probe.path)
    face = largest_face(detect(rgb, detector=detector))
    if face is None:
        return None
    changed = change(rgb, face)
    others = rng.sample([name for name in groups if name != identity], CANDIDATES - 1)
    pictures = [same] + [rng.choice(groups[name]) for name in others]
    ids = [secrets.token_hex(4) for _ in pictures]
    candidates = [
        {"id": ids[i], "src": _tile(load_image(p.path), detector)} for i, p in enumerate(pictures)
    ]
    rng.shuffle(candidates)
    return {"probe": _data_url(_crop(changed, face.box)), "candidates": candidates}, ids[0]


def _tile(rgb: np.ndarray, detector: str) -> str:
    face = largest_face(detect(rgb, detector=detector))
    if face is not None:
        return _data_url(_crop(rgb, face.box))
    height, width = rgb.shape[:2]
    side = min(height, width) / 1.3  # with the crop's margin: the largest centred square
    centre_x, centre_y = width / 2, height / 2
    box = (centre_x - side / 2, centre_y - side / 2, centre_x + side / 2, centre_y + side / 2)
    return _data_url(_crop(rgb, box))


def _crop(rgb: np.ndarray, box: tuple[float, float, float, float]) -> Image.Image:
    """The face with a margin, as a square :data:`TILE` picture."""
    x0, y0, x1, y1 = box
    half = 0.65 * max(x1 - x0, y1 - y0)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    square = (round(cx - half), round(cy - half), round(cx + half), round(cy + half))
    return Image.fromarray(rgb).crop(square).resize((TILE, TILE), Image.Resampling.LANCZOS)


def _data_url(picture: Image.Image) -> str:
    buffer = io.BytesIO()
    picture.save(buffer, format="JPEG", quality=85)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode()


def score_lineup(answer_files: Sequence[dict], key: dict) -> LineupScore:
    """Pool the exported answers of every participant against the ``key``.

    Raises:
        FacecloakError: an answers file belongs to another test.
    """
    right = answered = 0
    for answers in answer_files:
        if answers.get("test") != key.get("test"):
            raise FacecloakError(
                f"answers of test {answers.get('test')!r} do not belong to this key "
                f"(test {key.get('test')!r}); give the key.json written with that page"
            )
        for trial_id, choice in answers.get("answers", {}).items():
            if trial_id in key["trials"]:
                answered += 1
                right += choice == key["trials"][trial_id]["answer"]
    rate = right / answered if answered else 0.0
    low, high = wilson_interval(right, answered)
    return LineupScore(right, answered, rate, low, high)


def wilson_interval(successes: int, trials: int, z: float = 1.96) -> tuple[float, float]:
    """The Wilson score interval of a proportion (95% for ``z = 1.96``); ``(0, 1)`` for none."""
    if trials == 0:
        return 0.0, 1.0
    p = successes / trials
    denominator = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denominator
    spread = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denominator
    return max(0.0, centre - spread), min(1.0, centre + spread)
