"""Findings of the trainer and auditor review (rv36): what a mix leaves out, attribution, Markdown names."""
import json
from pathlib import Path

import pytest

from lucie_data.cli import main

from .test_mix_build import make_build
from .test_review7_mix_messages import _run

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    return make_build(tmp_path_factory.mktemp("rv36") / "build")


def test_mix_build_says_what_its_policy_leaves_out(built, tmp_path, capsys):
    """`mix plan` printed a note per source x licence left out; `mix build` said only "planned 6 subset(s)"."""
    code, out = _run(capsys, "mix", "build", built, "--output", tmp_path / "m")
    assert code == 0, out
    assert "note: ocr_private: " in out and "left out (not_redistributable)" in out, out


def test_report_on_a_mix_asks_for_its_build(built, tmp_path, capsys):
    """It answered `lucie-data build PIPELINE --output <the mix>`, which would write a build into the mix."""
    assert _run(capsys, "mix", "build", built)[0] == 0  # BUILD/mix, the default
    code, out = _run(capsys, "report", built / "mix")
    assert code == 2 and f"is a mix (it holds mix_plan.json), not a build: give the build it was made from " \
                         f"({built.resolve()}, the build holding it)" in out, out
    assert not (built / "mix" / "reports").exists()
    assert _run(capsys, "mix", "build", built, "--output", tmp_path / "m")[0] == 0
    code, out = _run(capsys, "trace", tmp_path / "m", "x")
    assert code == 2 and "is a mix (it holds mix_plan.json), not a build: give the build it was made from (the " \
                         "folder `lucie-data mix build` was given)" in out, out
    # the mix commands say the same (newcomer review: "is not a build folder: run `lucie-data build` first")
    for argv in (("mix", "build", built / "mix", "--output", tmp_path / "m2"), ("mix", "plan", "--build", built / "mix")):
        code, out = _run(capsys, *argv)
        assert code == 2 and f"is a mix (it holds mix_plan.json), not a build: give the build it was made from " \
                             f"({built.resolve()}, the build holding it)" in out, (argv, out)
    assert not (tmp_path / "m2").exists()


def _rendered_text(md: str) -> str:
    """What a reader sees: the Markdown rendered as GitHub does (tables, strike-through), tags stripped."""
    import html
    import re

    from markdown_it import MarkdownIt

    out = MarkdownIt("commonmark").enable(["table", "strikethrough"]).render(md)
    assert "<strong>" not in out and "<em>" not in out and "<s>" not in out and "<a " not in out, out
    return html.unescape(re.sub(r"<[^>]+>", "", out)).strip()


def test_markdown_report_shows_file_names_and_ids_as_written():
    """`src/click/__init__.py` rendered as "src/click/**init**.py" in provenance.md (the HTML report was right)."""
    import json

    from lucie_data.report.render import _md_cell, _md_message, _md_text

    records = [json.loads(line) for line in (ROOT / "data" / "demo" / "code_permissive.jsonl").open(encoding="utf-8")]
    names = [r["path"] for r in records] + [r["id"] for r in records]
    names += ["a *starred* [link](x) ~~gone~~ back\\slash `tick`", "fr_eltec_novels", "_lead", "trail_"]
    assert any("__init__" in n for n in names)
    for n in names:
        assert _rendered_text(_md_text(n)) == n, n
        cell = _rendered_text("| id |\n|---|\n| " + _md_cell(n + " | x") + " |")
        assert cell.split() == ["id", *f"{n} | x".split()], n
    assert "fr_eltec_novels" == _md_text("fr_eltec_novels")  # words joined by _ stay readable in the raw file
    msg = "allowed by name in the policy's `allow:` list; see src/click/__init__.py"
    assert _md_message(msg).startswith("allowed by name in the policy's `allow:` list")  # its own code span
    assert _rendered_text(_md_message(msg)) == msg.replace("`", "")
    # a code span is shown as written: Markdown does not decode entities there (code review: `&lt;file&gt;`)
    assert _rendered_text(_md_message("its id is `<file>:<position>`")) == "its id is <file>:<position>"


