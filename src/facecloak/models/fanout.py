"""Several models on one input side by side, each on its own CPU thread, gradients included.

An attack step runs every recognizer of an ensemble forward and back on the same crop. One
recognizer's convolutions on one small chip keep a second intra-op thread only partly busy, so
on a few cores the ensemble runs faster with its members side by side, each on one thread, than
one after another on all of them. :class:`Fanout` does that: forward runs the members on a
thread pool (longest first, by their measured times), and backward sends each member's share
of the gradient back through its own graph on the same pool, then adds them up. The numbers
are the ones the members give one after another, up to the order of that sum.

With ``per_step``, each call with a gradient runs only that many members, drawn at random (a
seeded draw: the same calls give the same draws); the others return their output from the last
call, detached. An attack step then costs a share of the ensemble's time, and each member's
gradient still counts on its share of the steps (a stochastic ensemble).

Example:
    >>> import torch
    >>> members = [torch.nn.Linear(4, 2), torch.nn.Linear(4, 3)]
    >>> fanout = Fanout(members, threads=2)
    >>> x = torch.rand(1, 4, requires_grad=True)
    >>> a, b = fanout(x)
    >>> (grad,) = torch.autograd.grad(a.sum() + b.sum(), x)
    >>> expected = members[0].weight.sum(0) + members[1].weight.sum(0)
    >>> bool(torch.allclose(grad[0], expected))
    True
"""

from __future__ import annotations

import os
import random
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import torch
from torch import Tensor, nn

_WORKER_PREFIX = "fanout"
_POOLS: dict[int, ThreadPoolExecutor] = {}
_POOLS_LOCK = threading.Lock()


def default_threads() -> int:
    """Threads a fanout uses by default: torch's intra-op thread count (2 on two cores)."""
    return max(1, min(torch.get_num_threads(), os.cpu_count() or 1))


class Fanout(nn.Module):
    """``members`` run on one input side by side: ``forward(x)`` is the tuple of their outputs.

    With ``threads=1``, one member, or when called from a fanout's own worker, they run one after
    another in the calling thread. ``per_step``: with a gradient, only that many members run per
    call (see the module's text); ``seed`` fixes their draw.
    """

    def __init__(
        self,
        members: Sequence[nn.Module],
        threads: int | None = None,
        per_step: int | None = None,
        seed: int = 0,
    ) -> None:
        super().__init__()
        if per_step is not None and per_step < 1:
            raise ValueError(f"per_step must be at least 1, got {per_step}")
        self.members = nn.ModuleList(members)
        self.threads = default_threads() if threads is None else max(1, int(threads))
        self.seconds = [0.0] * len(self.members)
        """Each member's time on its last run (forward or backward): the order of work."""
        self.per_step = per_step
        self._draw = random.Random(seed)
        self._last: tuple[Tensor, ...] | None = None

    def forward(self, x: Tensor) -> tuple[Tensor, ...]:
        if not (torch.is_grad_enabled() and x.requires_grad):
            return self._run(x, range(len(self.members)))
        chosen = self._chosen(x)
        fresh = dict(zip(chosen, self._run(x, chosen), strict=True))
        last = self._last or ()
        result = tuple(fresh[i] if i in fresh else last[i] for i in range(len(self.members)))
        self._last = tuple(output.detach() for output in result)
        return result

    def _chosen(self, x: Tensor) -> list[int]:
        """The members this call runs: all, or ``per_step`` of them once there are outputs of
        an input of this batch size to stand in for the rest."""
        count = len(self.members)
        drawn = self.per_step is not None and self.per_step < count
        if not drawn or self._last is None or self._last[0].shape[0] != x.shape[0]:
            return list(range(count))
        return sorted(self._draw.sample(range(count), self.per_step))

    def _run(self, x: Tensor, chosen: Sequence[int]) -> tuple[Tensor, ...]:
        """The outputs of the members at ``chosen``, side by side when it pays."""
        members = [self.members[index] for index in chosen]
        nested = threading.current_thread().name.startswith(_WORKER_PREFIX)
        if self.threads == 1 or len(members) < 2 or nested:
            return tuple(member(x) for member in members)
        if not (torch.is_grad_enabled() and x.requires_grad):
            jobs = [lambda m=member: _without_grad(m, x) for member in members]
            return tuple(self.map(jobs, chosen))
        return _FanoutFunction.apply(self, x, tuple(chosen))

    def map(self, jobs: Sequence[Callable[[], Any]], chosen: Sequence[int] | None = None) -> list:
        """One job per member (of ``chosen``, default all) on the pool, the longest (by
        :attr:`seconds`) first; results in the jobs' order."""
        owners = list(range(len(jobs))) if chosen is None else list(chosen)
        order = sorted(range(len(jobs)), key=lambda i: -self.seconds[owners[i]])
        pool = _pool(self.threads)

        def timed(index: int) -> Any:
            started = time.perf_counter()
            result = jobs[index]()
            self.seconds[owners[index]] = time.perf_counter() - started
            return result

        futures = {index: pool.submit(timed, index) for index in order}
        return [futures[index].result() for index in range(len(jobs))]


