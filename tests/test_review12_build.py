"""Review 12 (an engineer trying to break builds): a source where no document reaches a dedup stage stopped the whole
build with a traceback; a gzip file corrupted mid-stream failed its source instead of being quarantined."""
from __future__ import annotations

import gzip
import json
from pathlib import Path

import polars as pl

from lucie_data.cli import main

ROOT = Path(__file__).resolve().parent.parent
GSD = ROOT / "data" / "demo" / "fr_eltec_novels.jsonl"  # real French chapters (data/demo/README: public domain)


def _ledger(build: Path, name: str) -> dict:
    return json.loads((build / "sources" / name / "ledger.json").read_text())


def test_no_document_reaching_a_dedup_stage_is_a_balanced_empty_stage(tmp_path, capsys):
    """An empty input before exact_dedup, a filter removing everything before exact_dedup, a language gate removing
    everything before minhash_dedup: each source finishes with 0 kept and a balanced ledger, and the source after
    them is built (the plan's work folder did not exist: FileNotFoundError, no manifest)."""
    lines = GSD.read_text(encoding="utf-8").splitlines()[:5]
    (tmp_path / "good.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (tmp_path / "empty.jsonl").write_text("", encoding="utf-8")
    head = "category: book\nlicense: CC-BY-4.0\n"
    recipes = {
        "empty": "languages: [fr]\ninput: {type: jsonl, paths: [empty.jsonl]}\nstages: [{type: exact_dedup}]\n",
        "short": "languages: [fr]\ninput: {type: jsonl, paths: [good.jsonl]}\n"
                 "stages: [{type: min_length, min_chars: 1000000}, {type: exact_dedup}]\n",
        "gate": "languages: [de]\ninput: {type: jsonl, paths: [good.jsonl]}\n"
                "stages: [{type: language_id}, {type: language_gate}, {type: minhash_dedup}]\n",
        "good": "languages: [fr]\ninput: {type: jsonl, paths: [good.jsonl]}\nstages: [{type: exact_dedup}]\n",
    }
    for name, body in recipes.items():
        (tmp_path / f"{name}.yaml").write_text(f"name: {name}\n{head}{body}", encoding="utf-8")
    (tmp_path / "p.yaml").write_text("name: p\nsources: [empty.yaml, short.yaml, gate.yaml, good.yaml]\noutput_dir: b\n"
                                     "executor: {type: local, workers: 2, tasks: 2}\n", encoding="utf-8")
    assert main(["build", str(tmp_path / "p.yaml")]) == 0
    b = tmp_path / "b"
    manifest = json.loads((b / "manifest.json").read_text())
    assert [s["name"] for s in manifest["sources"]] == ["empty", "short", "gate", "good"]
    assert not manifest.get("failed_sources")
    for name, read, kept in (("empty", 0, 0), ("short", 5, 0), ("gate", 5, 0), ("good", 5, 5)):
        led = _ledger(b, name)
        assert (led["records_read"], led["docs_kept"]) == (read, kept), (name, led)
        for st in led["stages"]:
            assert st["docs_in"] + st.get("docs_created", 0) == st["docs_kept"] + st["docs_removed"], (name, st)
    removed = pl.read_parquet(sorted((b / "sources/gate/removed").glob("*/*.parquet")))
    assert removed.height == 5 and set(removed["removal_stage"]) == {"language_gate"}
