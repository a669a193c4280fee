"""Review 11 of `report` and `trace`, on real builds.

1. After a change of the pipeline's `license_policy` and `lucie-data build P --only X`, the other sources' shards are
   as an earlier build made them, under the old policy: the report stated the new policy (manifest.json's) over them
   and warned of nothing (the build and `mix build` did); provenance.md did not state the policy at all.
2. `trace` of an id two input records share printed one document: KEPT with the first one's licence and file, then
   "removed at stage …" for the other, whose licence and file were never shown; a document removed as a duplicate of
   another with its own id read "duplicate of <its own id>".
3. With a `language_id` split (`chunk: {action: split}`) the funnel read "in 31 → kept 32, removed 1" (the ledger's
   `docs_created` was not shown) and the totals' "all" exceeded the records read, unexplained.

Texts: French sentences of UD French-PUD (data/demo/parallel_fr_en_pud.jsonl, CC-BY-SA-3.0; their English
translations for the split), each record keeping its `url`; the licences the recipes give them below are test
labels, not the sentences' licence.
"""
from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import polars as pl
import pytest

from lucie_data.cli import main
from lucie_data.report.trace import format_trace, trace

ROOT = Path(__file__).resolve().parents[1]
PUD = [json.loads(line) for line in (ROOT / "data/demo/parallel_fr_en_pud.jsonl").read_text(encoding="utf-8").splitlines()]


def _jsonl(path: Path, rows: list[dict]) -> None:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")


def _records(start: int, n: int, **extra) -> list[dict]:
    return [{"id": r["id"], "text": r["text"], "url": r["url"], **extra} for r in PUD[start:start + n]]


def _recipe(name: str, license: str, paths: list[str], stages: str = "  - type: normalize\n", extra: str = "") -> str:
    return (f"name: {name}\ncategory: web\nlanguages: [fr, en]\nlicense: {license}\n"
            f"provenance: {{url: https://github.com/UniversalDependencies/UD_French-PUD}}\n"
            f"input:\n  type: jsonl\n  paths: {json.dumps(paths)}\n  url_field: url\n{extra}stages:\n{stages}")


def _pipeline(name: str, deny: str = "") -> str:
    return (f"name: {name}\nsources: [../sources/*.yaml]\noutput_dir: ../build/{name}\n"
            "executor: {type: local, workers: 1, tasks: 1}\nseed: 0\n"
            "license_policy:\n  allow_classes: [public-domain, permissive, share-alike]\n  unknown: deny\n"
            + (f"  deny: [{deny}]\n" if deny else "")
            + "mix:\n  factors: {fr--web: 1}\n  default_factor: 1\n  seed: 0\n")


class _Text(HTMLParser):
    """The visible text of a page, and its tables as lists of rows of cell texts."""

    def __init__(self):
        super().__init__()
        self.text: list[str] = []
        self.tables: list[list[list[str]]] = []
        self._row: list[str] | None = None
        self._cell: str | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self._row = []
        elif tag in ("td", "th"):
            self._cell = ""

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self._row.append(self._cell.strip())
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.tables[-1].append(self._row)
            self._row = None

    def handle_data(self, data):
        self.text.append(data)
        if self._cell is not None:
            self._cell += data


def _html(path: Path) -> _Text:
    p = _Text()
    p.feed(path.read_text(encoding="utf-8"))
    return p


def _squash(s: str) -> str:
    return " ".join(s.split())


# ----------------------------------------------------------------------------------- 1. a policy changed, --only
@pytest.fixture(scope="module")
def policy_build(tmp_path_factory) -> dict:
    """Three sources built under a policy; then `deny: [CC-BY-4.0]` added and only `b` rebuilt (`--only b`)."""
    base = tmp_path_factory.mktemp("review11_policy")
    for d in ("data", "sources", "pipelines"):
        (base / d).mkdir()
    _jsonl(base / "data" / "a.jsonl", _records(0, 6))
    _jsonl(base / "data" / "b.jsonl", _records(6, 5))
    _jsonl(base / "data" / "c.jsonl", _records(11, 4))
    (base / "sources" / "a.yaml").write_text(_recipe("a", "CC-BY-4.0", ["../data/a.jsonl"]), encoding="utf-8")
    (base / "sources" / "b.yaml").write_text(_recipe("b", "CC-BY-SA-3.0", ["../data/b.jsonl"]), encoding="utf-8")
    (base / "sources" / "c.yaml").write_text(_recipe("c", "CC0-1.0", ["../data/c.jsonl"]), encoding="utf-8")
    pipe = base / "pipelines" / "pol.yaml"
    pipe.write_text(_pipeline("pol"), encoding="utf-8")
    assert main(["build", str(pipe)]) == 0
    pipe.write_text(_pipeline("pol", deny="CC-BY-4.0"), encoding="utf-8")
    assert main(["build", str(pipe), "--only", "b"]) == 0
    out = base / "build" / "pol"
    assert main(["report", str(out)]) == 0
    return {"out": out, "pipeline": pipe, "report": json.loads((out / "reports" / "provenance.json").read_text())}


