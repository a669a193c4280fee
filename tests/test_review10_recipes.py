"""Review 10: recipe and pipeline messages."""
import re
from pathlib import Path

import pytest

from lucie_data.errors import ConfigIssue, RecipeError, in_file_order
from lucie_data.recipe import validate_paths

RECIPE = """\
name: r
input:
  type: jsonl
  paths: [x.jsonl]
language: fr
licnse: CC-BY-4.0
stages:
  - type: min_lenght
    min_chars: 10
  - type: gopher_quality
    min_words: -3
category: bogus
"""


def test_validate_lists_a_files_problems_in_line_order(tmp_path: Path):
    """They came kind by kind (unknown keys, then stages, then paths), so a reader fixing the file top to bottom
    went back and forth."""
    f = tmp_path / "r.yaml"
    f.write_text(RECIPE)
    issues = validate_paths([f])
    lines = [i.line for i in issues]
    assert len(issues) == 8 and lines == sorted(lines), [str(i) for i in issues]
    assert [i.path for i in issues][-5:] == ["language", "licnse", "stages[0]", "stages[1].min_words", "category"]


def test_issues_are_grouped_by_file_once_each():
    a1, a9, b3 = ConfigIssue("a", "x", "m", 1), ConfigIssue("a", "y", "m", 9), ConfigIssue("b", "z", "m", 3)
    whole = ConfigIssue("a", "", "whole file")
    assert in_file_order([a9, b3, whole, a1, b3]) == [a1, a9, whole, b3]
    assert RecipeError([a9, a1]).issues == [a1, a9]


def test_the_missing_licence_warning_names_the_evidence_the_rows_carry():
    """It said "evidence `recipe`"; the rows carry `recipe:no_license_field`, which `unverified: deny` removes."""
    from types import SimpleNamespace

    from lucie_data.ledger import read_checks_problems

    recipe = SimpleNamespace(license="CC-BY-4.0", languages=["fr"], rule_fields=lambda: [])
    src = SimpleNamespace(recipe=recipe, file="r.yaml")
    checks = {"records": 10, "record_fields": ["id", "text", "licence"],
              "fields_missing": {"license_field": {"records": 3, "field": "licence"}}}
    warnings, errors = read_checks_problems(checks, src)
    assert not errors and len(warnings) == 1
    assert "evidence `recipe:no_license_field`; a policy with `unverified: deny` removes it" in warnings[0]


def test_the_demo_run_from_another_folder_builds_there(tmp_path, monkeypatch, capsys):
    """`lucie-data build` with no argument, run outside the checkout, wrote into the checkout's build/demo."""
    from lucie_data.cli import main

    root = Path(__file__).resolve().parents[1]
    before = sorted((root / "build").glob("*")) if (root / "build").exists() else []
    monkeypatch.chdir(tmp_path)
    assert main(["build", "--only", "pud_en"]) == 0
    assert (tmp_path / "build" / "demo" / "sources" / "pud_en" / "ledger.json").is_file()
    after = sorted((root / "build").glob("*")) if (root / "build").exists() else []
    assert after == before
    assert str(tmp_path / "build" / "demo") in capsys.readouterr().out.replace("\n", "")


def test_a_build_folder_that_cannot_be_made_is_a_clear_error(tmp_path, monkeypatch, capsys):
    """`output_dir: afile` (a file) or `--output afile/sub` gave a FileExistsError / NotADirectoryError traceback from
    the runner, and `validate` said OK."""
    from lucie_data.cli import main

    root = Path(__file__).resolve().parents[1]
    monkeypatch.chdir(tmp_path)
    (tmp_path / "afile").write_text("not a folder")
    recipe = tmp_path / "r.yaml"
    recipe.write_text((root / "sources" / "demo" / "pud_en.yaml").read_text().replace("../../data/", f"{root}/data/"))
    (tmp_path / "p.yaml").write_text("name: p\noutput_dir: afile\nsources: [r.yaml]\n")

    def run(*argv) -> str:
        capsys.readouterr()
        assert main(list(argv)) == 2
        out = capsys.readouterr()
        assert "Traceback" not in out.out + out.err
        return " ".join((out.out + out.err).split())

    said = run("validate", "p.yaml")
    assert "p.yaml:2: output_dir: afile is a file, not a folder; choose another folder" in said, said
    assert "output_dir: afile is a file, not a folder" in run("build", "p.yaml")
    said = run("build", "r.yaml", "--output", "afile/sub")
    assert f"cannot make the build folder {tmp_path}/afile/sub ({tmp_path}/afile is a file, not a folder), given by " \
           "--output" in said, said


