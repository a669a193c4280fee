"""Review 41 of the reader (accounting and error messages): records lost to one bad value or byte, or called what they
are not.

* F1: a Parquet value Python cannot represent (a timestamp past year 9999) in a column the recipe does not read made
  its whole batch `read_corrupt_file`: only the columns the recipe uses are read now, and a row whose used value
  cannot be converted is removed alone as `read_unconvertible_value`.
* F2: one lone surrogate code unit in a UTF-16 JSONL file lost the rest of the file as `read_truncated_file`: its line
  alone is removed now (`read_invalid_utf8`, with its line number).
* F3: a compressed input named in upper case (`.JSONL.GZ`, `.ZST`, `.BZ2`, `.XZ`, `.TXT.GZ`) was read as raw bytes,
  its records lost as garbage lines: extensions are read in any case, as fsspec's `infer_compression` does.
* F6: a JSONL file with CR-only line ends that ended with one LF (`echo >>`, an editor's final newline, `cat` with an
  LF file) was one record: a lone CR ends a line wherever it is, as in universal newlines (datatrove's text mode).
* F7: `type: text`: a compressed file cut short was `read_corrupt_file`; it is `read_truncated_file` (as for jsonl),
  and damaged compressed data stays `read_corrupt_file`.
* F4: `hf_dataset` on a local folder with a bad JSON line: the message kept only "An error occurred while generating
  the dataset" and pointed at the network; it now gives the causes (the parse error and its row), the file datasets logged and, for a local
  folder, suggests `type: jsonl` (record-level quarantine) instead.

Real records: slices of /work/shared/corpora (UD German-, English-, French- and Italian-PUD,
CC-BY-SA-3.0; Gutenberg 44157, public
domain in the US), written to ``tmp_path``.
"""
from __future__ import annotations

import bz2
import gzip
import json
import lzma

import pyarrow as pa
import pyarrow.parquet as pq

from .conftest import SHARED
from .test_inputs import make_build


def _records(name: str, n: int | None = None) -> list[dict]:
    lines = (SHARED / name).read_text(encoding="utf-8").splitlines()
    return [json.loads(x) for x in lines[:n] if x.strip()]


def _details(removed) -> dict[str, dict]:
    return {r["id"]: json.loads(r["metadata"]) for r in removed.iter_rows(named=True)}


PQ_RECIPE = """\
    name: ts
    category: web
    languages: [de]
    license: CC-BY-SA-3.0
    input:
      type: parquet
      paths: ["../*.parquet"]
    """


def _pud_with_far_timestamp(tmp_path) -> list[dict]:
    """The 397 real German-PUD documents with a ``crawl_time`` column, 0 but row 200's 10^12 s (year ~33658: a valid
    Parquet value Python's datetime cannot hold)."""
    recs = _records("de_ud_pud.jsonl")
    ts = [0] * len(recs)
    ts[200] = 10 ** 12
    pq.write_table(pa.table({"id": [r["id"] for r in recs], "text": [r["text"] for r in recs],
                             "crawl_time": pa.array(ts, pa.timestamp("s"))}), tmp_path / "pud_de.parquet")
    return recs


def test_parquet_value_in_a_column_not_read_loses_nothing(tmp_path):
    recs = _pud_with_far_timestamp(tmp_path)
    led, kept, removed = make_build(tmp_path, PQ_RECIPE)
    assert led["records_read"] == len(recs) == kept.height == 397
    assert removed.height == 0 and not led["quarantined_files"]
    # the field checks still name every column of the file, read or not
    assert led["read_checks"]["record_fields"] == ["crawl_time", "id", "text"]


def test_parquet_licence_named_column_of_another_type_is_not_read(tmp_path):
    """Code review: with no `license_field`, every licence-named column was read for the field checks, so a
    `license_checked_at` timestamp past year 9999 removed its good row as `read_unconvertible_value`, with advice to
    leave out of the recipe's fields a column that was not in them. Only licence-named text columns are read (the
    checks sample their text); such a text column still reaches the checks."""
    recs = _records("de_ud_pud.jsonl", 40)
    ts = [0] * len(recs)
    ts[7] = 10 ** 12
    pq.write_table(pa.table({"id": [r["id"] for r in recs], "text": [r["text"] for r in recs],
                             "license_checked_at": pa.array(ts, pa.timestamp("s")),
                             "licence": ["CC-BY-SA-3.0"] * len(recs)}), tmp_path / "pud_de.parquet")
    led, kept, removed = make_build(tmp_path, PQ_RECIPE)
    assert led["records_read"] == kept.height == 40 and removed.height == 0, removed
    assert "licence" in json.dumps(led["read_checks"].get("record_licenses"))  # the text column was sampled


