"""What every per-face report shares: its fields as JSON-ready values."""

from __future__ import annotations

from dataclasses import fields
from typing import Any


def rounded_fields(outcome: Any) -> dict:
    """A dataclass's fields: floats to 6 decimals, its ``box`` to 0.1 px, plus ``protected``."""
    values = {f.name: getattr(outcome, f.name) for f in fields(outcome)}
    values["box"] = [round(v, 1) for v in outcome.box]
    values = {k: round(v, 6) if isinstance(v, float) else v for k, v in values.items()}
    return {**values, "protected": outcome.protected}