GOOD = """\
name: r
category: web
languages: [en]
license: CC-BY-4.0
provenance:
  url: https://example.org
input:
  type: jsonl
  paths: [x.jsonl]
stages:
  - type: normalize
"""


@pytest.mark.parametrize("old, new, match", [
    ("languages: [en]", "languages: en", r"r\.yaml:3: languages: expected a list, got the single value 'en': write it "
                                          r"as a list, `\[en\]`"),
    ("  - type: normalize", "  - normalize", r"r\.yaml:11: stages\[0\]: a stage is a mapping with a `type:` key, got "
                                             r"the string 'normalize': write `- type: normalize`"),
    ("stages:\n  - type: normalize", "stages: {type: normalize}",
     r"r\.yaml:10: stages: expected a list \(`- item` lines, or `\[a, b\]`\), got a mapping"),
    ("stages:\n  - type: normalize", "stages:", r"stages: expected a list .*got nothing"),
    ("license: CC-BY-4.0", "license: [CC-BY-4.0]", r"license: expected a single value, got a list .*an SPDX "
                                                   r"expression joins licences"),
    ("  - type: normalize", "  - 3", r"stages\[0\]: a stage is a mapping with a `type:` key, got 3"),
    ("stages:", "output: 5\nstages:", r"output: expected a mapping \(keys on their own lines, indented under "
                                      r"`output:`\), got 5"),
    ("provenance:\n  url: https://example.org", "provenance: https://example.org",
     r"r\.yaml:5: provenance: expected a mapping \(keys on their own lines, indented under `provenance:`\), got the "
     r"string 'https://example.org'"),
])
def test_a_newcomers_type_mistakes_say_how_to_write_it(tmp_path, old, new, match):
    """Data-engineer review: "Input should be a valid list", "a valid dictionary or instance of Provenance"."""
    (tmp_path / "x.jsonl").write_text('{"id": "1", "text": "Hello there."}\n')
    f = tmp_path / "r.yaml"
    assert old in GOOD
    f.write_text(GOOD.replace(old, new))
    found = [str(i) for i in validate_paths([f])]
    assert len(found) == 1 and re.search(match, found[0]), found


def test_a_pipeline_with_source_for_sources_is_named_once(tmp_path, capsys):
    """`source:` made the pipeline read as a recipe: five errors about keys a pipeline never has."""
    from lucie_data.cli import main

    p = tmp_path / "p.yaml"
    p.write_text("name: p\nsource: [r.yaml]\n")
    (issue,) = validate_paths([p])
    assert str(issue).endswith("p.yaml:2: source: unknown key 'source': a pipeline lists its recipes under `sources:` "
                               "(did you mean `sources`?), a recipe needs `input:`")
    capsys.readouterr()
    assert main(["build", str(p)]) == 2
    assert "did you mean `sources`?" in capsys.readouterr().err


def test_a_hub_tokenizer_on_a_host_that_does_not_resolve_fails_at_once(tmp_path, monkeypatch):
    """huggingface_hub retried a name that does not resolve for 23 s (1+2+4+8+8) before a message about
    `local_files_only`. `.invalid` never resolves (RFC 2606): a real lookup, no network needed."""
    from huggingface_hub import constants

    from lucie_data.errors import InputError
    from lucie_data.runner import _check_tokenizer

    monkeypatch.setenv("HF_ENDPOINT", "https://hub.invalid")
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "cache"))
    with pytest.raises(InputError, match=r"'OpenLLM-France/Lucie-7B' .* cannot be loaded: ConnectionError: "
                                         r"https://hub\.invalid cannot be reached \(its name does not resolve: no "
                                         r"network\?\) and the HF cache holds no tokenizer\.json of "
                                         r"OpenLLM-France/Lucie-7B\. Set `tokenizer:` to a local tokenizer\.json"):
        _check_tokenizer("OpenLLM-France/Lucie-7B")


