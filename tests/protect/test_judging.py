"""The views a protected face is judged on: made once, embedded once per recognizer."""

from __future__ import annotations

import numpy as np
import pytest

from facecloak.imaging import jpeg75
from facecloak.models import detect, largest_face
from facecloak.protect.judging import JudgedViews, judge_everywhere
from facecloak.recognition import embed_with_fresh_landmarks, shared_recognizer


@pytest.fixture(scope="module")
def changed_hopper(grace_hopper):
    face = largest_face(detect(grace_hopper))
    changed = grace_hopper.copy()
    x0, y0, x1, y1 = (int(v) for v in face.box)
    changed[y0:y1, x0:x1] = np.clip(changed[y0:y1, x0:x1].astype(int) + 12, 0, 255)
    return grace_hopper, changed, face


def test_distances_are_the_fresh_landmark_embeddings(changed_hopper) -> None:
    original, changed, face = changed_hopper
    dlib = shared_recognizer("dlib")
    distance, distance_jpeg = JudgedViews.of(original, changed, face).distances(dlib)
    clean = embed_with_fresh_landmarks(original, face, dlib)
    saved = embed_with_fresh_landmarks(changed, face, dlib)
    resaved = embed_with_fresh_landmarks(jpeg75(changed), face, dlib)
    assert distance == pytest.approx(float(dlib.distance(clean, saved)[0]), abs=1e-6)
    assert distance_jpeg == pytest.approx(float(dlib.distance(clean, resaved)[0]), abs=1e-6)
    assert 0 < distance < dlib.threshold


def test_each_recognizer_embeds_the_views_once(changed_hopper, monkeypatch) -> None:
    original, changed, face = changed_hopper
    dlib = shared_recognizer("dlib")
    calls = []
    embed = type(dlib).embed_each
    monkeypatch.setattr(
        type(dlib), "embed_each", lambda self, *a: calls.append(1) or embed(self, *a)
    )
    views = JudgedViews.of(original, changed, face)
    first = views.distances(dlib)
    verdicts = judge_everywhere(original, changed, face, ["dlib"], views=views)
    assert len(calls) == 1  # the three photos in one batch
    assert (verdicts[0].distance, verdicts[0].distance_jpeg75) == first
