"""The Ray executor on a real local Ray cluster: same bytes as the local executor."""
import hashlib
import os
import shutil
from pathlib import Path

import pytest

from lucie_data.recipe import load_pipeline
from lucie_data.runner import build

from .conftest import ROOT, write

ray = pytest.importorskip("ray", reason="the Ray executor needs the `ray` extra")


def hashes(out: Path) -> dict:
    return {p.relative_to(out).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(out.glob("sources/*/*/**/*.parquet"))}


def test_ray_build_matches_local_build(tmp_path):
    shutil.copytree(ROOT / "sources", tmp_path / "sources")
    shutil.copytree(ROOT / "data", tmp_path / "data")
    write(tmp_path / "pipelines" / "local.yaml", "name: l\nsources: [../sources/demo/pud_en.yaml, ../sources/demo/eltec_fr.yaml]\n"
          "executor: {type: local, workers: 2, tasks: 2}\n")
    write(tmp_path / "pipelines" / "ray.yaml", "name: r\nsources: [../sources/demo/pud_en.yaml, ../sources/demo/eltec_fr.yaml]\n"
          "executor: {type: ray, workers: 2, tasks: 2}\n")
    local = build(load_pipeline(tmp_path / "pipelines" / "local.yaml"), tmp_path / "out_local")
    try:
        remote = build(load_pipeline(tmp_path / "pipelines" / "ray.yaml"), tmp_path / "out_ray")
        assert ray.is_initialized() and ray.cluster_resources().get("CPU") == 2  # a real cluster ran the tasks
        # the reaper's token is in the cluster's processes only, not in this process's environment (code review:
        # every later child of a process that ran a build carried it, and was killed when that process exited)
        from lucie_data._ray_reaper import ENV

        assert ENV not in os.environ
    finally:
        ray.shutdown()
    # the build's reaper ends once its cluster is gone (review: a notebook kept one per build, scanning /proc)
    import time

    def reapers() -> list[str]:
        out = []
        for name in os.listdir("/proc"):
            try:
                with open(f"/proc/{name}/cmdline", "rb") as fh:
                    cmd = fh.read()
                with open(f"/proc/{name}/stat", "rb") as fh:
                    ppid = int(fh.read().rsplit(b")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            if b"lucie_data._ray_reaper" in cmd and ppid == os.getpid():
                out.append(name)
        return out

    deadline = time.monotonic() + 60
    while reapers() and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not reapers()
    assert hashes(tmp_path / "out_ray") == hashes(tmp_path / "out_local")
    assert [s.ledger["docs_kept"] for s in remote.sources] == [s.ledger["docs_kept"] for s in local.sources]
    assert all(s.ledger["balanced"] for s in remote.sources)


def test_an_address_no_ray_cluster_answers_on_is_a_clear_error(tmp_path, capsys):
    """Review: `address: 127.0.0.1:<closed port>` kept ray.init retrying past 120 s with only Ray's own warnings."""
    import socket
    import time

    from lucie_data.cli import main

    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    write(tmp_path / "p.yaml", f"name: r\nsources: [{ROOT / 'sources/demo/pud_en.yaml'}]\noutput_dir: {tmp_path / 'o'}\n"
          f"executor: {{type: ray, workers: 1, tasks: 1, address: '127.0.0.1:{port}'}}\n")
    t = time.monotonic()
    assert main(["build", str(tmp_path / "p.yaml")]) == 2
    assert time.monotonic() - t < 60
    out = capsys.readouterr()
    msg = " ".join((out.out + out.err).split())
    assert f"executor.address '127.0.0.1:{port}': no Ray cluster answers there" in msg and "Traceback" not in msg


def test_address_auto_without_a_running_cluster_is_one_clear_error(tmp_path):
    """Review (new user): `address: auto` with no Ray cluster running failed every source with Ray's ConnectionError
    labelled "unexpected ... a defect", five times. One error, exit 2, before any source's work. Run in a process of
    its own: this test process may hold a Ray it started for the other tests."""
    import os
    import subprocess
    import sys

    write(tmp_path / "p.yaml", f"name: r\nsources: [{ROOT / 'sources/demo/pud_en.yaml'}, "
          f"{ROOT / 'sources/demo/eltec_fr.yaml'}]\noutput_dir: {tmp_path / 'o'}\n"
          "executor: {type: ray, workers: 1, tasks: 1, address: auto}\n")
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    env["RAY_TMPDIR"] = str(tmp_path / "raytmp")  # no cluster file of another test's Ray to find
    p = subprocess.run([sys.executable, "-m", "lucie_data.cli", "build", str(tmp_path / "p.yaml")], env=env,
                       capture_output=True, text=True, timeout=120)
    msg = " ".join((p.stdout + p.stderr).split())
    assert p.returncode == 2, msg
    assert msg.count("executor.address 'auto': no running Ray cluster found") == 1 and "Traceback" not in msg, msg
    assert "a defect" not in msg and not list((tmp_path / "o").glob("sources/*/data/*/*.parquet"))


def _fail_on_rank_0(data, rank: int = 0, world_size: int = 1):
    """A pipeline step whose task 0 fails, as a task's error does."""
    if rank == 0:
        raise ValueError("task 0 fails here")
    yield from data or []


def test_a_failed_ray_task_fails_the_segment(tmp_path):
    """datatrove's Ray executor ends with a warning ("Only 1/2 tasks completed") and no exception when a task fails
    (kill/resume review): the build then ran the source's next segments on the failed task's missing hand-off file.
    Now the segment fails as a failed local task does; the finished task is kept for the rerun."""
    import sys

    from lucie_data.runner import RunOptions, TaskIncomplete, make_executor, run_with_progress

    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])  # the step, to Ray's workers
    opts = RunOptions(executor="ray", workers=2, tasks=2)
    ex = make_executor(opts, [_fail_on_rank_0], str(tmp_path / "logs"))
    try:
        with pytest.raises(TaskIncomplete, match=r"1 of 2 task\(s\) did not complete \(task\(s\) 0\)"):
            run_with_progress(ex, tmp_path / "progress", lambda n, rate: None)
    finally:
        ray.shutdown()
    assert ex.is_rank_completed(1) and not ex.is_rank_completed(0)