def test_editing_a_description_does_not_rebuild_the_source(tmp_path, capsys):
    """Data-engineer review: a new `description:` rebuilt the whole source (hours on a real corpus), though no
    document carries it. The source stays up to date; recipe.resolved.json (which the report and the card read) and
    the manifest get the new text; a change that does reach documents still rebuilds."""
    import json as _json

    from lucie_data.cli import main

    root = Path(__file__).resolve().parents[1]
    recipe = tmp_path / "pud_en.yaml"
    text = (root / "sources" / "demo" / "pud_en.yaml").read_text().replace("../../data/", f"{root}/data/")
    recipe.write_text(text)
    out = tmp_path / "b"
    assert main(["build", str(recipe), "--output", str(out)]) == 0
    shard = sorted((out / "sources" / "pud_en" / "data").glob("*/*.parquet"))[0]
    before = shard.stat().st_mtime_ns
    recipe.write_text(text.replace("description: English news", "description: News in English"))
    capsys.readouterr()
    assert main(["build", str(recipe), "--output", str(out)]) == 0
    said = capsys.readouterr().out
    assert "pud_en: up to date" in said and "did not hold the recipe" not in said, said
    assert shard.stat().st_mtime_ns == before
    resolved = _json.loads((out / "sources" / "pud_en" / "recipe.resolved.json").read_text())
    assert resolved["recipe"]["description"].startswith("News in English")
    from lucie_data.mix.stats import read_sources

    assert read_sources(out)[0].description.startswith("News in English")  # the manifest agrees with the file
    recipe.write_text(text.replace("min_chars: 100", "min_chars: 120"))
    capsys.readouterr()
    assert main(["build", str(recipe), "--output", str(out)]) == 0
    assert "pud_en: up to date" not in capsys.readouterr().out


@pytest.mark.parametrize("text, match", [
    (GOOD.replace("  type: jsonl", "  type: jsonl\n    x: 1"), r"r\.yaml:9: invalid YAML: mapping values are not allowed here "
                                                      r"\(a `key: value` where YAML did not expect one: usually this "
                                                      r"line is indented deeper"),
    (GOOD.replace("stages:\n  - type: normalize", "stages:\n  - type: normalize\n - type: min_length"),
     r"invalid YAML: expected <block end>, but found .* \(a line indented less or more than its siblings"),
    (GOOD + "---\nname: other\n", r"r\.yaml:12: invalid YAML: but found another document \(a `---` line starts a "
                                  r"second YAML document"),
    (GOOD.replace("  - type: normalize", "\t- type: normalize"), r"invalid YAML: found character '\\t' that cannot "
                                                                 r"start any token \(a tab: YAML indents with spaces"),
])
def test_yaml_slips_say_what_was_likely_meant(tmp_path, text, match):
    """Data-engineer review: PyYAML's bare words ("expected <block end>, but found '?'") and a line, nothing else."""
    f = tmp_path / "r.yaml"
    f.write_text(text)
    found = [str(i) for i in validate_paths([f])]
    assert len(found) == 1 and re.search(match, found[0]), found


def test_a_recipe_not_in_utf8_is_named_with_its_line_or_as_utf16(tmp_path):
    f = tmp_path / "r.yaml"
    f.write_bytes(GOOD.replace("news", "news").encode("utf-16"))
    (issue,) = validate_paths([f])
    assert str(issue).endswith("r.yaml: not UTF-8 text: it is UTF-16 (it starts with a UTF-16 byte-order mark); "
                               "save it as UTF-8")
    f.write_bytes(GOOD.replace("name: r", "name: r\ndescription: Texte en fran\xe7ais").encode("latin-1"))
    (issue,) = validate_paths([f])
    assert ":2: not UTF-8 text (invalid continuation byte at byte " in str(issue), str(issue)


