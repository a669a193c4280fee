"""Review 9 of the reader: corrupt and cut ``.jsonl.zst`` files, Western European texts in Latin-1 / cp1252.

* A ``.jsonl.zst`` of random bytes failed the whole build (``ZstdError: ... Unknown frame descriptor``, and the
  rerun failed the same way): it is now quarantined as ``read_corrupt_file``, as the same bytes in ``.jsonl.gz``.
* A cut ``.jsonl.zst`` lost its last records silently (zstandard's stream reader stops quietly in an incomplete
  frame): it is now reported as ``read_truncated_file`` after the last good record and quarantined, once, with the
  same rows whatever the number of tasks. (A zstd block is decoded whole or not at all: the records of the cut block
  cannot be read, unlike a cut gzip's.)
* A French (or German) text file in Latin-1 / cp1252 was decoded by charset_normalizer as cp1250, cp775, cp1257…
  (``é`` -> ``ķ``, ``à`` -> ``ŕ``) and kept; a recipe in Western European languages now reads it as cp1252 / Latin-1.
"""
import json
import random


from lucie_data.steps.readers import decode_text_file

from .test_inputs import PROB, ROOT, make_build
from .test_review8_shared_files import _rows

ELTEC = ROOT / "data" / "demo" / "fr_eltec_novels.jsonl"


def _random_bytes(n: int, seed: int = 9) -> bytes:
    rnd = random.Random(seed)
    return bytes(rnd.getrandbits(8) for _ in range(n))


def _eltec_lines(n: int | None = None) -> bytes:
    lines = open(ELTEC, "rb").read().splitlines(keepends=True)
    return b"".join(lines[:n] if n else lines)


def _zst(data: bytes) -> bytes:
    import zstandard

    return zstandard.ZstdCompressor().compress(data)


def test_junk_jsonl_zst_is_quarantined_like_junk_jsonl_gz(tmp_path):
    junk = _random_bytes(3000)
    (tmp_path / "junk.jsonl.zst").write_bytes(junk)
    (tmp_path / "junk.jsonl.gz").write_bytes(junk)
    (tmp_path / "good.jsonl").write_bytes(_eltec_lines(3))
    led, kept, removed = make_build(tmp_path, """\
        name: z
        category: book
        languages: [fr]
        license: CC-BY-4.0
        input: {type: jsonl, paths: ["../*.jsonl*"]}
        """)
    assert kept.height == 3  # the good file goes on
    assert sorted(zip(removed["id"], removed["removal_reason"])) == [
        ("z/junk.jsonl.gz:1", "read_corrupt_file"), ("z/junk.jsonl.zst:1", "read_corrupt_file")]
    details = {r["id"]: json.loads(r["metadata"])["read_error_detail"] for r in removed.iter_rows(named=True)}
    assert "ZstdError" in details["z/junk.jsonl.zst:1"] and "at the start" in details["z/junk.jsonl.zst:1"]
    assert sorted(q["file"] for q in led["quarantined_files"]) == ["junk.jsonl.gz", "junk.jsonl.zst"]


def test_junk_after_good_zstd_frames_is_reported_after_the_last_record(tmp_path):
    lines = _eltec_lines(4).splitlines(keepends=True)  # two frames, each whole, then junk
    (tmp_path / "a.jsonl.zst").write_bytes(_zst(b"".join(lines[:2])) + _zst(b"".join(lines[2:])) + _random_bytes(500))
    led, kept, removed = make_build(tmp_path, """\
        name: z
        category: book
        languages: [fr]
        license: CC-BY-4.0
        input: {type: jsonl, paths: ["../*.jsonl.zst"]}
        """)
    assert kept.height == 4  # both frames read
    # junk, not a cut: the bytes are wrong (review 12: a damaged stream was called truncated)
    assert removed["removal_reason"].to_list() == ["read_corrupt_file"]
    assert json.loads(removed["metadata"][0])["source_record"] == 5
    assert [q["file"] for q in led["quarantined_files"]] == ["a.jsonl.zst"]


def _cut_builds(tmp_path, name: str, data: bytes, tasks=(1, 2, 3)) -> dict:
    out = {}
    for t in tasks:
        d = tmp_path / f"{name}_t{t}"
        d.mkdir()
        (d / name).write_bytes(data)
        led, kept, removed = make_build(d, f"""\
            name: cut
            category: book
            languages: [fr]
            license: CC-BY-4.0
            input: {{type: jsonl, paths: ["../{name}"]}}
            """, tasks=t)
        out[t] = (led, *_rows(kept, removed))
    return out


