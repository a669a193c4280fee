"""Review 10 of the reader: a record removed at ``read`` keeps its own id, language and licence.

A record whose JSON parsed but that cannot become a document (empty text, a lone surrogate, no text, text not a
string) was removed as ``<source>/<file>:<line>`` with a null language and the recipe's licence (evidence
``recipe``), although the record names all three: ``lucie-data trace BUILD prob/problem-018`` said "not in build"
and the report counted it under the wrong licence × language. It now keeps what a kept document would take from the
record (the same mapping: ``<source>/<id_field value>``, normalised language, licence and evidence); only a record
that did not parse (bad JSON, not an object) is named by position, with the formula of a kept record without an
id. Kept documents' ids do not change.

Real records: a slice of the corpora's ``problematic/problematic_docs.jsonl`` (the same file is in tests/data;
ELTeC-ita chapters CC-BY-4.0, UD French-PUD sentences CC-BY-SA-3.0; each record keeps its own ``license`` and
``url``, the attribution those licences ask for). Records marked *derived* below are those records with a field
changed or removed, or a line cut, to make the cases the file lacks.
"""
import io
import json

import polars as pl
import pytest
import pyarrow as pa
import pyarrow.parquet as pq

from lucie_data.cli import main
from lucie_data.report.trace import trace
from lucie_data.steps.readers import RecordReader

from .conftest import ROOT, write
from .test_inputs import PROB, make_build

DOCS = PROB / "problematic_docs.jsonl"  # byte-identical to /work/shared/corpora/problematic/problematic_docs.jsonl
LINES = DOCS.read_bytes().splitlines(keepends=True)
RECS = {json.loads(b)["id"]: json.loads(b) for b in LINES}
SLICE = [2, 3, 15, 17, 18, 19, 20, 29]  # lines of the file (1-based): 4 kept, 18-20 empty, 29 a lone surrogate
EMPTY = ["problem-018", "problem-019", "problem-020"]

RECIPE = """\
    name: prob
    category: book
    languages: [fr, it]
    license: CC-BY-SA-4.0
    input:
      type: {type}
      paths: ["{paths}"]
      language_field: language
      license_field: license
    """


def _slice_lines() -> list[bytes]:
    """The slice, then derived lines: 9 problem-017 without its id (kept), 10 problem-018 without its id,
    11 problem-018 with its language and licence spelled otherwise, 12 line 18 cut (bad JSON), 13 a JSON list."""
    lines = [LINES[n - 1] for n in SLICE]
    r17 = {k: v for k, v in RECS["problem-017"].items() if k != "id"}
    r18 = {k: v for k, v in RECS["problem-018"].items() if k != "id"}
    spelled = dict(RECS["problem-018"], id="problem-018-spelled", language="Italian", license="CC BY 4.0")
    lines += [json.dumps(r, ensure_ascii=False).encode() + b"\n" for r in (r17, r18, spelled)]
    lines += [LINES[17][:40] + b"\n", b'["problem-019"]\n']
    return lines


# the ids kept by a build of _slice_lines() with the reader before this review (src/lucie_data/steps/readers.py as
# it was): they must not change
KEPT_BEFORE = ["prob/in.jsonl:9", "prob/problem-002", "prob/problem-003", "prob/problem-015", "prob/problem-017"]


def _removed(removed: pl.DataFrame) -> dict[str, dict]:
    return {r["id"]: r for r in removed.filter(pl.col("removal_stage") == "read").iter_rows(named=True)}


def _check_own(row: dict, rec: dict, reason: str, lang: str | None = None) -> None:
    assert row["removal_reason"] == reason, row
    assert row["language"] == (lang or rec["language"]), row
    assert row["license"] == rec["license"] and row["license_evidence"] == "record:license", row
    assert row["url"] == rec["url"], row


