"""Review 7 of the reader: a binary file read as text, the position of a cut gzip, input files with no record.

* A file of random bytes (or a gzip, a PDF…) under ``input: {type: text}`` became a kept document, half of it
  U+FFFD, with only ``read_note: undecodable_bytes_replaced``: it is now removed at ``read`` (``read_binary_file``,
  quarantined; ``read_invalid_utf8`` for a text most of whose bytes no encoding decodes), while real texts in odd
  encodings and a text with a few stray bytes read as before.
* The removed row of a cut ``.jsonl.gz`` had the position (and id) of the last good record, which is kept.
* An empty ``.jsonl`` (0 bytes, or blank lines only) was accepted without a word; it is now counted in the
  ledger's ``read_checks`` and warned about, without a document (records_read counts real records only).
"""
import gzip
import json
import random
import shutil

import pyarrow as pa
import pyarrow.parquet as pq

from lucie_data.steps.readers import decode_text_file, not_text

from .test_inputs import PROB, make_build

TXT = "real_utf8-bom_crlf_gutenberg-44157.txt"


def _random_bytes(n: int, seed: int = 7) -> bytes:
    rnd = random.Random(seed)
    return bytes(rnd.getrandbits(8) for _ in range(n))


def test_binary_files_read_as_text_are_removed_real_texts_kept(tmp_path):
    for f in ("real_iso-8859-1_crlf_gutenberg-44157.txt", TXT, "derived_truncated_mid-utf8-sequence.txt"):
        shutil.copy(PROB / f, tmp_path / f)
    (tmp_path / "binary.txt").write_bytes(_random_bytes(2000))  # the reviewer's case: 2,000 random bytes
    shutil.copy(PROB / "derived_truncated.jsonl.gz", tmp_path / "archive.txt")  # a gzip named .txt
    real = (PROB / TXT).read_bytes()[3:40_003]
    stray = bytearray(real)  # a real text with two stray Latin-1 bytes: kept, with the note, as before
    stray[100:100] = b"\xe9"
    stray[20_000:20_000] = b"\xe8"
    (tmp_path / "stray.txt").write_bytes(bytes(stray))
    mangled = bytearray()  # a real text with bytes no encoding decodes every 40 characters
    for i, ch in enumerate(real[:20_000]):
        mangled.append(ch)
        if i % 40 == 0:
            mangled += b"\xff\xfe\xc0"
    (tmp_path / "mangled.txt").write_bytes(bytes(mangled))
    led, kept, removed = make_build(tmp_path, """\
        name: txt
        category: book
        languages: [fr]
        license: LicenseRef-PD-US-Project-Gutenberg
        input: {type: text, paths: ["../*.txt"]}
        stages: [{type: normalize}]
        """)
    assert dict(zip(removed["id"], removed["removal_reason"])) == {
        "txt/binary.txt:0": "read_binary_file", "txt/archive.txt:0": "read_binary_file",
        "txt/mangled.txt:0": "read_invalid_utf8"}
    details = {r["id"]: json.loads(r["metadata"])["read_error_detail"] for r in removed.iter_rows(named=True)}
    assert "not a text file" in details["txt/binary.txt:0"] and "control characters" in details["txt/binary.txt:0"]
    assert "convert the file to UTF-8" in details["txt/mangled.txt:0"]
    # a binary file is quarantined (listed at the end of the build), like a corrupt one
    assert sorted(q["file"] for q in led["quarantined_files"]) == ["archive.txt", "binary.txt"]
    # real texts read as before
    assert sorted(kept["id"]) == sorted(f"txt/{f}" for f in (
        "real_iso-8859-1_crlf_gutenberg-44157.txt", TXT, "derived_truncated_mid-utf8-sequence.txt", "stray.txt"))
    notes = {i: json.loads(m).get("read_note") for i, m in zip(kept["id"], kept["metadata"])}
    assert notes["txt/stray.txt"] == "undecodable_bytes_replaced"
    assert notes["txt/derived_truncated_mid-utf8-sequence.txt"] == "truncated_utf8_sequence_dropped"
    assert notes["txt/real_iso-8859-1_crlf_gutenberg-44157.txt"].startswith("decoded_from_")
    assert led["read_removed"] == {"read_binary_file": 2, "read_invalid_utf8": 1}


