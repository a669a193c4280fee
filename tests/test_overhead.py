"""The build's overhead cuts keep every output: the forkserver preloads what every worker needs, a worker's
imports stay light, and the dedup plan is read per rank."""
import json

import pytest
import subprocess
import sys
from pathlib import Path

from datatrove.data import Document

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "data" / "demo"


def demo_docs() -> list[Document]:
    """Real records of the bundled demo (French novels and OCR, English news, code): varied lengths."""
    docs = []
    for name in ("fr_eltec_novels.jsonl", "fr_ocr_europeana_bnf.jsonl", "en_ud_pud.jsonl", "code_permissive.jsonl"):
        for i, line in enumerate((DEMO / name).read_text(encoding="utf-8").splitlines()[:60]):
            rec = json.loads(line)
            meta = {"language": "en" if name.startswith("en") else "fr", "source": name}
            docs.append(Document(text=rec["text"], id=f"{name}:{i}", metadata=meta))
    return docs


def test_forkserver_preloads_pandas_so_workers_do_not_import_it_per_task():
    """pyarrow imports pandas on a process's first pa.array(list) (~0.2 s): the forkserver imports it once,
    instead of each worker of each segment (hiding pandas from pyarrow instead changed how pyarrow converts
    pandas objects in that process, e.g. categoricals, so it was dropped)."""
    from lucie_data.runner import FORKSERVER_PRELOAD

    assert "pandas" in FORKSERVER_PRELOAD and "pyarrow.parquet" in FORKSERVER_PRELOAD


def test_worker_import_of_runner_stays_light():
    """Every task unpickles QuietLocalExecutor from lucie_data.runner: the recipe models must not come along."""
    code = ("import sys, lucie_data.runner\n"
            "print(sorted(m for m in ('lucie_data.recipe', 'lucie_data.stages', 'polars', 'pandas') if m in sys.modules))")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert res.stdout.strip() == "[]"


def test_planned_removal_reads_only_its_rank(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from lucie_data.steps.dedup import PlannedRemoval

    plan = tmp_path / "plan.parquet"
    pq.write_table(pa.table({"rank": [0, 1, 1, 2], "pos": [1, 0, 2, 1], "duplicate_of": ["a", "b", "c", "d"]}), plan)
    docs = [Document(text=d.text, id=d.id, metadata={"_pos": i}) for i, d in enumerate(demo_docs()[:4])]
    f = PlannedRemoval(str(plan), "exact_duplicate", removed_dir=str(tmp_path / "removed"), stage_id="dd",
                       stage_type="exact_dedup")
    kept = list(f.run(iter(docs), rank=1))
    assert [d.id for d in kept] == [docs[1].id, docs[3].id]
    import polars as pl

    removed = pl.read_parquet(tmp_path / "removed" / "*.parquet")
    assert [json.loads(m)["duplicate_of"] for m in removed["metadata"]] == ["b", "c"]
    assert removed["removal_reason"].to_list() == ["exact_duplicate"] * 2


def test_writers_name_files_as_datatrove_does(tmp_path):
    """Our writers remember a file name per (rank, template fields) instead of datatrove's per-document
    Template.substitute over all metadata; the names, and the precedence kwargs > metadata > rank, stay."""
    from datatrove.pipeline.writers.parquet import ParquetWriter

    from lucie_data.steps.base import KeptWriter, RemovedWriter, _NamedParquetWriter

    docs = [Document(text="t", id=f"d{i}", metadata={"_partition": p, "shard": "m", "lang": p})
            for i, p in enumerate(["fr", "en", "fr", "code-python"])]
    docs.append(Document(text="t", id="r", metadata={"rank": "meta-rank", "_partition": "fr"}))
    for template in ("${_partition}/${rank}-${shard}.parquet", "${rank}.parquet", "${lang}/${id}.parquet"):
        ours = _NamedParquetWriter(str(tmp_path), template)
        theirs = ParquetWriter(str(tmp_path), template)
        for doc in docs:
            for rank, kw in ((0, {"shard": "0001"}), (3, {"shard": "0002"}), ("XXXXX", {"shard": "0001"}), (7, {})):
                try:
                    want = theirs._get_output_filename(doc, rank, **kw)
                except KeyError as e:
                    with pytest.raises(KeyError, match=str(e)):
                        ours._get_output_filename(doc, rank, **kw)
                    continue
                assert ours._get_output_filename(doc, rank, **kw) == want, (template, doc.id, rank, kw)
    kept = KeptWriter(str(tmp_path), max_rows=10)
    assert isinstance(kept, _NamedParquetWriter) and isinstance(RemovedWriter(str(tmp_path), "s", "filter"), _NamedParquetWriter)
