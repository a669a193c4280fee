"""The six input types and the real problematic inputs: readable records go on, bad ones are accounted for."""
import json
import re
import shutil
import textwrap
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from lucie_data.cli import main
from lucie_data.recipe import load_pipeline
from lucie_data.runner import build

from .conftest import DATA, ROOT, write

PROB = DATA / "problematic"


def make_build(tmp_path: Path, recipe: str, tasks: int = 2) -> tuple[dict, pl.DataFrame, pl.DataFrame]:
    write(tmp_path / "sources" / "s.yaml", textwrap.dedent(recipe))
    write(tmp_path / "p.yaml", f"name: t\nsources: [sources/*.yaml]\noutput_dir: out\nexecutor: {{tasks: {tasks}, workers: 2}}\n")
    res = build(load_pipeline(tmp_path / "p.yaml"))
    led = res.sources[0].ledger
    src = tmp_path / "out" / "sources" / led["source"]
    kept_files = list((src / "data").glob("**/*.parquet"))
    kept = pl.concat([pl.read_parquet(f) for f in kept_files]) if kept_files else pl.DataFrame()
    rem_files = list((src / "removed").glob("*/*.parquet"))
    removed = pl.concat([pl.read_parquet(f) for f in rem_files]) if rem_files else pl.DataFrame()
    assert led["balanced"], led["imbalances"]
    assert kept.height + removed.height == led["records_read"]
    return led, kept, removed


def text_of(kept: pl.DataFrame, doc_id: str) -> str:
    return kept.filter(pl.col("id") == doc_id)["text"][0]


def test_problematic_jsonl(tmp_path):
    for f in ("problematic_docs.jsonl", "derived_truncated_last_line.jsonl", "derived_truncated.jsonl.gz"):
        shutil.copy(PROB / f, tmp_path / f)
    led, kept, removed = make_build(tmp_path, """\
        name: prob
        category: web
        languages: [fr, en, de, es, it]
        license: CC-BY-4.0
        input: {type: jsonl, paths: ["../*.jsonl", "../*.jsonl.gz"]}
        stages:
          - type: normalize
          - type: exact_dedup
        """)
    reasons = dict(zip(*removed.group_by("removal_reason").len().sort("removal_reason").to_dict(as_series=False).values()))
    assert reasons["read_empty_text"] == 3  # problem-018 (real empty chapter), -019, -020 (whitespace incl. NBSP/U+3000)
    assert reasons["read_invalid_unicode"] == 1  # problem-029, lone surrogate
    assert reasons["read_truncated_record"] == 1  # the cut last JSON line
    assert reasons["read_truncated_file"] == 1  # the gzip cut at 60 %
    # real duplicates (NewsEye segment, cross-posted spam), and documents that become identical once
    # normalised: double mojibake = single mojibake; BOM/zero-width/NUL variants = the clean PUD original
    assert reasons["exact_duplicate"] == 5
    assert [q["file"].endswith("derived_truncated.jsonl.gz") for q in led["quarantined_files"]] == [True]
    # records before the gzip cut still go on
    assert kept.filter(pl.col("metadata").str.contains("derived_truncated.jsonl.gz", literal=True)).height >= 1
    dups = removed.filter(pl.col("removal_reason") == "exact_duplicate")
    assert dict(zip(dups["id"], (json.loads(m)["duplicate_of"] for m in dups["metadata"]))) == {
        "prob/problem-005": "prob/problem-004", "prob/problem-007": "prob/problem-006",
        "prob/problem-022": "prob/problem-021", "prob/problem-023": "prob/fr-pud-n01001",
        "prob/problem-024": "prob/fr-pud-n01001"}
    # normalisation repaired the real and derived defects
    assert "CURÉ" in text_of(kept, "prob/problem-021") and "été" in text_of(kept, "prob/problem-021")
    removed_text = dict(zip(removed["id"], removed["text"]))
    assert removed_text["prob/problem-022"] == text_of(kept, "prob/problem-021")  # double mojibake repaired too
    t23 = removed_text["prob/problem-023"]
    assert "\ufeff" not in t23 and "\u200b" not in t23 and t23.startswith("« Alors")
    assert "\x00" not in removed_text["prob/problem-024"]
    assert "Œil" in text_of(kept, "prob/problem-002")  # cp1252 C1 control repaired
    assert "\x96" not in text_of(kept, "prob/problem-003")
    assert "modified_by" in kept.filter(pl.col("id") == "prob/problem-021")["metadata"][0]
    # near-duplicates are not exact duplicates: both stay until fuzzy dedup
    assert {"prob/problem-025", "prob/problem-026"} <= set(kept["id"])
    # the read stage's `in` is every record seen, good and bad
    assert led["stages"][0]["docs_in"] == led["records_read"]