def test_the_scenario_is_the_reviewers(policy_build):
    """(What the report reads: the manifest keeps each source's entry as built, with its policy.)"""
    m = json.loads((policy_build["out"] / "manifest.json").read_text())
    src = {s["name"]: s for s in m["sources"]}
    assert m["license_policy"]["deny"] == ["CC-BY-4.0"] and src["b"]["license_policy"]["deny"] == ["CC-BY-4.0"]
    assert src["a"]["license_policy"]["deny"] == [] == src["c"]["license_policy"]["deny"]
    assert src["a"].get("out_of_date") and src["c"].get("out_of_date") and not src["b"].get("out_of_date")


def test_report_warns_of_each_source_built_under_another_policy(policy_build):
    rep, pipe = policy_build["report"], policy_build["pipeline"]
    warned = {w["source"]: w for w in rep["warnings"] if w["kind"] == "policy_changed"}
    assert sorted(warned) == ["a", "c"]  # not b, rebuilt under the current policy
    kept_a = pl.read_parquet(sorted((policy_build["out"] / "sources" / "a" / "data").glob("*/*.parquet")))
    assert kept_a.height == 6 and set(kept_a["license"]) == {"CC-BY-4.0"}
    for name, w in warned.items():
        msg = w["message"]
        assert w["severity"] == "warning" and msg.startswith(f"source {name} was built under another licence policy "
                                                             "than the pipeline's current one")
        # both policies, briefly: what differs, then the rest
        assert "built under `deny: none`; the pipeline's policy now says `deny: CC-BY-4.0`" in msg, msg
        assert "(the rest is the same: allow_classes permissive, public-domain, share-alike;" in msg, msg
        assert msg.endswith(f"rebuild it: `lucie-data build {pipe}` without --only"), msg
    # a's kept documents are all under a licence the current policy denies: counted, named, and their fate in a mix
    a = warned["a"]
    assert a["count"] == 6 and sorted(a["ids"]) == sorted(kept_a["id"].to_list())
    assert ("6 of its 6 kept document(s) would not pass the current policy (CC-BY-4.0 × 6): they are counted as kept "
            "in this report, and `mix build`, which applies the pipeline's policy, leaves them out") in a["message"]
    assert warned["c"]["count"] == 0 and "Its 4 kept document(s) pass the current policy too" in warned["c"]["message"]
    # and the report's other sections agree with what a mix of the build holds: no CC-BY-4.0 in the mix's licence
    assert "CC-BY-4.0" not in rep["share_alike"]["licenses"] and "CC-BY-SA-3.0" in rep["share_alike"]["licenses"]
    assert main(["mix", "build", str(policy_build["out"])]) == 0
    plan = json.loads((policy_build["out"] / "mix" / "mix_plan.json").read_text())
    assert sorted(plan["licenses"]) == rep["share_alike"]["licenses"]


