"""New-user review (2026-11-28): a build interrupted before its manifest was reported with exit 0 as "Licence policy:
none (licences recorded, not enforced)" and "Reconciliation: OK" though its pipeline had a policy whose gates ran;
`mix build` on it said "no mix weights" though the pipeline has a `mix:` block; and a mix made before a source was
rebuilt was pushed (dry run) with exit 0, holding documents the new build removes.

Texts: the first sentences of /work/shared/corpora/fr_ud_gsd.jsonl (UD French GSD, CC-BY-SA-4.0; see its README)."""
from __future__ import annotations

import json
import re
from pathlib import Path

from lucie_data.cli import main

CORPUS = Path("/work/shared/corpora/fr_ud_gsd.jsonl")
if not CORPUS.exists():  # a checkout next to ../shared
    CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpora" / "fr_ud_gsd.jsonl"


def _project(tmp_path: Path, min_chars: int = 1) -> Path:
    lines = CORPUS.read_text(encoding="utf-8").splitlines()[:12]
    (tmp_path / "in.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    _recipe(tmp_path, min_chars)
    (tmp_path / "p.yaml").write_text(
        "name: p\nsources: [s.yaml]\noutput_dir: build\nexecutor: {type: local, workers: 1, tasks: 1}\n"
        "license_policy: {allow_classes: [public-domain, permissive, share-alike]}\nmix: {factors: {fr--web: 2}}\n",
        encoding="utf-8")
    return tmp_path / "p.yaml"


def _recipe(tmp_path: Path, min_chars: int) -> None:
    (tmp_path / "s.yaml").write_text(
        "name: gsd\ncategory: web\nlanguages: [fr]\nlicense: CC-BY-SA-4.0\ninput: {type: jsonl, paths: [in.jsonl]}\n"
        f"stages:\n  - type: min_length\n    min_chars: {min_chars}\n", encoding="utf-8")


def _run(capsys, *argv) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_a_report_on_a_build_without_manifest_says_it_is_unfinished_and_fails(tmp_path, capsys):
    pipe = _project(tmp_path)
    assert main(["build", str(pipe)]) == 0
    build = tmp_path / "build"
    (build / "manifest.json").unlink()  # what a build stopped after its sources, before its manifest, leaves
    code, out, err = _run(capsys, "report", build)
    assert code != 0 and "has no manifest.json: the build stopped before its end" in err, out + err
    assert "rerun `lucie-data build`" in err.lower()
    md = (build / "reports" / "provenance.md").read_text(encoding="utf-8")
    assert md.startswith("# Provenance report: unfinished build (stopped before writing its manifest.json)")
    assert "not enforced" not in md and "no_license_policy" not in md
    assert "Licence policy: not known" in md and "**FAILED**" in md and "`build_unfinished`" in md
    assert "lucie-data None" not in md and "seed None" not in md
    report = json.loads((build / "reports" / "provenance.json").read_text(encoding="utf-8"))
    assert report["build"]["finished"] is False and not report["reconciliation"]["ok"]
    html = (build / "reports" / "provenance.html").read_text(encoding="utf-8")
    assert "not enforced" not in html and "unfinished build" in html

    # the fix the message gives: the rerun writes the manifest, and the report reconciles
    assert main(["build", str(pipe)]) == 0
    code, out, err = _run(capsys, "report", build)
    assert code == 0, err
    md = (build / "reports" / "provenance.md").read_text(encoding="utf-8")
    assert md.startswith("# Provenance report: p\n") and "**OK**" in md and "build_unfinished" not in md


def test_mix_build_on_a_build_without_manifest_names_the_missing_manifest(tmp_path, capsys):
    pipe = _project(tmp_path)
    assert main(["build", str(pipe)]) == 0
    (tmp_path / "build" / "manifest.json").unlink()
    code, out, err = _run(capsys, "mix", "build", tmp_path / "build")
    assert code == 2 and "has no manifest.json" in err and "no mix weights" not in err, err


def test_push_refuses_a_mix_made_before_its_build_changed(tmp_path, capsys):
    pipe = _project(tmp_path, min_chars=1)
    build = tmp_path / "build"
    assert main(["build", str(pipe)]) == 0
    assert main(["mix", "build", str(build)]) == 0
    code, out, err = _run(capsys, "push", build, "--repo-id", "me/x", "--dry-run")
    assert code == 0, err

    _recipe(tmp_path, min_chars=1000)  # a stricter recipe: the rebuilt source keeps 7 of 12 documents
    assert main(["build", str(pipe)]) == 0
    for given in (build, build / "mix"):  # the build, or its mix folder
        code, out, err = _run(capsys, "push", given, "--repo-id", "me/x", "--dry-run")
        assert code != 0, out
        assert re.search(r"the mix .*mix was made from an earlier state of the build .*build: its manifest\.json has "
                         r"changed since", err), err
        assert f"lucie-data mix build {build}" in err

    assert main(["mix", "build", str(build)]) == 0  # the fix it gives
    code, out, err = _run(capsys, "push", build, "--repo-id", "me/x", "--dry-run")
    assert code == 0, err


def test_boilerplate_strips_gutenbergs_markers_from_the_html_edition(tmp_path):
    """New-user review: trafilatura runs Gutenberg's header into one line ("… encoding: UTF-8 *** START OF THIS
    PROJECT GUTENBERG EBOOK ENTRE NOUS *** Produced by …"); the markers were matched only at a line's start, so
    nothing was stripped from the HTML edition while the .txt edition of the same book was. Real page:
    /work/shared/corpora/html/gutenberg-44157-entre-nous.html (public domain, see the corpora README)."""
    import polars as pl

    page = CORPUS.parent / "html" / "gutenberg-44157-entre-nous.html"
    (tmp_path / "s.yaml").write_text(
        "name: gut\ncategory: book\nlanguages: [fr]\nlicense: LicenseRef-PD-US-Project-Gutenberg\n"
        f"input: {{type: html, paths: ['{page}']}}\nstages:\n  - type: boilerplate\n", encoding="utf-8")
    (tmp_path / "p.yaml").write_text("name: p\nsources: [s.yaml]\noutput_dir: build\n"
                                     "executor: {type: local, workers: 1, tasks: 1}\n", encoding="utf-8")
    assert main(["build", str(tmp_path / "p.yaml")]) == 0
    row = pl.read_parquet(sorted((tmp_path / "build/sources/gut/data").glob("*/*.parquet"))).row(0, named=True)
    text = row["text"]
    assert "PROJECT GUTENBERG EBOOK" not in text.upper() and "gutenberg.org" not in text
    assert "Produced by" not in text and "End of the Project Gutenberg" not in text
    assert text.startswith("Au lecteur") and "LECTURES FRANÇAISES" in text[:200]
    assert text.rstrip().endswith("(de vensterbank.)")  # the book's last line (the transcriber's notes) stays
    assert json.loads(row["metadata"])["modified_by"] == ["boilerplate"]


def test_a_creative_commons_name_without_by_is_hinted_to_the_by_licence():
    """New-user review: `deny: [Creative Commons NC]` was told to write "e.g. LicenseRef-CC-NC-1.0", the 1.0
    licence without attribution, not what anyone writing it today means."""
    from lucie_data.licenses import unknown_license_hint

    assert unknown_license_hint("Creative Commons NC").endswith("e.g. CC-BY-NC-4.0")
    assert unknown_license_hint("CC NC-SA").endswith("e.g. CC-BY-NC-SA-4.0")
    assert "CC-BY-NC-1.0, CC-BY-NC-2.0" in unknown_license_hint("CC BY-NC")  # with BY: the versions, as before


def test_validate_reports_a_pipelines_other_errors_beside_a_misspelt_sources_key(tmp_path, capsys):
    """New-user review: with `souces:` misspelt, `validate` reported that alone; six more errors, and the mix block's,
    came one fix later (the README promises every error at once)."""
    (tmp_path / "p.yaml").write_text(
        "name: bad\nsouces: [s.yaml]\noutput-dir: build\nexecutor: {type: local, workers: yes, task: 2}\n"
        "license_policy:\n  allow_class: [permissive]\n  unknown: maybe\nmix:\n  factors: {xx--web: 2}\n",
        encoding="utf-8")
    code, out, err = _run(capsys, "validate", tmp_path / "p.yaml")
    text = out + err
    assert code == 2, text
    for where in ("p.yaml:2: souces", "p.yaml:3: output-dir", "p.yaml:4: executor.workers", "p.yaml:4: executor.task",
                  "p.yaml:6: license_policy.allow_class", "p.yaml:7: license_policy.unknown", "p.yaml:9: mix.factors"):
        assert where in text, (where, text)


def test_validate_reports_the_mix_blocks_errors_beside_the_policys(tmp_path, capsys):
    pipe = _project(tmp_path)
    pipe.write_text(pipe.read_text(encoding="utf-8").replace(
        "license_policy: {allow_classes: [public-domain, permissive, share-alike]}",
        "license_policy: {allow_classes: [public-domain, permissive, share-alike], unknown: maybe}").replace(
        "fr--web: 2", "xx--web: 2"), encoding="utf-8")
    code, out, err = _run(capsys, "validate", pipe)
    assert code == 2 and "license_policy.unknown" in out + err and "mix.factors" in out + err, out + err


def test_trace_warns_of_a_mix_made_before_its_build_changed(tmp_path, capsys):
    """New-user review: after a stricter rebuild, a document the build now removes was traced as "1 time(s) in the
    mix … though removed", exit 0."""
    import polars as pl

    pipe = _project(tmp_path, min_chars=1)
    build = tmp_path / "build"
    assert main(["build", str(pipe)]) == 0 and main(["mix", "build", str(build)]) == 0
    _recipe(tmp_path, min_chars=1000)
    assert main(["build", str(pipe)]) == 0
    gone = pl.read_parquet(sorted((build / "sources/gsd/removed").glob("*/*.parquet")))["id"][0]
    code, out, err = _run(capsys, "trace", build, gone)
    assert code == 1 and "was made from an earlier state of the build" in out, out + err
    # with a file the plan does not list as well, both are said (code review: the second replaced the first)
    shard = sorted((build / "mix" / "data").glob("**/*.parquet"))[0]
    extra = shard.with_name("extra.parquet")
    extra.write_bytes(shard.read_bytes())
    code, out, err = _run(capsys, "trace", build, gone)
    assert code == 1 and "earlier state of the build" in out and "its mix_plan.json does not list" in out, out
    extra.unlink()
    assert main(["mix", "build", str(build)]) == 0
    code, out, err = _run(capsys, "trace", build, gone)
    assert code == 0 and "earlier state" not in out, out + err


def test_an_end_marker_inside_a_line_without_a_start_marker_is_text(tmp_path):
    """Code review: the inline END marker cut any text quoting it, with no START marker anywhere (3,276 -> 925
    characters). Real text: UD French GSD paragraphs (CC-BY-SA-4.0)."""
    from datatrove.data import Document

    from lucie_data.steps.quality.boilerplate import BoilerplateFilter

    paras = [json.loads(x)["text"] for x in CORPUS.read_text(encoding="utf-8").splitlines()[:3]]
    text = "\n\n".join([paras[0], "Il cite la ligne *** END OF THE PROJECT GUTENBERG EBOOK dans son article.",
                        *paras[1:]])
    doc = Document(text=text, id="x", metadata={})
    assert BoilerplateFilter(stage_id="bp", repeated_lines=False).filter(doc) is True
    assert doc.text == text


def test_push_dot_inside_the_mix_folder_checks_the_build_too(tmp_path, capsys, monkeypatch):
    """Code review: `push .` run inside BUILD/mix skipped the stale-mix check (the name of "." is "")."""
    pipe = _project(tmp_path, min_chars=1)
    build = tmp_path / "build"
    assert main(["build", str(pipe)]) == 0 and main(["mix", "build", str(build)]) == 0
    _recipe(tmp_path, min_chars=1000)
    assert main(["build", str(pipe)]) == 0
    monkeypatch.chdir(build / "mix")
    code, out, err = _run(capsys, "push", ".", "--repo-id", "me/x", "--dry-run")
    assert code != 0 and "was made from an earlier state of the build" in err, out + err


def test_a_parquet_file_with_two_corrupt_row_groups_is_quarantined_once(tmp_path):
    """Code review: each corrupt row group's detail differs, and the ledger listed the file once per row group."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = [json.loads(x) for x in CORPUS.read_text(encoding="utf-8").splitlines()[:30]]
    f = tmp_path / "in.parquet"
    pq.write_table(pa.table({"id": [r["id"] for r in rows], "text": [r["text"] for r in rows]}), f,
                   row_group_size=10, compression="snappy")
    md = pq.ParquetFile(f).metadata
    b = bytearray(f.read_bytes())
    for g in (0, 2):  # the text chunk of row groups 1 and 3 damaged in its middle
        c = md.row_group(g).column(1)
        start = (c.dictionary_page_offset or c.data_page_offset) + c.total_compressed_size // 2
        for i in range(start, start + 64):
            b[i] ^= 0x5A
    f.write_bytes(bytes(b))
    (tmp_path / "s.yaml").write_text("name: s\ncategory: web\nlanguages: [fr]\nlicense: CC-BY-SA-4.0\n"
                                     "input: {type: parquet, paths: [in.parquet]}\n", encoding="utf-8")
    assert main(["build", str(tmp_path / "s.yaml"), "--output", str(tmp_path / "b")]) == 0
    led = json.loads((tmp_path / "b/sources/s/ledger.json").read_text(encoding="utf-8"))
    assert led["records_read"] == 30 and led["docs_kept"] == 10 and led["docs_removed"] == 20
    assert [q["file"] for q in led["quarantined_files"]] == ["in.parquet"], led["quarantined_files"]


def test_push_through_a_symlinked_mix_folder_checks_the_build_too(tmp_path, capsys):
    """Second code review: with BUILD/mix a symlink, resolving it lost the name `mix`, and a stale mix was pushed."""
    import shutil

    pipe = _project(tmp_path, min_chars=1)
    build = tmp_path / "build"
    assert main(["build", str(pipe)]) == 0 and main(["mix", "build", str(build)]) == 0
    shutil.move(str(build / "mix"), str(tmp_path / "store"))
    (build / "mix").symlink_to(tmp_path / "store")
    _recipe(tmp_path, min_chars=1000)
    assert main(["build", str(pipe)]) == 0
    code, out, err = _run(capsys, "push", build / "mix", "--repo-id", "me/x", "--dry-run")
    assert code != 0 and "was made from an earlier state of the build" in err, out + err
