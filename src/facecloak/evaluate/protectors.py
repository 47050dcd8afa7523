"""Ways of protecting a photo for the detection evaluation: classical baselines and the cloak.

A protector turns a ``(H, W, 3)`` uint8 photo into its protected copy (and, where it can say, the
faces it protected).

Example:
    >>> import numpy as np
    >>> protector = as_protector(lambda rgb: 255 - rgb)
    >>> image, faces = protector(np.zeros((2, 2, 3), np.uint8))
    >>> int(image.max()), faces
    (255, None)
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from facecloak.errors import FacecloakError, NoFaceError
from facecloak.faces.face import Face

logger = logging.getLogger(__name__)


@dataclass
class Protector:
    """A named way of protecting a photo.

    ``run(rgb)`` returns the protected ``(H, W, 3)`` uint8 photo, or an object with ``.image``
    (and optionally ``.faces``, the faces it protected) such as
    :class:`facecloak.protect.ProtectResult`. A :class:`~facecloak.errors.NoFaceError` means there
    was nothing to protect: the photo is kept as it is.
    """

    name: str
    run: Callable[[np.ndarray], object]
    settings: dict = field(default_factory=dict)
    attacked: tuple[str, ...] = ()
    """The detectors the protection is computed against (white-box); none for classical ones."""

    def __call__(self, rgb: np.ndarray) -> tuple[np.ndarray, list[Face] | None]:
        """The protected photo and the faces protected (``None`` when the protector won't say)."""
        try:
            result = self.run(rgb)
        except NoFaceError as exc:
            logger.info("%s: nothing protected (%s)", self.name, exc)
            return rgb.copy(), []
        if isinstance(result, np.ndarray):
            return result, None
        image = getattr(result, "image", None)
        if not isinstance(image, np.ndarray) or image.shape != rgb.shape:
            raise FacecloakError(
                f"protector {self.name!r} returned {type(result).__name__} without a photo of "
                f"shape {rgb.shape}; return the protected uint8 array or a ProtectResult"
            )
        faces = getattr(result, "faces", None)
        return image, None if faces is None else list(faces)


def as_protector(protector: Protector | Callable[[np.ndarray], object]) -> Protector:
    """Wrap a bare callable as a :class:`Protector` named after it."""
    if isinstance(protector, Protector):
        return protector
    return Protector(getattr(protector, "__name__", "custom"), protector)


def classical_protector(method: str = "blur") -> Protector:
    """Blur, pixelate or mask every face CenterFace finds (the classical baselines)."""
    from facecloak.protect import ProtectConfig, protect

    config = ProtectConfig(method=method)
    return Protector(method, lambda rgb: protect(rgb, config), {"method": method})


def cloak_protector(
    *,
    against: str = "detection",
    eps: float = 0.02,
    steps: int = 10,
    robust: bool = False,
    attack_detectors: Sequence[str] = ("centerface",),
) -> Protector:
    """The detector-evasion cloak: ``protect(rgb, ProtectConfig(against=..., eps=..., ...))``.

    ``eps`` is on the [0, 1] pixel scale.

    Example:
        >>> cloak_protector(eps=0.03).settings["eps"]
        0.03
    """
    from facecloak.protect import ProtectConfig, protect

    config = ProtectConfig(
        against=against, eps=eps, steps=steps, robust=robust, evade=tuple(attack_detectors)
    )
    settings = {
        "against": against,
        "eps": eps,
        "steps": steps,
        "robust": robust,
        "attack_detectors": list(attack_detectors),
    }

    def run(rgb: np.ndarray) -> object:
        return protect(rgb, config)

    return Protector(f"cloak against {against}", run, settings, tuple(attack_detectors))