def test_report_says_the_policy_is_the_pipelines_current_one_and_who_was_built_under_which(policy_build, capsys):
    out, rep = policy_build["out"], policy_build["report"]
    # the command says it too, as the build and `mix build` do
    assert main(["report", str(out)]) == 0
    said = capsys.readouterr().out
    assert ("warning: a, c: built under another licence policy than the pipeline's current one, left out of the last "
            f"build (--only); the report's warnings say what it changes; `lucie-data build {policy_build['pipeline']}` "
            "without --only rebuilds them\n") in said, said
    groups = rep["build"]["license_policy_groups"]
    assert [(g["current"], g["sources"], g["policy"]["deny"]) for g in groups] == [
        (True, ["b"], ["CC-BY-4.0"]), (False, ["a", "c"], [])]
    assert rep["build"]["license_policy"]["deny"] == ["CC-BY-4.0"]
    src = {s["name"]: s for s in rep["sources"]}
    assert [(n, src[n]["built_under_current_policy"], src[n]["out_of_date"], src[n]["license_policy"]["deny"])
            for n in "abc"] == [("a", False, True, []), ("b", True, False, ["CC-BY-4.0"]), ("c", False, True, [])]
    current = "allow classes public-domain, permissive, share-alike; deny CC-BY-4.0; unknown deny; unverified allow"
    old = "allow classes public-domain, permissive, share-alike; deny none; unknown deny; unverified allow"
    head = "Licence policy: the pipeline's current one (as its last build recorded it in manifest.json):"
    # provenance.md states it (it did not at all)
    md = (out / "reports" / "provenance.md").read_text(encoding="utf-8")
    assert f"{head} `{current}`" in md, md[:1500]
    assert "- built under it: b\n" in md
    assert (f"- built under another policy, by an earlier build (the last one ran with --only and left them out; "
            f"`lucie-data build {policy_build['pipeline']}` without --only rebuilds them): a, c, under: {old}\n") in md, md[:1500]
    warn = [line for line in md.splitlines() if line.startswith("- **warning** `policy_changed`")]
    assert [w.split("(", 1)[1].split(")", 1)[0] for w in warn] == ["a", "c"]
    # the HTML page too, with the policy's JSON as before
    page = _squash("".join(_html(out / "reports" / "provenance.html").text))
    assert f"{head} {current} " in page and "built under it: b" in page
    assert f"a, c, under: {old}" in page
    assert _squash(json.dumps(rep["build"]["license_policy"])) in page


def test_a_source_out_of_date_for_another_reason_is_said(policy_build, tmp_path):
    """A source the last build left out (--only) though out of date (its recipe, inputs or options changed) under the
    same policy: its own warning, with the fix."""
    import shutil

    from lucie_data.report.aggregate import build_report

    b = tmp_path / "b"
    shutil.copytree(policy_build["out"], b, ignore=shutil.ignore_patterns("mix", "reports"))
    m = json.loads((b / "manifest.json").read_text())
    for s in m["sources"]:  # b as a build --only of a or c would have left it after its recipe was edited
        if s["name"] == "b":
            s["out_of_date"] = True
    (b / "manifest.json").write_text(json.dumps(m), encoding="utf-8")
    rep = build_report(b)
    (w,) = [w for w in rep["warnings"] if w["kind"] == "source_out_of_date"]
    assert w["source"] == "b" and w["severity"] == "warning"
    assert w["message"].startswith("source b was left out of the last build (--only) though out of date with its "
                                   "pipeline")
    assert w["message"].endswith(f"rebuild it: `lucie-data build {policy_build['pipeline']}` without --only")
    assert sorted(x["source"] for x in rep["warnings"] if x["kind"] == "policy_changed") == ["a", "c"]


# ------------------------------------------------------------------- 2. and 3. ids shared by documents; a split
@pytest.fixture(scope="module")
def dup_build(tmp_path_factory) -> dict:
    """`dupid`: two files giving the same ids to different texts (dup2's first two under CC-BY-NC-4.0, removed by the
    policy; its third the same text as dup1's third, removed by exact_dedup as a duplicate of its own id). `split`:
    French + English paragraphs split by language_id."""
    base = tmp_path_factory.mktemp("review11_dup")
    for d in ("data", "sources", "pipelines"):
        (base / d).mkdir()
    first = _records(20, 4, license="CC-BY-SA-3.0")
    second = [dict(first[i], text=PUD[30 + i]["text"], url=PUD[30 + i]["url"], license="CC-BY-NC-4.0") for i in (0, 1)]
    second.append(dict(first[2]))  # the same record again: the same text under the same id
    _jsonl(base / "data" / "dup1.jsonl", first)
    _jsonl(base / "data" / "dup2.jsonl", second)
    (base / "sources" / "dupid.yaml").write_text(_recipe(
        "dupid", "CC-BY-SA-3.0", ["../data/dup1.jsonl", "../data/dup2.jsonl"],
        stages="  - type: normalize\n  - type: exact_dedup\n", extra="  license_field: license\n"), encoding="utf-8")
    _jsonl(base / "data" / "both.jsonl", [{"id": r["id"], "text": f"{r['text']}\n\n{r['text_en']}", "url": r["url"]}
                                          for r in PUD[40:46]])
    (base / "sources" / "split.yaml").write_text(_recipe(
        "split", "CC-BY-SA-3.0", ["../data/both.jsonl"],
        stages="  - {type: language_id, chunk: {mode: paragraph, action: split}}\n"), encoding="utf-8")
    pipe = base / "pipelines" / "dup.yaml"
    pipe.write_text(_pipeline("dup"), encoding="utf-8")
    assert main(["build", str(pipe)]) == 0
    out = base / "build" / "dup"
    assert main(["report", str(out)]) == 0
    return {"out": out, "first": first, "second": second}


