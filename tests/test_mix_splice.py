"""Splicing a Parquet file's ``id`` column (repeats of ``repeat_ids: suffix``): every other column chunk is copied.

Files are written by pyarrow from real text of /work/shared/corpora, in the layouts a writer can choose (row
groups, page index, statistics, dictionary, codec, data page version, many small pages, nulls, no rows); the
spliced file is read back by two independent readers (pyarrow's C++ reader and polars' Rust one) and its
offset index is followed page by page.
"""
from __future__ import annotations

import io
import json
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
import xxhash

from lucie_data.mix import splice
from lucie_data.mix.build import _splice_repeats
from lucie_data.mix.splice import ColumnSplicer, SpliceUnsupported, encode_struct, read_footer

CORPORA = Path(__file__).resolve().parents[2] / "shared" / "corpora"


def corpus_table(n: int = 300) -> pa.Table:
    """Real multilingual documents (French novels, Sequoia, English EWT), in the mix's column order."""
    rows = []
    for name in ("fr_eltec_novels.jsonl", "fr_ud_sequoia.jsonl", "en_ud_ewt.jsonl"):
        with open(CORPORA / name, encoding="utf-8") as fh:
            for line in fh:
                rec = json.loads(line)
                rows.append({"id": rec["id"], "text": rec["text"], "source": name.split(".")[0],
                             "language": name[:2], "license": rec.get("license") or "CC-BY-SA-4.0",
                             "n_tokens": len(rec["text"].split())})
                if len(rows) >= n * (1 + ("sequoia" in name) + 2 * ("ewt" in name)) // 3:
                    break
    return pa.Table.from_pylist(rows)


TABLE = corpus_table()

LAYOUTS = {
    "default": {},
    "page index": {"write_page_index": True},
    "row groups and page index": {"row_group_size": 70, "write_page_index": True},
    "many small pages": {"data_page_size": 2048, "write_page_index": True, "row_group_size": 120},
    "no statistics": {"write_statistics": False, "write_page_index": True},
    "no dictionary": {"use_dictionary": False, "write_page_index": True},
    "snappy": {"compression": "snappy", "write_page_index": True},
    "uncompressed": {"compression": "none"},
    "data page v2": {"data_page_version": "2.0", "write_page_index": True, "row_group_size": 100},
    "nulls in id": {"write_page_index": True, "_nulls": True},
    "no rows": {"_rows": 0},
}


def parquet_bytes(layout: str) -> bytes:
    opts = dict(LAYOUTS[layout])
    table = TABLE
    if opts.pop("_nulls", False):
        ids = table.column("id").to_pylist()
        table = table.set_column(0, "id", pa.array([None if i % 7 == 0 else v for i, v in enumerate(ids)]))
    rows = opts.pop("_rows", None)
    if rows is not None:
        table = table.slice(0, rows)
    opts.setdefault("compression", "zstd")
    buf = io.BytesIO()
    pq.write_table(table, buf, **opts)
    return buf.getvalue()


