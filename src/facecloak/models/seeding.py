"""Loading a model leaves torch's global random stream where it was.

Building a network draws its layers' random initial weights, which the real weights then
replace. A loader that ran inside a seeded run (models load on first use) would move the stream
the cloak's random transforms and samples draw from, so the run that first loaded its models
would differ from every later one with the same seed. Loaders are wrapped in
:func:`keeps_random_state`.

Example:
    >>> import torch
    >>> @keeps_random_state
    ... def build() -> torch.nn.Module:
    ...     return torch.nn.Linear(4, 2)
    >>> _ = torch.manual_seed(0)
    >>> _ = build()
    >>> first = torch.rand(1)
    >>> _ = torch.manual_seed(0)
    >>> bool(torch.equal(first, torch.rand(1)))
    True
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar

Params = ParamSpec("Params")
Result = TypeVar("Result")


def keeps_random_state(load: Callable[Params, Result]) -> Callable[Params, Result]:
    """``load``, run with torch's global random state saved beforehand and put back after."""

    @functools.wraps(load)
    def loader(*args: Params.args, **kwargs: Params.kwargs) -> Result:
        import torch

        with torch.random.fork_rng(devices=[]):
            return load(*args, **kwargs)

    return loader
