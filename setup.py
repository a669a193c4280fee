"""Builds the optional compiled loops of the quality filters and token counter (the rest is in pyproject.toml).

``optional=True``: without a C compiler the install still succeeds and the filters and the token counter use
their pure Python twins, which give the same results (tests/test_quality.py compares both), only slower.
"""
from setuptools import Extension, setup

setup(ext_modules=[Extension("lucie_data._fast", ["src/lucie_data/_fast.c"],
                             optional=True)])
