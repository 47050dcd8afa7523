"""The public-domain astronaut's 68 landmarks."""

from __future__ import annotations

import numpy as np
import pytest

from facecloak.faces.landmarks import predict_landmarks_68


@pytest.fixture(scope="session")
def astronaut_points_68(astronaut: np.ndarray) -> np.ndarray:
    return predict_landmarks_68(astronaut, (175, 76, 266, 167))