def test_jsonl_records_removed_at_read_keep_their_id_language_and_licence(tmp_path):
    write(tmp_path / "in.jsonl", b"".join(_slice_lines()).decode("utf-8"))
    led, kept, removed = make_build(tmp_path, RECIPE.format(type="jsonl", paths="../in.jsonl"))
    assert sorted(kept["id"]) == KEPT_BEFORE  # kept documents' ids unchanged
    rm = _removed(removed)
    assert sorted(rm) == sorted(["prob/" + i for i in EMPTY] + [
        "prob/problem-029", "prob/in.jsonl:10", "prob/problem-018-spelled", "prob/in.jsonl:12", "prob/in.jsonl:13"])
    for i in EMPTY:
        _check_own(rm[f"prob/{i}"], RECS[i], "read_empty_text")
    assert rm["prob/problem-018"]["language"] == "it" and rm["prob/problem-018"]["license"] == "CC-BY-4.0"
    assert rm["prob/problem-019"]["language"] == "fr" and rm["prob/problem-019"]["license"] == "CC-BY-SA-3.0"
    _check_own(rm["prob/problem-029"], RECS["problem-029"], "read_invalid_unicode")
    # no id: the positional id a kept record gets (as line 9's), with the record's language and licence
    _check_own(rm["prob/in.jsonl:10"], RECS["problem-018"], "read_empty_text")
    # language and licence normalised as for a kept record, the record's spelling kept alongside
    spelled = rm["prob/problem-018-spelled"]
    _check_own(spelled, RECS["problem-018"], "read_empty_text", lang="it")
    meta = json.loads(spelled["metadata"])
    assert meta["language_raw"] == "Italian" and meta["license_raw"] == "CC BY 4.0"
    assert meta["source_file"] == "in.jsonl" and meta["source_record"] == 11
    # a line that did not parse: named by position, the recipe's licence, no language
    for pos, reason in ((12, "read_invalid_json"), (13, "read_not_an_object")):
        row = rm[f"prob/in.jsonl:{pos}"]
        assert (row["removal_reason"], row["language"], row["license"], row["license_evidence"]) == (
            reason, None, "CC-BY-SA-4.0", "recipe"), row
    # trace finds them by their own id
    out = tmp_path / "out"
    for i, rec in [(i, RECS[i]) for i in EMPTY + ["problem-029"]] + [("problem-018-spelled", RECS["problem-018"])]:
        t = trace(out, f"prob/{i}")
        assert t["status"] == "removed" and t["removed"][0]["stage"] == "read", t
        assert (t["language"], t["license"], t["license_evidence"]) == (rec["language"], rec["license"],
                                                                         "record:license"), t
    # the report counts them under their own licence × language
    assert main(["report", str(out)]) == 0
    comp = json.loads((out / "reports" / "provenance.json").read_text(encoding="utf-8"))["composition"]
    gone = {(c["license"], c["language"]): c["docs"] for c in comp if c["status"] == "removed"}
    assert gone == {("CC-BY-4.0", "it"): 3, ("CC-BY-SA-3.0", "fr"): 3, ("CC-BY-SA-4.0", "und"): 2}, gone


def test_file_outside_the_project_ids_have_one_slash_and_kept_ids_are_unchanged(tmp_path):
    """The reviewers' case: the file read where it is (outside the recipe's folder: recorded as an absolute path)."""
    led, kept, removed = make_build(tmp_path, """\
        name: prob
        category: web
        languages: [fr]
        license: CC-BY-4.0
        input: {type: jsonl, paths: ["%s"], language_field: language, license_field: license}
        """ % DOCS)
    rm = _removed(removed)
    assert sorted(rm) == [f"prob/{i}" for i in EMPTY + ["problem-029"]]
    for i in EMPTY:
        _check_own(rm[f"prob/{i}"], RECS[i], "read_empty_text")
    _check_own(rm["prob/problem-029"], RECS["problem-029"], "read_invalid_unicode")
    # lineage as a kept record's of the same file (a path relative to the build's base when the file is under it:
    # a checkout under /tmp is, /work/main is not)
    kept_file = json.loads(kept["metadata"][0])["source_file"]
    assert kept_file.endswith("tests/data/problematic/problematic_docs.jsonl")
    assert json.loads(rm["prob/problem-018"]["metadata"])["source_file"] == kept_file
    # kept: every other record, under its own id, as before
    assert sorted(kept["id"]) == sorted(f"prob/{i}" for i in RECS if f"prob/{i}" not in rm)
    t = trace(tmp_path / "out", "prob/problem-018")
    assert (t["status"], t["language"], t["license"], t["source_record"]) == ("removed", "it", "CC-BY-4.0", 18)


