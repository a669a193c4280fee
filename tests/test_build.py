"""End-to-end builds of the bundled demo: conservation law, schema, manifest, determinism, resume."""
import hashlib
import json
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq
import pytest

from lucie_data.cli import main
from lucie_data.recipe import load_pipeline
from lucie_data.runner import build

KEPT_COLUMNS = ["id", "text", "source", "language", "license", "license_evidence", "url", "title", "date", "metadata", "n_tokens"]


def shard_hashes(out: Path) -> dict[str, str]:
    return {p.relative_to(out).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(out.glob("sources/*/*/**/*.parquet"))}


@pytest.fixture(scope="module")
def demo_build(tmp_path_factory):
    root = Path(__file__).resolve().parents[1]
    out = tmp_path_factory.mktemp("demo") / "out"
    assert main(["build", str(root / "pipelines" / "demo.yaml"), "--output", str(out)]) == 0
    return out


def test_demo_layout_and_conservation(demo_build):
    out = demo_build
    names = sorted(p.name for p in (out / "sources").iterdir())
    assert names == ["code_permissive", "eltec_fr", "ocr_fr_europeana", "parallel_fr_en", "pud_en", "web_cc"]
    for name in names:
        led = json.loads((out / "sources" / name / "ledger.json").read_text())
        assert led["balanced"], led["imbalances"]
        for st in led["stages"]:
            assert st["docs_in"] == st["docs_kept"] + st["docs_removed"]
            assert st["chars_in"] >= st["chars_removed"]
        raw = (Path(__file__).resolve().parents[1] / "data" / "demo")
        kept = pl.read_parquet(out / "sources" / name / "data" / "**" / "*.parquet")
        removed_files = list((out / "sources" / name / "removed").glob("*/*.parquet"))
        removed = pl.concat([pl.read_parquet(f) for f in removed_files]) if removed_files else pl.DataFrame()
        assert kept.height == led["docs_kept"]
        assert kept.height + removed.height == led["records_read"]
        assert kept["id"].n_unique() == kept.height
        if name != "web_cc":
            raw_file = raw / {"eltec_fr": "fr_eltec_novels.jsonl", "ocr_fr_europeana": "fr_ocr_europeana_bnf.jsonl",
                              "pud_en": "en_ud_pud.jsonl", "code_permissive": "code_permissive.jsonl",
                              "parallel_fr_en": "parallel_fr_en_pud.jsonl"}[name]
            with open(raw_file, encoding="utf-8") as fh:
                n_lines = sum(1 for l in fh if l.strip())
            assert led["records_read"] == n_lines
        else:
            assert led["records_read"] == len(list((raw / "html").glob("*.html")))


def test_kept_schema_and_values(demo_build):
    files = sorted((demo_build / "sources" / "eltec_fr" / "data").glob("**/*.parquet"))
    assert files and all(f.parent.name == "fr" for f in files)
    t = pq.read_table(files[0])
    assert t.column_names == KEPT_COLUMNS
    row = t.slice(0, 1).to_pylist()[0]
    assert row["source"] == "eltec_fr" and row["language"] == "fr" and row["license"] == "CC-BY-4.0"
    assert row["id"].startswith("eltec_fr/")
    meta = json.loads(row["metadata"])
    assert meta["source_file"].endswith("fr_eltec_novels.jsonl") and isinstance(meta["source_record"], int)
    assert "author" in meta
    assert row["n_tokens"] > len(row["text"]) / 8  # fallback pre-token count (no tokenizer configured)


def test_code_and_web_use_record_licences(demo_build):
    code = pl.read_parquet(demo_build / "sources" / "code_permissive" / "data" / "**" / "*.parquet")
    assert set(code["license"]) == {"Apache-2.0", "BSD-3-Clause", "MIT", "MIT OR Apache-2.0"}
    assert set(code["license_evidence"]) == {"record:license"}
    assert {"code:python", "code:go", "code:rust"} <= set(code["language"])
    assert sorted(p.name for p in (demo_build / "sources" / "code_permissive" / "data").iterdir())[0].startswith("code-")
    web = pl.read_parquet(demo_build / "sources" / "web_cc" / "data" / "**" / "*.parquet")
    assert "CC-BY-ND-3.0-DE" not in set(web["license"]) and set(web["language"]) <= {"en", "de"}
    nd = pl.read_parquet(demo_build / "sources" / "web_cc" / "removed" / "license_policy" / "*.parquet")
    assert set(nd["license"]) == {"CC-BY-ND-3.0-DE"}  # the demo pipeline's license_policy removes it
    tsne = web.filter(pl.col("id").str.contains("tsne", literal=True))
    assert tsne.height == 1 and "t-distributed" in tsne["text"][0].lower()


