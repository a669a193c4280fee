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


@pytest.fixture(scope="session")
def demo_mix(tmp_path_factory) -> tuple[Path, dict]:
    """A mix of the session's demo build (tests/test_mix_build.py ``make_build``), built once for the card tests."""
    from lucie_data.mix.build import build_mix, load_mix_config

    from .test_mix_build import make_build

    built = make_build(tmp_path_factory.getbasetemp() / "mixbuild")
    out = tmp_path_factory.mktemp("cardmix") / "mix"
    return out, build_mix(built, load_mix_config(built, output=out))


def stand_in_hub(monkeypatch, tmp_path: Path, token: str):
    """The local Hub stand-in (lucie_data.testing.hub_stub) with no ambient credentials or endpoint, writes allowed
    (offline mode is read into huggingface_hub's constants at import) and retries without sleeping; a context
    manager yielding the stub, which must have seen no protocol error."""
    import contextlib
    import time

    from huggingface_hub import constants as hf_constants
    from huggingface_hub.utils import _http as hf_http

    from lucie_data.testing.hub_stub import HubStub

    class _InstantTime:
        def __getattr__(self, name):
            return getattr(time, name)

        @staticmethod
        def sleep(_seconds):
            return None

    monkeypatch.setattr(hf_constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(hf_constants, "HF_HUB_DISABLE_TELEMETRY", True)
    for var in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_OIDC_RESOURCE", "HF_ENDPOINT"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(hf_constants, "HF_TOKEN_PATH", str(tmp_path / "no-token-here"))
    monkeypatch.setattr(hf_http, "time", _InstantTime())

    @contextlib.contextmanager
    def running():
        with HubStub(tmp_path / "hub", token=token) as stub:
            yield stub
        assert not stub.errors, stub.errors[0]

    return running()


@pytest.fixture
def hold_lock():
    """Hold a build folder's lock (flock on ``<folder>/.lock``) from another process, as a running build does; the
    holder process, killed at the end as a build killed with SIGKILL (the kernel drops its lock)."""
    import subprocess
    import sys

    holders = []

    def hold(folder: Path) -> subprocess.Popen:
        proc = subprocess.Popen([sys.executable, "-c", (
            "import fcntl, os, time\n"
            f"fd = os.open({str(folder / '.lock')!r}, os.O_RDWR | os.O_CREAT)\n"
            "fcntl.flock(fd, fcntl.LOCK_EX)\nos.write(fd, b'pid %d, started now' % os.getpid())\n"
            "print('locked', flush=True)\ntime.sleep(60)\n")], stdout=subprocess.PIPE, text=True)
        holders.append(proc)
        assert proc.stdout.readline().strip() == "locked"
        return proc

    yield hold
    for proc in holders:
        proc.kill()
        proc.wait()


@pytest.fixture
def tmpfs(tmp_path):
    """Mount a real small file system (tmpfs) of the given size under tmp_path, for tests of a full disk: not a stand-in.
    Skipped where mounting is not permitted (not root, a container without it); unmounted at the end."""
    import subprocess

    mounted = []

    def mount(size: str = "3m") -> Path:
        point = tmp_path / f"disk{len(mounted)}"
        point.mkdir()
        if shutil.which("mount") is None or os.geteuid() != 0:
            pytest.skip("mounting a tmpfs needs root and the mount command")
        p = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(point)], capture_output=True,
                           text=True)
        if p.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here ({p.stderr.strip() or p.returncode})")
        mounted.append(point)
        return point

    yield mount
    for point in mounted:
        subprocess.run(["umount", "-l", str(point)], check=False)


def fill(volume: Path, leave_kib: int = 0) -> Path:
    """Fill ``volume`` but ``leave_kib`` KiB with one file, which is returned (delete it to free the space)."""
    import errno

    filler = volume / "filler"
    with open(filler, "wb", buffering=0) as f:
        left = os.statvfs(volume).f_bavail * os.statvfs(volume).f_frsize - leave_kib * 1024
        try:
            while left > 0:
                left -= f.write(b"\0" * min(left, 1 << 16))
        except OSError as err:  # (the last block: full)
            assert err.errno == errno.ENOSPC, err
    return filler
