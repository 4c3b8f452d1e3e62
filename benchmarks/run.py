#!/usr/bin/env python
"""Run the benchmarks: ``python benchmarks/run.py [--size tiny|full] [--json out.json]``.

Also ``python -m benchmarks.run`` from the checkout. See benchmarks/README.md.
"""

import sys
from pathlib import Path

if __package__ in (None, ""):
    # Run as a script: import ``benchmarks`` as a package from the checkout, and keep
    # its modules (config, stats, ...) from shadowing top-level modules of that name.
    here = Path(__file__).resolve().parent
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != here]
    sys.path.insert(0, str(here.parent))

from benchmarks.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