def test_manifest(demo_build):
    m = json.loads((demo_build / "manifest.json").read_text())
    assert m["lucie_data_version"] and m["pipeline"]["name"] == "demo" and m["seed"] == 0
    assert len(m["sources"]) == 6
    for s in m["sources"]:
        for inp in s["inputs"]:
            assert hashlib.sha256(Path(inp["path"]).read_bytes()).hexdigest() == inp["sha256"]
    for sh in m["shards"]:
        p = demo_build / sh["path"]
        assert hashlib.sha256(p.read_bytes()).hexdigest() == sh["sha256"]
        assert pq.ParquetFile(p).metadata.num_rows == sh["rows"]
    assert sum(sh["rows"] for sh in m["shards"]) == sum(s["docs_kept"] for s in m["sources"])


def test_rerun_is_byte_identical_and_skips(demo_build, tmp_path):
    root = Path(__file__).resolve().parents[1]
    pipe = load_pipeline(root / "pipelines" / "demo.yaml")
    first = shard_hashes(demo_build)
    out2 = tmp_path / "again"
    import sys

    stderr = sys.stderr
    build(pipe, out2, workers=1)  # a different worker count must not change the bytes
    assert sys.stderr is stderr  # datatrove's console logging is silenced for the run only
    assert shard_hashes(out2) == first
    res = build(pipe, out2, workers=2)
    assert {s.status for s in res.sources} == {"up-to-date"}
    assert shard_hashes(out2) == first


def _hashed_on_rerun(pipe, out: Path, monkeypatch, **kw) -> list[str]:
    """Build again and return the build-relative paths of the files the manifest hashed (a spy on the real
    ``sha256_file``, which still does the hashing)."""
    import lucie_data.manifest as manifest_mod

    seen: list[str] = []
    real = manifest_mod.sha256_file

    def spy(path, *a, **k):
        seen.append(Path(path).resolve().relative_to(out.resolve()).as_posix()
                    if Path(path).resolve().is_relative_to(out.resolve()) else str(path))
        return real(path, *a, **k)

    monkeypatch.setattr(manifest_mod, "sha256_file", spy)
    build(pipe, out, workers=1, **kw)
    monkeypatch.setattr(manifest_mod, "sha256_file", real)
    return sorted({p for p in seen if p.startswith("sources/")})  # (a changed file is hashed by the check too)


def _entries_match_files(out: Path) -> None:
    m = json.loads((out / "manifest.json").read_text())
    for e in m["shards"] + m["removed_shards"]:
        p = out / e["path"]
        assert hashlib.sha256(p.read_bytes()).hexdigest() == e["sha256"], e["path"]
        assert (e["rows"], e["bytes"]) == (pq.ParquetFile(p).metadata.num_rows, p.stat().st_size), e["path"]
    listed = {e["path"] for e in m["shards"] + m["removed_shards"]}
    assert listed == {p.relative_to(out).as_posix() for p in out.glob("sources/*/*/**/*.parquet")}


def test_a_rerun_reuses_the_manifest_entries_of_unchanged_shards(demo_build, tmp_path, monkeypatch):
    """An up-to-date rerun rewrites manifest.json without hashing or summarising a single shard again (its
    entries still describe them: size, mtime, footer), and writes the same bytes; a shard touched since, an
    entry whose footer digest no longer matches, or a manifest of another lucie-data version are hashed again."""
    import os
    import shutil

    root = Path(__file__).resolve().parents[1]
    pipe = load_pipeline(root / "pipelines" / "demo.yaml")
    out = tmp_path / "b"
    shutil.copytree(demo_build, out)  # copy2: mtimes kept, so the copied manifest still describes its shards
    before = (out / "manifest.json").read_bytes()
    assert _hashed_on_rerun(pipe, out, monkeypatch) == []
    assert (out / "manifest.json").read_bytes() == before

    m = json.loads(before)
    touched = m["shards"][0]["path"]
    os.utime(out / touched, ns=(os.stat(out / touched).st_atime_ns, os.stat(out / "manifest.json").st_mtime_ns + 10**9))
    forged = m["removed_shards"][0]["path"]
    m["removed_shards"][0]["footer"] = "0" * 64
    (out / "manifest.json").write_text(json.dumps(m, indent=2, sort_keys=True, ensure_ascii=False))
    assert _hashed_on_rerun(pipe, out, monkeypatch) == sorted([touched, forged])
    assert (out / "manifest.json").read_bytes() == before  # the same content, recomputed
    _entries_match_files(out)

    m["lucie_data_version"] = "0.0.0-other"
    (out / "manifest.json").write_text(json.dumps(m, indent=2, sort_keys=True, ensure_ascii=False))
    assert _hashed_on_rerun(pipe, out, monkeypatch) == sorted(e["path"] for e in m["shards"] + m["removed_shards"])
    assert (out / "manifest.json").read_bytes() == before


