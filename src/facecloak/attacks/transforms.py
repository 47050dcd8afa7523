"""Random, differentiable image transforms applied before the model during an attack.

Two uses:

- input diversity (:class:`InputDiversity`): random shrink-and-pad of the attacked input, so the
  perturbation does not overfit one exact pixel grid (better transfer to other recognizers);
- expectation over transformations: :func:`eot_transform` builds a :class:`RandomCompose` of what
  a photo meets after release (JPEG re-encoding, down-and-up resizing, slight blur, small shift).
  Averaging gradients over several random draws (the attacks' ``eot_samples``) makes the cloak
  survive them.

Every transform maps a float ``(N, C, H, W)`` batch in [0, 1] to one of the same shape, keeps the
autograd graph, and draws its randomness from an optional ``torch.Generator`` for reproducibility.
Draws are per sample unless a transform says otherwise.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from kornia.enhance import jpeg_codec_differentiable
from kornia.filters import gaussian_blur2d
from torch import Tensor

Transform = Callable[[Tensor], Tensor]


def _uniform(
    shape: Sequence[int], low: float, high: float, like: Tensor, generator: torch.Generator | None
) -> Tensor:
    """Uniform draws in ``[low, high)`` on ``like``'s device and dtype."""
    device = generator.device if generator is not None else like.device
    draws = torch.rand(tuple(shape), generator=generator, device=device, dtype=like.dtype)
    return (low + (high - low) * draws).to(like.device)


def _check_range(name: str, low: float, high: float, lowest: float, highest: float) -> None:
    if not lowest <= low <= high <= highest:
        raise ValueError(f"{name} must satisfy {lowest} <= low <= high <= {highest}: {low, high}")


def _resample(x: Tensor, scale: Tensor, shift: Tensor, padding_mode: str) -> Tensor:
    """Place each image scaled by ``scale`` (N,) with its centre moved by ``shift`` (N, 2).

    ``shift`` is in normalised coordinates (the image spans [-1, 1]). Sampling is bilinear, so
    the result is differentiable with respect to ``x``.
    """
    n = x.shape[0]
    theta = torch.zeros(n, 2, 3, device=x.device, dtype=x.dtype)
    theta[:, 0, 0] = 1.0 / scale
    theta[:, 1, 1] = 1.0 / scale
    theta[:, :, 2] = -shift / scale.unsqueeze(1)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode=padding_mode, align_corners=False)


class InputDiversity:
    """Random resize-and-pad (DI), with probability ``prob`` per sample.

    A chosen image is shrunk by a factor in ``[min_scale, 1]`` and placed at a random position of
    a zero canvas of its original size, so the model still sees its usual input size. The others
    pass through untouched.

    Geometry moves by up to ``(1 - min_scale)`` of the image size: use it where nothing downstream
    depends on exact pixel positions (on face chips rather than on a photo whose landmarks are
    fixed), or with ``min_scale`` close to 1.

    Example::

        diversity = InputDiversity(prob=0.5, min_scale=0.9)
        logits = model(diversity(x))
    """

    def __init__(
        self, prob: float = 0.5, min_scale: float = 0.9, generator: torch.Generator | None = None
    ) -> None:
        _check_range("prob", prob, prob, 0.0, 1.0)
        _check_range("min_scale", min_scale, 1.0, 1e-3, 1.0)
        self.prob = prob
        self.min_scale = min_scale
        self.generator = generator

    def __call__(self, x: Tensor) -> Tensor:
        if self.prob == 0.0:
            return x
        n = x.shape[0]
        chosen = _uniform((n,), 0.0, 1.0, x, self.generator) < self.prob
        if not bool(chosen.any()):
            return x
        scale = _uniform((n,), self.min_scale, 1.0, x, self.generator)
        # The shrunk image must stay inside the canvas: its centre moves by at most 1 - scale.
        shift = _uniform((n, 2), -1.0, 1.0, x, self.generator) * (1.0 - scale).unsqueeze(1)
        diversified = _resample(x, scale, shift, padding_mode="zeros")
        return torch.where(chosen.view(n, *([1] * (x.ndim - 1))), diversified, x)

    def __repr__(self) -> str:
        return f"InputDiversity(prob={self.prob}, min_scale={self.min_scale})"


class RandomJPEG:
    """Differentiable JPEG encode-decode at a random quality per sample (kornia).

    Example::

        jpeg = RandomJPEG(quality=(50, 95))
        compressed = jpeg(x)  # same shape, gradients flow back to x
    """

    def __init__(
        self, quality: tuple[float, float] = (50.0, 95.0), generator: torch.Generator | None = None
    ) -> None:
        _check_range("quality", *quality, 1.0, 100.0)
        self.quality = quality
        self.generator = generator

    def __call__(self, x: Tensor) -> Tensor:
        quality = _uniform((x.shape[0],), *self.quality, x, self.generator)
        return jpeg_codec_differentiable(x.clamp(0.0, 1.0), quality)

    def __repr__(self) -> str:
        return f"RandomJPEG(quality={self.quality})"


