"""Builds the optional compiled loops of the quality filters and token counter (the rest is in pyproject.toml).

``optional=True``: without a C compiler the install still succeeds and the filters and the token counter use
their pure Python twins, which give the same results (tests/test_quality.py compares both), only slower.
The module records the sha256 of the C file it was built from, so an editable install whose ``_fast.c``
changed since the last build falls back to the twins instead of running stale code (``fastpath.py``).
"""
import hashlib
from pathlib import Path

from setuptools import Extension, setup

SOURCE = "src/lucie_data/_fast.c"
DIGEST = hashlib.sha256(Path(__file__).with_name("src").joinpath("lucie_data", "_fast.c").read_bytes()).hexdigest()

setup(ext_modules=[Extension("lucie_data._fast", [SOURCE], optional=True,
                             define_macros=[("LUCIE_FAST_SOURCE_SHA256", f'"{DIGEST}"')])])