def test_cut_jsonl_zst_is_reported_and_quarantined_whatever_the_tasks(tmp_path):
    full = _eltec_lines()
    n_lines = full.count(b"\n")
    z = _zst(full)
    for share in (0.13, 0.999):
        res = _cut_builds(tmp_path, f"cut{int(share * 1000)}.jsonl.zst", z[: int(len(z) * share)])
        for t, (led, kept, removed) in res.items():
            assert [r[1] for r in removed] == ["read_truncated_file"], (share, t, removed)
            cut_pos = removed[0][2]
            # every record before the cut is kept, the truncation row comes right after the last one
            assert sorted(r[1] for r in kept) == list(range(1, cut_pos)), (share, t)
            assert cut_pos <= n_lines
            assert len(led["quarantined_files"]) == 1
            assert led["quarantined_files"][0]["reason"] == "read_truncated_file"
            assert led["records_read"] == cut_pos
        assert res[2][1:] == res[1][1:] and res[3][1:] == res[1][1:], share  # the same rows for 1, 2, 3 tasks
        if share > 0.5:
            assert res[1][2][0][2] > 1  # the good records before the cut block were read


def _eltec_texts():
    return {json.loads(l)["id"]: json.loads(l)["text"] for l in open(ELTEC, encoding="utf-8")}


# excerpts charset_normalizer read as cp1250, cp852, cp1257 or mac_latin2 in Latin-1
EXCERPTS = [("eltec-fra-FRA00101-ch002", 300), ("eltec-fra-FRA00101-ch005", 300), ("eltec-fra-FRA00101-ch005", 1000),
            ("eltec-fra-FRA00401-ch003", 3000), ("eltec-fra-FRA00401-ch004", 300), ("eltec-fra-FRA00801-ch006", 1000)]


def test_latin1_and_cp1252_french_texts_are_decoded_as_such(tmp_path):
    texts = _eltec_texts()
    (tmp_path / "t").mkdir()
    expected = {}
    for i, (doc, n) in enumerate(EXCERPTS):
        text = texts[doc][:n]
        (tmp_path / "t" / f"l{i}.txt").write_bytes(text.encode("latin-1"))
        expected[f"l{i}"] = text
        # the same in cp1252 with typographic apostrophes and an ellipsis (bytes 0x80-0x9F)
        typo = text.replace("'", "\u2019") + "\u2026"
        (tmp_path / "t" / f"w{i}.txt").write_bytes(typo.encode("cp1252"))
        expected[f"w{i}"] = typo
    led, kept, removed = make_build(tmp_path, """\
        name: lat
        category: book
        languages: [fr]
        license: CC-BY-4.0
        input: {type: text, paths: ["../t/*.txt"]}
        """)
    assert removed.height == 0
    got = {json.loads(m)["source_file"].rsplit("/", 1)[-1][:-4]: (t, json.loads(m).get("read_note"))
           for t, m in zip(kept["text"], kept["metadata"])}
    for k, text in expected.items():
        out, note = got[k]
        assert note == ("decoded_from_latin_1" if k[0] == "l" else "decoded_from_cp1252"), (k, note)
        # normalize may tidy whitespace; every accented letter is the original one
        assert [c for c in out if ord(c) > 127] == [c for c in text if ord(c) > 127], k


def test_decode_text_file_prefers_western_encodings_only_for_western_recipes():
    text = _eltec_texts()["eltec-fra-FRA00101-ch002"][:300]
    data = text.encode("latin-1")
    assert decode_text_file(data, ["fr"]) == (text, "decoded_from_latin_1")
    assert decode_text_file(data, ["fr,en"]) == (text, "decoded_from_latin_1")
    assert decode_text_file(data, ["de", "it"]) == (text, "decoded_from_latin_1")
    # a recipe in another script keeps charset_normalizer's guess
    assert decode_text_file(data, ["pl"]) == decode_text_file(data)
    # the real ISO-8859-1 Gutenberg text still reads
    iso, note = decode_text_file((PROB / "real_iso-8859-1_crlf_gutenberg-44157.txt").read_bytes(), ["fr"])
    assert note == "decoded_from_latin_1" and "é" in iso and "\ufffd" not in iso
    # UTF-8 with a few stray Latin-1 bytes is not taken for cp1252 mojibake
    utf8 = (PROB / "real_utf8-bom_crlf_gutenberg-44157.txt").read_bytes()[3:20_003]
    stray = utf8[:100] + b"\xe9" + utf8[100:]
    assert decode_text_file(stray, ["fr"]) == decode_text_file(stray)
    assert decode_text_file(stray, ["fr"])[1] == "undecodable_bytes_replaced"
    # binary data is not a Western text
    assert decode_text_file(_random_bytes(2000), ["fr"]) == decode_text_file(_random_bytes(2000))