def test_text_files_in_odd_encodings(tmp_path):
    for f in ("real_iso-8859-1_crlf_gutenberg-44157.txt", "real_utf8-bom_crlf_gutenberg-44157.txt",
              "derived_truncated_mid-utf8-sequence.txt"):
        shutil.copy(PROB / f, tmp_path / f)
    led, kept, removed = make_build(tmp_path, """\
        name: txt
        category: book
        languages: [fr]
        license: LicenseRef-PD-US-Project-Gutenberg
        input: {type: text, paths: ["../*.txt"]}
        stages: [{type: normalize}]
        """)
    assert kept.height == 3 and removed.height == 0
    latin1 = kept.filter(pl.col("id").str.contains("iso-8859-1"))["text"][0]
    bom = kept.filter(pl.col("id").str.contains("utf8-bom"))["text"][0]
    assert "\r" not in latin1 and "\ufeff" not in bom and "\ufffd" not in latin1
    assert "é" in latin1 and "é" in bom
    trunc = kept.filter(pl.col("id").str.contains("truncated"))
    assert json.loads(trunc["metadata"][0])["read_note"] == "truncated_utf8_sequence_dropped"
    assert json.loads(kept.filter(pl.col("id").str.contains("iso-8859-1"))["metadata"][0])["read_note"].startswith("decoded_from_")


def test_html_with_wrong_declared_charset(tmp_path):
    shutil.copy(PROB / "derived_cp1252_but_declares_utf8.html", tmp_path / "page.html")
    shutil.copy(ROOT / "data" / "demo" / "html" / "trafilatura-flowfx.de.tmux.html", tmp_path / "tmux.html")
    (tmp_path / "empty.html").write_text("<html><head><title>x</title></head><body></body></html>")
    (tmp_path / "zero.html").write_bytes(b"")  # review: trafilatura raised AttributeError and the build stopped
    (tmp_path / "blank.html").write_bytes(b" \n\t\n")
    led, kept, removed = make_build(tmp_path, """\
        name: html
        category: web
        languages: [en, de]
        license: CC-BY-4.0
        input: {type: html, paths: ["../*.html"]}
        """)
    assert kept.height == 2
    assert dict(zip(removed["id"], removed["removal_reason"])) == {
        "html/empty.html:0": "read_extraction_failed", "html/zero.html:0": "read_empty_text",
        "html/blank.html:0": "read_empty_text"}
    assert led["balanced"] and led["records_read"] == 5
    page = kept.filter(pl.col("id").str.contains("page.html"))
    assert "\ufffd" not in page["text"][0] and page["title"][0]
    assert any(ch in page["text"][0] for ch in "äöüßé")  # cp1252 bytes decoded, not replaced


def test_parquet_and_corrupt_parquet(tmp_path):
    rows = [json.loads(l) for l in open(ROOT / "data" / "demo" / "en_ud_pud.jsonl")][:50]
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "a.parquet")
    (tmp_path / "b.parquet").write_bytes(b"PAR1 this is not parquet")
    led, kept, removed = make_build(tmp_path, """\
        name: pq
        category: web
        languages: [en]
        license: CC-BY-SA-3.0
        input: {type: parquet, paths: ["../*.parquet"], metadata_fields: [genre]}
        """)
    assert kept.height == 50
    assert removed["removal_reason"].to_list() == ["read_corrupt_file"]
    assert led["quarantined_files"][0]["file"].endswith("b.parquet")


