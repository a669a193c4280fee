"""Writers bounded by bytes, not only rows (scale review): every Parquet row group a build writes holds at most
``steps.base.MAX_BATCH_BYTES`` of strings. The tests set the limit small, so a small real build takes the path
1,000 books of 2.2 MB took (they failed the task: 2.2 GB of text in one batch of ``pa.string()``)."""
from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from .conftest import SHARED, write
from .test_inputs import make_build

LIMIT = 30_000  # bytes; the chapters below are 0.3-9 KB of French (non-ASCII) text


def _chapters(n: int) -> list[dict]:
    recs = [json.loads(line) for line in open(SHARED / "fr_eltec_novels.jsonl", encoding="utf-8")]
    out = []
    for i, rec in enumerate(recs[:n]):
        size = 300 + (i * 2_731) % 9_000
        out.append({"id": f"c{i}", "text": rec["text"][:size]})
    return out


def _string_bytes(table) -> list[int]:
    """UTF-8 bytes of each row's strings (what the writer counts)."""
    sizes = None
    for col, field in zip(table.columns, table.schema):
        if pa.types.is_string(field.type):
            lens = pc.fill_null(pc.binary_length(col), 0).to_numpy()
            sizes = lens if sizes is None else sizes + lens
    return [int(s) for s in sizes]


def _check_row_groups(path: Path, limit: int) -> list[int]:
    """Every row group of ``path`` holds at most ``limit`` bytes of strings (or is one row), and holds as many rows
    as fit (the next row group's first row would have passed the limit): the batches are cut by bytes, no sooner."""
    pf = pq.ParquetFile(path)
    groups = [_string_bytes(pf.read_row_group(g)) for g in range(pf.num_row_groups)]
    for k, g in enumerate(groups):
        assert sum(g) <= limit or len(g) == 1, (path, k, sum(g))
        if k + 1 < len(groups):
            assert sum(g) + groups[k + 1][0] > limit, (path, k)
    return [len(g) for g in groups]


RECIPE = """\
name: chap
category: book
languages: [fr]
license: CC0-1.0
input: {type: jsonl, paths: [../chapters.jsonl]}
stages:
  - type: exact_dedup
"""


def test_kept_and_removed_row_groups_are_bounded_by_bytes(tmp_path, monkeypatch):
    import lucie_data.steps.base as base

    monkeypatch.setattr(base, "MAX_BATCH_BYTES", LIMIT)
    recs = _chapters(60)
    recs += [{"id": f"dup{i}", "text": recs[i]["text"]} for i in range(0, 36, 3)]  # 12 exact duplicates: removed
    write(tmp_path / "chapters.jsonl", "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in recs))
    # tasks=1: the build runs in this process, which sees the patched limit; it crosses the exact_dedup barrier,
    # so the hand-off files (work/) are written and read back through the same writer
    led, kept, removed = make_build(tmp_path, RECIPE, tasks=1)
    assert led["records_read"] == 72 and kept.height == 60 and removed.height == 12
    assert sorted(kept["text"]) == sorted(r["text"] for r in recs[:60])
    src = tmp_path / "out" / "sources" / "chap"
    (shard,) = (src / "data").glob("**/*.parquet")
    rows = _check_row_groups(shard, LIMIT)
    assert len(rows) > 5 and sum(rows) == 60  # (one row group of 60 rows before the fix)
    (gone,) = (src / "removed" / "exact_dedup").glob("*.parquet")
    rows = _check_row_groups(gone, LIMIT)
    assert len(rows) > 1 and sum(rows) == 12


def test_the_hand_off_is_written_and_read_one_row_group_at_a_time(tmp_path, monkeypatch):
    """Hand-off files between segments: row groups bounded like the shards, and read back row group by row group
    (pyarrow's iter_batches fills a batch of 1,000 rows across row groups: all the books at once)."""
    import lucie_data.steps.base as base
    from datatrove.data import Document

    monkeypatch.setattr(base, "MAX_BATCH_BYTES", LIMIT)
    docs = [Document(text=r["text"], id=r["id"], metadata={"source_file": "x.jsonl", "source_record": i})
            for i, r in enumerate(_chapters(40))]
    folder = tmp_path / "work"
    with base.WorkWriter(str(folder)) as w:
        for d in docs:
            w.write(d, rank=0)
    rows = _check_row_groups(folder / "00000.parquet", LIMIT)
    assert len(rows) > 3 and sum(rows) == 40

    batches = []
    real = pq.ParquetFile

    class Spy(real):
        def iter_batches(self, *a, **k):
            for b in super().iter_batches(*a, **k):
                batches.append(b.num_rows)
                yield b

    monkeypatch.setattr(pq, "ParquetFile", Spy)
    back = list(base.WorkReader(str(folder)).run(rank=0))
    assert [(d.id, d.text) for d in back] == [(d.id, d.text) for d in docs]
    assert [d.metadata["_pos"] for d in back] == list(range(40))
    assert batches == rows  # one batch per row group, none across two


def test_ordinary_documents_keep_their_row_groups_of_1000_rows(tmp_path):
    """Under the limit, batches (row groups) are the rows datatrove batched before: shards unchanged."""
    recs = [{"id": f"s{i}", "text": f"Phrase numéro {i} : le chat dort près de la fenêtre."} for i in range(2_500)]
    write(tmp_path / "chapters.jsonl", "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in recs))
    led, kept, removed = make_build(tmp_path, RECIPE.replace("  - type: exact_dedup\n", "  - type: exact_dedup\n"
                                                             "output: {max_rows_per_shard: 2200}\n"), tasks=1)
    assert kept.height == 2_500
    src = tmp_path / "out" / "sources" / "chap" / "data" / "fr"
    groups = {p.name: [pq.ParquetFile(p).metadata.row_group(g).num_rows
                       for g in range(pq.ParquetFile(p).num_row_groups)] for p in sorted(src.glob("*.parquet"))}
    assert groups == {"00000-0000.parquet": [1000, 1000, 200], "00000-0001.parquet": [300]}
