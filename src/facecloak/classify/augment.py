"""Training augmentation on batches of images: horizontal flips and small random crops.

A crop is a zoom by a factor in ``[1, 1 / min_scale]`` about a point shifted by up to
``max_shift`` of the image size, sampled back to the same size (bilinear, border padding), which
is a random crop of ``min_scale``..100% of the side, resized: one ``grid_sample`` per batch.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


def augment_batch(
    images: Tensor,
    generator: torch.Generator,
    *,
    flip: bool = True,
    min_scale: float = 0.9,
    max_shift: float = 0.05,
) -> Tensor:
    """Randomly flipped and cropped copies of ``(N, C, H, W)`` images.

    Args:
        images: the batch (not modified).
        generator: random source (CPU).
        flip: mirror half of the images left-right.
        min_scale: smallest crop side as a fraction of the image side (1: no zoom).
        max_shift: largest crop-centre shift as a fraction of the image side.

    Example:
        >>> x = torch.rand(4, 3, 32, 32)
        >>> augment_batch(x, torch.Generator().manual_seed(0)).shape
        torch.Size([4, 3, 32, 32])
    """
    if not 0 < min_scale <= 1:
        raise ValueError(f"min_scale must be in (0, 1], got {min_scale}")
    n = images.shape[0]
    if n == 0:
        return images
    scale = min_scale + (1 - min_scale) * torch.rand(n, generator=generator)
    shift = (torch.rand(n, 2, generator=generator) * 2 - 1) * 2 * max_shift
    sign = torch.ones(n)
    if flip:
        sign = torch.where(torch.rand(n, generator=generator) < 0.5, -1.0, 1.0)
    theta = torch.zeros(n, 2, 3)
    theta[:, 0, 0] = scale * sign
    theta[:, 1, 1] = scale
    theta[:, :, 2] = shift
    theta = theta.to(dtype=images.dtype, device=images.device)
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)
    return F.grid_sample(images, grid, mode="bilinear", padding_mode="border", align_corners=False)