def test_warc(tmp_path):
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    pages = sorted((ROOT / "data" / "demo" / "html").glob("trafilatura-*.html"))[:3]
    with open(tmp_path / "crawl.warc.gz", "wb") as f:
        w = WARCWriter(f, gzip=True)
        for i, p in enumerate(pages):
            http = StatusAndHeaders("200 OK", [("Content-Type", "text/html; charset=utf-8")], protocol="HTTP/1.1")
            rec = w.create_warc_record(f"https://example.org/{i}", "response", payload=open(p, "rb"),
                                       http_headers=http, warc_headers_dict={"WARC-Identified-Payload-Type": "text/html"})
            w.write_record(rec)
    data = (tmp_path / "crawl.warc.gz").read_bytes()
    (tmp_path / "cut.warc.gz").write_bytes(data[: len(data) // 2])
    led, kept, removed = make_build(tmp_path, """\
        name: warc
        category: web
        languages: [en, de]
        license: CC-BY-4.0
        input: {type: warc, paths: ["../*.warc.gz"]}
        """, tasks=1)
    from_full = kept.filter(pl.col("metadata").str.contains('"source_file":"crawl.warc.gz"', literal=True))
    assert from_full.height == 3
    assert set(from_full["url"]) == {f"https://example.org/{i}" for i in range(3)}  # the crawl's URL, not the page's
    assert removed["removal_reason"].to_list() == ["read_truncated_file"]
    assert kept.height == 4  # 3 + the complete record before the cut
    assert any(q["file"] == "cut.warc.gz" for q in led["quarantined_files"])


def _local_hf_dataset(tmp_path) -> list[dict]:
    """A dataset folder as the Hub lays one out (``data/train-*.parquet``) with 30 real demo records."""
    ds = tmp_path / "ds" / "data"
    ds.mkdir(parents=True)
    rows = [json.loads(l) for l in open(ROOT / "data" / "demo" / "fr_ocr_europeana_bnf.jsonl")][:30]
    pq.write_table(pa.Table.from_pylist(rows), ds / "train-00000-of-00001.parquet")
    return rows


@pytest.mark.parametrize("name,options,n", [("hf", "", 30), ("hfs", ", streaming: true, limit: 12", 12)])
def test_hf_dataset_local_folder(tmp_path, name, options, n):
    """No machine here reaches the Hub: the same loader runs on a local dataset folder (closest honest stand-in),
    whole or streamed with a limit."""
    rows = _local_hf_dataset(tmp_path)
    led, kept, removed = make_build(tmp_path, f"""\
        name: {name}
        category: newspaper
        languages: [fr]
        license: CC0-1.0
        input: {{type: hf_dataset, dataset: ../ds, split: train{options}}}
        """)
    assert led["records_read"] == n and kept.height == n and removed.height == 0
    assert set(kept["id"]) == {f"{name}/{r['id']}" for r in rows[:n]}


def test_hf_dataset_local_folder_edited_rebuilds(tmp_path):
    """Review 49: a local dataset folder was not an input: records added to it were never read, the source "up to
    date (40 docs kept)" for good. Its files are in the build key, as inputs are (path, size, mtime)."""
    rows = _local_hf_dataset(tmp_path)
    recipe = """\
        name: hf
        category: newspaper
        languages: [fr]
        license: CC0-1.0
        input: {type: hf_dataset, dataset: ../ds, split: train}
        """
    led, kept, _ = make_build(tmp_path, recipe)
    assert led["records_read"] == kept.height == 30
    more = [json.loads(l) for l in open(ROOT / "data" / "demo" / "fr_ocr_europeana_bnf.jsonl")][30:40]
    assert len(more) == 10
    pq.write_table(pa.Table.from_pylist(more), tmp_path / "ds" / "data" / "train-00001-of-00001.parquet")
    res = build(load_pipeline(tmp_path / "p.yaml"))
    assert res.sources[0].status == "built" and res.sources[0].ledger["records_read"] == 40
    assert build(load_pipeline(tmp_path / "p.yaml")).sources[0].status == "up-to-date"
    # hidden files, which datasets does not read (a `.git/`, a `--local-dir` download's `.cache/`), change nothing (rv50)
    (tmp_path / "ds" / ".git" / "refs" / "tags").mkdir(parents=True)
    (tmp_path / "ds" / ".git" / "refs" / "tags" / "v1").write_text("0" * 40, encoding="utf-8")
    (tmp_path / "ds" / "data" / ".cache.lock").write_text("", encoding="utf-8")
    assert build(load_pipeline(tmp_path / "p.yaml")).sources[0].status == "up-to-date"
    assert len(rows) == 30


def test_hf_dataset_unreachable_is_quarantined_not_a_crash(tmp_path):
    led, kept, removed = make_build(tmp_path, """\
        name: hub
        category: web
        languages: [fr]
        license: CC0-1.0
        input: {type: hf_dataset, dataset: OpenLLM-France/Lucie-Training-Dataset, config: fr}
        """, tasks=1)
    assert kept.height == 0 and removed["removal_reason"].to_list() == ["read_dataset_unavailable"]


def test_missing_input_is_clear_error(tmp_path, capsys):
    write(tmp_path / "s.yaml", "name: s\ncategory: web\nlanguages: [fr]\nlicense: CC0-1.0\n"
          "input: {type: jsonl, paths: [nowhere.jsonl]}\n")
    code = main(["build", str(tmp_path / "s.yaml"), "--output", str(tmp_path / "out")])
    err = capsys.readouterr()
    assert code == 2 and "no file matches 'nowhere.jsonl'" in err.out + err.err
    assert "Traceback" not in err.out + err.err
    assert not (tmp_path / "out").exists()  # nothing started


def test_single_recipe_build_and_striping(tmp_path):
    """One big file, four tasks: records are striped, so every task gets work and nothing is duplicated."""
    shutil.copy(ROOT / "data" / "demo" / "en_ud_pud.jsonl", tmp_path / "en.jsonl")
    led, kept, removed = make_build(tmp_path, """\
        name: one
        category: web
        languages: [en]
        license: CC-BY-SA-3.0
        input: {type: jsonl, paths: [../en.jsonl]}
        """, tasks=4)
    files = sorted((tmp_path / "out" / "sources" / "one" / "data" / "en").glob("*.parquet"))
    assert [f.name[:5] for f in files] == ["00000", "00001", "00002", "00003"]
    assert kept.height == 397 and kept["id"].n_unique() == 397


# ------------------------------------------------------------------------------------------ metadata paths


def reader_stats(tmp_path: Path, source: str) -> dict[str, int]:
    """The reader's datatrove stats summed over every task of the build (logs/seg0/stats/<task>.json)."""
    total: dict[str, int] = {}
    for f in sorted((tmp_path / "out" / "sources" / source / "logs" / "seg0" / "stats").glob("*.json")):
        for step in json.loads(f.read_text()):
            if step["name"].endswith("Lucie reader"):
                for k, v in step["stats"].items():
                    total[k] = total.get(k, 0) + (v["total"] if isinstance(v, dict) else v)
    return total


def _novels() -> list[dict]:
    return [json.loads(l) for l in open(ROOT / "data" / "demo" / "fr_eltec_novels.jsonl", encoding="utf-8")]


def test_dotted_metadata_paths_into_json_strings_and_dicts(tmp_path):
    """`author.authoryearofdeath` reads a key inside a JSON-string field (Lucie's released `author`) or a nested
    object; a literal dotted column wins; a missing key or unparsable JSON leaves the key out, counted."""
    novels = _novels()
    recs = []
    for i, r in enumerate(novels[:6]):
        recs.append({"id": f"n{i}", "text": r["text"]})
    hugo = {"author": "Hugo, Victor", "authoryearofbirth": 1802, "authoryearofdeath": 1885}
    recs[0]["author"] = json.dumps(hugo, ensure_ascii=False)            # Lucie's layout: a JSON string
    recs[0]["extra"] = json.dumps({"usagerights": "open", "meta": {"shelf": "PQ"}})
    recs[1]["author"] = dict(hugo, authoryearofdeath=1902)              # a nested object (jsonl)
    recs[2]["author"] = json.dumps({"author": "Adam, Juliette"})        # no years
    recs[3]["author"] = "Flaubert, Gustave (1821-1880)"                  # plain text, not JSON
    recs[4]["author"] = json.dumps(hugo)
    recs[4]["author.authoryearofdeath"] = 1900                           # a literal dotted column wins
    # recs[5]: no author at all
    (tmp_path / "n.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in recs), encoding="utf-8")
    led, kept, removed = make_build(tmp_path, """\
        name: paths
        category: book
        languages: [fr]
        license: CC-BY-4.0
        input:
          type: jsonl
          paths: [../n.jsonl]
          metadata_fields: [author, author.authoryearofdeath, author.authoryearofbirth, extra.usagerights,
                            extra.meta.shelf]
        """)
    assert kept.height == 6 and removed.height == 0  # nothing lost for a missing key
    meta = {i.split("/")[1]: json.loads(m) for i, m in zip(kept["id"], kept["metadata"])}
    assert (meta["n0"]["author.authoryearofdeath"], meta["n0"]["author.authoryearofbirth"]) == (1885, 1802)
    assert meta["n0"]["author"] == recs[0]["author"]  # the JSON string itself is copied as it is
    assert (meta["n0"]["extra.usagerights"], meta["n0"]["extra.meta.shelf"]) == ("open", "PQ")
    assert meta["n1"]["author.authoryearofdeath"] == 1902
    assert "author.authoryearofdeath" not in meta["n2"] and "author.authoryearofdeath" not in meta["n3"]
    assert meta["n3"]["author"] == "Flaubert, Gustave (1821-1880)"
    assert meta["n4"]["author.authoryearofdeath"] == 1900 and meta["n4"]["author.authoryearofbirth"] == 1802
    assert not any(k.startswith("author.") for k in meta["n5"])
    stats = reader_stats(tmp_path, "paths")
    assert stats["records"] == 6
    assert stats["metadata_missing:author.authoryearofdeath"] == 3  # n2 (no key), n3 (not JSON), n5 (no field)
    assert stats["metadata_missing:author.authoryearofbirth"] == 3
    assert stats["metadata_missing:extra.usagerights"] == 5
    assert stats["metadata_missing:extra.meta.shelf"] == 5
    assert stats["metadata_unparsable_json:author"] == 1  # n3, parsed once for both of its paths
    assert "metadata_missing:author" in stats and stats["metadata_missing:author"] == 1  # n5


def test_dotted_metadata_paths_in_parquet_struct_and_json_columns(tmp_path):
    novels = _novels()
    rows = [{"id": f"p{i}", "text": r["text"],
             "author": {"name": r["author"], "authoryearofdeath": 1871 + i},
             "quality_signals": json.dumps({"ocr": 0.5 + i / 10})} for i, r in enumerate(novels[:4])]
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "a.parquet")
    assert pa.types.is_struct(pq.read_schema(tmp_path / "a.parquet").field("author").type)
    led, kept, _ = make_build(tmp_path, """\
        name: pqpaths
        category: book
        languages: [fr]
        license: CC-BY-4.0
        input: {type: parquet, paths: [../a.parquet], metadata_fields: [author.authoryearofdeath, quality_signals.ocr]}
        """)
    got = {i: json.loads(m) for i, m in zip(kept["id"], kept["metadata"])}
    assert {i: (m["author.authoryearofdeath"], m["quality_signals.ocr"]) for i, m in got.items()} == {
        f"pqpaths/p{i}": (1871 + i, 0.5 + i / 10) for i in range(4)}
    assert not any(k.startswith("metadata_missing") for k in reader_stats(tmp_path, "pqpaths"))


def test_reserved_metadata_names_are_exactly_what_the_reader_fills():
    """The names a recipe may not list in metadata_fields are the keys make_doc sets itself (kept in sync)."""
    from lucie_data.recipe import InputSpec
    from lucie_data.steps.readers import RecordReader

    spec = InputSpec(type="jsonl", paths=["x"], license_field="lic", language_field="lang").model_dump()
    r = RecordReader("s", spec, [], "/", ["fr"], "CC0-1.0", False, "/")
    novel = _novels()[0]
    rec = {"id": "1", "text": novel["text"], "lic": "cc by 4.0", "url": "https://x.org/1", "title": "t", "date": "1880",
           "lang": "French"}  # mapped to `fr`, the record's value kept in language_raw
    doc = r.make_doc(rec, "f.jsonl", 0)
    assert set(doc.metadata) == set(InputSpec.READER_METADATA_KEYS)


# ------------------------------------------------------------------------------------------ hf_dataset over tasks
HF_FILE_SIZES = (2, 9, 4)  # rows per data file: a split by files (11 | 4) differs from record striping (8 | 7)


def _hf_dataset_files(tmp_path: Path) -> list[dict]:
    """A Hub-style dataset folder with three parquet files of real OCR pages, sizes HF_FILE_SIZES."""
    rows = [json.loads(l) for l in open(ROOT / "data" / "demo" / "fr_ocr_europeana_bnf.jsonl", encoding="utf-8")]
    d = tmp_path / "ds" / "data"
    d.mkdir(parents=True)
    out, start = [], 0
    for k, n in enumerate(HF_FILE_SIZES):
        part = rows[start:start + n]
        start += n
        pq.write_table(pa.Table.from_pylist(part), d / f"train-{k:05d}-of-{len(HF_FILE_SIZES):05d}.parquet")
        out.append(part)
    return out


def _hf_build(tmp_path: Path, files: list[list[dict]], streaming: bool, tasks: int):
    led, kept, removed = make_build(tmp_path, f"""\
        name: hfp
        category: newspaper
        languages: [fr]
        license: CC0-1.0
        input: {{type: hf_dataset, dataset: ../../ds, split: train, streaming: {str(streaming).lower()}}}
        """, tasks=tasks)
    all_rows = [r for part in files for r in part]
    assert removed.height == 0 and led["records_read"] == len(all_rows)
    assert sorted(kept["id"]) == sorted(f"hfp/{r['id']}" for r in all_rows)  # every record exactly once
    data = tmp_path / "out" / "sources" / "hfp" / "data"
    per_task = {}
    for f in sorted(data.glob("**/*.parquet")):
        per_task[int(f.name[:5])] = per_task.get(int(f.name[:5]), 0) + pq.read_metadata(f).num_rows
    lineage = {i: (m["source_file"], m["source_record"]) for i, m in zip(kept["id"], map(json.loads, kept["metadata"]))}
    shards = {f.relative_to(data): f.read_bytes() for f in sorted(data.glob("**/*.parquet"))}
    return per_task, lineage, shards


def test_hf_streaming_tasks_read_their_own_data_files(tmp_path):
    """Streaming with as many files as tasks: task k streams only its block of files (datasets' shard()),
    so per-task counts follow the files, each record's label names its part, and reruns are byte-identical."""
    files = _hf_dataset_files(tmp_path)
    per_task, lineage, shards = _hf_build(tmp_path / "a", files, streaming=True, tasks=2)
    assert per_task == {0: HF_FILE_SIZES[0] + HF_FILE_SIZES[1], 1: HF_FILE_SIZES[2]}
    stats = [json.loads(f.read_text()) for f in
             sorted((tmp_path / "a" / "out" / "sources" / "hfp" / "logs" / "seg0" / "stats").glob("*.json"))]
    reader = [next(s["stats"] for s in task if s["name"].endswith("Lucie reader")) for task in stats]
    assert [r["hf_file_shards"]["total"] if isinstance(r["hf_file_shards"], dict) else r["hf_file_shards"]
            for r in reader] == [2, 1]  # files opened by each task, from datasets' own split
    parts = [files[0] + files[1], files[2]]
    for k, part in enumerate(parts):
        for pos, r in enumerate(part):
            assert lineage[f"hfp/{r['id']}"] == (f"../../ds[train] part {k + 1}/2", pos)
    per_task2, lineage2, shards2 = _hf_build(tmp_path / "b", files, streaming=True, tasks=2)
    assert (per_task2, lineage2) == (per_task, lineage) and shards2 == shards


def test_hf_streaming_fewer_files_than_tasks_stripes_records(tmp_path):
    files = _hf_dataset_files(tmp_path)
    per_task, lineage, _ = _hf_build(tmp_path / "a", files, streaming=True, tasks=4)
    n = sum(HF_FILE_SIZES)
    assert per_task == {k: len(range(k, n, 4)) for k in range(4)}
    rows = [r for part in files for r in part]
    assert {lineage[f"hfp/{r['id']}"] for r in rows} == {("../../ds[train]", i) for i in range(n)}


def test_hf_downloaded_dataset_split_in_row_blocks_with_global_positions(tmp_path):
    files = _hf_dataset_files(tmp_path)
    per_task, lineage, shards = _hf_build(tmp_path / "a", files, streaming=False, tasks=2)
    n = sum(HF_FILE_SIZES)
    assert per_task == {0: (n + 1) // 2, 1: n // 2}  # contiguous row blocks (datasets' Dataset.shard)
    rows = [r for part in files for r in part]
    assert [lineage[f"hfp/{r['id']}"] for r in rows] == [("../../ds[train]", i) for i in range(n)]
    # the block assignment is visible in which task wrote which record
    data = tmp_path / "a" / "out" / "sources" / "hfp" / "data"
    first = pl.concat([pl.read_parquet(f) for f in sorted(data.glob("**/00000-*.parquet"))])
    assert set(first["id"]) == {f"hfp/{r['id']}" for r in rows[: (n + 1) // 2]}
    _, _, shards2 = _hf_build(tmp_path / "b", files, streaming=False, tasks=2)
    assert shards2 == shards


def test_hf_streaming_part_that_breaks_is_reported_by_its_task(tmp_path):
    """A data file cut short (the last one): the task streaming that part reports the break, labelled with the
    part, and quarantines it; the other task's records all go on."""
    files = _hf_dataset_files(tmp_path)
    last = tmp_path / "ds" / "data" / f"train-00002-of-{len(HF_FILE_SIZES):05d}.parquet"
    last.write_bytes(last.read_bytes()[:300])
    led, kept, removed = make_build(tmp_path, """\
        name: hfcut
        category: newspaper
        languages: [fr]
        license: CC0-1.0
        input: {type: hf_dataset, dataset: ../ds, split: train, streaming: true}
        """, tasks=2)
    assert sorted(kept["id"]) == sorted(f"hfcut/{r['id']}" for r in files[0] + files[1])
    assert removed["removal_reason"].to_list() == ["read_dataset_interrupted"]
    meta = json.loads(removed["metadata"][0])
    assert (meta["source_file"], meta["source_record"]) == ("../ds[train] part 2/2", 0)
    assert "Parquet" in meta["read_error_detail"]
    assert [q["file"] for q in led["quarantined_files"]] == ["../ds[train] part 2/2"]


def test_hf_stream_broken_in_one_striped_task_is_reported_by_that_task(tmp_path, monkeypatch):
    """Review 49: with fewer data files than tasks every task streams the whole dataset (striping) and only task 0
    reported a break, as if every task saw the same one; a network break in task 1's stream lost its records after
    it without a word ("25 read, 25 kept", exit 0). Each task reports its own break, at its own next record."""
    import datasets

    import lucie_data.steps.readers as readers

    rows = _local_hf_dataset(tmp_path)  # 30 records, one data file: 2 tasks stripe it
    real, calls = readers._load_hf, []

    def load(ds_path, sp):
        ds = real(ds_path, sp)
        calls.append(1)
        if len(calls) < 2:
            return ds

        def broken():  # the second task's stream drops after 11 records (as a connection reset would)
            for i, rec in enumerate(ds):
                if i == 11:
                    raise ConnectionError("Connection reset by peer")
                yield rec
        return datasets.IterableDataset.from_generator(broken)

    monkeypatch.setattr(readers, "_load_hf", load)
    write(tmp_path / "sources" / "s.yaml", "name: hfb\ncategory: newspaper\nlanguages: [fr]\nlicense: CC0-1.0\n"
          "input: {type: hf_dataset, dataset: ../ds, split: train, streaming: true}\n")
    write(tmp_path / "p.yaml", "name: t\nsources: [sources/*.yaml]\noutput_dir: out\n"
                               "executor: {tasks: 2, workers: 1}\n")
    res = build(load_pipeline(tmp_path / "p.yaml"))
    led = res.sources[0].ledger
    assert len(calls) == 2  # (both tasks ran here, in order)
    assert led["complete"] is False and led["balanced"]
    removed = pl.concat([pl.read_parquet(f) for f in (tmp_path / "out" / "sources" / "hfb" / "removed").glob("*/*.parquet")])
    assert removed["removal_reason"].to_list() == ["read_dataset_interrupted"]
    meta = json.loads(removed["metadata"][0])
    assert meta["source_record"] == 11 and "Connection reset by peer" in meta["read_error_detail"]  # task 1's next
    kept = pl.concat([pl.read_parquet(f) for f in (tmp_path / "out" / "sources" / "hfb" / "data").glob("**/*.parquet")])
    assert kept.height == 15 + 5  # task 0: its 15; task 1: its records before the break (1, 3, 5, 7, 9)
    assert len(rows) == 30


def test_inputs_outside_the_project_keep_their_absolute_path(tmp_path):
    """Recipe and inputs sharing only the filesystem root (a corpus outside the project): lineage keeps the path
    absolute, so an auditor can open it (was ``tmp/.../novels.jsonl`` without its leading ``/``); within a shared
    folder it stays relative to it, stable across machines."""
    from lucie_data.recipe import InputSpec
    from lucie_data.steps.readers import RecordReader

    f = tmp_path / "novels.jsonl"
    f.write_text("".join(json.dumps({"id": n["id"], "text": n["text"]}) + "\n" for n in _novels()[:2]), encoding="utf-8")
    spec = InputSpec(type="jsonl", paths=[str(f)]).model_dump()
    for base, expected in (("/", str(f)), (str(tmp_path.parent), f"{tmp_path.name}/novels.jsonl")):
        docs = list(RecordReader("s", spec, [str(f)], base, ["fr"], "CC0-1.0", False, str(tmp_path)).run())
        assert [d.metadata["source_file"] for d in docs] == [expected, expected], base


def test_non_finite_numbers_become_null_in_the_metadata_json(tmp_path):
    """A `NaN` inside a JSON-string field (pandas writes Lucie-style `author` JSON so) and a bare `Infinity` in a
    jsonl record (Python's json accepts both) used to reach the `metadata` column as the tokens `NaN`/`Infinity`:
    not JSON, so polars `str.json_decode` (and JS `JSON.parse`) rejected the whole column. They are written as
    null (a NaN title too, which became the string "nan"), and the column decodes on a real build."""
    novels = _novels()
    lines = []
    for i, r in enumerate(novels[:4]):
        rec = {"id": f"n{i}", "text": r["text"], "author": json.dumps({"author": r["author"], "authoryearofdeath": 1885})}
        lines.append(json.dumps(rec, ensure_ascii=False))
    # n1: Lucie's `author` JSON as pandas writes a missing year; n2: a jsonl value Infinity and a NaN title
    lines[1] = lines[1].replace('\\"authoryearofdeath\\": 1885', '\\"authoryearofdeath\\": NaN')
    assert "NaN" in lines[1]
    lines[2] = lines[2][:-1] + ', "score": Infinity, "worst": -Infinity, "title": NaN, "votes": [1, NaN]}'
    (tmp_path / "n.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    led, kept, removed = make_build(tmp_path, """\
        name: nan
        category: book
        languages: [fr]
        license: CC-BY-4.0
        input:
          type: jsonl
          paths: [../n.jsonl]
          title_field: title
          metadata_fields: [author.authoryearofdeath, score, worst, votes]
        """)
    assert kept.height == 4 and removed.height == 0
    assert not any(t in m for m in kept["metadata"] for t in ("NaN", "Infinity"))
    kept = kept.sort("id")
    decoded = kept["metadata"].str.json_decode(infer_schema_length=None).struct.unnest()  # raised on NaN before
    by_id = dict(zip(kept["id"], decoded.to_dicts()))
    assert by_id["nan/n0"]["author.authoryearofdeath"] == 1885
    assert by_id["nan/n1"]["author.authoryearofdeath"] is None and "author.authoryearofdeath" in by_id["nan/n1"]
    assert (by_id["nan/n2"]["score"], by_id["nan/n2"]["worst"], by_id["nan/n2"]["votes"]) == (None, None, [1.0, None])
    assert kept.filter(pl.col("id") == "nan/n2")["title"][0] is None  # not the string "nan"
    for m in kept["metadata"]:  # standard JSON for any strict parser
        json.loads(m, parse_constant=lambda c: pytest.fail(f"non-standard JSON token {c}"))


def test_warc_error_responses_are_removed_with_their_status(tmp_path):
    """A 404 page ("The requested URL … was not found") and a 301 body were kept as documents (web review): only 2xx
    responses are pages' content (FineWeb and RedPajama keep 200 responses only); the others are removed, counted."""
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    page = sorted((ROOT / "data" / "demo" / "html").glob("trafilatura-*.html"))[0]
    with open(tmp_path / "crawl.warc", "wb") as f:
        w = WARCWriter(f, gzip=False)
        for i, status in enumerate(("200 OK", "404 Not Found", "301 Moved Permanently", "500 Internal Server Error")):
            http = StatusAndHeaders(status, [("Content-Type", "text/html; charset=utf-8")], protocol="HTTP/1.1")
            w.write_record(w.create_warc_record(f"https://example.org/{i}", "response", payload=open(page, "rb"),
                                                http_headers=http))
    led, kept, removed = make_build(tmp_path, """\
        name: warc
        category: web
        languages: [en, de]
        license: CC-BY-4.0
        input: {type: warc, paths: ["../*.warc"]}
        """, tasks=1)
    assert kept["url"].to_list() == ["https://example.org/0"]
    assert removed["removal_reason"].to_list() == ["read_http_error"] * 3
    details = [json.loads(m)["read_error_detail"] for m in removed["metadata"]]
    assert [d.split(":")[0] for d in details] == ["HTTP status 404 Not Found", "HTTP status 301 Moved Permanently",
                                                  "HTTP status 500 Internal Server Error"], details
    assert led["balanced"] and led["records_read"] == 4


def test_html_pages_are_decoded_as_their_bytes_and_declaration_say(tmp_path):
    """trafilatura ignores a declared charset the bytes do not fit and guesses (web review): a real UTF-8 page with one
    stray byte came out as "gestoÃen", "Ãbrigens"; the same page in ISO-8859-15, declared so, lost its € to "¤"."""
    page = (ROOT / "data" / "demo" / "html" / "trafilatura-mobilsicher.de.icloud.html").read_bytes()
    text = page.decode("utf-8")
    assert "ü" in text or "ö" in text
    pages = tmp_path / "pages"
    pages.mkdir()
    cut = page.index("ü".encode()) if "ü" in text else page.index("ö".encode())
    (pages / "stray.html").write_bytes(page[:cut] + b"\xe9" + page[cut:])  # one stray Latin-1 byte
    latin = re.sub(r"charset=[\"']?utf-8", "charset=iso-8859-15", text, count=1, flags=re.I)
    assert latin != text
    assert "dem Gerät selber" in latin
    latin = latin.replace("dem Gerät selber", "dem Gerät (5 €) selber")
    (pages / "latin.html").write_bytes(latin.encode("iso-8859-15", "replace"))
    led, kept, _removed = make_build(tmp_path, """\
        name: web
        category: web
        languages: [de]
        license: CC-BY-4.0
        input: {type: html, paths: ["../pages/*.html"]}
        """, tasks=1)
    by_file = {json.loads(m)["source_file"].rsplit("/", 1)[-1]: (t, json.loads(m))
               for t, m in zip(kept["text"], kept["metadata"], strict=True)}
    stray, meta = by_file["stray.html"]
    assert "Ã" not in stray and ("ü" in stray or "ö" in stray), stray[:300]
    assert meta["read_note"] == "undecodable_bytes_replaced" and meta["read_bytes_replaced"] == 1
    latin_text, latin_meta = by_file["latin.html"]
    assert "5 €" in latin_text and "¤" not in latin_text and "Ã" not in latin_text
    assert latin_meta["read_note"] == "decoded_from_iso8859-15" and "read_bytes_replaced" not in latin_meta


def test_one_parquet_file_over_several_tasks_keeps_every_row_once(tmp_path):
    """Code review of a speed-up (reverted): with fewer Parquet files than tasks, a batch holding none of a task's
    rows (the last one of a 1,001-row group) quarantined a valid file, and 1,000 rows came out twice, 1,002 never,
    the ledger balanced. Every row is kept exactly once whatever the tasks."""
    rows = [json.loads(line) for line in open(ROOT / "data" / "demo" / "en_ud_pud.jsonl", encoding="utf-8")]
    table = pa.Table.from_pylist([{"id": str(i), "text": rows[i % len(rows)]["text"]} for i in range(3003)])
    (tmp_path / "in").mkdir()
    pq.write_table(table, tmp_path / "in" / "one.parquet", row_group_size=1001)
    for tasks in (1, 2, 3):
        led, kept, removed = make_build(tmp_path / f"t{tasks}", f"""\
            name: pq
            category: web
            languages: [en]
            license: CC-BY-SA-3.0
            input: {{type: parquet, paths: ["{tmp_path / 'in' / 'one.parquet'}"]}}
            """, tasks=tasks)
        assert removed.height == 0 and led["records_read"] == 3003, (tasks, led["records_read"])
        assert sorted(kept["id"]) == sorted(f"pq/{i}" for i in range(3003)), tasks


def test_files_that_are_not_html_pages_say_what_they_are(tmp_path):
    """A PDF or JSON named .html was removed with "trafilatura failed: AttributeError: 'NoneType' object has no
    attribute 'source'" (web review)."""
    (tmp_path / "pages").mkdir()
    (tmp_path / "pages" / "a.html").write_bytes(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n")
    (tmp_path / "pages" / "b.html").write_text('{"text": "a JSON answer, not a page"}', encoding="utf-8")
    (tmp_path / "pages" / "c.html").write_bytes(
        (ROOT / "data" / "demo" / "html" / "trafilatura-flowfx.de.tmux.html").read_bytes())
    led, kept, removed = make_build(tmp_path, """\
        name: web
        category: web
        languages: [de, en]
        license: CC-BY-4.0
        input: {type: html, paths: ["../pages/*.html"]}
        """, tasks=1)
    assert kept.height == 1
    got = {json.loads(m)["source_file"].rsplit("/", 1)[-1]: (r, json.loads(m)["read_error_detail"])
           for r, m in zip(removed["removal_reason"], removed["metadata"], strict=True)}
    assert got["a.html"] == ("read_binary_file", "not an HTML page: a PDF file; check the recipe's `paths:`")
    assert got["b.html"] == ("read_extraction_failed", "not an HTML page: JSON data; check the recipe's `paths:`")


def test_html_declarations_browsers_would_not_follow_are_not_followed():
    """Second code review: a page declaring `idna` failed its whole source (UnicodeError); a UTF-8 page declaring
    ISO-8859-1 with one stray byte came out as "geschÃ¼tzt"; a `utf-16` label (UTF-8 to browsers) garbled a page."""
    from lucie_data.steps.readers import decode_html

    page = (ROOT / "data" / "demo" / "html" / "trafilatura-mobilsicher.de.icloud.html").read_bytes()
    cut = page.index("ü".encode())
    stray = page.replace(b'charset="UTF-8"', b'charset="iso-8859-1"')[:cut] + b"\xe9" + page[cut:]
    html, note = decode_html(stray)
    assert note == "undecodable_bytes_replaced" and "geschützt" in html and "Ã" not in html
    html, note = decode_html(page.replace(b'charset="UTF-8"', b'charset="utf-16"')[:cut] + b"\xe9" + page[cut:])
    assert note == "undecodable_bytes_replaced" and "geschützt" in html
    latin = "<html><head><meta charset=idna></head><body><p>Café crème, déjà vu.</p></body></html>".encode("latin-1")
    assert decode_html(latin) == (latin, None)  # no declaration a browser reads: trafilatura's own guess


def test_an_unconvertible_parquet_value_over_several_tasks_loses_no_row(tmp_path):
    """Code review: with one file striped over tasks, a row whose value Python cannot hold (a timestamp in year
    14,700) made the task converting it ask for its rows' owners twice: rows came out twice or never. Every row is now
    kept or removed exactly once, whatever the tasks. Review 41: a column the recipe does not read is not converted
    (every row kept), and a row whose read value cannot be converted is removed alone (`read_unconvertible_value`)."""
    rows = [json.loads(line) for line in open(ROOT / "data" / "demo" / "fr_ocr_europeana_bnf.jsonl", encoding="utf-8")]
    when = [0] * 62
    when[4] = 400_000_000_000_000_000  # microseconds: beyond datetime's year 9999
    table = pa.table({"id": [str(i) for i in range(62)], "text": [rows[i]["text"] for i in range(62)],
                      "when": pa.array(when, pa.timestamp("us"))})
    (tmp_path / "in").mkdir()
    pq.write_table(table, tmp_path / "in" / "one.parquet", row_group_size=31)
    for fields in ("[]", "[when]"):
        for tasks in (1, 3):
            led, kept, removed = make_build(tmp_path / f"t{tasks}{len(fields)}", f"""\
                name: pq
                category: newspaper
                languages: [fr]
                license: CC0-1.0
                input: {{type: parquet, paths: ["{tmp_path / 'in' / 'one.parquet'}"], metadata_fields: {fields}}}
                """, tasks=tasks)
            metas = kept["metadata"].to_list() + (removed["metadata"].to_list() if removed.height else [])
            rows_seen = [json.loads(m)["source_record"] for m in metas]
            assert sorted(rows_seen) == list(range(62)) and led["balanced"], (tasks, sorted(rows_seen))
            if fields == "[]":
                assert kept.height == 62  # `when` is not read
            else:
                assert removed["id"].to_list() == ["pq/4"] and kept.height == 61
                assert removed["removal_reason"].to_list() == ["read_unconvertible_value"]