def spliced(data: bytes, suffix: str = "#2") -> tuple[bytes, pa.Array]:
    sp = ColumnSplicer(data, "id")
    new = pc.binary_join_element_wise(sp.column, pa.scalar(suffix), "").combine_chunks()
    return b"".join(bytes(p) for p in sp.splice(new)), new


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_footer_decodes_and_encodes_to_the_same_bytes(layout):
    data = parquet_bytes(layout)
    for spec in (None, splice.FOOTER_SPEC):  # every field decoded, and the lazy decoding the splice uses
        fmd, raw = read_footer(data, spec)
        assert encode_struct(fmd) == raw


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_splice_replaces_the_column_and_keeps_every_other_one(layout):
    data = parquet_bytes(layout)
    out, new = spliced(data)
    before, after = pq.ParquetFile(io.BytesIO(data)), pq.ParquetFile(io.BytesIO(out))
    # schema, Arrow schema metadata and row groups as they were
    assert after.schema_arrow.equals(before.schema_arrow, check_metadata=True)
    assert after.metadata.num_row_groups == before.metadata.num_row_groups
    assert [after.metadata.row_group(i).num_rows for i in range(after.metadata.num_row_groups)] == \
        [before.metadata.row_group(i).num_rows for i in range(before.metadata.num_row_groups)]
    # row group totals still add up (pyarrow's total_byte_size is the sum of the chunks' uncompressed sizes)
    fmd, _raw = read_footer(out, None)
    for r, rg in enumerate(splice._get(fmd, splice.FMD_ROW_GROUPS)[1]):
        meta = after.metadata.row_group(r)
        cols = [meta.column(c) for c in range(meta.num_columns)]
        assert meta.total_byte_size == sum(c.total_uncompressed_size for c in cols)
        if splice._get(rg, splice.RG_TOTAL_COMPRESSED) is not None:
            assert splice._get(rg, splice.RG_TOTAL_COMPRESSED) == sum(c.total_compressed_size for c in cols)
        if splice._get(rg, splice.RG_FILE_OFFSET) is not None:
            assert splice._get(rg, splice.RG_FILE_OFFSET) == min(
                min(o for o in (c.dictionary_page_offset, c.data_page_offset) if o) for c in cols)
    # pyarrow's reader
    a, b = after.read(), before.read()
    assert a.column("id").combine_chunks().equals(new)
    assert a.drop_columns(["id"]).equals(b.drop_columns(["id"]))
    # polars' reader (its own Parquet decoder)
    pa_, pb = pl.read_parquet(io.BytesIO(out)), pl.read_parquet(io.BytesIO(data))
    assert pa_["id"].to_list() == new.to_pylist()
    assert pa_.drop("id").equals(pb.drop("id"))
    # statistics: the new column's are its own, the others' unchanged
    for r in range(after.metadata.num_row_groups):
        for c in range(after.metadata.num_columns):
            sa, sb = after.metadata.row_group(r).column(c).statistics, before.metadata.row_group(r).column(c).statistics
            if c == 0:
                part = new.slice(sum(before.metadata.row_group(i).num_rows for i in range(r)),
                                 before.metadata.row_group(r).num_rows).drop_null()
                if sa is not None and sa.has_min_max:
                    assert (sa.min, sa.max) == (pc.min(part).as_py(), pc.max(part).as_py())
            else:
                assert (sa is None) == (sb is None)
                if sa is not None:
                    assert sa.equals(sb)
    # and a filter that prunes row groups on the new statistics finds the new ids
    if len(new) and before.metadata.num_row_groups > 1:
        probe = new[len(new) - 1].as_py()
        hit = pq.read_table(io.BytesIO(out), filters=[("id", "=", probe)])
        assert hit.column("id").to_pylist() == [probe]


def _page_header_size(data: bytes, offset: int) -> int:
    """Bytes of the page (header + compressed body) that starts at ``offset``: PageHeader field 3 is
    ``compressed_page_size`` (parquet.thrift)."""
    header, end = splice._read_struct(data[offset:offset + 4096], 0, None)
    return end + splice._get(header, 3)


@pytest.mark.parametrize("layout", [k for k, v in LAYOUTS.items() if v.get("write_page_index")])
def test_offset_index_points_at_the_same_pages(layout):
    """Every page location of the new offset index starts a page of exactly the size it records; the other
    columns' pages are the original pages' bytes, and their column indexes are copied unchanged."""
    data = parquet_bytes(layout)
    out, _new = spliced(data)
    fmd_a, _ = read_footer(out, None)
    fmd_b, _ = read_footer(data, None)
    n_pages = 0
    for rg_a, rg_b in zip(splice._get(fmd_a, splice.FMD_ROW_GROUPS)[1], splice._get(fmd_b, splice.FMD_ROW_GROUPS)[1]):
        for c, (cc_a, cc_b) in enumerate(zip(splice._get(rg_a, 1)[1], splice._get(rg_b, 1)[1])):
            locs = []
            for cc, buf in ((cc_a, out), (cc_b, data)):
                off, n = splice._get(cc, splice.CC_OFFSET_INDEX_OFFSET), splice._get(cc, splice.CC_OFFSET_INDEX_LENGTH)
                index, _end = splice._read_struct(buf[off:off + n], 0, None)
                locs.append([(splice._get(p, 1), splice._get(p, 2), splice._get(p, 3))
                             for p in splice._get(index, 1)[1]])
            assert len(locs[0]) == len(locs[1]) or c == 0
            for offset, size, _first_row in locs[0]:
                assert _page_header_size(out, offset) == size
                n_pages += 1
            if c:
                assert [r for _o, _s, r in locs[0]] == [r for _o, _s, r in locs[1]]
                for (oa, sa, _), (ob, sb, _) in zip(*locs):
                    assert sa == sb and out[oa:oa + sa] == data[ob:ob + sb]
                ci = [(splice._get(cc, splice.CC_COLUMN_INDEX_OFFSET), splice._get(cc, splice.CC_COLUMN_INDEX_LENGTH))
                      for cc in (cc_a, cc_b)]
                if ci[1][0] is not None:
                    assert out[ci[0][0]:ci[0][0] + ci[0][1]] == data[ci[1][0]:ci[1][0] + ci[1][1]]
    assert n_pages > 0


