"""``python -m facecloak.data OUTDIR``: write the public-domain sample photos into OUTDIR."""

from __future__ import annotations

import sys

from facecloak.data.samples import write_samples

for written in write_samples(sys.argv[1] if len(sys.argv) > 1 else "."):
    print(written)
