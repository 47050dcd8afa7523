"""Public-domain sample photos that installed packages ship."""

from __future__ import annotations

from facecloak.data.samples import astronaut, grace_hopper, write_samples

__all__ = ["astronaut", "grace_hopper", "write_samples"]
