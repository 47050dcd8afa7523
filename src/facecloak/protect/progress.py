"""Overall progress over every face and stage of one photo, from per-step attack callbacks."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from facecloak.attacks import StepInfo

Progress = Callable[[int, int], None]
"""Called as ``progress(done_steps, total_steps)``."""


class Ticker:
    """Turns per-step attack callbacks (:class:`StepInfo`) into ``progress(done, total)``."""

    def __init__(self, progress: Progress | None, total: int) -> None:
        self.progress = progress
        self.total = total
        self.done_before = 0

    def step(self, info: StepInfo) -> None:
        if self.progress is not None:
            self.progress(min(self.done_before + info.step, self.total), self.total)

    def step_callback(self) -> Callable[[StepInfo], None] | None:
        """The callback to hand an attack (``None`` when nobody listens)."""
        return None if self.progress is None else self.step

    def finish_face(self, steps: int) -> None:
        self.done_before += steps
        if self.progress is not None:
            self.progress(min(self.done_before, self.total), self.total)

    def stage_progress(self) -> Progress | None:
        """A ``progress(done, total)`` for a stage that counts its own steps."""
        if self.progress is None:
            return None
        start = self.done_before

        def report(done: int, total: int) -> None:
            self.progress(min(start + done, self.total), self.total)  # type: ignore[misc]

        return report