def test_parquet_unconvertible_value_removes_its_row_alone(tmp_path):
    recs = _pud_with_far_timestamp(tmp_path)
    led, kept, removed = make_build(tmp_path, PQ_RECIPE + "  metadata_fields: [crawl_time]\n")
    assert kept.height == 396 and removed.height == 1
    bad = f"ts/{recs[200]['id']}"  # removed under its own id
    assert removed.row(0, named=True)["id"] == bad
    assert removed["removal_reason"].to_list() == ["read_unconvertible_value"]
    meta = _details(removed)[bad]
    assert meta["source_record"] == 200
    detail = meta["read_error_detail"]
    assert detail.startswith("row 200: column 'crawl_time'") and "OverflowError" in detail, detail
    assert "this row alone is removed" in detail
    assert not led["quarantined_files"]  # a file pyarrow reads is not corrupt
    assert led["read_removed"] == {"read_unconvertible_value": 1}


def test_parquet_dotted_metadata_field_reads_its_leaf_alone(tmp_path):
    """`metadata_fields: [meta.sent_id]` read the whole `meta` struct: a timestamp past year 9999 in `meta.crawl_time`,
    a field nothing reads, removed its row as `read_unconvertible_value` (and every field of a wide struct became
    Python objects). The leaf alone is read now; a leaf reached through a JSON string still parses it."""
    recs = _records("de_ud_pud.jsonl")
    ts = [0] * len(recs)
    ts[200] = 10 ** 12
    meta = pa.StructArray.from_arrays(
        [pa.array([r["id"].upper() for r in recs]), pa.array(ts, pa.timestamp("s")),
         pa.array([json.dumps({"n": i}) for i in range(len(recs))])], names=["sent_id", "crawl_time", "extra"])
    pq.write_table(pa.table({"id": [r["id"] for r in recs], "text": [r["text"] for r in recs], "meta": meta}),
                   tmp_path / "pud_de.parquet")
    led, kept, removed = make_build(tmp_path, PQ_RECIPE + "  metadata_fields: [meta.sent_id, meta.extra.n, meta.gone]\n")
    assert led["records_read"] == kept.height == 397 and removed.height == 0, removed
    got = [json.loads(m) for m in kept.sort("id")["metadata"]]
    want = sorted(recs, key=lambda r: f"ts/{r['id']}")
    assert [(g["meta.sent_id"], g["meta.extra.n"]) for g in got] == [
        (r["id"].upper(), recs.index(r)) for r in want]
    assert all("meta.gone" not in g and "crawl_time" not in json.dumps(g) for g in got)
    # the struct read whole when the recipe asks for it: the far timestamp removes its row, as before
    led, kept, removed = make_build(tmp_path / "whole", PQ_RECIPE.replace('"../*.parquet"', '"../../*.parquet"')
                                    + "  metadata_fields: [meta]\n")
    assert kept.height == 396 and removed["removal_reason"].to_list() == ["read_unconvertible_value"]


def test_parquet_literal_dotted_column_wins_beside_its_prefix_column(tmp_path):
    """rv50: with columns `meta` (a JSON string) and a literal `meta.license`, reading `meta` whole dropped
    `meta.license` from the read, and the licence came from `meta`'s JSON (CC-BY-4.0 instead of the NC the column
    says); with `license_field: meta.license` the source failed as if no record had one. A literal column wins."""
    recs = _records("de_ud_pud.jsonl", 20)
    pq.write_table(pa.table({"id": [r["id"] for r in recs], "text": [r["text"] for r in recs],
                             "meta": [json.dumps({"license": "CC-BY-4.0"})] * len(recs),
                             "meta.license": ["CC-BY-NC-4.0"] * len(recs)}), tmp_path / "pud_de.parquet")
    led, kept, removed = make_build(tmp_path, PQ_RECIPE + "  license_field: meta.license\n      metadata_fields: [meta]\n")
    assert kept.height == 20 and removed.height == 0
    assert set(kept["license"]) == {"CC-BY-NC-4.0"}


