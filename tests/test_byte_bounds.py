"""Writers bounded by bytes, not only rows (scale review): every Parquet row group a build writes holds at most
``steps.base.MAX_BATCH_BYTES`` of strings, every file a mix writes at most ``mix.build.MIX_FILE_BYTES``. The tests
set the limits small, so a small real build or mix takes the path 1,000 books of 2.2 MB took (the build failed the
task: 2.2 GB of text in one batch of ``pa.string()``; the mix held every selected book until its end)."""
from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

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


def test_kept_shards_are_cut_by_text_characters_in_input_order(tmp_path, monkeypatch):
    """A kept shard holds max_rows_per_shard rows, or fewer where its text would pass MAX_SHARD_CHARS: a mix reads
    a shard it re-encodes whole and copies one it does not as one file (100,000 rows of books: ~40 GB each)."""
    import lucie_data.steps.base as base

    monkeypatch.setattr(base, "MAX_SHARD_CHARS", 20_000)  # characters; the chapters are 300-9,300 characters
    recs = _chapters(40)
    recs.append({"id": "big", "text": recs[0]["text"] * 80})  # 24,000 characters: a shard of its own
    recs += _chapters(45)[40:]
    write(tmp_path / "chapters.jsonl", "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in recs))
    led, kept, removed = make_build(tmp_path, RECIPE.replace("  - type: exact_dedup\n", "  - type: normalize\n")
                                    + "output: {max_rows_per_shard: 6}\n", tasks=1)
    assert led["docs_kept"] == 46 and removed.height == 0
    shards = sorted((tmp_path / "out" / "sources" / "chap" / "data" / "fr").glob("*.parquet"))
    texts = [pq.read_table(p, columns=["text"])["text"].to_pylist() for p in shards]
    assert [t for shard in texts for t in shard] == [r["text"] for r in recs]  # every document, in input order
    for k, shard in enumerate(texts):
        chars = sum(map(len, shard))
        assert len(shard) <= 6 and (chars <= 20_000 or len(shard) == 1), (k, len(shard), chars)
        if k + 1 < len(texts) and len(shard) < 6:  # cut by characters: the next document would not have fitted
            assert chars + len(texts[k + 1][0]) > 20_000, k
    assert any(len(shard) < 6 for shard in texts[:-1])
    assert [recs[0]["text"] * 80] in texts  # the large chapter, alone
    assert [p.name for p in shards] == [f"00000-{k:04d}.parquet" for k in range(len(shards))]


def test_a_source_built_before_shards_were_cut_by_characters_is_rebuilt_once(tmp_path, monkeypatch):
    """Its build key is the same (rv55): the rebuild is decided from its shards, so only a source holding a shard
    over the limit rebuilds (every source would with a key marker), and once."""
    import lucie_data.steps.base as base
    from lucie_data.recipe import load_pipeline
    from lucie_data.runner import build

    recs = _chapters(30)
    write(tmp_path / "chapters.jsonl", "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in recs))
    write(tmp_path / "sources" / "s.yaml", RECIPE)
    write(tmp_path / "p.yaml", "name: t\nsources: [sources/*.yaml]\noutput_dir: out\nexecutor: {tasks: 1, workers: 1}\n")
    monkeypatch.setattr(base, "MAX_SHARD_CHARS", 1 << 40)  # as shards were written before the cut
    build(load_pipeline(tmp_path / "p.yaml"))
    data = tmp_path / "out" / "sources" / "chap" / "data" / "fr"
    assert [p.name for p in data.glob("*.parquet")] == ["00000-0000.parquet"]
    monkeypatch.setattr(base, "MAX_SHARD_CHARS", 20_000)
    events = []
    res = build(load_pipeline(tmp_path / "p.yaml"), on_event=lambda e, d: events.append((e, d)))
    (warn,) = [d["message"] for e, d in events if e == "warning"]
    assert "00000-0000.parquet holds 30 documents of" in warn and warn.endswith("; rebuilding this source")
    assert res.sources[0].status == "built" and len(list(data.glob("*.parquet"))) > 3
    res = build(load_pipeline(tmp_path / "p.yaml"))
    assert res.sources[0].status == "up-to-date"  # (cut now: not again)


def test_a_jsonl_record_an_earlier_reader_read_otherwise_rebuilds_its_source(tmp_path):
    """rv55: a BOM-only line was a blank record, a raw control character's detail Python's cut sentence; the build key
    did not change (it would rebuild every JSONL source): the removed shards say whether a source holds one."""
    from lucie_data.recipe import LoadedSource, SourceRecipe
    from lucie_data.runner import _built_before_todays_reading

    rec = SourceRecipe.model_validate({"name": "s", "category": "web", "languages": ["fr"], "license": "CC0-1.0",
                                       "input": {"type": "jsonl", "paths": ["x.jsonl"]}})
    src = LoadedSource(rec, tmp_path / "s.yaml", {}, [])
    led = {"read_removed": {"read_invalid_json": 1}}
    folder = tmp_path / "removed" / "read"
    folder.mkdir(parents=True)

    def removed(text: str, detail: str) -> None:
        pq.write_table(pa.table({"text": [text], "metadata": [json.dumps({"read_error_detail": detail})],
                                 "removal_reason": ["read_invalid_json"]}), folder / "00000.parquet")

    removed('{"id": "a", "text": "x\ty"}', "line 3, column 18: a raw control character U+0009 inside a string")
    assert _built_before_todays_reading(src, tmp_path, led) is None  # today's reading
    removed('{"id": "a", "text": "x\ty"}', "line 3, column 18: Invalid control character at")
    assert "a raw control character in a string" in _built_before_todays_reading(src, tmp_path, led)
    removed("\n", "line 2, column 1: Expecting value")  # a line holding only a BOM
    assert "a byte order mark" in _built_before_todays_reading(src, tmp_path, led)
    assert _built_before_todays_reading(src, tmp_path, {"read_removed": {"read_too_deep": 1}}) is None
    removed("\u00a0\n", "line 2, column 1: Expecting value")  # a line of U+00A0: a record today too (rv56)
    assert _built_before_todays_reading(src, tmp_path, led) is None


# --- mix build: files, read-ahead and held rows bounded by bytes --------------------------------------------------

@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    from .test_mix_build import make_build

    return make_build(tmp_path_factory.getbasetemp() / "mixbuild")  # (the build test_mix_build makes, shared)


def _mix(built: Path, out: Path) -> dict:
    """Every subset 1.5 epochs: each source's first epoch is its shards' bytes, the half epoch is re-encoded."""
    from lucie_data.mix.build import build_mix, load_mix_config

    write(out.parent / f"{out.name}.weights.yaml", "factors: {}\ndefault_factor: 1.5\n")
    return build_mix(built, load_mix_config(built, weights=out.parent / f"{out.name}.weights.yaml", output=out))


def _folders(mix: Path) -> dict[str, pl.DataFrame]:
    return {d.relative_to(mix).as_posix(): pl.concat([pl.read_parquet(p) for p in sorted(d.glob("*.parquet"))])
            for d in sorted({p.parent for p in mix.glob("data/*/*/*/*.parquet")})}


def test_mix_files_are_cut_by_bytes_with_the_same_rows_in_the_same_order(built, tmp_path, monkeypatch):
    import lucie_data.mix.build as mb

    ref = _mix(built, tmp_path / "ref")
    limit = 20_000
    monkeypatch.setattr(mb, "MIX_FILE_BYTES", limit)
    small = _mix(built, tmp_path / "small")
    # the same rows, in the same order, in the same folders: only where files end changed
    a, b = _folders(tmp_path / "small"), _folders(tmp_path / "ref")
    assert a.keys() == b.keys() and all(a[k].equals(b[k]) for k in a)
    assert ref["totals"] == small["totals"]
    made = [s["path"] for s in small["shards"] if "xxh3_128" in s and mb.shard_order(s["path"])[1] == 1]
    assert len(made) > len([s for s in ref["shards"] if "xxh3_128" in s and mb.shard_order(s["path"])[1] == 1]) + 10
    by_folder: dict[str, list[list[int]]] = {}
    for rel in sorted(made):  # (numbered in order within a folder)
        by_folder.setdefault(rel.rsplit("/", 1)[0], []).append(_string_bytes(pq.read_table(tmp_path / "small" / rel)))
    for folder, files in by_folder.items():
        for k, f in enumerate(files):
            assert sum(f) <= limit or len(f) == 1, (folder, k, sum(f))
            if k + 1 < len(files):  # as many rows as fit: the next file's first row would have passed the limit
                assert sum(f) + files[k + 1][0] > limit, (folder, k)


def test_a_sources_last_file_is_written_before_the_next_source_is_read(built, tmp_path, monkeypatch):
    """The rows a folder holds for its last, shorter file are written when its source's shards are done, not kept
    until every source is (the shards come source by source): file names are reserved source by source."""
    import lucie_data.mix.build as mb

    order = []
    real = mb._BucketWriter.reserve

    def reserve(self):
        path = real(self)
        order.append(Path(path).name.split("--")[0])
        return path

    monkeypatch.setattr(mb._BucketWriter, "reserve", reserve)
    _mix(built, tmp_path / "mix")
    sources = [s for k, s in enumerate(order) if k == 0 or order[k - 1] != s]
    assert len(sources) == len(set(sources)) > 3, order


def test_read_ahead_holds_at_most_two_shards_and_none_it_handed_over(monkeypatch):
    import gc
    import weakref

    import lucie_data.mix.build as mb

    monkeypatch.setattr(mb, "MIX_READ_AHEAD_BYTES", 100)

    class Table:
        pass

    class Future:
        def __init__(self):
            self.table = Table()

        def result(self):
            return self.table

    sizes = {"a": 10, "b": 10, "copy": 0, "c": 10, "d": 10, "big": 500, "e": 10, "f": 10}
    submitted, handed, refs = [], [], []

    def submit(shard):
        submitted.append(shard)
        return Future()

    for shard, table in mb._read_ahead(list(sizes), lambda s: s != "copy", sizes.get, submit):
        handed.append((shard, tuple(submitted)))
        if table is not None:
            refs.append(weakref.ref(table))
        del table
        gc.collect()
        assert all(r() is None for r in refs)  # neither the reader nor a future holds a shard handed over
    assert [s for s, _ in handed] == list(sizes)
    seen = dict(handed)
    assert seen["a"] == ("a", "b")  # (and "copy", which is not read): two ahead, as before
    assert seen["c"][-1] == "d"  # small shards: read two ahead
    assert seen["d"][-1] == "d"  # "big" would pass the limit with "d" being read: not read yet
    assert seen["big"][-1] == "big"  # read alone, at its turn: nothing else is read ahead of a large shard
    assert seen["e"][-1] == "f"


# --- mix build: a build shard of more than 2 GiB of text (1,000 books in row groups of 256 MiB) --------------------

def _chunk_bytes(table) -> list[int]:
    return [sum(_string_bytes(pa.Table.from_batches([b]))) for b in table.to_batches()]


def test_a_fraction_of_a_large_shard_is_taken_in_pieces_bounded_by_bytes(tmp_path, monkeypatch):
    """pyarrow's take on a chunked table concatenates its chunks into one array: a fraction of a 2.2 GB shard of books
    failed the mix with "offset overflow while concatenating arrays". Past MIX_FILE_BYTES a shard's rows are taken
    from one run of rows of at most that many bytes at a time, and handed to the folder's writer piece by piece."""
    import lucie_data.mix.build as mb
    import lucie_data.steps.base as base

    monkeypatch.setattr(base, "MAX_BATCH_BYTES", LIMIT)  # the build: a shard of many row groups, each <= LIMIT
    recs = _chapters(60)
    write(tmp_path / "chapters.jsonl", "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in recs))
    make_build(tmp_path, RECIPE, tasks=1)
    built = tmp_path / "out"

    monkeypatch.setattr(mb, "MIX_FILE_BYTES", LIMIT)
    pieces = []
    real = mb._BucketWriter.add

    def add(self, table):
        pieces.append(_chunk_bytes(table))
        real(self, table)

    monkeypatch.setattr(mb._BucketWriter, "add", add)
    write(tmp_path / "w.yaml", "factors: {}\ndefault_factor: 2.5\n")  # two whole epochs, then half of the shard
    plan = mb.build_mix(built, mb.load_mix_config(built, weights=tmp_path / "w.yaml", output=tmp_path / "mix"))
    assert len(pieces) > 1 and max(max(p) for p in pieces) <= LIMIT, pieces  # (one piece, the half epoch, before)
    half = sum(1 for r in recs if int(mb._copies([f"chap/{r['id']}"], 0.5, plan["seed"])[0]))
    assert plan["totals"]["docs"] == 2 * len(recs) + half
    files = [pl.read_parquet(tmp_path / "mix" / s["path"]) for s in plan["shards"] if "xxh3_128" in s
             and mb.shard_order(s["path"])[1] == 1]
    assert sum(f.height for f in files) == half > 0


def test_a_large_table_is_written_in_row_groups_bounded_by_bytes(tmp_path, monkeypatch):
    """A whole build shard the mix re-encodes (another version's schema, a repeat the splice cannot make) is written
    in row groups under MIX_FILE_BYTES, each combined on its own (one table of it would pass 2 GiB); a table under the
    limit is written as before: one pq.write_table, row groups of 10,000 rows."""
    import io

    import lucie_data.mix.build as mb

    recs = _chapters(40)
    table = pa.Table.from_pylist([{"id": r["id"], "text": r["text"]} for r in recs])
    table = pa.concat_tables([table.slice(0, 15), table.slice(15, 10), table.slice(25)])  # chunked, as a shard reads
    mb._write_shard(table, str(tmp_path / "whole.parquet"), {})
    buf = io.BytesIO()
    pq.write_table(table.combine_chunks(), buf, compression="zstd", row_group_size=10_000, write_statistics=True)
    assert (tmp_path / "whole.parquet").read_bytes() == buf.getvalue()  # under the limit: unchanged

    monkeypatch.setattr(mb, "MIX_FILE_BYTES", LIMIT)
    mb._write_shard(table, str(tmp_path / "cut.parquet"), {})
    assert pq.read_table(tmp_path / "cut.parquet").equals(table.combine_chunks())
    rows = _check_row_groups(tmp_path / "cut.parquet", LIMIT)
    assert len(rows) > 3 and sum(rows) == 40