def test_a_rebuilt_source_gets_new_manifest_entries(demo_copy, monkeypatch):
    """Only the rebuilt source's shards are hashed again after a recipe change, and every entry then matches
    its file (a stale entry reused for a rewritten shard would not)."""
    pipe_file = demo_copy / "pipelines" / "demo.yaml"
    out = demo_copy / "out"
    build(load_pipeline(pipe_file), out, workers=1)
    rec = demo_copy / "sources" / "demo" / "pud_en.yaml"
    rec.write_text(rec.read_text().replace("min_chars: 100", "min_chars: 400"))
    hashed = _hashed_on_rerun(load_pipeline(pipe_file), out, monkeypatch)
    assert hashed and {p.split("/")[1] for p in hashed} == {"pud_en"}
    assert hashed == sorted(p.relative_to(out).as_posix() for p in out.glob("sources/pud_en/*/**/*.parquet"))
    _entries_match_files(out)


def _copied_demo(demo_build: Path, tmp_path: Path):
    """(the demo pipeline, a copy of its build, the copy's shard hashes)."""
    import shutil

    pipe = load_pipeline(Path(__file__).resolve().parents[1] / "pipelines" / "demo.yaml")
    out = tmp_path / "b"
    shutil.copytree(demo_build, out)
    return pipe, out, shard_hashes(out)


def _edit_first_text(shard: Path):
    """Rewrite ``shard`` with one letter of its first text changed, as many rows (what it held is returned)."""
    import pyarrow as pa

    table = pq.read_table(shard)
    texts = table.column("text").to_pylist()
    texts[0] = texts[0].replace("e", "é", 1)
    pq.write_table(table.set_column(table.schema.get_field_index("text"), "text", pa.array(texts)), shard,
                   compression="zstd")
    return table


def test_a_damaged_ledger_rebuilds_its_source(demo_build, tmp_path):
    """A ledger.json that is no ledger (cut short, edited): the build says so and rebuilds that source, the
    same bytes as before (rule 3: no traceback; rule 4: finishes without duplicates). A build of other
    sources only (--only) leaves it out of the manifest, as an unfinished source, instead of failing."""

    pipe, out, first = _copied_demo(demo_build, tmp_path)
    names = sorted(p.name for p in (out / "sources").iterdir())
    damaged, other = names[0], names[1]
    (out / "sources" / damaged / "ledger.json").write_text('{"records_read": 3', encoding="utf-8")
    build(pipe, out, workers=1, only=[other])
    manifest = json.loads((out / "manifest.json").read_text())
    assert damaged not in {s["name"] for s in manifest["sources"]} and other in {s["name"] for s in manifest["sources"]}
    events = []
    res = build(pipe, out, workers=1, on_event=lambda kind, d: events.append((kind, d)))
    status = {s.name: s.status for s in res.sources}
    assert status[damaged] == "built" and {v for k, v in status.items() if k != damaged} == {"up-to-date"}
    warnings = [d for kind, d in events if kind == "warning"]
    assert [w["source"] for w in warnings] == [damaged]
    assert "ledger.json is not valid JSON" in warnings[0]["message"] and "rebuilding" in warnings[0]["message"]
    assert shard_hashes(out) == first
    assert json.loads((out / "sources" / damaged / "ledger.json").read_text())["balanced"]


