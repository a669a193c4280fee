"""`lucie-data report` and `lucie-data trace` over a real mixed-licence build."""
from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path

import polars as pl
import pytest

from lucie_data.cli import main
from lucie_data.recipe import load_pipeline
from lucie_data.report.aggregate import build_report, redistributable_sources
from lucie_data.runner import build
from tests.test_licence_stages import TEXTS, kept_frame, mixed_sources, removed_frame, write_build

EVIL_TITLE = "<script>alert(1)</script> & <b>bold</b>"
EVIL_CITATION = 'Evil "corp" <img src=x onerror=alert(2)>'


def evil_source(tmp: Path) -> dict:
    rows = [{"id": "e0", "text": TEXTS[5]["text"], "title": EVIL_TITLE, "license": "CC-BY-NC-4.0"},
            {"id": "e1", "text": TEXTS[6]["text"], "title": "harmless", "license": "CC-BY-4.0"}]
    (tmp / "evil.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return {"category": "web", "languages": ["fr"], "license": "CC-BY-4.0", "redistributable": False,
            "provenance": {"citation": EVIL_CITATION, "url": "https://example.org/<x>"},
            "input": {"type": "jsonl", "paths": [str(tmp / "evil.jsonl")], "title_field": "title",
                      "license_field": "license"},
            "stages": [{"type": "normalize"}]}


