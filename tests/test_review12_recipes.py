"""Review 12: a pipeline `defaults:` input option that cannot work for a source's input type passed `validate`, and
the build failed that source after reading all of it; the checks on input options and gate policies came only once
the rest of the recipe validated."""
from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from lucie_data.cli import main

ROOT = Path(__file__).resolve().parent.parent
HTML = sorted((ROOT / "data" / "demo" / "html").glob("trafilatura-*.html"))[:2]  # real CC pages (data/demo/README)
JSONL = ROOT / "data" / "demo" / "en_ud_pud.jsonl"  # records with id, text, license, language, url


def _files(tmp_path: Path) -> None:
    """Small real inputs of every file type: jsonl records, text files, html pages (with a sidecar), a WARC."""
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    lines = JSONL.read_text(encoding="utf-8").splitlines()[:5]
    (tmp_path / "a.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (tmp_path / "txt").mkdir()
    for i, line in enumerate(lines[:2]):
        (tmp_path / "txt" / f"t{i}.txt").write_text(json.loads(line)["text"], encoding="utf-8")
    (tmp_path / "html").mkdir()
    rows = []
    for p in HTML:
        shutil.copy(p, tmp_path / "html" / p.name)
        rows.append({"path": f"html/{p.name}", "license": "CC-BY-4.0", "language": "en"})
    (tmp_path / "pages.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    with open(tmp_path / "crawl.warc.gz", "wb") as f:
        w = WARCWriter(f, gzip=True)
        for i, p in enumerate(HTML):
            http = StatusAndHeaders("200 OK", [("Content-Type", "text/html; charset=utf-8")], protocol="HTTP/1.1")
            with open(p, "rb") as page:
                w.write_record(w.create_warc_record(f"https://example.org/{i}", "response", payload=page,
                                                    http_headers=http))


INPUTS = {
    "jsonl": "{type: jsonl, paths: [a.jsonl]}",
    "text": "{type: text, paths: [txt]}",
    "html": "{type: html, paths: [html]}",
    "html_sidecar": "{type: html, paths: [html], sidecar: pages.jsonl}",
    "warc": "{type: warc, paths: [crawl.warc.gz]}",
}


def _recipe(tmp_path: Path, name: str, input_: str) -> str:
    (tmp_path / f"{name}.yaml").write_text(
        f"name: {name}\ncategory: web\nlanguages: [en]\nlicense: CC-BY-SA-4.0\ninput: {input_}\n", encoding="utf-8")
    return f"{name}.yaml"


def _pipeline(tmp_path: Path, sources: list[str], defaults: str, extra: str = "") -> Path:
    """A pipeline whose `defaults:` input block is on line 6."""
    pipe = tmp_path / "p.yaml"
    pipe.write_text(f"name: p\nsources: [{', '.join(sources)}]\noutput_dir: out\n"
                    f"executor: {{type: local, workers: 1, tasks: 1}}\ndefaults:\n  input: {defaults}\n{extra}",
                    encoding="utf-8")
    return pipe


def _validate(capsys, path: Path) -> tuple[int, str]:
    capsys.readouterr()
    code = main(["validate", str(path)])
    return code, " ".join(capsys.readouterr().out.split())


# (input type of the source, the pipeline's defaults input block, what validate must say). Each one, before this
# review, passed validate and failed the build of that source after reading it (tried on real files: see the report)
FAILING = [
    ("text", "{license_field: license}",
     (r"p\.yaml:6: defaults\.input\.license_field: `license_field: license` from the pipeline's defaults cannot work "
      r"for input\.type text: a `type: text` file is one record with only text, id \(its path\) and title \(its "
      r"name\), so no record has 'license' and the build would fail this source .* override it in this recipe's "
      r"`input:` with `license_field: null` \(the pipeline's defaults, merged into s\.yaml\)")),
    ("text", "{text_field: body}",
     (r"p\.yaml:6: defaults\.input\.text_field: `text_field: body` from the pipeline's defaults cannot work for "
      r"input\.type text: .*\(read_missing_text\).* override it in this recipe's `input:` with `text_field: text` "
      r"\(the pipeline's defaults, merged into s\.yaml\)")),
    ("html", "{license_field: license}",
     (r"p\.yaml:6: defaults\.input\.license_field: `license_field: license` from the pipeline's defaults cannot work "
      r"for input\.type html: an html page without a `sidecar:` has only date, id, license_detected, sitename, text, "
      r"title, url, .* give this recipe a `sidecar:` whose rows hold that field, or override it .* "
      r"merged into s\.yaml")),
    ("warc", "{license_field: license}",
     (r"p\.yaml:6: defaults\.input\.license_field: `license_field: license` from the pipeline's defaults cannot work "
      r"for input\.type warc: a WARC page has only date, id, license_detected, sitename, text, title, url, .* "
      r"`license_field: null` \(the pipeline's defaults, merged into s\.yaml\)")),
    ("text", "{license_field: license_detected}",  # trafilatura's field: html pages have it, text files do not
     (r"p\.yaml:6: defaults\.input\.license_field: `license_field: license_detected` .* input\.type text")),
]


@pytest.mark.parametrize("kind, defaults, match", FAILING)
def test_a_defaults_option_that_fails_the_build_for_the_type_is_a_validation_error(tmp_path, capsys, kind,
                                                                                   defaults, match):
    _files(tmp_path)
    pipe = _pipeline(tmp_path, [_recipe(tmp_path, "s", INPUTS[kind])], defaults)
    code, out = _validate(capsys, pipe)
    assert code == 2 and re.search(match, out), out
    assert "1 problem found" in out, out


def test_build_refuses_it_before_any_work_and_names_every_recipe_it_is_merged_into(tmp_path, capsys):
    """One issue at the defaults' line, for the two text sources it breaks; the jsonl source whose records have the
    field is fine with it; nothing is built."""
    _files(tmp_path)
    names = [_recipe(tmp_path, "j", INPUTS["jsonl"]), _recipe(tmp_path, "t1", INPUTS["text"]),
             _recipe(tmp_path, "t2", INPUTS["text"])]
    pipe = _pipeline(tmp_path, names, "{license_field: license}")
    code, out = _validate(capsys, pipe)
    assert code == 2 and "1 problem found" in out, out
    assert re.search(r"p\.yaml:6: defaults\.input\.license_field: .* merged into t1\.yaml, t2\.yaml\)", out), out
    capsys.readouterr()
    assert main(["build", str(pipe)]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "defaults.input.license_field" in err and "cannot work for input.type text" in err
    assert not (tmp_path / "out").exists()


def test_the_override_the_message_gives_fixes_it(tmp_path, capsys):
    _files(tmp_path)
    names = [_recipe(tmp_path, "j", INPUTS["jsonl"]),
             _recipe(tmp_path, "t", "{type: text, paths: [txt], license_field: null, text_field: text}")]
    pipe = _pipeline(tmp_path, names, "{license_field: license, text_field: text}")
    code, out = _validate(capsys, pipe)
    assert code == 0, out


def test_license_field_on_a_warc_recipe_is_an_error_as_on_html(tmp_path, capsys):
    """The recipe's own `license_field` on html pages without a sidecar was an error; on a WARC (whose pages have the
    same fields, and never a sidecar) it passed, and the build failed the source."""
    _files(tmp_path)
    _recipe(tmp_path, "s", "{type: warc, paths: [crawl.warc.gz], license_field: license}")
    code, out = _validate(capsys, tmp_path / "s.yaml")
    assert code == 2 and re.search(r"s\.yaml:5: input\.license_field: `license_field: license` reads a field of "
                                   r"each record, and the pages of a WARC have only date, license_detected, "
                                   r"sitename, title, url \(trafilatura's\): remove `license_field`", out), out
    _recipe(tmp_path, "s", "{type: warc, paths: [crawl.warc.gz], license_field: license_detected}")
    assert _validate(capsys, tmp_path / "s.yaml")[0] == 0


def test_options_idle_or_working_for_each_type_from_the_defaults_still_pass_and_build(tmp_path, capsys):
    """A defaults block shared by sources of five input types: options that do nothing for some types (idle) or
    name fields that only some sources' records have, where the others do not fail on them (language, id, url,
    title, date, metadata fields only warn), pass `validate`, and the build builds every source."""
    _files(tmp_path)
    names = [_recipe(tmp_path, k, v) for k, v in INPUTS.items()]
    defaults = ("{language_field: language, id_field: doc_id, url_field: page_url, title_field: headline, "
                "date_field: day, metadata_fields: [license_note], favor_precision: false, include_tables: false, "
                "streaming: true, limit: 3, split: train, text_field: text}")
    pipe = _pipeline(tmp_path, names, defaults)
    code, out = _validate(capsys, pipe)
    assert code == 0, out
    capsys.readouterr()
    assert main(["build", str(pipe)]) == 0, capsys.readouterr()
    for name in INPUTS:
        assert json.loads((tmp_path / "out" / "sources" / name / "ledger.json").read_text())["docs_kept"] > 0


def test_a_sidecar_from_the_defaults_is_idle_for_the_sources_that_are_not_html(tmp_path, capsys):
    """A pipeline-wide `sidecar:` (for its html sources) was an error in each jsonl/text/warc recipe, in the recipe
    file without a line, though their readers never read it; the html source reads it."""
    _files(tmp_path)
    names = [_recipe(tmp_path, k, INPUTS[k]) for k in ("jsonl", "text", "html", "warc")]
    pipe = _pipeline(tmp_path, names, "{sidecar: pages.jsonl}")
    code, out = _validate(capsys, pipe)
    assert code == 0, out
    capsys.readouterr()
    assert main(["build", str(pipe)]) == 0, capsys.readouterr()
    # the recipe's own sidecar on a jsonl input is still an error: the recipe says to read it
    _recipe(tmp_path, "jsonl", "{type: jsonl, paths: [a.jsonl], sidecar: pages.jsonl}")
    code, out = _validate(capsys, pipe)
    assert code == 2 and "jsonl.yaml" in out and "a sidecar is only read for `type: html` inputs" in out, out


def test_input_and_gate_checks_come_with_the_recipes_other_errors(tmp_path, capsys):
    """Idle input options, a loosening gate policy and a failing defaults option were reported only once every other
    problem of the recipe was fixed: now in the same run as the field errors."""
    _files(tmp_path)
    (tmp_path / "s.yaml").write_text(
        "name: s\ncategory: nope\nlanguages: [en]\nlicense: CC-BY-4.0\n"
        "input: {type: text, paths: [txt], streaming: true, limit: 0}\n"
        "stages:\n  - type: license_gate\n    policy: {unknown: allow}\n"
        "  - type: min_length\n    min_chars: -5\n", encoding="utf-8")
    pipe = _pipeline(tmp_path, ["s.yaml"], "{license_field: lic}",
                     "license_policy: {allow_classes: [public-domain, permissive, share-alike], unknown: deny}\n")
    code, out = _validate(capsys, pipe)
    assert code == 2
    for expected in ("s.yaml:2: category:",
                     "s.yaml:5: input.limit:",  # the input's own error, and its other options checked all the same
                     "s.yaml:5: input.streaming: `streaming` only applies to input.type hf_dataset, not text",
                     "s.yaml:5: input.limit: `limit` only applies to input.type hf_dataset, not text",
                     "s.yaml:8: stages[0].policy.unknown: this source's policy cannot loosen",
                     "s.yaml:10: stages[1].min_chars:",
                     ("p.yaml:6: defaults.input.license_field: `license_field: lic` from the pipeline's defaults "
                      "cannot work for input.type text")):
        assert expected in out, (expected, out)
    assert "7 problems found" in out, out


@pytest.mark.parametrize("line,match", [
    ("fr--newspapers: 2", r"p\.yaml:7: mix\.factors\.fr--newspapers: factor key 'fr--newspapers': "
                          r"'newspapers' is not a category .*did you mean fr--newspaper\?"),
    ("en--programing: 2", r"p\.yaml:7: mix\.factors\.en--programing: .*'programing' is not a category.*did you mean "
                          r"en--programming\?"),
])
def test_a_factor_key_whose_category_is_none_is_a_validate_error(tmp_path, capsys, line, match):
    """Code review: a typo in an inline `mix.factors` key (`fr--newspapers`) passed validate and build; `mix plan`
    only warned, and its subsets got the default factor. A category that is none of Lucie's can match no subset of
    any build, so it is an error; a key of a real category no source of this build has stays valid (shared lists)."""
    p = tmp_path / "p.yaml"
    head = f"name: p\nsources: [{ROOT / 'sources/demo/eltec_fr.yaml'}]\noutput_dir: b\nmix:\n  factors:\n    it--wiki: 1\n"
    p.write_text(head + f"    {line}\n", encoding="utf-8")
    capsys.readouterr()
    assert main(["validate", str(p)]) == 2
    cap = capsys.readouterr()
    said = " ".join((cap.out + cap.err).split())
    assert re.search(match, said), said
    p.write_text(head + "    fr--book: 2\n", encoding="utf-8")
    assert main(["validate", str(p)]) == 0


def test_a_license_field_no_sidecar_row_has_fails_validate_not_the_build(tmp_path, capsys):
    """Helper note (review 12): a `license_field` the html sidecar's rows do not have passed validate, and the build
    failed the source after extracting every page. check_sidecar reads every row anyway: it says so first."""
    _files(tmp_path)
    (tmp_path / "s.yaml").write_text(
        "name: s\ncategory: web\nlanguages: [en]\nlicense: CC-BY-4.0\n"
        "input: {type: html, paths: [html/*.html], sidecar: pages.jsonl, license_field: licence}\n", encoding="utf-8")
    (tmp_path / "p.yaml").write_text("name: p\nsources: [s.yaml]\noutput_dir: b\n"
                                     "executor: {type: local, workers: 1, tasks: 1}\n", encoding="utf-8")
    capsys.readouterr()
    assert main(["build", str(tmp_path / "p.yaml")]) == 2
    cap = capsys.readouterr()
    said = " ".join((cap.out + cap.err).split())
    assert re.search(r"s\.yaml:5: input\.license_field: no row of sidecar .*pages\.jsonl for an input file has a value "
                     r"for license_field 'licence' \(their fields: language, license, path\)", said), said
    assert not (tmp_path / "b").exists()
    (tmp_path / "s.yaml").write_text((tmp_path / "s.yaml").read_text().replace("licence}", "license}"))
    assert main(["build", str(tmp_path / "p.yaml")]) == 0


def test_default_factor_alone_is_a_mix_and_inline_weights_beside_a_file_are_an_error(tmp_path, capsys):
    """Review: `mix: {default_factor: 1.5}` (the same epochs everywhere) was refused as having no weights; and
    `languages:`/`sources:`/`default_factor:` next to `weights_file:` were ignored without a word."""
    p = tmp_path / "p.yaml"
    head = (f"name: p\nsources: [{ROOT / 'sources/demo/eltec_fr.yaml'}]\noutput_dir: b\n"
            "executor: {type: local, workers: 1, tasks: 1}\n")
    p.write_text(head + "mix: {default_factor: 1.5}\n", encoding="utf-8")
    assert main(["build", str(p)]) == 0
    assert main(["mix", "plan", "--build", str(tmp_path / "b"), "--json", str(tmp_path / "plan.json")]) == 0
    plan = json.loads((tmp_path / "plan.json").read_text())
    assert [s["epochs"] for s in plan["subsets"]] == [1.5] and plan["total_tokens_seen"] == 1.5 * plan["total_tokens"]
    (tmp_path / "w.yaml").write_text("factors: {fr--book: 2}\n", encoding="utf-8")
    p.write_text(head + "mix:\n  weights_file: w.yaml\n  default_factor: 2\n  languages: {fr: 2}\n", encoding="utf-8")
    capsys.readouterr()
    assert main(["validate", str(p)]) == 2
    cap = capsys.readouterr()
    said = " ".join((cap.out + cap.err).split())
    assert re.search(r"p\.yaml:\d+: mix: .*`languages`, `default_factor` next to `weights_file:` would be ignored: the "
                     r"weights file holds all the weights; move them into w\.yaml", said), said


def test_a_defaults_sidecar_is_dropped_for_a_non_html_source_in_another_folder(tmp_path, capsys):
    """Code review: a pipeline-wide `sidecar:` (for its html sources) was still looked for next to a jsonl recipe in
    another folder ("does not exist"), and, where found, was part of the jsonl source's build key: touching the
    html sidecar rebuilt the jsonl source."""
    import os
    import time

    _files(tmp_path)
    (tmp_path / "other").mkdir()
    (tmp_path / "other/jl.yaml").write_text("name: jl\ncategory: web\nlanguages: [en]\nlicense: CC-BY-SA-4.0\n"
                                            "input: {type: jsonl, paths: [../a.jsonl]}\n", encoding="utf-8")
    names = [_recipe(tmp_path, "html", INPUTS["html"]), "other/jl.yaml"]
    pipe = _pipeline(tmp_path, names, "{sidecar: pages.jsonl}")
    code, out = _validate(capsys, pipe)
    assert code == 0, out
    assert main(["build", str(pipe)]) == 0
    key = (tmp_path / "out/sources/jl/.build_key").read_text()
    manifest = json.loads((tmp_path / "out/manifest.json").read_text())
    assert "sidecar" not in {s["name"]: s for s in manifest["sources"]}["jl"]
    later = time.time() + 5
    os.utime(tmp_path / "pages.jsonl", (later, later))  # the html sources' sidecar changes
    capsys.readouterr()
    assert main(["build", str(pipe)]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "jl: up to date" in out, out
    assert (tmp_path / "out/sources/jl/.build_key").read_text() == key


def test_a_shared_weights_file_with_a_category_of_its_own_still_validates(tmp_path, capsys):
    """Code review: `mix plan --stats CSV` takes any category, so a weights file shared with such plans may hold
    `en--github`; the category check is for inline `factors:` only."""
    (tmp_path / "w.yaml").write_text("factors: {en--github: 2, fr--book: 2}\n", encoding="utf-8")
    p = tmp_path / "p.yaml"
    p.write_text(f"name: p\nsources: [{ROOT / 'sources/demo/eltec_fr.yaml'}]\noutput_dir: b\n"
                 "mix: {weights_file: w.yaml}\n", encoding="utf-8")
    code, out = _validate(capsys, p)
    assert code == 0, out


@pytest.mark.parametrize("field", ["license_warning", "license_rule_verdict", "license_rule_basis"])
def test_metadata_fields_cannot_copy_a_licence_stage_key(tmp_path, capsys, field):
    """Code review: an input column copied into metadata as `license_warning` or `license_rule_verdict` posed as a
    licence stage's flag (the mix left the document out, trace said a licence stage flagged it)."""
    _files(tmp_path)
    (tmp_path / "s.yaml").write_text(
        "name: s\ncategory: web\nlanguages: [en]\nlicense: CC-BY-SA-4.0\n"
        f"input: {{type: jsonl, paths: [a.jsonl], metadata_fields: [{field}]}}\n", encoding="utf-8")
    code, out = _validate(capsys, _pipeline(tmp_path, ["s.yaml"], "{}"))
    assert code == 2 and f"'{field}' is written by the licence stages" in out, out


@pytest.mark.parametrize("key,meant", [("id_key", "id_field"), ("text_key", "text_field"), ("glob_pattern", "paths")])
def test_datatrove_reader_keys_point_to_ours(tmp_path, capsys, key, meant):
    """Review (new user): datatrove's `id_key` was answered with "did you mean 'sidecar_key'?"."""
    _files(tmp_path)
    (tmp_path / "s.yaml").write_text("name: s\ncategory: web\nlanguages: [en]\nlicense: CC-BY-SA-4.0\n"
                                     f"input: {{type: jsonl, paths: [a.jsonl], {key}: x}}\n", encoding="utf-8")
    code, out = _validate(capsys, _pipeline(tmp_path, ["s.yaml"], "{}"))
    assert code == 2 and f"unknown key {key!r}; did you mean {meant!r}?" in out, out


def test_validates_ok_line_counts_the_recipes_a_pipeline_lists(capsys):
    """Review (new user): "OK: 1 file(s) valid: pipelines/mine.yaml" though the four recipes it lists were checked too."""
    code, out = _validate(capsys, ROOT / "pipelines/demo.yaml")
    n = len(list((ROOT / "sources/demo").glob("*.yaml")))
    assert code == 0 and f"OK: 1 file(s) valid and the {n} recipe(s) they list: " in out, out
    code, out = _validate(capsys, ROOT / "sources/demo/eltec_fr.yaml")
    assert code == 0 and "OK: 1 file(s) valid: " in out and "they list" not in out, out
