from importlib.metadata import version as _v, PackageNotFoundError
try:
    __version__ = _v("lucie-data")
except PackageNotFoundError:  # running from a source tree
    __version__ = "0.1.0"