def _with_grad(member: nn.Module, x: Tensor) -> Tensor:
    with torch.enable_grad():  # grad mode is per thread: set it in the worker
        return member(x)


def _without_grad(member: nn.Module, x: Tensor) -> Tensor:
    with torch.no_grad():
        return member(x)


class _FanoutFunction(torch.autograd.Function):
    """Forward: each member on its own detached copy of the input, its graph kept. Backward: each
    output's gradient through its own graph, on the pool, summed."""

    @staticmethod
    def forward(  # type: ignore[override]
        ctx: Any, fanout: Fanout, x: Tensor, chosen: tuple[int, ...]
    ) -> tuple[Tensor, ...]:
        members = [fanout.members[index] for index in chosen]
        inputs = [x.detach().requires_grad_(True) for _ in members]
        jobs = [
            lambda member=member, given=given: _with_grad(member, given)
            for member, given in zip(members, inputs, strict=True)
        ]
        outputs = fanout.map(jobs, chosen)
        ctx.fanout, ctx.chosen, ctx.inputs, ctx.outputs = fanout, chosen, inputs, outputs
        return tuple(output.detach() for output in outputs)

    @staticmethod
    def backward(ctx: Any, *grads: Tensor) -> tuple[None, Tensor, None]:  # type: ignore[override]
        jobs = [
            lambda given=given, output=output, grad=grad: _input_grad(given, output, grad)
            for given, output, grad in zip(ctx.inputs, ctx.outputs, grads, strict=True)
        ]
        parts = ctx.fanout.map(jobs, ctx.chosen)
        ctx.inputs = ctx.outputs = None
        return None, _summed(parts), None


def _summed(parts: Sequence[Tensor]) -> Tensor:
    """The sum of same-shaped tensors, added into one new tensor: stacking them first would copy
    every one (on a large photo's crop, five gradients of 10 MB each, every step)."""
    if len(parts) == 1:
        return parts[0]
    total = torch.add(parts[0], parts[1])
    for part in parts[2:]:
        total.add_(part)
    return total


def _input_grad(given: Tensor, output: Tensor, grad: Tensor | None) -> Tensor:
    # A member whose loss term is capped sends back zeros: skip its backward pass.
    if grad is None or not output.requires_grad or not bool(grad.any()):
        return torch.zeros_like(given)
    (part,) = torch.autograd.grad(output, given, grad)
    return part


def _pool(threads: int) -> ThreadPoolExecutor:
    """The process's pool of ``threads`` workers, each running torch on one intra-op thread."""
    with _POOLS_LOCK:
        if threads not in _POOLS:
            _POOLS[threads] = _started_pool(threads)
        return _POOLS[threads]


def _started_pool(threads: int) -> ThreadPoolExecutor:
    # torch keeps one process-wide thread count that a thread reads the first time it runs an op:
    # every worker fixes its own at 1 before the caller's count is put back.
    caller_threads = torch.get_num_threads()
    ready = threading.Barrier(threads + 1)

    def single_threaded() -> None:
        torch.set_num_threads(1)
        torch.get_num_threads()  # reads (and so fixes) this thread's count now
        ready.wait()

    pool = ThreadPoolExecutor(threads, _WORKER_PREFIX, initializer=single_threaded)
    for _ in range(threads):
        pool.submit(lambda: None)
    ready.wait()
    torch.set_num_threads(caller_threads)
    return pool