def test_utf16_jsonl_lone_surrogate_removes_its_line_alone(tmp_path):
    recs = _records("en_ud_pud.jsonl")
    data = b"\xff\xfe"  # UTF-16-LE with its BOM; line 200's text starts with a lone high surrogate (0xD800)
    for i, r in enumerate(recs):
        line = (json.dumps({"id": r["id"], "text": r["text"]}, ensure_ascii=False) + "\n").encode("utf-16-le")
        if i == 199:
            k = line.index('"text": "'.encode("utf-16-le")) + len('"text": "'.encode("utf-16-le"))
            line = line[:k] + b"\x00\xd8" + line[k:]
        data += line
    (tmp_path / "pud_en_utf16.jsonl").write_bytes(data)
    led, kept, removed = make_build(tmp_path, """\
        name: u16
        category: web
        languages: [en]
        license: CC-BY-SA-3.0
        input: {type: jsonl, paths: ["../*.jsonl"]}
        """)
    assert led["records_read"] == 397 and kept.height == 396
    assert removed["removal_reason"].to_list() == ["read_invalid_utf8"]
    meta = _details(removed)["u16/pud_en_utf16.jsonl:200"]
    assert meta["source_record"] == 200
    at = len(json.dumps({"id": recs[199]["id"], "text": ""})) - 2  # where the text's value starts
    assert meta["read_error_detail"].startswith(f"line 200: a lone UTF-16 surrogate code unit at character {at},")
    assert not led["quarantined_files"]  # the file is not truncated
    assert set(kept["id"]) == {f"u16/{r['id']}" for i, r in enumerate(recs) if i != 199}


def test_upper_case_compressed_extensions_are_decompressed(tmp_path):
    import zstandard

    lines = (SHARED / "fr_ud_pud.jsonl").read_bytes().splitlines(keepends=True)[:100]
    compress = {"a.JSONL.GZ": gzip.compress, "b.jsonl.ZST": zstandard.ZstdCompressor().compress,
                "c.Jsonl.BZ2": bz2.compress, "d.jsonl.XZ": lzma.compress}
    for k, (name, fn) in enumerate(compress.items()):
        (tmp_path / name).write_bytes(fn(b"".join(lines[25 * k:25 * (k + 1)])))
    led, kept, removed = make_build(tmp_path, """\
        name: up
        category: web
        languages: [fr]
        license: CC-BY-SA-3.0
        input: {type: jsonl, paths: ["../a.*", "../b.*", "../c.*", "../d.*"]}
        """)
    assert led["records_read"] == 100 and kept.height == 100 and removed.height == 0
    assert set(kept["id"]) == {f"up/{json.loads(x)['id']}" for x in lines}
    book = (SHARED / "problematic" / "real_utf8-bom_crlf_gutenberg-44157.txt").read_bytes()
    (tmp_path / "t").mkdir()
    (tmp_path / "t" / "book.TXT.GZ").write_bytes(gzip.compress(book))
    led, kept, removed = make_build(tmp_path / "t", """\
        name: txt
        category: book
        languages: [en]
        license: CC-PDDC
        input: {type: text, paths: ["../*.GZ"]}
        """)
    assert kept.height == 1 and removed.height == 0
    assert kept["text"][0] == book[3:].decode("utf-8")  # (its UTF-8 BOM stripped)


def test_lone_cr_line_ends_before_a_final_lf_are_line_ends(tmp_path):
    lines = (SHARED / "fr_ud_pud.jsonl").read_bytes().splitlines()[:60]
    (tmp_path / "mac_final_lf.jsonl").write_bytes(b"\r".join(lines[:50]) + b"\n")
    # a CR-ended file joined by `cat` with an LF-ended one: the CR file's lines, then the LF file's
    (tmp_path / "joined.jsonl").write_bytes(b"".join(x + b"\r" for x in lines[50:55])
                                            + b"".join(x + b"\n" for x in lines[55:60]))
    led, kept, removed = make_build(tmp_path, """\
        name: cr
        category: web
        languages: [fr]
        license: CC-BY-SA-3.0
        input: {type: jsonl, paths: ["../*.jsonl"]}
        """)
    assert led["records_read"] == 60 and kept.height == 60 and removed.height == 0
    where = {r["id"]: (json.loads(r["metadata"])["source_file"], json.loads(r["metadata"])["source_record"])
             for r in kept.iter_rows(named=True)}
    for k, x in enumerate(lines):
        file, line = ("mac_final_lf.jsonl", k + 1) if k < 50 else ("joined.jsonl", k - 49)
        assert where[f"cr/{json.loads(x)['id']}"] == (file, line)