def test_validate_names_what_it_checked(tmp_path, monkeypatch, capsys):
    """It printed "OK: 2 file(s) valid" without naming them (the bundled pipelines, run elsewhere), and "OK: 0 file(s)
    valid" for a folder without YAML."""
    from lucie_data.cli import main

    monkeypatch.chdir(tmp_path)
    capsys.readouterr()
    assert main(["validate"]) == 0
    said = " ".join(capsys.readouterr().out.split())
    assert "pipelines/demo.yaml" in said and "(the bundled pipelines: no pipelines/ here" in said, said
    (tmp_path / "empty").mkdir()
    assert main(["validate", "empty"]) == 2
    assert "no pipeline or recipe YAML file in empty" in capsys.readouterr().err


def test_offline_mode_without_a_cached_tokenizer_is_said_in_the_clis_words(tmp_path, monkeypatch):
    """Second auditor review: with HF_HUB_OFFLINE=1 the message told a CLI user to "set 'local_files_only' to False"."""
    from huggingface_hub import constants

    from lucie_data.errors import InputError
    from lucie_data.runner import _check_tokenizer

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "cache"))
    with pytest.raises(InputError, match=r"ConnectionError: HF_HUB_OFFLINE is set and the HF cache holds no "
                                         r"tokenizer\.json of OpenLLM-France/Lucie-7B") as exc:
        _check_tokenizer("OpenLLM-France/Lucie-7B@v1")
    assert "local_files_only" not in str(exc.value)


def test_a_build_folder_the_system_refuses_is_not_called_a_file(tmp_path, capsys):
    from lucie_data.cli import main

    root = Path(__file__).resolve().parents[1]
    recipe = tmp_path / "r.yaml"
    recipe.write_text((root / "sources" / "demo" / "pud_en.yaml").read_text().replace("../../data/", f"{root}/data/"))
    capsys.readouterr()
    assert main(["build", str(recipe), "--output", "/proc/lucie-data-nope"]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "cannot make the build folder /proc/lucie-data-nope" in err and "move that file away" not in err, err


@pytest.mark.parametrize("argv, code", [(["validate", "BAD"], 2), (["stages"], 0), (["mix", "plan"], 0)])
def test_output_cut_by_its_reader_keeps_the_commands_exit_code(tmp_path, argv, code):
    """`lucie-data validate … | head` exited 1 (rich's own exit on a closed pipe), not validate's 2."""
    import subprocess
    import sys

    bad = tmp_path / "bad"
    bad.mkdir()
    for i in range(40):
        (bad / f"r{i}.yaml").write_text("name: r\nlicnse: x\n")
    argv = [str(bad) if a == "BAD" else a for a in argv]
    p = subprocess.Popen([sys.executable, "-m", "lucie_data.cli", *argv], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, cwd=tmp_path)
    p.stdout.read(20)
    p.stdout.close()  # the reader goes, as `head -1` does
    err = p.stderr.read().decode()
    assert p.wait(timeout=60) == code and "Traceback" not in err, err


def test_report_with_a_tokenizer_that_cannot_be_had_is_a_clear_error(tmp_path, monkeypatch, capsys):
    """Read-through: `report --tokenizer nope/nope` offline ended in a ConnectionError traceback from the recount."""
    from huggingface_hub import constants

    from lucie_data.cli import main

    root = Path(__file__).resolve().parents[1]
    recipe = tmp_path / "r.yaml"
    recipe.write_text((root / "sources" / "demo" / "pud_en.yaml").read_text().replace("../../data/", f"{root}/data/"))
    assert main(["build", str(recipe), "--output", str(tmp_path / "b")]) == 0
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "cache"))
    capsys.readouterr()
    assert main(["report", str(tmp_path / "b"), "--tokenizer", "nope/nope"]) == 2
    err = capsys.readouterr().err
    # (newcomer review: it spoke of the pipeline's tokenizer and told to edit `tokenizer:`, which the flag's is not)
    assert "the tokenizer --tokenizer gives 'nope/nope'" in err and "Give --tokenizer a local tokenizer.json" in err \
        and "leave --tokenizer out" in err and "`tokenizer:`" not in err, err