def _cut(p: Path) -> None:
    p.write_bytes(p.read_bytes()[: p.stat().st_size // 2])


@pytest.mark.parametrize("damage", ["kept shard deleted", "kept shard cut short", "removed shard overwritten"])
def test_a_finished_source_whose_shards_changed_is_rebuilt(demo_build, tmp_path, damage):
    """A source the build would skip (same recipe, inputs, seed) whose shards no longer match its ledger is
    rebuilt, with a warning naming what changed: the same bytes as before (rules 1 and 4), never "up to date"
    over a missing shard, never a traceback from the manifest."""

    pipe, out, first = _copied_demo(demo_build, tmp_path)
    removed = sorted(out.glob("sources/*/removed/*/*.parquet"))[0]
    kept = sorted(out.glob(f"sources/{removed.parts[-4]}/data/**/*.parquet"))[0]
    source = removed.parts[-4]
    {"kept shard deleted": lambda: kept.unlink(), "kept shard cut short": lambda: _cut(kept),
     "removed shard overwritten": lambda: removed.write_bytes(b"not parquet")}[damage]()
    events = []
    res = build(pipe, out, workers=1, on_event=lambda kind, d: events.append((kind, d)))
    status = {s.name: s.status for s in res.sources}
    assert status[source] == "built" and {v for k, v in status.items() if k != source} == {"up-to-date"}
    warnings = [d for kind, d in events if kind == "warning"]
    assert [w["source"] for w in warnings] == [source] and "rebuilding this source" in warnings[0]["message"]
    assert shard_hashes(out) == first


def test_a_damaged_shard_of_a_source_outside_only_is_named(demo_build, tmp_path, capsys):
    """`--only` another source: the damaged one is not rebuilt, and the manifest (which lists every built shard)
    names it and the command that rebuilds it, instead of a traceback."""
    import shutil

    root = Path(__file__).resolve().parents[1]
    out = tmp_path / "b"
    shutil.copytree(demo_build, out)
    kept = sorted(out.glob("sources/eltec_fr/data/**/*.parquet"))[0]
    kept.write_bytes(b"garbage" * 50)
    capsys.readouterr()
    code = main(["build", str(root / "pipelines" / "demo.yaml"), "--output", str(out), "--only", "pud_en"])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    assert f"{kept} is damaged: not a readable Parquet file" in " ".join(err.split())
    assert "--only eltec_fr" in " ".join(err.split())


def test_killed_build_resumes_without_duplicates(tmp_path, monkeypatch):
    """A build killed while the last segment's task 1 was writing: rerun redoes only that task."""
    import lucie_data.runner as runner

    root = Path(__file__).resolve().parents[1]
    pipe = load_pipeline(root / "pipelines" / "demo.yaml")
    clean_out = tmp_path / "clean"
    assert build(pipe, clean_out, only=["pud_en"]).sources[0].resumed is False
    clean = shard_hashes(clean_out)

    out = tmp_path / "out"

    def killed(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(runner, "compute_ledger", killed)
    with pytest.raises(KeyboardInterrupt):
        build(pipe, out, only=["pud_en"])
    monkeypatch.undo()
    src = out / "sources" / "pud_en"
    (src / "logs" / "seg1" / "completions" / "00001").unlink()  # task 1 never finished...
    for f in (src / "data").glob("**/00001-*.parquet"):
        f.write_bytes(f.read_bytes()[:100])  # ...and left a half-written shard
    seg0_stats = (src / "logs" / "seg0" / "stats" / "00000.json").stat().st_mtime_ns
    seg1_task0 = (src / "logs" / "seg1" / "stats" / "00000.json").stat().st_mtime_ns
    res = build(pipe, out, only=["pud_en"])
    assert res.sources[0].status == "built"
    # (its time is this run's share only: the CLI says "resumed" instead of a rate over every record, scale review)
    assert res.sources[0].resumed == (3, 4)  # (2 segments x 2 tasks, task 1 of the second redone)
    assert (src / "logs" / "seg0" / "stats" / "00000.json").stat().st_mtime_ns == seg0_stats  # not redone
    assert (src / "logs" / "seg1" / "stats" / "00000.json").stat().st_mtime_ns == seg1_task0  # not redone
    assert shard_hashes(out) == clean
    assert res.sources[0].ledger["balanced"]
    kept = pl.read_parquet(src / "data" / "**" / "*.parquet")
    assert kept["id"].n_unique() == kept.height


def test_recipe_change_rebuilds_source(demo_copy):
    pipe_file = demo_copy / "pipelines" / "demo.yaml"
    out = demo_copy / "out"
    build(load_pipeline(pipe_file), out, only=["pud_en"])
    before = json.loads((out / "sources" / "pud_en" / "ledger.json").read_text())["docs_kept"]
    rec = demo_copy / "sources" / "demo" / "pud_en.yaml"
    rec.write_text(rec.read_text().replace("min_chars: 100", "min_chars: 400"))
    res = build(load_pipeline(pipe_file), out, only=["pud_en"])
    assert res.sources[0].status == "built"
    after = res.sources[0].ledger["docs_kept"]
    assert after < before
    removed = pl.read_parquet(out / "sources" / "pud_en" / "removed" / "min_length" / "*.parquet")
    assert removed.height == res.sources[0].ledger["stages"][2]["docs_removed"] > 0
    assert set(removed["removal_reason"]) == {"min_length_chars"}
    assert (removed["text"].str.strip_chars().str.len_chars() < 400).all()


def test_only_unknown_source_is_clear_error(capsys, root):
    code = main(["build", str(root / "pipelines" / "demo.yaml"), "--only", "nope", "--output", "/tmp/never"])
    err = capsys.readouterr().err
    assert code == 2 and "unknown source(s) nope; available:" in err and "Traceback" not in err


def test_progress_is_reported_while_tasks_run(tmp_path):
    """Workers write their read counts; the runner polls them while the executor runs in a thread."""
    import time as _time

    from datatrove.data import Document

    from lucie_data.runner import run_with_progress
    from lucie_data.steps.base import ProgressMeter

    meter = ProgressMeter(str(tmp_path / "progress"))
    docs = [Document(text=f"t{i}", id=str(i), metadata={}) for i in range(1000)]
    assert len(list(meter.run(iter(docs), rank=3))) == 1000
    assert (tmp_path / "progress" / "00003").read_text() == "1000"

    class SlowExecutor:  # stands in for a datatrove executor whose tasks are still running
        def run(self):
            for n in (100, 250):
                (tmp_path / "progress" / "00004").write_text(str(n))
                _time.sleep(0.7)

        def get_incomplete_ranks(self, skip_completed=None):  # every task completed
            return []

    seen = []
    run_with_progress(SlowExecutor(), tmp_path / "progress", lambda n, rate: seen.append(n), every=0.2)
    assert seen and seen[0] >= 1100 and seen[-1] == 1250 and seen == sorted(seen)

    class Failing:
        def run(self):
            raise ValueError("task 2 failed")

    with pytest.raises(ValueError, match="task 2 failed"):
        run_with_progress(Failing(), tmp_path / "progress", lambda n, rate: None)


@pytest.mark.slow
@pytest.mark.parametrize("interrupts,sig,group", [(1, "SIGINT", True), (2, "SIGINT", True), (1, "SIGTERM", True),
                                                  (1, "SIGTERM", False)])
def test_ctrl_c_during_tasks_prints_no_traceback_and_the_rerun_finishes(tmp_path, interrupts, sig, group):
    """Ctrl-C (SIGINT to the whole process group, as a terminal or `timeout -s INT` sends it) while worker
    processes run tasks: the build says it was interrupted and exits 130, and no worker prints a traceback
    (rule 3; workers ignore SIGINT, the main process stops them); the rerun finishes, balanced (rule 4).
    Twice, 0.2 s apart (kill/resume review): it printed "Exception ignored in atexit callback" and a traceback, or
    died of SIGINT; the second one now ends the program at once.
    SIGTERM (Slurm's time limit and `scancel` signal the whole job, `timeout` and `kill` the main process) stops the
    build the same way, exit 143: it used to kill the main process on the spot, saying nothing (2026-11-28)."""
    import os
    import signal
    import subprocess
    import sys
    import time

    corpora = Path(__file__).resolve().parents[2] / "shared" / "corpora"  # ../shared/corpora (README there)
    recipe = {"name": "novels", "category": "book", "languages": ["fr", "en", "de"], "license": "CC-BY-4.0",
              "input": {"type": "jsonl", "paths": [str(corpora / f"{lang}_eltec_novels.jsonl") for lang in ("fr", "en", "de")],
                        "language_field": "language"},
              "stages": [{"type": "normalize"}, {"type": "gopher_repetition"}, {"type": "gopher_quality"},
                         {"type": "fineweb_quality"}]}
    import yaml

    (tmp_path / "novels.yaml").write_text(yaml.safe_dump(recipe), encoding="utf-8")
    (tmp_path / "p.yaml").write_text(yaml.safe_dump({"name": "p", "sources": ["novels.yaml"], "output_dir": "b",
                                                     "executor": {"type": "local", "workers": 2, "tasks": 4}}))
    cmd = [sys.executable, "-m", "lucie_data.cli", "build", str(tmp_path / "p.yaml")]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    progress = tmp_path / "b" / "sources" / "novels" / "logs" / "seg0" / "progress"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:  # until a worker has read documents
        counts = []  # (a meter's `.tmp` file, listed, can be renamed before it is read: CI, once)
        for p in progress.glob("[0-9]*[0-9]") if progress.is_dir() else []:
            try:
                counts.append(int(p.read_text() or 0))
            except (OSError, ValueError):
                pass
        if sum(counts) >= 100:  # well into the tasks (progress is written about once a second)
            break
        time.sleep(0.02)
    assert proc.poll() is None, "the build ended before it could be interrupted"
    signum = getattr(signal, sig)
    send = (lambda: os.killpg(proc.pid, signum)) if group else (lambda: os.kill(proc.pid, signum))
    send()
    if interrupts == 2:
        time.sleep(0.2)
        send()
    _out, err = proc.communicate(timeout=120)
    # (or, for a second Ctrl-C in the last instant of the exit, after Python reset its handlers: killed by SIGINT, which
    # a shell reports as 130 too)
    assert proc.returncode == 128 + signum or (interrupts == 2 and proc.returncode == -signum), err
    said = "interrupted" if sig == "SIGINT" else "terminated (SIGTERM)"
    assert f"{said}: rerun the same command to resume" in err or (
        interrupts == 2 and "interrupted again: stopped at once; rerun the same command to resume" in err), err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err and "Exception ignored" not in err, err
    rerun = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    assert json.loads((tmp_path / "b" / "sources" / "novels" / "ledger.json").read_text())["balanced"]


def test_a_shard_rewritten_with_as_many_rows_is_rebuilt_and_a_touched_one_is_not(demo_build, tmp_path):
    """A kept shard rewritten with the same row count (one text edited) is not the shard the manifest recorded:
    the source is rebuilt, the shard gets its bytes back and the manifest its true hash (it used to stay "up to
    date" and the manifest recorded the edited file). A shard only touched since (newer, same bytes) is checked
    by its hash and left alone."""
    import os


    pipe, out, first = _copied_demo(demo_build, tmp_path)
    kept = sorted(out.glob("sources/eltec_fr/data/**/*.parquet"))[0]
    touched = sorted(out.glob("sources/pud_en/data/**/*.parquet"))[0]
    later = os.stat(out / "manifest.json").st_mtime_ns + 10**9
    os.utime(touched, ns=(later, later))
    table = _edit_first_text(kept)
    assert pq.read_metadata(kept).num_rows == table.num_rows  # the row count alone cannot see it
    events = []
    res = build(pipe, out, workers=1, on_event=lambda kind, d: events.append((kind, d)))
    status = {s.name: s.status for s in res.sources}
    assert status["eltec_fr"] == "built" and {v for k, v in status.items() if k != "eltec_fr"} == {"up-to-date"}
    warnings = [d for kind, d in events if kind == "warning"]
    assert [w["source"] for w in warnings] == ["eltec_fr"] and "is not the shard manifest.json recorded" in warnings[0]["message"]
    assert shard_hashes(out) == first
    _entries_match_files(out)


def test_a_damaged_manifest_rebuilds_the_sources_it_can_no_longer_vouch_for(demo_build, tmp_path):
    """Review 49: with manifest.json cut in half, a rerun had nothing to check an edited shard against: every source
    "up to date", and the new manifest recorded the edited file's hash (then `mix build` passed). The manifest is
    written whole (os.replace), so one that does not read was damaged since: every finished source is rebuilt, with a
    warning saying why, and the shards get their bytes back."""


    pipe, out, first = _copied_demo(demo_build, tmp_path)
    kept = sorted(out.glob("sources/eltec_fr/data/**/*.parquet"))[0]
    _edit_first_text(kept)
    raw = (out / "manifest.json").read_bytes()
    (out / "manifest.json").write_bytes(raw[: len(raw) // 2])
    events = []
    res = build(pipe, out, workers=1, on_event=lambda kind, d: events.append((kind, d)))
    assert {s.status for s in res.sources} == {"built"}
    warnings = [d for kind, d in events if kind == "warning"]
    assert sorted(w["source"] for w in warnings) == sorted(s.name for s in res.sources)
    assert all("manifest.json cannot be read (not JSON" in w["message"] and w["message"].endswith(
        "rebuilding this source") for w in warnings), warnings
    assert shard_hashes(out) == first
    _entries_match_files(out)
    # and once written again, a rerun trusts it: nothing rebuilt
    again = build(pipe, out, workers=1)
    assert {s.status for s in again.sources} == {"up-to-date"}


def test_a_manifest_the_build_may_not_read_stops_it_instead_of_rebuilding(demo_build, tmp_path, monkeypatch, capsys):
    """rv50: a manifest.json the user may not read was taken for a damaged one and every finished source rebuilt.
    It is a permission problem: exit 2 naming the file, nothing rebuilt. (Tests run as root, which chmod does not
    stop: the read raises what it raises for another user.)"""
    from lucie_data.cli import main

    pipe, out, first = _copied_demo(demo_build, tmp_path)
    real = Path.read_bytes

    def read_bytes(self):
        if self.name == "manifest.json" and self.parent == out:
            raise PermissionError(13, "Permission denied", str(self))
        return real(self)

    monkeypatch.setattr(Path, "read_bytes", read_bytes)
    code = main(["build", str(pipe.file), "--output", str(out)])
    err = capsys.readouterr().err
    assert code == 2, err
    assert f"{out / 'manifest.json'} cannot be read (Permission denied): check its permissions" in " ".join(err.split())
    assert "rebuilding" not in err and "Traceback" not in err
    assert shard_hashes(out) == first


def test_a_build_in_one_process_prints_no_logging_errors(tmp_path):
    """workers 1 (tasks run in this process): datatrove's task logger re-added its default sink on our silenced
    stderr, which was then closed, and every later log line printed a "Logging error in Loguru Handler" traceback
    (rule 3; second review). A real CLI build, its whole output checked."""
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[1]
    (tmp_path / "p.yaml").write_text(
        f"name: one\nsources: [{root / 'sources/demo/pud_en.yaml'}, {root / 'sources/demo/eltec_fr.yaml'}]\n"
        "output_dir: out\nexecutor: {type: local, workers: 1, tasks: 1}\n", encoding="utf-8")
    run = subprocess.run([sys.executable, "-m", "lucie_data.cli", "build", str(tmp_path / "p.yaml")],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    both = run.stdout + run.stderr
    assert "Logging error" not in both and "Traceback" not in both, both
    assert "pud_en" in run.stdout and "eltec_fr" in run.stdout
    # the build log keeps what the main process logs after each in-process task (datatrove's per-run stats), as
    # with worker processes; it used to be dropped by datatrove's task logger and stay empty (code review)
    log = (tmp_path / "out" / "build.log").read_text(encoding="utf-8")
    assert log.count("Stats: All 1 tasks") >= 2, log[:2000]


def test_a_source_rebuilt_by_a_run_stopped_before_its_manifest_is_not_rebuilt_again(demo_copy):
    """A run rebuilds a source, then stops before writing manifest.json (Ctrl-C, a later source failing): the
    manifest left describes the source's old shards. The next run must take the new shards as they are (its ledger
    is newer than that manifest), not warn "changed since" and rebuild it (code review)."""
    import os
    import shutil

    pipe_file = demo_copy / "pipelines" / "demo.yaml"
    out = demo_copy / "out"
    build(load_pipeline(pipe_file), out, workers=1, only=["pud_en", "eltec_fr"])
    old_manifest = demo_copy / "manifest.old"
    shutil.copy2(out / "manifest.json", old_manifest)
    rec = demo_copy / "sources" / "demo" / "pud_en.yaml"
    rec.write_text(rec.read_text().replace("min_chars: 100", "min_chars: 400"))
    build(load_pipeline(pipe_file), out, workers=1, only=["pud_en", "eltec_fr"])
    after = shard_hashes(out)
    os.replace(old_manifest, out / "manifest.json")  # the state a run stopped before its manifest leaves
    events = []
    res = build(load_pipeline(pipe_file), out, workers=1, only=["pud_en", "eltec_fr"],
                on_event=lambda kind, d: events.append((kind, d)))
    assert {s.status for s in res.sources} == {"up-to-date"}
    assert [d for kind, d in events if kind == "warning"] == []
    assert shard_hashes(out) == after
    _entries_match_files(out)


def test_a_tokenizer_that_cannot_be_loaded_stops_the_build_before_any_task(tmp_path):
    """A Hub tokenizer offline (or a misspelt id): one clear error naming it and the fix, exit 2, before any task;
    it used to fail inside every task as 'a task failed (LocalEntryNotFoundError…)' (third review)."""
    import os
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[1]
    (tmp_path / "p.yaml").write_text(
        f"name: tok\nsources: [{root / 'sources/demo/pud_en.yaml'}]\noutput_dir: out\n"
        "executor: {type: local, workers: 1, tasks: 1}\ntokenizer: no-such-org/no-such-tokenizer\n", encoding="utf-8")
    run = subprocess.run([sys.executable, "-m", "lucie_data.cli", "build", str(tmp_path / "p.yaml")],
                         capture_output=True, text=True, timeout=300,
                         env=dict(os.environ, HF_HUB_OFFLINE="1"))
    assert run.returncode == 2, run.stdout + run.stderr
    assert "tokenizer 'no-such-org/no-such-tokenizer' (a Hub id" in run.stderr and "Set `tokenizer:`" in run.stderr
    assert "Traceback" not in run.stderr and "a task failed" not in run.stderr
    assert not (tmp_path / "out" / "sources" / "pud_en" / "data").exists()


def test_only_says_which_sources_it_left_out_of_date(tmp_path, capsys):
    """Review: `--only news` after changing `tasks` left the other sources built with the old tasks, and neither the
    build, the manifest nor `mix build` said so."""
    import json as _json

    from lucie_data.cli import main as cli
    from lucie_data.mix.build import build_mix, load_mix_config

    root = Path(__file__).resolve().parents[1]
    pipe = tmp_path / "p.yaml"
    body = (f"name: p\nsources: [{root / 'sources/demo/eltec_fr.yaml'}, {root / 'sources/demo/pud_en.yaml'}]\n"
            f"output_dir: {tmp_path / 'b'}\nmix: {{factors: {{fr--book: 1, en--web: 1}}, default_factor: 1}}\n")
    pipe.write_text(body + "executor: {type: local, workers: 1, tasks: 1}\n", encoding="utf-8")
    assert cli(["build", str(pipe)]) == 0
    pipe.write_text(body + "executor: {type: local, workers: 1, tasks: 2}\n", encoding="utf-8")
    capsys.readouterr()
    assert cli(["build", str(pipe), "--only", "pud_en"]) == 0
    out = capsys.readouterr()
    assert "not rebuilt (--only) though out of date with this pipeline (recipe, inputs or options changed): eltec_fr" \
        in " ".join((out.out + out.err).split())
    m = _json.loads((tmp_path / "b" / "manifest.json").read_text())
    assert {s["name"]: s.get("out_of_date", False) for s in m["sources"]} == {"eltec_fr": True, "pud_en": False}
    logs: list[str] = []
    build_mix(tmp_path / "b", load_mix_config(tmp_path / "b", output=tmp_path / "m"), log=logs.append)
    assert any(x.startswith("warning: eltec_fr: left out of the last build (--only) though out of date") for x in logs)
    assert cli(["build", str(pipe)]) == 0  # rebuilt: no longer out of date
    assert not any(s.get("out_of_date") for s in _json.loads((tmp_path / "b" / "manifest.json").read_text())["sources"])


def test_the_forkserver_hides_only_the_semaphore_error_of_a_stopping_build(tmp_path):
    """The excepthook the forkserver preload installs (lucie_data._worker_signals): a worker forked while Ctrl-C stops
    the build fails to unpickle its pool's unlinked semaphore (FileNotFoundError in synchronize.__setstate__): that
    traceback is not printed (review: 2 of ~11 interrupts printed it); any other error still is. In a subprocess,
    since importing the module makes that process ignore SIGINT."""
    import subprocess
    import sys as _sys

    code = """
import sys, io, contextlib
import lucie_data._worker_signals
import multiprocess.synchronize as syn
class Fake:
    def __setstate__(self, state):
        raise FileNotFoundError(2, "No such file or directory")
Fake.__setstate__.__code__ = Fake.__setstate__.__code__.replace(co_filename=syn.__file__)
for exc in ("semaphore", "other"):
    buf = io.StringIO()
    try:
        if exc == "semaphore":
            Fake().__setstate__(None)
        raise FileNotFoundError(2, "elsewhere")
    except FileNotFoundError:
        with contextlib.redirect_stderr(buf):
            sys.excepthook(*sys.exc_info())
    print(exc, "Traceback" in buf.getvalue())
"""
    out = subprocess.run([_sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.split("\n")[:2] == ["semaphore False", "other True"], out.stdout + out.stderr


def test_a_model_file_replaced_under_the_same_path_rebuilds_its_source(tmp_path):
    """Resume review: the recipe names a model by path only, so a model replaced under that path left the source "up
    to date", and after a kill the rerun finished the other tasks with the new model (a build of neither model). The
    stages' local files are part of the build key, as inputs are (path, size, mtime)."""
    import shutil

    root = Path(__file__).resolve().parents[1]
    lines = (root / "tests" / "data" / "quality" / "fr_ud_pud.jsonl").read_text(encoding="utf-8").splitlines()[:30]
    (tmp_path / "fr.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    model = tmp_path / "lm.arpa"
    shutil.copy(root / "tests" / "data" / "quality" / "tiny_fr.arpa", model)
    (tmp_path / "s.yaml").write_text("name: s\ncategory: web\nlanguages: [fr]\nlicense: CC-BY-SA-4.0\n"
                                     "input: {type: jsonl, paths: [fr.jsonl]}\n"
                                     "stages: [{type: perplexity, model_path: lm.arpa, threshold: 3000}]\n")
    (tmp_path / "p.yaml").write_text("name: p\nsources: [s.yaml]\noutput_dir: out\n")
    first = build(load_pipeline(tmp_path / "p.yaml"), tmp_path / "out")
    assert first.sources[0].status == "built"
    assert build(load_pipeline(tmp_path / "p.yaml"), tmp_path / "out").sources[0].status == "up-to-date"
    text = model.read_text(encoding="utf-8").splitlines()
    i = next(k for k, line in enumerate(text) if line.count("\t") >= 1 and not line.startswith("\\"))
    prob, rest = text[i].split("\t", 1)
    text[i] = f"{float(prob) / 2:.6f}\t{rest}"  # another model: one n-gram's probability changed
    model.write_text("\n".join(text) + "\n", encoding="utf-8")
    again = build(load_pipeline(tmp_path / "p.yaml"), tmp_path / "out")
    assert again.sources[0].status == "built"


def test_a_change_of_the_hand_off_format_rebuilds_instead_of_resuming(demo_copy, monkeypatch):
    """Review: a build stopped by the version before the hand-off files carried `gate` was resumed by the next one,
    which read them with no licence preference: its dedup kept the CC-BY-NC copies and the gate then removed them (0
    kept, where a fresh build keeps 20), for good ("up to date"). The hand-off format is part of the build key."""
    import lucie_data.runner as runner

    pipe_file = demo_copy / "pipelines" / "demo.yaml"
    out = demo_copy / "out"
    assert build(load_pipeline(pipe_file), out, only=["pud_en"]).sources[0].status == "built"
    assert build(load_pipeline(pipe_file), out, only=["pud_en"]).sources[0].status == "up-to-date"
    monkeypatch.setattr(runner, "WORK_FORMAT", runner.WORK_FORMAT + 1)
    assert build(load_pipeline(pipe_file), out, only=["pud_en"]).sources[0].status == "built"
    # the readers' format too (code review: a source the old readers built wrongly stayed "up to date")
    assert build(load_pipeline(pipe_file), out, only=["pud_en"]).sources[0].status == "up-to-date"
    monkeypatch.setattr(runner, "READ_FORMAT", runner.READ_FORMAT + 1)
    assert build(load_pipeline(pipe_file), out, only=["pud_en"]).sources[0].status == "built"
    # a stage's revision too, where its change can apply (stages.base.StageSpec.revised_for): the key hashes recipes,
    # not stage code, and `normalize: auto` changed its output for a source of prose and code languages on
    # 2026-11-28, same recipe; a prose-only source keeps its key (rv50: all six demo sources rebuilt, same bytes)
    from lucie_data.stages.text import NormalizeSpec

    mixed = demo_copy / "sources" / "demo" / "mixed.yaml"
    mixed.write_text((demo_copy / "sources" / "demo" / "pud_en.yaml").read_text(encoding="utf-8").replace(
        "name: pud_en", "name: mixed").replace("languages: [en]", "languages: [en, code:python]"), encoding="utf-8")
    assert "languages: [en, code:python]" in mixed.read_text(encoding="utf-8")
    assert "mixed" in {s.recipe.name for s in load_pipeline(pipe_file).sources}  # (the pipeline's glob takes it)
    both = ["pud_en", "mixed"]
    assert {s.status for s in build(load_pipeline(pipe_file), out, only=both).sources} <= {"built", "up-to-date"}
    monkeypatch.setattr(NormalizeSpec, "revision", NormalizeSpec.revision + 1)
    status = {s.name: s.status for s in build(load_pipeline(pipe_file), out, only=both).sources}
    assert status == {"pud_en": "up-to-date", "mixed": "built"}, status