@pytest.mark.slow
def test_a_build_killed_with_sigkill_leaves_no_ray_process_behind(tmp_path):
    """`kill -9` of a build running on its local Ray cluster: Ray's GCS, raylet and workers died with it, but its
    DashboardAgent and RuntimeEnvAgent lived on under PID 1 (~210 MB a killed build; Ray 2.60, 2026-11-28). The
    cluster's processes carry the build's token in their environment, and a reaper the build started ends them."""
    import os
    import signal
    import subprocess
    import sys
    import time

    from lucie_data._ray_reaper import ENV

    corpora = ROOT.parent / "shared" / "corpora"  # ../shared/corpora (README there)
    write(tmp_path / "novels.yaml", "name: novels\ncategory: book\nlanguages: [fr, en]\nlicense: CC-BY-4.0\n"
          f"input: {{type: jsonl, paths: [{corpora / 'fr_eltec_novels.jsonl'}, {corpora / 'en_eltec_novels.jsonl'}], "
          "language_field: language}\nstages: [{type: normalize}, {type: gopher_repetition}, {type: gopher_quality}]\n")
    write(tmp_path / "p.yaml", "name: p\nsources: [novels.yaml]\noutput_dir: b\n"
          "executor: {type: ray, workers: 2, tasks: 8}\n")
    env = {k: v for k, v in os.environ.items() if k != ENV}  # (a token this test process got from an earlier build)
    proc = subprocess.Popen([sys.executable, "-m", "lucie_data.cli", "build", str(tmp_path / "p.yaml")], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)

    def ppid_and_start(pid: int) -> tuple[int, int] | None:
        try:
            with open(f"/proc/{pid}/stat", "rb") as fh:
                fields = fh.read().rsplit(b")", 1)[1].split()
            return int(fields[1]), int(fields[19])
        except (OSError, IndexError):
            return None

    def agents() -> dict[int, int]:
        """{pid: start time} of Ray's agents below the build (they set a title; their environment is unreadable)."""
        found = {}
        for name in os.listdir("/proc"):
            if not name.isdigit():
                continue
            try:
                with open(f"/proc/{name}/cmdline", "rb") as c:
                    title = c.read()
            except OSError:
                continue
            if not title.startswith((b"ray::DashboardAgent", b"ray::RuntimeEnvAgent")):
                continue
            pid, seen = int(name), set()
            while pid > 1 and pid not in seen and (st := ppid_and_start(pid)) is not None:
                seen.add(pid)
                if st[0] == proc.pid:
                    found[int(name)] = ppid_and_start(int(name))[1]
                    break
                pid = st[0]
        return found

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None and len(agents()) < 2:  # until Ray has started both
        time.sleep(0.2)
    assert proc.poll() is None, proc.stderr.read().decode()
    before = agents()
    assert len(before) == 2, before
    time.sleep(2.5)  # (the reaper notes the cluster's processes every 2 s)
    os.kill(proc.pid, signal.SIGKILL)  # the main process only, as the out-of-memory killer does
    proc.wait()

    def alive() -> list[int]:  # (a zombie, waiting for PID 1 to collect it, is not running)
        out = []
        for pid, start in before.items():
            st = ppid_and_start(pid)
            try:
                state = open(f"/proc/{pid}/stat", "rb").read().rsplit(b")", 1)[1].split()[0]
            except OSError:
                continue
            if st is not None and st[1] == start and state != b"Z":
                out.append(pid)
        return out

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and alive():
        time.sleep(0.5)
    assert not alive(), alive()