def _reader(tmp_path, spec: dict, files: list, base: str = "/") -> list:
    full = {"type": "jsonl", "text_field": "text", "id_field": "id", "language_field": "language",
            "license_field": "license", "metadata_fields": [], **spec}
    return list(RecordReader("s", full, [str(f) for f in files], base, ["fr"], "CC0-1.0", False, str(tmp_path)).run())


def test_positional_ids_of_a_file_outside_the_project(tmp_path):
    """Inputs outside the project are recorded by absolute path: every positional id, kept or removed, parsed or not,
    has the one formula ``s/<absolute path>:<line>`` (so ``s//tmp/…:3``)."""
    f = tmp_path / "x.jsonl"
    lines = _slice_lines()
    f.write_bytes(lines[3] + lines[8] + lines[11] + lines[12] + lines[9])  # 017, 017 without id, cut, list, 018 no id
    docs = {d.id: d for d in _reader(tmp_path, {}, [f])}
    assert sorted(docs) == sorted(["s/problem-017", f"s/{f}:2", f"s/{f}:3", f"s/{f}:4", f"s/{f}:5"])
    assert docs[f"s/{f}:2"].metadata.get("_read_error") is None  # kept, id as always
    assert docs[f"s/{f}:5"].metadata["_read_error"] == "read_empty_text"
    assert docs[f"s/{f}:5"].metadata["language"] == "it"
    assert docs[f"s/{f}:3"].metadata["_read_error"] == "read_invalid_json"
    assert docs[f"s/{f}:4"].metadata["_read_error"] == "read_not_an_object"
    assert all(d.metadata["source_file"] == str(f) for d in docs.values())


def test_parquet_rows_removed_at_read_keep_their_id_language_and_licence(tmp_path):
    rows = [RECS[i] for i in ("problem-002", "problem-017", "problem-018", "problem-019", "problem-020")]
    rows.append({**RECS["problem-017"], "text": None, "id": "problem-017-null"})  # derived: a null text
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "in.parquet")
    led, kept, removed = make_build(tmp_path, RECIPE.format(type="parquet", paths="../in.parquet"))
    assert sorted(kept["id"]) == ["prob/problem-002", "prob/problem-017"]
    rm = _removed(removed)
    assert sorted(rm) == sorted(["prob/" + i for i in EMPTY] + ["prob/problem-017-null"])
    for i in EMPTY:
        _check_own(rm[f"prob/{i}"], RECS[i], "read_empty_text")
    _check_own(rm["prob/problem-017-null"], RECS["problem-017"], "read_text_not_string")
    assert json.loads(rm["prob/problem-019"]["metadata"])["source_record"] == 3  # the row, 0-based


