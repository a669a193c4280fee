"""The optional compiled module ``lucie_data._fast`` (``_fast.c``, built by setup.py), or None.

None when it was not built (no C compiler at install time) or when ``LUCIE_DATA_PURE_PYTHON=1``:
every caller then uses its pure-Python twin, which gives the same results. The variable exists to
compare the two paths (tests build the same pipeline both ways; ``benchmarks/quality_bench.py
--pure-python`` times them).
"""
from __future__ import annotations

import os


def compiled():
    if os.environ.get("LUCIE_DATA_PURE_PYTHON", "") not in ("", "0"):
        return None
    try:
        from . import _fast
    except ImportError:  # pragma: no cover - depends on the install
        return None
    return _fast