def test_text_compressed_file_cut_short_is_truncated_damaged_is_corrupt(tmp_path):
    import zstandard

    book = (SHARED / "problematic" / "real_utf8-bom_crlf_gutenberg-44157.txt").read_bytes()
    gz = gzip.compress(book)
    (tmp_path / "cut.txt.gz").write_bytes(gz[:5000])
    (tmp_path / "cut.txt.zst").write_bytes(zstandard.ZstdCompressor().compress(book)[:5000])
    (tmp_path / "cut.txt.bz2").write_bytes(bz2.compress(book)[:5000])
    damaged = bytearray(gz)
    for k in range(len(gz) // 2, len(gz) // 2 + 64):  # deflate data overwritten in the middle: wrong, not cut
        damaged[k] ^= 0x5A
    (tmp_path / "damaged.txt.gz").write_bytes(bytes(damaged))
    (tmp_path / "whole.txt.gz").write_bytes(gz)
    led, kept, removed = make_build(tmp_path, """\
        name: txt
        category: book
        languages: [en]
        license: CC-PDDC
        input: {type: text, paths: ["../*.txt.*"]}
        """)
    assert kept["id"].to_list() == ["txt/whole.txt.gz"]
    assert dict(zip(removed["id"], removed["removal_reason"])) == {
        "txt/cut.txt.gz:0": "read_truncated_file", "txt/cut.txt.zst:0": "read_truncated_file",
        "txt/cut.txt.bz2:0": "read_truncated_file", "txt/damaged.txt.gz:0": "read_corrupt_file"}
    assert all(d["read_error_detail"].startswith("EOFError") for i, d in _details(removed).items() if "cut" in i)
    assert sorted(q["file"] for q in led["quarantined_files"]) == ["cut.txt.bz2", "cut.txt.gz", "cut.txt.zst",
                                                                    "damaged.txt.gz"]


def test_hf_dataset_local_folder_bad_line_message_gives_the_cause_and_the_fix(tmp_path):
    lines = (SHARED / "it_ud_pud.jsonl").read_bytes().splitlines(keepends=True)[:40]
    (tmp_path / "ds" / "data").mkdir(parents=True)
    (tmp_path / "ds" / "data" / "train-0.jsonl").write_bytes(b"".join(lines[:20]))
    (tmp_path / "ds" / "data" / "train-1.jsonl").write_bytes(b"".join(lines[20:]) + b'{"id": "bad", "text": "oops\n')
    led, kept, removed = make_build(tmp_path, """\
        name: hf
        category: web
        languages: [it]
        license: CC-BY-SA-3.0
        input: {type: hf_dataset, dataset: ../ds, split: train}
        """, tasks=1)
    assert removed["removal_reason"].to_list() == ["read_dataset_unavailable"]
    detail = json.loads(removed["metadata"][0])["read_error_detail"]
    assert detail.startswith("DatasetGenerationError: "), detail
    assert "<- ArrowInvalid: JSON parse error" in detail and "in row 20" in detail, detail  # the cause, kept
    assert "train-1.jsonl" in detail, detail  # the file datasets failed on (it says so in its log only)
    assert "../ds is a local dataset folder" in detail and "`type: jsonl` and `paths:`" in detail, detail
    assert "HF_HUB_OFFLINE" not in detail and "dataset id" not in detail, detail  # not the Hub's advice


def test_a_damaged_save_to_disk_folder_is_not_told_to_read_its_metadata_as_jsonl(tmp_path):
    """Code review: a save_to_disk folder whose data file is damaged got the hint to read it with `type: jsonl`, for
    its dataset_info.json and state.json; its data is in .arrow files."""
    import datasets

    recs = _records("it_ud_pud.jsonl", 40)
    ds = tmp_path / "ds"
    datasets.Dataset.from_dict({"id": [r["id"] for r in recs], "text": [r["text"] for r in recs]}).save_to_disk(str(ds))
    (arrow,) = ds.glob("*.arrow")
    arrow.write_bytes(arrow.read_bytes()[:200])  # cut short
    led, kept, removed = make_build(tmp_path, """\
        name: saved
        category: web
        languages: [it]
        license: CC-BY-SA-3.0
        input: {type: hf_dataset, dataset: ../ds, split: train}
        """)
    # each of the two tasks reports its own share unread (review 49: a failure in one task only was silent)
    assert [q["file"] for q in led["quarantined_files"]] == ["../ds[train] task 1/2", "../ds[train] task 2/2"]
    for q in led["quarantined_files"]:
        assert "written by save_to_disk (its data is in .arrow files)" in q["detail"], q
        assert "`type: jsonl` and `paths:`" not in q["detail"], q