def test_html_page_removed_at_read_keeps_its_sidecar_row(tmp_path):
    """An html page whose sidecar row names it, with nothing to extract: it keeps the row's id, licence, language,
    url; a page without a row is named by its file as before."""
    sidecar = [json.loads(line) for line in (ROOT / "tests" / "data" / "licences" / "html" / "pages.jsonl")
               .read_text(encoding="utf-8").splitlines()]
    row = next(r for r in sidecar if r["id"] == "trafilatura-flowfx.de.tmux")
    html = tmp_path / "html"
    html.mkdir()
    (html / "tmux.html").write_bytes((ROOT / "data" / "demo" / "html" / "trafilatura-flowfx.de.tmux.html").read_bytes())
    (html / "empty.html").write_text("<html><head><title>x</title></head><body></body></html>")  # derived
    (html / "blank.html").write_bytes(b" \n")  # derived
    (html / "norow.html").write_text("<html><head><title>y</title></head><body></body></html>")  # derived
    rows = [dict(row, path="tmux.html"),
            dict(row, path="empty.html", id="page-empty", license="CC-BY-SA-3.0", language="de",
                 url="https://example.org/empty"),
            dict(row, path="blank.html", id="page-blank", license="CC-BY-3.0", language="de",
                 url="https://example.org/blank")]
    write(html / "pages.jsonl", "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    led, kept, removed = make_build(tmp_path, """\
        name: pages
        category: web
        languages: [en, de]
        license: CC-BY-4.0
        input:
          type: html
          paths: ["../html/*.html"]
          sidecar: ../html/pages.jsonl
          sidecar_key: path
          license_field: license
          language_field: language
        """)
    assert kept["id"].to_list() == ["pages/trafilatura-flowfx.de.tmux"]
    rm = _removed(removed)
    assert sorted(rm) == ["pages/html/norow.html:0", "pages/page-blank", "pages/page-empty"]
    for pid, reason in (("page-empty", "read_extraction_failed"), ("page-blank", "read_empty_text")):
        r = next(x for x in rows if x["id"] == pid)
        got = rm[f"pages/{pid}"]
        assert (got["removal_reason"], got["language"], got["license"], got["license_evidence"], got["url"]) == (
            reason, "de", r["license"], "record:license", r["url"]), got
    assert rm["pages/html/norow.html:0"]["license_evidence"] == "recipe"


def test_warc_record_removed_at_read_keeps_its_record_id(tmp_path):
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    buf = io.BytesIO()
    w = WARCWriter(buf, gzip=False)
    pages = [(ROOT / "data" / "demo" / "html" / "trafilatura-flowfx.de.tmux.html").read_bytes(),
             b"<html><head><title>x</title></head><body></body></html>"]  # derived: nothing to extract
    ids = []
    for i, payload in enumerate(pages):
        http = StatusAndHeaders("200 OK", [("Content-Type", "text/html; charset=utf-8")], protocol="HTTP/1.1")
        rec = w.create_warc_record(f"https://example.org/{i}", "response", payload=io.BytesIO(payload),
                                   http_headers=http)
        ids.append(rec.rec_headers.get_header("WARC-Record-ID"))
        w.write_record(rec)
    (tmp_path / "site.warc").write_bytes(buf.getvalue())
    led, kept, removed = make_build(tmp_path, """\
        name: w
        category: web
        languages: [en]
        license: CC-BY-4.0
        input: {type: warc, paths: ["../site.warc"]}
        """)
    assert kept["id"].to_list() == [f"w/{ids[0]}"]
    rm = _removed(removed)
    assert list(rm) == [f"w/{ids[1]}"]
    got = rm[f"w/{ids[1]}"]
    assert (got["removal_reason"], got["url"], got["language"]) == ("read_extraction_failed", "https://example.org/1",
                                                                    "en")


def test_a_json_line_python_refuses_is_one_invalid_record_not_a_cut_file(tmp_path):
    """Read-through: an integer of 5,000 digits makes json.loads raise a plain ValueError, which was caught as a
    truncated file: the line was reported "after" the line before it and the records after it got no row."""
    f = tmp_path / "big.jsonl"
    f.write_text('{"id": "r1", "text": "Premier texte."}\n'
                 '{"id": "r2", "text": "x", "n": ' + "7" * 5000 + '}\n'
                 '{"id": "r3", "text": "Troisième texte."}\n')
    docs = {d.id: d for d in _reader(tmp_path, {}, [f])}
    assert sorted(docs) == sorted(["s/r1", f"s/{f}:2", "s/r3"])
    assert docs[f"s/{f}:2"].metadata["_read_error"] == "read_invalid_json"
    assert docs["s/r3"].metadata.get("_read_error") is None


def test_an_allowed_class_given_as_a_mapping_is_a_validation_error():
    """Read-through: `allow_classes: [{permissive: true}]` crashed validation (unhashable dict), a traceback."""
    import pydantic

    from lucie_data.licenses import LicensePolicy

    with pytest.raises(pydantic.ValidationError):
        LicensePolicy(allow_classes=[{"permissive": True}])
    assert LicensePolicy(allow_classes=["permissive", "permissive"]).allow_classes == ["permissive"]


def test_normalize_removes_an_emptied_document_with_its_original_text():
    """Read-through: the boilerplate, pii and regex filters remove a document they empty with its original text (the
    removed shard shows what was removed); normalize wrote the emptied text first."""
    from datatrove.data import Document

    from lucie_data.steps.filters import NormalizeFilter

    doc = Document(text="\u200b\u200b \x00", id="z", metadata={})
    assert NormalizeFilter().filter(doc) == (False, "normalize_empty_after_cleaning")
    assert doc.text == "\u200b\u200b \x00" and "modified_by" not in doc.metadata