def _md_section(md: str, heading: str) -> str:
    """The table under a Markdown heading."""
    return md.split(f"\n{heading}\n", 1)[1].strip("\n").split("\n\n", 1)[0]


def _blocks(text: str) -> dict[str, str]:
    """`document k of n: STATUS` -> the lines of that document's block."""
    parts = re.split(r"\n(?=document \d+ of \d+: )", text)
    return {p.split("\n", 1)[0]: p for p in parts[1:]}


def test_trace_shows_each_document_sharing_an_id(dup_build, capsys):
    out, first, second = dup_build["out"], dup_build["first"], dup_build["second"]
    doc_id = f"dupid/{first[0]['id']}"
    t = trace(out, doc_id)
    assert t["documents_with_id"] == 2 and "copies" not in t
    k, r = t["documents"]
    assert (k["status"], k["license"], k["license_evidence"], k["source_file"].endswith("dup1.jsonl"),
            k["source_record"], k["url"]) == ("kept", "CC-BY-SA-3.0", "record:license", True, 1, first[0]["url"])
    assert (r["status"], r["license"], r["license_evidence"], r["source_file"].endswith("dup2.jsonl"), r["source_record"],
            r["url"], r["stage"], r["reason"]) == ("removed", "CC-BY-NC-4.0", "record:license", True, 1,
                                                   second[0]["url"], "license_policy", "license_not_allowed")
    # each where it is: the kept one in its kept shard, the removed one in its removed shard (same id, other texts)
    assert pl.read_parquet(out / k["shard"])["text"][k["row"]] == first[0]["text"]
    assert pl.read_parquet(out / r["shard"])["text"][r["row"]] == second[0]["text"]
    # the removal says whose it is
    (rm,) = t["removed"]
    assert (rm["document"], rm["license"], rm["source_file"], rm["source_record"]) == (2, "CC-BY-NC-4.0",
                                                                                      r["source_file"], 1)
    # the text: said up front, then each document on its own
    assert main(["trace", str(out), doc_id]) == 0
    txt = capsys.readouterr().out
    assert txt.startswith(f"document  {doc_id}\n          2 documents have this id (input records given the same id): "
                          "each is shown on its own below\nstatus    document 1 KEPT, document 2 REMOVED\n"), txt
    blocks = _blocks(txt)
    assert list(blocks) == ["document 1 of 2: KEPT", "document 2 of 2: REMOVED"]
    kept_block, removed_block = blocks.values()
    assert f"input file     {k['source_file']}\n  record         line 1\n  license        CC-BY-SA-3.0\n" in kept_block
    assert f"output         {k['shard']} row {k['row']}" in kept_block
    assert "CC-BY-NC-4.0" not in kept_block and "removed" not in kept_block
    assert f"input file     {r['source_file']}\n  record         line 1\n  license        CC-BY-NC-4.0\n" in removed_block
    assert "  removed        at stage license_policy: license_not_allowed\n" in removed_block
    assert "CC-BY-SA-3.0" not in removed_block and "output" not in removed_block


def test_trace_names_the_other_document_a_duplicate_of_its_own_id_is_a_duplicate_of(dup_build, capsys):
    out, first = dup_build["out"], dup_build["first"]
    doc_id = f"dupid/{first[2]['id']}"
    t = trace(out, doc_id)
    assert t["documents_with_id"] == 2
    k, r = t["documents"]
    assert (k["status"], k["source_record"], r["status"], r["stage"], r["reason"], r["duplicate_of"], r["source_record"]) \
        == ("kept", 3, "removed", "exact_dedup", "exact_duplicate", doc_id, 3)
    want = [{"document": 1, "status": "kept", "source_file": k["source_file"], "source_record": 3}]
    assert r["duplicate_of_documents"] == want and t["removed"][0]["duplicate_of_documents"] == want
    said = format_trace(t)
    assert (f"  removed        at stage exact_dedup: exact_duplicate (duplicate of {doc_id}: another document with the "
            f"same id: document 1, from {k['source_file']} line 3)\n") in said, said
    # a document alone under its id reads as before
    alone = f"dupid/{first[3]['id']}"
    assert main(["trace", str(out), alone]) == 0
    txt = capsys.readouterr().out
    assert txt.startswith(f"document  {alone}\nstatus    KEPT\n") and "documents have this id" not in txt
    assert trace(out, alone)["documents_with_id"] == 1