def test_a_licence_the_records_state_and_the_recipe_does_not_read_is_warned(tmp_path, capsys):
    """134 ELTeC records saying CC-BY-4.0 were published as public domain ("no attribution required") without a word:
    the recipe set its own licence and no `license_field`. Records agreeing with the recipe (the demo's) say nothing."""
    import shutil

    shutil.copytree(ROOT / "data", tmp_path / "data")
    eltec = ROOT / "data" / "demo" / "fr_eltec_novels.jsonl"
    for name, lic in (("pd", "LicenseRef-public-domain"), ("same", "CC-BY-4.0")):
        (tmp_path / f"{name}.yaml").write_text(
            f"name: {name}\ncategory: book\nlanguages: [fr]\nlicense: {lic}\n"
            f"input: {{type: jsonl, paths: [{eltec}]}}\n", encoding="utf-8")
        assert main(["build", str(tmp_path / f"{name}.yaml"), "--output", str(tmp_path / name)]) == 0
    out = capsys.readouterr()
    said = "the records say a licence the recipe does not read: `license: CC-BY-4.0` × "
    assert said in out.out + out.err
    led = json.loads((tmp_path / "pd" / "sources" / "pd" / "ledger.json").read_text(encoding="utf-8"))
    assert [w for w in led["warnings"] if said in w and "(LicenseRef-public-domain); set `license_field: license` in "
            in w], led["warnings"]
    led = json.loads((tmp_path / "same" / "sources" / "same" / "ledger.json").read_text(encoding="utf-8"))
    assert not [w for w in led.get("warnings", []) if "licence the recipe does not read" in w]


def test_the_card_and_the_report_say_which_documents_lucie_data_changed(built, tmp_path, capsys):
    """CC licences ask the attribution to say the material was modified (CC BY 4.0 §3(a)(1)(B), BY-SA 3.0 §4(c)): all
    of the parallel texts were joined by a stage and recorded so, yet the card and the report credited them as
    published."""
    led = json.loads((built / "sources" / "parallel_fr_en" / "ledger.json").read_text(encoding="utf-8"))
    assert led["docs_modified"] == led["docs_kept"] == 300 and sum(led["modified_by"].values()) >= 300, led["modified_by"]
    stages = ", ".join(f"`{st}` ({n:,})" for st, n in sorted(led["modified_by"].items()))
    assert json.loads((built / "sources" / "eltec_fr" / "ledger.json").read_text())["docs_modified"] == 0
    assert _run(capsys, "mix", "build", built, "--output", tmp_path / "m")[0] == 0
    card = (tmp_path / "m" / "README.md").read_text(encoding="utf-8")
    line = next(ln for ln in card.splitlines() if ln.startswith("- **parallel_fr_en**"))
    assert f"Modified by lucie-data: 300 of its build's documents were changed by the stage(s) {stages}" in line, line
    line = next(ln for ln in card.splitlines() if ln.startswith("- **eltec_fr**"))
    assert "No lucie-data stage changed its texts after they were read." in line, line
    assert _run(capsys, "report", built, "--output", tmp_path / "r")[0] == 0
    rep = json.loads((tmp_path / "r" / "provenance.json").read_text(encoding="utf-8"))
    assert {a["source"]: a["modified"] for a in rep["attribution"]}["parallel_fr_en"] == 300
    md = (tmp_path / "r" / "provenance.md").read_text(encoding="utf-8")
    assert "| source | licences | documents | modified by lucie-data | citation | url |" in md


def test_the_card_says_what_counted_its_tokens_and_how_keep_mode_repeats(built, tmp_path, capsys):
    """A trainer read the card's "tokens" as their tokenizer's; in `keep` mode the card said a document weighted
    e = 2.25 epochs "appears e times"; the per-source table listed subsets."""
    assert _run(capsys, "mix", "build", built, "--output", tmp_path / "m", "--repeat-ids", "keep")[0] == 0
    card = (tmp_path / "m" / "README.md").read_text(encoding="utf-8")
    plan = json.loads((tmp_path / "m" / "mix_plan.json").read_text(encoding="utf-8"))
    assert plan["token_counter"] == {"name": "regex-pretokens"}
    assert "Tokens are counted by the build's fallback counter `regex-pretokens`" in card
    assert "once per whole epoch, and once more if the fractional part of e draws it (e = 2.5: 2 or 3 times)" in card
    assert "### Per subset (source × language)" in card and "### Per source" not in card


def test_the_report_names_the_token_counter(built, tmp_path, capsys):
    assert _run(capsys, "report", built, "--output", tmp_path / "r")[0] == 0
    md = (tmp_path / "r" / "provenance.md").read_text(encoding="utf-8")
    assert "tokens: n_tokens column, counted by the build with regex-pretokens" in md, md[:400]