def test_not_text_thresholds_and_utf16_without_bom():
    text = (PROB / TXT).read_bytes()[3:].decode("utf-8")
    assert not_text(text, None) is None
    assert not_text(text[:1000] + "\x00", None) is None  # one stray NUL is not a binary file
    assert not_text("Bonjour\x00\x00\x00\x00 tout le monde", None)[0] == "read_binary_file"
    few = text[:2000] + "\ufffd\ufffd"
    assert not_text(few, "undecodable_bytes_replaced") is None
    assert not_text(few.replace("e", "\ufffd"), "undecodable_bytes_replaced")[0] == "read_invalid_utf8"
    # U+FFFD already in a valid UTF-8 text is the text's own (it was decoded, nothing was replaced)
    assert not_text(few.replace("e", "\ufffd"), None) is None
    # ASCII text in UTF-16 without a BOM is valid UTF-8, half NULs: read as UTF-16, not removed as binary
    english = "Plain English text, nothing else in it.\n" * 20
    for enc in ("utf-16-le", "utf-16-be"):
        decoded, note = decode_text_file(english.encode(enc))
        assert decoded == english and note == f"decoded_from_{enc.replace('-', '_')}"
        assert not_text(decoded, note) is None
    # a binary file that happens to be valid UTF-8 (bytes < 0x80, NULs) is not text
    decoded, note = decode_text_file(bytes(b % 0x20 for b in _random_bytes(500)))
    assert not_text(decoded, note)[0] == "read_binary_file"


def test_cut_gzip_is_removed_at_the_next_record_not_the_last_good_one(tmp_path):
    shutil.copy(PROB / "derived_truncated.jsonl.gz", tmp_path / "cut.jsonl.gz")  # 2 whole records, then the cut
    led, kept, removed = make_build(tmp_path, """\
        name: gz
        category: web
        languages: [fr]
        license: CC-BY-4.0
        input: {type: jsonl, paths: ["../*.jsonl.gz"]}
        """)
    kept_pos = sorted(json.loads(m)["source_record"] for m in kept["metadata"])
    assert kept_pos == [1, 2]
    assert removed["id"].to_list() == ["gz/cut.jsonl.gz:3"]  # was gz/cut.jsonl.gz:2, the kept record's position
    meta = json.loads(removed["metadata"][0])
    assert removed["removal_reason"].to_list() == ["read_truncated_file"]
    assert meta["source_record"] == 3 and "after line 2" in meta["read_error_detail"]
    assert led["records_read"] == 3


def test_cut_gzip_with_positional_ids_never_clashes(tmp_path):
    """Records without an id are named by position: the cut's row must not take the last good record's id."""
    lines = b"".join(json.dumps({"text": f"Record number {i}, long enough to be a text. " * 20}).encode() + b"\n"
                     for i in range(3))
    data = gzip.compress(lines)
    (tmp_path / "cut.jsonl.gz").write_bytes(data[: len(data) - 12])  # the gzip trailer and the last bytes cut
    led, kept, removed = make_build(tmp_path, """\
        name: gz
        category: web
        languages: [en]
        license: CC-BY-4.0
        input: {type: jsonl, paths: ["../*.jsonl.gz"], id_field: null}
        """)
    ids = kept["id"].to_list() + removed["id"].to_list()
    assert len(ids) == len(set(ids)), ids
    assert removed["removal_reason"].to_list() == ["read_truncated_file"]