def test_report_funnel_and_totals_add_up_with_a_language_split(dup_build):
    out = dup_build["out"]
    rep = json.loads((out / "reports" / "provenance.json").read_text())
    led = json.loads((out / "sources" / "split" / "ledger.json").read_text())
    lid = next(st for st in led["stages"] if st["type"] == "language_id")
    assert lid["docs_created"] > 0 and led["records_read"] == 6
    created = lid["docs_created"]
    rows = {s["stage"]: s for s in rep["funnel"]["split"]}
    assert rows[lid["stage"]]["docs_created"] == created
    for src, stages in rep["funnel"].items():  # every row adds up
        for s in stages:
            assert s["docs_in"] + s["docs_created"] == s["docs_kept"] + s["docs_removed"], (src, s)
    assert [s["docs_created"] for s in rep["funnel"]["dupid"]] == [0] * len(rep["funnel"]["dupid"])
    # the totals say how "all" relates to the records read
    allt = rep["totals"]["all"]
    read = sum(json.loads(p.read_text())["records_read"] for p in (out / "sources").glob("*/ledger.json"))
    assert (allt["records_read"], allt["docs_created"]) == (read, created)
    assert allt["docs"] == read + created == rep["totals"]["kept"]["docs"] + rep["totals"]["removed"]["docs"]
    assert {s["name"]: s["docs_created"] for s in rep["sources"]} == {"dupid": 0, "split": created}
    note = (f"all: {read + created} documents = {read} records read + {created} parts created by splits (a "
            "`language_id` split removes a document as `language_split_into_parts` and adds its parts as new documents)")
    # Markdown: a created column where a source splits, the note under the totals
    md = (out / "reports" / "provenance.md").read_text(encoding="utf-8")
    assert note in md
    # the split documents' text is in their parts too: said with its size (auditor review: removed overstated)
    sp = allt["split_into_parts"]
    assert sp["docs"] == rows[lid["stage"]]["docs_removed"] and sp["chars"] > 0
    assert (f"; the {sp['docs']:,} split documents' {sp['chars']:,} characters and {sp['tokens']:,} tokens are "
            "counted in `removed` and again in their parts, so `all` counts them twice") in md
    sec = _md_section(md, "### split")
    assert sec.splitlines()[0] == "| stage | type | in | created (split parts) | kept | removed | reasons |"
    s = rows[lid["stage"]]
    assert (f"| {lid['stage']} | language_id | {s['docs_in']} | {created} | {s['docs_kept']} | {s['docs_removed']} | "
            f"language_split_into_parts × {s['docs_removed']} |") in sec
    assert "created" not in _md_section(md, "### dupid")  # no split: the table as before
    # HTML: the same column in the funnel table, the note, and the chart's label
    page = _html(out / "reports" / "provenance.html")
    assert note in _squash("".join(page.text))
    table = next(t for t in page.tables if t[0][:4] == ["stage", "type", "in", "created (split parts)"])
    row = next(r for r in table if r[0] == lid["stage"])
    assert row[2:6] == [str(s["docs_in"]), str(created), str(s["docs_kept"]), str(s["docs_removed"])]
    assert f"{s['docs_kept']} kept · {s['docs_removed']} removed (+{created} created)" in "".join(page.text)


@pytest.mark.parametrize("file, rec, said", [("data/a.jsonl", 3, "line 3"), ("data/a.jsonl.gz", 1, "line 1"),
                                             ("data/a.parquet", 0, "0 (row index, from 0)"),
                                             ("data/a.html", None, None)])
def test_trace_says_what_a_record_number_counts(file, rec, said):
    """Auditor review: `source_record` is a JSON Lines line number (from 1) but a row index (from 0) in a Parquet
    file, and trace printed both as "record N"."""
    from lucie_data.report.trace import _record

    assert _record(file, rec) == said