def test_trace_explains_the_draw_of_a_fractional_epoch(built, tmp_path, capsys):
    """Copied once in a 1.5-epoch subset, `trace` said "1 time(s) in the mix" and nothing of the draw."""
    import polars as pl

    from lucie_data.mix.build import selection_key

    (tmp_path / "w.yaml").write_text("factors: {en--web: 1.5}\ndefault_factor: 1\n", encoding="utf-8")
    m = tmp_path / "m"
    assert _run(capsys, "mix", "build", built, "--weights", tmp_path / "w.yaml", "--output", m, "--seed", "3")[0] == 0
    kept = pl.read_parquet(sorted((built / "sources" / "pud_en" / "data").glob("*/*.parquet")))
    seen = {}
    for doc_id in kept["id"].to_list()[:40]:
        key = selection_key(doc_id, 3)
        code, out = _run(capsys, "trace", built, doc_id, "--mix", m)
        said = " ".join(out.split())
        times = 2 if key < 0.5 else 1
        word = "drawn" if key < 0.5 else "not drawn"
        assert code == 0 and f"{times} time(s) in the mix" in said, said
        assert (f"({word}: subset pud_en--en is planned for 1.5 epoch(s), 1 whole epoch(s), and a document enters once "
                f"more when xxh64(id, seed 3) / 2**64 < 0.5; this one's is {key:.4f})") in said, said
        seen[word] = True
    assert seen == {"drawn": True, "not drawn": True}


def test_no_licence_warning_when_a_licence_rule_reads_the_records(tmp_path, capsys):
    """Code review: a recipe taking each record's licence with a license_rules stage was told every document got the
    recipe's licence."""
    eltec = ROOT / "data" / "demo" / "fr_eltec_novels.jsonl"
    (tmp_path / "r.yaml").write_text(
        "name: r\ncategory: book\nlanguages: [fr]\nlicense: LicenseRef-public-domain\n"
        f"input: {{type: jsonl, paths: [{eltec}], metadata_fields: [license_note]}}\n"
        "stages: [{type: license_rules, license_field: license_note}]\n", encoding="utf-8")
    assert main(["build", str(tmp_path / "r.yaml"), "--output", str(tmp_path / "b")]) in (0, 1)
    led = json.loads((tmp_path / "b" / "sources" / "r" / "ledger.json").read_text(encoding="utf-8"))
    assert not [w for w in led.get("warnings", []) if "licence the recipe does not read" in w], led["warnings"]


def test_token_counters_are_named_per_source_and_hub_ids_whole():
    """Code review: the card and the report named the last run's counter for every source (a `build --only` after a
    tokenizer change leaves sources counted by another), and the report shortened the Hub id `org/name` to `name`."""
    from lucie_data.mix.build import _token_counters
    from lucie_data.mix.card import _counter_note
    from lucie_data.report.aggregate import _build_counter

    hub = {"name": "OpenLLM-France/Lucie-7B"}  # (a cache emptied since: no sha256, no revision)
    local = {"name": "/home/someone/tok/tokenizer.json", "sha256": "ab" * 32}
    manifest = {"token_counter": hub, "sources": [{"name": "a", "token_counter": {"name": "regex-pretokens"}},
                                                  {"name": "b", "token_counter": hub},
                                                  {"name": "c", "token_counter": local}]}
    assert _build_counter(manifest) == ("n_tokens column, counted by the build with OpenLLM-France/Lucie-7B (b); "
                                        "regex-pretokens (a); tokenizer.json (c)")
    assert _build_counter({"sources": [{"name": "b", "token_counter": hub}]}) == \
        "n_tokens column, counted by the build with OpenLLM-France/Lucie-7B"
    assert _token_counters(manifest, ["b"]) == {"token_counter": hub}
    note = _counter_note(_token_counters(manifest, ["a", "c"])["token_counter"])
    assert note == (" Tokens are counted by different counters per source (a: the fallback counter `regex-pretokens`; "
                    "c: a local tokenizer `tokenizer.json` (sha256 `abababababababab…`)): their counts do not add up "
                    "alike.")
    assert "/home/someone" not in note
    assert _counter_note(hub) == " Tokens are counted with the tokenizer `OpenLLM-France/Lucie-7B`."