@pytest.fixture(scope="module")
def report_build(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("report")
    srcs = mixed_sources(tmp)
    srcs["evil"] = evil_source(tmp)
    pipe = load_pipeline(write_build(tmp, srcs))
    build(pipe)
    out = pipe.output_dir
    assert main(["report", str(out)]) == 0
    return out


def test_report_files_and_totals_reconcile_with_shards_and_ledgers(report_build):
    out = report_build
    rep = json.loads((out / "reports" / "provenance.json").read_text())
    assert (out / "reports" / "provenance.md").read_text().startswith("# Provenance report: lic")
    assert rep["reconciliation"]["ok"], [c for c in rep["reconciliation"]["checks"] if not c["ok"]]
    # independent recount from the shards themselves
    kept, removed = kept_frame(out), removed_frame(out)
    frames = [kept.with_columns(pl.lit("kept").alias("status")),
              removed.drop("removal_stage", "removal_reason").with_columns(pl.lit("removed").alias("status"))]
    allrows = pl.concat(frames).with_columns(pl.col("language").fill_null("und"))
    expect = {(r["status"], r["license"], r["language"], r["source"]): (r["docs"], r["chars"], r["tokens"])
              for r in allrows.group_by("status", "license", "language", "source").agg(
                  pl.len().alias("docs"), pl.col("text").str.len_chars().sum().alias("chars"),
                  pl.col("n_tokens").sum().alias("tokens")).iter_rows(named=True)}
    got = {(c["status"], c["license"], c["language"], c["source"]): (c["docs"], c["chars"], c["tokens"])
           for c in rep["composition"]}
    assert got == expect
    ledgers = {p.parent.name: json.loads(p.read_text()) for p in (out / "sources").glob("*/ledger.json")}
    assert rep["totals"]["kept"]["docs"] == sum(l["docs_kept"] for l in ledgers.values()) == kept.height
    assert rep["totals"]["removed"]["docs"] == sum(l["docs_removed"] for l in ledgers.values()) == removed.height
    assert rep["totals"]["kept"]["chars"] == sum(l["chars_kept"] for l in ledgers.values())
    assert rep["totals"]["kept"]["tokens"] == int(kept["n_tokens"].sum())
    for src, stages in rep["funnel"].items():
        assert [(s["stage"], s["docs_in"], s["docs_removed"]) for s in stages] == \
            [(s["stage"], s["docs_in"], s["docs_removed"]) for s in ledgers[src]["stages"]]


def test_report_licence_sections(report_build):
    rep = json.loads((report_build / "reports" / "provenance.json").read_text())
    att = {a["source"]: a for a in rep["attribution"]}
    assert att["evil"]["citation"] == EVIL_CITATION and att["evil"]["licenses"] == ["CC-BY-4.0"]
    assert att["mixed"]["per_document"] and "LGPLLR" in att["mixed"]["licenses"]
    assert "CC0-1.0" not in att["mixed"]["licenses"]  # no attribution needed
    sa = rep["share_alike"]
    assert sa["excluded_sources"] == ["evil"]
    assert any("LGPLLR" in o for o in sa["obligations"]) and any("CC-BY-SA-4.0" in o for o in sa["obligations"])
    assert sa["mix_license"] == "other"  # LGPLLR and CC-BY-SA-4.0 cannot be relicensed together
    kinds = {w["kind"]: w for w in rep["warnings"]}
    assert kinds["not_redistributable"]["source"] == "evil"
    assert "unknown_license_removed" in kinds
    assert "license_detected_same_class" in kinds or "license_detected_unrecognised" in kinds
    assert redistributable_sources(report_build) == {"evil": False, "fuzz": True, "mixed": True, "pages": True}
    assert {t["name"] for t in rep["tools_and_models"]["tools"]} >= {"datatrove", "trafilatura", "ftfy"}


def test_report_is_deterministic_and_recounts_with_a_tokenizer(report_build, tmp_path):
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    first = (report_build / "reports" / "provenance.json").read_bytes()
    assert main(["report", str(report_build)]) == 0
    assert (report_build / "reports" / "provenance.json").read_bytes() == first
    tok = Tokenizer(models.WordLevel(unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.train_from_iterator([t["text"] for t in TEXTS], trainers.WordLevelTrainer(special_tokens=["[UNK]"]))
    tok.save(str(tmp_path / "tokenizer.json"))
    rep = build_report(report_build, tokenizer=str(tmp_path / "tokenizer.json"))
    kept = kept_frame(report_build)
    expected = sum(len(tok.encode(t, add_special_tokens=False).ids) for t in kept["text"])
    assert rep["totals"]["kept"]["tokens"] == expected
    # named by its file, as the build's own counter is: not the auditor's path (rv54)
    assert rep["build"]["token_counter"] == "tokenizer.json"


def test_report_detects_a_build_that_does_not_reconcile(report_build, tmp_path, capsys):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(report_build, copy)
    victim = sorted((copy / "sources" / "fuzz" / "removed").glob("*/*.parquet"))[0]
    pl.read_parquet(victim).head(0).write_parquet(victim)  # readable, present, rows gone (a deleted shard: exit 2)
    assert main(["report", str(copy)]) == 1
    err = capsys.readouterr().err
    assert "does not reconcile" in err and "fuzz: removed documents" in err and "Traceback" not in err


class _Collector(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[str] = []
        self.text: list[str] = []
        self.attrs: list[tuple] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs += attrs

    def handle_data(self, data):
        self.text.append(data)


def test_html_is_self_contained_and_escapes_document_text(report_build):
    page = (report_build / "reports" / "provenance.html").read_text()
    p = _Collector()
    p.feed(page)
    assert "script" not in p.tags and "img" not in p.tags  # the injected markup is not markup
    text = "".join(p.text)
    assert EVIL_TITLE in text and EVIL_CITATION in text  # ...it is shown as text
    assert p.tags.count("svg") >= 1 + 4  # composition + one funnel per source
    assert {"table", "style"} <= set(p.tags)
    assert not any(k == "src" for k, _ in p.attrs)  # nothing to fetch: no network
    # links only navigate (the table of contents, a source's http(s) url), never load anything
    assert all(v.startswith(("#", "http://", "https://")) for k, v in p.attrs if k == "href")
    assert "http://www.w3.org/2000/svg" in page and "<link" not in page


def test_trace_kept_document(report_build, capsys):
    kept = kept_frame(report_build, "mixed")
    doc_id = next(i for i in kept["id"] if "sequoia" in i)
    assert main(["trace", str(report_build), doc_id]) == 0
    txt = capsys.readouterr().out
    assert f"document  {doc_id}" in txt and "status    KEPT" in txt
    assert "LGPLLR" in txt and "record:license" in txt and "mixed.jsonl" in txt
    line = next(l for l in txt.splitlines() if l.startswith("output"))
    shard, row = line.split()[1], int(line.split()[-1])
    assert pl.read_parquet(report_build / shard)["id"][row] == doc_id
    rec_line = int(next(l for l in txt.splitlines() if l.strip().startswith("record")).split()[-1])
    src = (Path(__file__).parent / "data" / "licences" / "mixed.jsonl").read_text().splitlines()[rec_line - 1]
    assert json.loads(src)["id"] == doc_id.split("/", 1)[1]  # the record position points at the input line
    manifest = json.loads((report_build / "manifest.json").read_text())
    sha = next(s["recipe_sha256"] for s in manifest["sources"] if s["name"] == "mixed")
    assert sha in txt
    # the mix: a shard listing the id twice
    mix = report_build / "mix" / "fr"
    mix.mkdir(parents=True)
    pl.DataFrame({"id": [doc_id, "other", doc_id]}).write_parquet(mix / "00000.parquet")
    (report_build / "mix" / "mix_plan.json").write_text("{}")
    try:
        assert main(["trace", str(report_build), doc_id, "--json"]) == 0
        t = json.loads(capsys.readouterr().out)
        assert t["mix"] == {"plan": True, "times": 2} and t["status"] == "kept"
    finally:
        import shutil

        shutil.rmtree(report_build / "mix")


def test_trace_removed_document(report_build, capsys):
    rem = removed_frame(report_build, "pages")
    doc_id = rem["id"][0]
    assert main(["trace", str(report_build), doc_id]) == 0
    txt = capsys.readouterr().out
    assert "status    REMOVED" in txt
    assert "removed   at stage license_gate: license_not_allowed" in txt
    assert "CC-BY-ND-3.0" in txt and "license_statement" in txt


@pytest.mark.parametrize("doc_id, match", [
    ("mixed/fr-sequoia-Europar", "did you mean: mixed/fr-sequoia-Europar.550-017"),
    ("nosuchsource/x", "ids look like <source>/<original id>"),
])
def test_trace_unknown_id_is_clear_error(report_build, capsys, doc_id, match):
    assert main(["trace", str(report_build), doc_id]) == 2
    err = capsys.readouterr().err
    assert match in err and "Traceback" not in err


def test_report_on_a_folder_that_is_not_a_build(tmp_path, capsys):
    assert main(["report", str(tmp_path)]) == 2
    assert "not a build folder" in capsys.readouterr().err


def test_report_warns_about_a_source_that_did_not_finish(report_build, tmp_path, capsys):
    """A killed build leaves a source without its ledger: the report says so instead of silently leaving it out."""
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(report_build, copy)
    (copy / "sources" / "fuzz" / "ledger.json").unlink()
    rep = build_report(copy)
    unfinished = [w for w in rep["warnings"] if w["kind"] == "unfinished_source"]
    assert [(w["source"], w["severity"]) for w in unfinished] == [("fuzz", "warning")]
    assert "rerun `lucie-data build`" in unfinished[0]["message"]
    assert "fuzz" not in {s["name"] for s in rep["sources"]}
    assert not [w for w in build_report(report_build)["warnings"] if w["kind"] == "unfinished_source"]


def test_html_sections_come_in_the_markdown_reports_order(report_build):
    """Review (new user): the HTML report put its sections in another order than the Markdown report. Same order, and
    the table of contents lists them so."""
    import re

    md = (report_build / "reports" / "provenance.md").read_text()
    page = (report_build / "reports" / "provenance.html").read_text()
    md_titles = [t.split(" (")[0] for t in re.findall(r"^## (.+)$", md, flags=re.M)]
    html_titles = re.findall(r"<h2 id=\"[^\"]+\">([^<]+)</h2>", page)
    toc = re.findall(r"<li><a href=\"#[^\"]+\">([^<]+)</a></li>", page)
    assert html_titles == toc and len(html_titles) == 11
    assert [t.split(" (")[0] for t in html_titles] == md_titles, (html_titles, md_titles)


def test_a_build_without_policy_names_the_sources_whose_gates_removed_documents(tmp_path):
    """rv47: without a pipeline policy, a recipe with `license_rules` gets a gate (the default policy, so that its
    verdicts act) that removed CC-BY-ND pages as `license_not_allowed`, while the report said "licences recorded, not
    enforced". It names the gated sources now, and its policy line says where licences are enforced."""
    root = Path(__file__).resolve().parents[1]
    (tmp_path / "ud.yaml").write_text(
        "name: ud\ncategory: web\nlanguages: [en, de]\nlicense: CC-BY-4.0\n"
        f"input: {{type: html, paths: ['{root}/data/demo/html/*.html']}}\n"
        "stages:\n  - type: license_rules\n    use_detected: true\n", encoding="utf-8")
    (tmp_path / "pud.yaml").write_text(
        "name: pud\ncategory: web\nlanguages: [en]\nlicense: CC-BY-SA-4.0\n"
        f"input: {{type: jsonl, paths: ['{root}/data/demo/en_ud_pud.jsonl']}}\n", encoding="utf-8")
    (tmp_path / "p.yaml").write_text("name: nopolicy\nsources: [ud.yaml, pud.yaml]\noutput_dir: out\n", encoding="utf-8")
    res = build(load_pipeline(tmp_path / "p.yaml"))
    funnel = {s.name: s.ledger["stages"] for s in res.sources}
    assert [st["stage"] for st in funnel["ud"]][-1] == "license_policy"  # the gate its license_rules get
    assert not any(st["stage"] == "license_policy" for st in funnel["pud"])
    rep = build_report(tmp_path / "out")
    (w,) = [w for w in rep["warnings"] if w["kind"] == "no_license_policy"]
    assert w["message"] == ("the pipeline has no license_policy: licences were recorded but not enforced, except by "
                            "the licence gates of source(s) ud (a recipe's own `license_gate`, or the one added after "
                            "its `license_rules`, with the default policy unless the recipe's gate sets one)")
    assert main(["report", str(tmp_path / "out")]) == 0
    text = (tmp_path / "out" / "reports" / "provenance.md").read_text(encoding="utf-8")
    assert "none (licences recorded; enforced only by a recipe's own licence gate or licence rules)" in text