def test_warc_broken_after_a_warcinfo_record_does_not_reuse_a_position(tmp_path):
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    from .test_inputs import ROOT

    pages = sorted((ROOT / "data" / "demo" / "html").glob("trafilatura-*.html"))[:3]
    with open(tmp_path / "full.warc.gz", "wb") as f:
        w = WARCWriter(f, gzip=True)
        w.write_record(w.create_warcinfo_record("full.warc.gz", {"software": "test"}))
        for i, p in enumerate(pages):
            http = StatusAndHeaders("200 OK", [("Content-Type", "text/html; charset=utf-8")], protocol="HTTP/1.1")
            w.write_record(w.create_warc_record(f"https://example.org/{i}", "response", payload=open(p, "rb"),
                                                http_headers=http))
    data = (tmp_path / "full.warc.gz").read_bytes()
    (tmp_path / "full.warc.gz").unlink()
    # whole records (warcinfo 0, responses 1-3), then bytes that are no WARC record: warcio raises after record 3
    (tmp_path / "cut.warc.gz").write_bytes(data + b"garbage that is not a WARC record\n" * 3)
    led, kept, removed = make_build(tmp_path, """\
        name: warc
        category: web
        languages: [en, de]
        license: CC-BY-4.0
        input: {type: warc, paths: ["../*.warc.gz"]}
        """, tasks=1)
    pos = [json.loads(m)["source_record"] for m in kept["metadata"]] + \
          [json.loads(m)["source_record"] for m in removed["metadata"]]
    assert len(pos) == len(set(pos)), pos  # was [1, 2, 3, 3]: the error took the count of responses read
    assert sorted(pos) == [1, 2, 3, 4]
    assert removed["removal_reason"].to_list() == ["read_truncated_file"]
    assert "after record 3" in json.loads(removed["metadata"][0])["read_error_detail"]


def test_input_files_with_no_record_are_warned_about(tmp_path):
    shutil.copy(PROB / "derived_truncated_last_line.jsonl", tmp_path / "good.jsonl")
    (tmp_path / "empty.jsonl").write_bytes(b"")
    (tmp_path / "blank.jsonl").write_bytes(b"\n  \n\r\n")
    (tmp_path / "bom.jsonl").write_bytes(b"\xef\xbb\xbf")  # rv52: a record removed as read_truncated_record
    n_real = sum(1 for l in open(tmp_path / "good.jsonl", "rb") if l.strip())
    for tasks in (2, 5):  # split by file, and striped (fewer files than tasks: every task opens every file)
        d = tmp_path / f"t{tasks}"
        d.mkdir()
        led, kept, removed = make_build(d, """\
            name: js
            category: web
            languages: [fr]
            license: CC-BY-4.0
            input: {type: jsonl, paths: ["../../*.jsonl"]}
            """, tasks=tasks)
        assert led["records_read"] == n_real  # no fake document for the empty files
        assert led["read_checks"]["no_record"] == {"files": 3, "of_files": 4,
                                                   "first": ["blank.jsonl", "bom.jsonl", "empty.jsonl"]}
        w = [x for x in led["warnings"] if "held no record" in x]
        assert len(w) == 1 and "3 of 4 input file(s)" in w[0] and "blank.jsonl, bom.jsonl, empty.jsonl" in w[0]


def test_parquet_without_rows_is_warned_about(tmp_path):
    schema = pa.schema([("text", pa.string()), ("id", pa.string())])
    pq.write_table(pa.Table.from_pylist([{"text": "Un texte en français assez long.", "id": "a"}], schema=schema),
                   tmp_path / "a.parquet")
    pq.write_table(pa.Table.from_pylist([], schema=schema), tmp_path / "none.parquet")
    led, kept, removed = make_build(tmp_path, """\
        name: pq
        category: web
        languages: [fr]
        license: CC-BY-4.0
        input: {type: parquet, paths: ["../*.parquet"]}
        """)
    assert led["records_read"] == 1 and kept.height == 1
    assert led["read_checks"]["no_record"]["first"] == ["none.parquet"]
    assert any("held no record" in w and "none.parquet" in w for w in led["warnings"])


def test_a_raw_control_character_in_a_json_string_is_named(tmp_path):
    """rv52: the detail read "Invalid control character at" (Python's message, cut before its position)."""
    (tmp_path / "a.jsonl").write_text('{"id": "a", "text": "Une ligne\tavec une tabulation."}\n'
                                      '{"id": "b", "text": "Une ligne correcte, assez longue."}\n', encoding="utf-8")
    led, kept, removed = make_build(tmp_path, """\
        name: js
        category: web
        languages: [fr]
        license: CC-BY-4.0
        input: {type: jsonl, paths: ["../a.jsonl"]}
        """, tasks=1)
    assert kept["id"].to_list() == ["js/b"] and removed["removal_reason"].to_list() == ["read_invalid_json"]
    assert json.loads(removed["metadata"][0])["read_error_detail"] == (
        "line 1, column 31: a raw control character U+0009 inside a string: JSON needs it escaped (\\t, \\n, \\u0000)")
