"""`minhash_dedup`: near-duplicates within a source, across all its tasks, on real text (tests/data/problematic holds a
real ELTeC passage and a copy with typographic changes, see its README; the demo's ELTeC novels are distinct texts)."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import polars as pl
import pytest

from lucie_data.cli import main

ROOT = Path(__file__).resolve().parents[1]
PROB = ROOT / "tests" / "data" / "problematic" / "problematic_docs.jsonl"
ELTEC = ROOT / "data" / "demo" / "fr_eltec_novels.jsonl"


def _build(tmp_path: Path, name: str, paths: list[Path], tasks: int, workers: int = 1, stages=None) -> Path:
    stages = stages or [{"type": "minhash_dedup"}]
    (tmp_path / f"{name}.yaml").write_text(json.dumps({
        "name": name, "category": "book", "languages": ["fr"], "license": "CC-BY-4.0",
        "input": {"type": "jsonl", "paths": [str(p) for p in paths]}, "stages": stages}), encoding="utf-8")
    out = tmp_path / f"b_{name}_{tasks}_{workers}"
    (tmp_path / f"p_{name}.yaml").write_text(json.dumps({
        "name": "p", "sources": [f"{name}.yaml"], "output_dir": str(out),
        "executor": {"type": "local", "workers": workers, "tasks": tasks}}), encoding="utf-8")
    assert main(["build", str(tmp_path / f"p_{name}.yaml")]) == 0
    return out


def _frames(out: Path, name: str) -> tuple[pl.DataFrame, pl.DataFrame, dict]:
    kept = pl.read_parquet(sorted((out / "sources" / name / "data").glob("*/*.parquet")))
    rm = sorted((out / "sources" / name / "removed").glob("*/*.parquet"))
    removed = pl.read_parquet(rm) if rm else pl.DataFrame()
    return kept, removed, json.loads((out / "sources" / name / "ledger.json").read_text())


@pytest.mark.parametrize("tasks", [1, 3])
def test_a_near_duplicate_is_removed_and_distinct_texts_are_kept(tmp_path, tasks):
    recs = [json.loads(line) for line in PROB.read_text(encoding="utf-8").splitlines()]
    near = [r for r in recs if r["id"] in ("problem-025", "problem-026")]
    assert len(near) == 2 and near[0]["text"] != near[1]["text"]
    data = tmp_path / "d.jsonl"
    eltec = [json.loads(line) for line in ELTEC.read_text(encoding="utf-8").splitlines()][:40]
    data.write_text("".join(json.dumps({"id": r["id"], "text": r["text"]}, ensure_ascii=False) + "\n"
                            for r in [near[0], *eltec, near[1]]), encoding="utf-8")
    out = _build(tmp_path, "s", [data], tasks)
    kept, removed, led = _frames(out, "s")
    assert led["balanced"] and led["records_read"] == 42 == kept.height + removed.height
    # the copy with other quotes and a few words changed is found, whatever task each landed in; nothing else
    assert removed["id"].to_list() == ["s/problem-026"] or removed["id"].to_list() == ["s/problem-025"]
    assert removed["removal_reason"].to_list() == ["minhash_duplicate"]
    meta = json.loads(removed["metadata"][0])
    assert {meta["duplicate_of"], removed["id"][0]} == {"s/problem-025", "s/problem-026"}
    assert set(kept["id"]) == {f"s/{r['id']}" for r in eltec} | {meta["duplicate_of"]}
    stage = [s for s in led["stages"] if s["stage"] == "minhash_dedup"][0]
    assert stage["docs_in"] == 42 and stage["removed"] == {"minhash_duplicate": {"docs": 1, "chars": stage["chars_removed"]}}


def test_minhash_dedup_is_deterministic_whatever_the_workers(tmp_path):
    data = tmp_path / "d.jsonl"
    eltec = [json.loads(line) for line in ELTEC.read_text(encoding="utf-8").splitlines()][:30]
    rows = []
    for i, r in enumerate(eltec):  # every third novel also as an edited copy later in the file
        rows.append({"id": r["id"], "text": r["text"]})
    for i, r in enumerate(eltec[::3]):
        words = r["text"].split(" ")
        words[len(words) // 2] = "TOUTEFOIS"
        rows.append({"id": f"copy-{i}", "text": " ".join(words)})
    data.write_text("".join(json.dumps(x, ensure_ascii=False) + "\n" for x in rows), encoding="utf-8")
    shas = []
    for workers in (1, 2):
        out = _build(tmp_path, "s", [data], tasks=3, workers=workers)
        kept, removed, _ = _frames(out, "s")
        assert sorted(removed["id"]) == sorted(f"s/copy-{i}" for i in range(len(eltec[::3])))
        shas.append(sorted(hashlib.sha256(p.read_bytes()).hexdigest()
                           for p in (out / "sources" / "s").glob("*/**/*.parquet")))
    assert shas[0] == shas[1]


@pytest.mark.parametrize("args, match", [
    ({"num_buckets": 0}, r"num_buckets: Input should be greater than or equal to 1"),
    ({"n_grams": "five"}, r"n_grams: Input should be a valid integer"),
    ({"bands": 3}, r"unknown key"),
    ({"num_buckets": 256, "hashes_per_bucket": 256}, r"num_buckets x hashes_per_bucket = 65536 hashes a document: at most 1024"),
])
def test_invalid_minhash_arguments(tmp_path, args, match):
    from lucie_data.errors import RecipeError
    from lucie_data.recipe import load_source

    f = tmp_path / "r.yaml"
    f.write_text(json.dumps({"name": "s", "category": "book", "languages": ["fr"], "license": "CC-BY-4.0",
                             "input": {"type": "jsonl", "paths": [str(ELTEC)]},
                             "stages": [{"type": "minhash_dedup", **args}]}), encoding="utf-8")
    src, issues = load_source(f)
    assert src is None and any(__import__("re").search(match, f"{i.path}: {i.message}") for i in issues), issues