def test_the_splice_only_adds_the_suffix_bytes_and_is_deterministic():
    data = parquet_bytes("page index")
    out, _ = spliced(data)
    assert spliced(data)[0] == out
    assert spliced(data, "#3")[0] != out
    # every column but id is the original bytes: the file grows by about the new ids' encoded size only
    assert abs(len(out) - len(data)) < 2_000 < len(data) // 50


def _nested() -> bytes:
    buf = io.BytesIO()
    pq.write_table(pa.table({"id": ["a", "b"], "meta": [{"x": 1}, {"x": 2}]}), buf)
    return buf.getvalue()


def _bloom() -> bytes:
    buf = io.BytesIO()
    pq.write_table(TABLE.slice(0, 20), buf, bloom_filter_options={"text": {}})
    return buf.getvalue()


@pytest.mark.parametrize("data, column, match", [
    (b"not a parquet file at all", "id", "not a Parquet file"),
    (parquet_bytes("default")[:-20] + b"PAR1", "id", "malformed|not a Parquet"),
    (parquet_bytes("default"), "identifier", "no single column 'identifier'"),
    (_nested(), "id", "nested columns are not spliced"),
    (_bloom(), "id", "bloom filters are not spliced"),
])
def test_layouts_the_splice_refuses(data, column, match):
    with pytest.raises(SpliceUnsupported, match=match):
        ColumnSplicer(data, column)


def test_a_splice_of_another_row_count_is_refused():
    sp = ColumnSplicer(parquet_bytes("default"), "id")
    with pytest.raises(SpliceUnsupported, match="another row count"):
        sp.splice(pa.array(["x"]))


def test_repeats_fall_back_to_a_re_encode_when_the_splice_refuses(tmp_path):
    """A first copy the splice cannot handle (a bloom filter here) still gets its repeats, re-encoded."""
    first = tmp_path / "s--000.parquet"
    first.write_bytes(_bloom())
    repeats = [str(tmp_path / "s--000_e2.parquet"), str(tmp_path / "s--000_e3.parquet")]
    hashes: dict = {}
    trusted = {str(first): (first.stat().st_size, {"groups": []})}
    _splice_repeats(str(first), repeats, hashes, trusted)
    src = pq.read_table(first)
    for k, path in ((2, repeats[0]), (3, repeats[1])):
        got = pq.read_table(path)
        assert got.column("id").to_pylist() == [f"{i}#{k}" for i in src.column("id").to_pylist()]
        assert got.drop_columns(["id"]).equals(src.drop_columns(["id"]))
        assert hashes[path] == ("xxh3_128", xxhash.xxh3_128(Path(path).read_bytes()).hexdigest())
        assert path not in trusted  # re-encoded: read back by the licence check, not trusted


def test_spliced_repeats_are_hashed_and_trusted_like_their_first_copy(tmp_path):
    first = tmp_path / "s--000.parquet"
    first.write_bytes(parquet_bytes("row groups and page index"))
    repeats = [str(tmp_path / "s--000_e2.parquet")]
    hashes: dict = {}
    summary = {"groups": [["s", "fr", "CC0-1.0", 1, 1]]}
    trusted = {str(first): (first.stat().st_size, summary)}
    _splice_repeats(str(first), repeats, hashes, trusted)
    raw = Path(repeats[0]).read_bytes()
    assert hashes[repeats[0]] == ("xxh3_128", xxhash.xxh3_128(raw).hexdigest())
    assert trusted[repeats[0]] == (len(raw), summary)
    assert pq.read_table(repeats[0]).column("id").to_pylist() == [f"{i}#2" for i in TABLE.column("id").to_pylist()]


# --------------------------------------------------------------------------------------------- the Thrift codec

from hypothesis import given, settings, strategies as st  # noqa: E402

