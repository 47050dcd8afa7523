"""dlib's image pyramid step, ``pyramid_down<2>``, in torch with a hand-written backward.

Example:
    >>> pyramid_down(torch.full((1, 1, 7, 7), 256.0)).squeeze().tolist()
    [[256.0, 256.0], [256.0, 256.0]]
"""

from __future__ import annotations

import torch


def pyramid_down(image: torch.Tensor) -> torch.Tensor:
    """dlib's ``pyramid_down<2>``: ``[1 4 6 4 1]/16`` filter, every other pixel, no padding.

    ``(N, C, H, W)`` -> ``(N, C, (H - 3) // 2, (W - 3) // 2)``; output pixel ``(r, c)`` is centred
    on input pixel ``(2r + 2, 2c + 2)``.

    Example:
        >>> pyramid_down(torch.ones(1, 3, 10, 11)).shape
        torch.Size([1, 3, 3, 4])
    """
    return _BinomialHalve.apply(_BinomialHalve.apply(image, -1), -2) / 256.0


_BINOMIAL_TAPS = (1.0, 4.0, 6.0, 4.0, 1.0)


class _BinomialHalve(torch.autograd.Function):
    """``[1 4 6 4 1]`` (unnormalised) along ``dim`` at every other position, no padding.

    Strided views and additions beat a strided convolution on CPU (one-channel convolutions are
    slow and scale badly with the image size); the explicit adjoint in ``backward`` allocates one
    gradient instead of one per tap.
    """

    @staticmethod
    def forward(  # type: ignore[override]
        ctx: torch.autograd.function.FunctionCtx, image: torch.Tensor, dim: int
    ) -> torch.Tensor:
        count = (image.shape[dim] - 3) // 2
        ctx.dim, ctx.count, ctx.image_shape = dim, count, image.shape
        tap = [_every_other(image, dim, start, count) for start in range(5)]
        return (tap[0] + tap[4]).add_(tap[1] + tap[3], alpha=4.0).add_(tap[2], alpha=6.0)

    @staticmethod
    def backward(  # type: ignore[override]
        ctx: torch.autograd.function.FunctionCtx, grad: torch.Tensor
    ) -> tuple[torch.Tensor, None]:
        image_grad = grad.new_zeros(ctx.image_shape)
        for start, weight in enumerate(_BINOMIAL_TAPS):
            _every_other(image_grad, ctx.dim, start, ctx.count).add_(grad, alpha=weight)
        return image_grad, None


def _every_other(image: torch.Tensor, dim: int, start: int, count: int) -> torch.Tensor:
    """The view ``image[start : start + 2 * count - 1 : 2]`` along ``dim``."""
    index = [slice(None)] * image.dim()
    index[dim] = slice(start, start + 2 * count - 1, 2)
    return image[tuple(index)]
