import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "corpora"
DATA = ROOT / "tests" / "data"

# Tests never reach the network (rule 5): the Hub client fails fast instead of retrying for ~23 s.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")


@pytest.fixture
def root() -> Path:
    return ROOT


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def demo_copy(tmp_path) -> Path:
    """A private copy of sources/, pipelines/ and data/demo, so tests can build without touching the repo."""
    for d in ("sources", "pipelines", "data"):
        shutil.copytree(ROOT / d, tmp_path / d)
    return tmp_path