_INTS = {splice._I16: (-2**15, 2**15 - 1), splice._I32: (-2**31, 2**31 - 1), splice._I64: (-2**63, 2**63 - 1)}


def _value(t: int, depth: int):
    if t in _INTS:
        return st.integers(*_INTS[t])
    if t == splice._BINARY:
        return st.binary(max_size=40)
    if t == splice._BYTE:
        return st.integers(0, 255)
    if t == splice._DOUBLE:
        return st.binary(min_size=8, max_size=8)
    if t == splice._STRUCT:
        return _struct(depth - 1)
    if t in (splice._LIST, splice._SET):
        return _element_type(depth).flatmap(
            lambda et: st.lists(st.sampled_from([1, 2]) if et in (splice._TRUE, splice._FALSE) else _value(et, depth - 1),
                                max_size=20).map(lambda items: (et, items)))
    raise AssertionError(t)


def _element_type(depth: int):
    scalars = [splice._TRUE, splice._BYTE, splice._I16, splice._I32, splice._I64, splice._DOUBLE, splice._BINARY]
    return st.sampled_from(scalars + ([splice._STRUCT, splice._LIST] if depth > 0 else []))


@st.composite
def _struct(draw, depth: int = 3):
    """A random compact-protocol struct: field ids increasing by 1-40 (short and long headers), every type."""
    types = [splice._TRUE, splice._BYTE, splice._I16, splice._I32, splice._I64, splice._DOUBLE, splice._BINARY]
    if depth > 0:
        types += [splice._STRUCT, splice._LIST, splice._SET]
    fields, fid = [], 0
    for _ in range(draw(st.integers(0, 6))):
        fid += draw(st.integers(1, 40))
        t = draw(st.sampled_from(types))
        if t == splice._TRUE:
            v = draw(st.booleans())
            fields.append([fid, splice._TRUE if v else splice._FALSE, v])
        else:
            fields.append([fid, t, draw(_value(t, depth))])
    return fields


@settings(max_examples=300, deadline=None)
@given(_struct())
def test_thrift_codec_round_trips_any_struct(fields):
    """encode -> decode gives the struct back, and decode -> encode the bytes back, with every field decoded
    and with every nested field kept raw (the lazy decoding the splice uses)."""
    raw = encode_struct(fields)
    decoded, end = splice._read_struct(raw, 0, None)
    assert end == len(raw) and decoded == fields
    lazy, end = splice._read_struct(raw, 0, {})
    assert end == len(raw) and encode_struct(lazy) == raw
    assert splice._skip(raw, 0, splice._STRUCT) == len(raw)
    assert encode_struct(splice._clone(lazy)) == raw


@pytest.mark.parametrize("n", [0, 1, 14, 15, 16, 200])
@pytest.mark.parametrize("delta", [1, 15, 16, 300])
def test_thrift_codec_header_boundaries(n, delta):
    """Where the compact protocol switches header forms: list sizes 14/15 (size in the header up to 14) and
    field id deltas 15/16 (delta in the header up to 15), and negative zigzag integers."""
    fields = [[delta, splice._LIST, (splice._I64, [(-1) ** i * 2 ** (i % 64) for i in range(n)])],
              [delta + 1, splice._I32, -(2 ** 31)], [2 * delta + 1, splice._STRUCT, [[delta, splice._BINARY, b"x" * n]]]]
    raw = encode_struct(fields)
    assert splice._read_struct(raw, 0, None) == (fields, len(raw))
    assert splice._skip(raw, 0, splice._STRUCT) == len(raw)


def test_a_page_index_pointing_outside_the_file_is_refused():
    """A footer whose offset index points past the file (a damaged or foreign writer): refused, not written."""
    data = parquet_bytes("page index")
    fmd, raw = read_footer(data, None)
    row_group = splice._get(fmd, splice.FMD_ROW_GROUPS)[1][0]
    text_chunk = splice._get(row_group, splice.RG_COLUMNS)[1][1]
    splice._set(text_chunk, splice.CC_OFFSET_INDEX_OFFSET, splice._I64, len(data) + 100)
    footer = encode_struct(fmd)
    bad = data[:len(data) - 8 - len(raw)] + footer + len(footer).to_bytes(4, "little") + b"PAR1"
    sp = ColumnSplicer(bad, "id")
    with pytest.raises(SpliceUnsupported, match="offset index outside the file"):
        sp.splice(sp.column)
