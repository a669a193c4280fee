"""The optional compiled module ``lucie_data._fast`` (``_fast.c``, built by setup.py), or None.

None when it was not built (no C compiler at install time), when it was built from another version of
``_fast.c`` than the one beside it (an editable install not rebuilt after a change: a warning says to run
``pip install -e .`` again), or when ``LUCIE_DATA_PURE_PYTHON=1``: every caller then uses its pure-Python
twin, which gives the same results. The variable exists to compare the two paths (tests build the same
pipeline both ways; ``benchmarks/quality_bench.py`` times them).
"""
from __future__ import annotations

import hashlib
import os
import warnings
from functools import lru_cache
from pathlib import Path


@lru_cache(maxsize=1)
def compiled():
    if os.environ.get("LUCIE_DATA_PURE_PYTHON", "") not in ("", "0"):
        return None
    try:
        from . import _fast
    except ImportError:  # pragma: no cover - depends on the install
        return None
    if stale(_fast):
        warnings.warn("lucie_data._fast was built from another version of _fast.c; using the pure-Python "
                      "twins (same results, slower). Rebuild it with: pip install -e .", stacklevel=2)
        return None
    return _fast


def stale(module) -> bool:
    """True when the C file beside the package (editable installs) is not the one the module was built from."""
    source = Path(__file__).with_name("_fast.c")
    if not source.exists():  # an installed wheel: no source to compare with
        return False
    return getattr(module, "source_sha256", None) != hashlib.sha256(source.read_bytes()).hexdigest()