class RandomResize:
    """Downscale by a random factor (one per call) with antialiasing, then back up to size.

    Example::

        resized = RandomResize(scale=(0.5, 1.0))(x)
    """

    def __init__(
        self, scale: tuple[float, float] = (0.5, 1.0), generator: torch.Generator | None = None
    ) -> None:
        _check_range("scale", *scale, 1e-3, 1.0)
        self.scale = scale
        self.generator = generator

    def __call__(self, x: Tensor) -> Tensor:
        factor = float(_uniform((1,), *self.scale, x, self.generator))
        height, width = x.shape[-2:]
        small = (max(1, round(height * factor)), max(1, round(width * factor)))
        if small == (height, width):
            return x
        down = F.interpolate(x, size=small, mode="bilinear", antialias=True, align_corners=False)
        return F.interpolate(down, size=(height, width), mode="bilinear", align_corners=False)

    def __repr__(self) -> str:
        return f"RandomResize(scale={self.scale})"


class RandomGaussianBlur:
    """Gaussian blur with a random sigma (pixels) per sample.

    Example::

        blurred = RandomGaussianBlur(sigma=(0.3, 1.0))(x)
    """

    def __init__(
        self, sigma: tuple[float, float] = (0.3, 1.0), generator: torch.Generator | None = None
    ) -> None:
        _check_range("sigma", *sigma, 1e-3, 50.0)
        self.sigma = sigma
        self.generator = generator
        self.kernel_size = 2 * math.ceil(3.0 * sigma[1]) + 1

    def __call__(self, x: Tensor) -> Tensor:
        sigma = _uniform((x.shape[0], 1), *self.sigma, x, self.generator).expand(-1, 2)
        return gaussian_blur2d(x, self.kernel_size, sigma, border_type="reflect")

    def __repr__(self) -> str:
        return f"RandomGaussianBlur(sigma={self.sigma})"


class RandomShift:
    """Translate each sample by a random sub-pixel offset of up to ``max_shift`` pixels.

    Borders are filled by repeating the edge pixels.

    Example::

        shifted = RandomShift(max_shift=2.0)(x)
    """

    def __init__(self, max_shift: float = 2.0, generator: torch.Generator | None = None) -> None:
        if max_shift < 0:
            raise ValueError(f"max_shift must be >= 0, got {max_shift}")
        self.max_shift = max_shift
        self.generator = generator

    def __call__(self, x: Tensor) -> Tensor:
        n = x.shape[0]
        height, width = x.shape[-2:]
        pixels = _uniform((n, 2), -self.max_shift, self.max_shift, x, self.generator)
        # Normalised coordinates span 2 units across the image.
        size = torch.tensor([width, height], device=x.device, dtype=x.dtype)
        shift = pixels * 2.0 / size
        scale = torch.ones(n, device=x.device, dtype=x.dtype)
        return _resample(x, scale, shift, padding_mode="border")

    def __repr__(self) -> str:
        return f"RandomShift(max_shift={self.max_shift})"


class RandomCompose:
    """Apply each transform with probability ``prob``, in a random order drawn per call.

    Example::

        transform = RandomCompose([RandomJPEG(), RandomGaussianBlur()], prob=0.5)
        x_seen = transform(x)
    """

    def __init__(
        self,
        transforms: Sequence[Transform],
        prob: float = 0.5,
        shuffle: bool = True,
        generator: torch.Generator | None = None,
    ) -> None:
        _check_range("prob", prob, prob, 0.0, 1.0)
        self.transforms = list(transforms)
        self.prob = prob
        self.shuffle = shuffle
        self.generator = generator

    def chosen(self) -> list[Transform]:
        """The transforms one call applies, in order."""
        count = len(self.transforms)
        order = torch.randperm(count, generator=self.generator) if self.shuffle else range(count)
        keep = torch.rand(count, generator=self.generator) < self.prob
        return [self.transforms[int(i)] for i in order if bool(keep[int(i)])]

    def __call__(self, x: Tensor) -> Tensor:
        for transform in self.chosen():
            x = transform(x)
        return x

    def __repr__(self) -> str:
        return f"RandomCompose({self.transforms}, prob={self.prob}, shuffle={self.shuffle})"


def eot_transform(
    jpeg_quality: tuple[float, float] | None = (50.0, 95.0),
    resize_scale: tuple[float, float] | None = (0.5, 1.0),
    blur_sigma: tuple[float, float] | None = (0.3, 1.0),
    max_shift: float | None = 2.0,
    prob: float = 0.5,
    generator: torch.Generator | None = None,
) -> RandomCompose:
    """The post-release transforms a cloak should survive, composed randomly per call.

    Pass ``None`` for a component to leave it out.

    Example::

        attack = PGD(model, objective, transform=eot_transform(), eot_samples=4)
    """
    transforms: list[Transform] = []
    if jpeg_quality is not None:
        transforms.append(RandomJPEG(jpeg_quality, generator=generator))
    if resize_scale is not None:
        transforms.append(RandomResize(resize_scale, generator=generator))
    if blur_sigma is not None:
        transforms.append(RandomGaussianBlur(blur_sigma, generator=generator))
    if max_shift is not None:
        transforms.append(RandomShift(max_shift, generator=generator))
    return RandomCompose(transforms, prob=prob, generator=generator)
