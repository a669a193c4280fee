"""Bad-input fuzz review (2026-11-28): inputs that passed `validate` and then lost or relabelled every document, or
crashed with a traceback. Each is now a validation error with the file, the line, the YAML path and the fix.

Text: a slice of /work/shared/corpora/fr_ud_gsd.jsonl (UD French GSD, CC-BY-SA-4.0; see its README)."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from lucie_data.cli import main

CORPUS = Path("/work/shared/corpora/fr_ud_gsd.jsonl")
if not CORPUS.exists():  # a checkout next to ../shared
    CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpora" / "fr_ud_gsd.jsonl"
RECIPE = ("name: gsd\ncategory: web\nlanguages: [fr]\nlicense: CC-BY-SA-4.0\n"
          "input: {{type: jsonl, paths: [{paths}]{extra}}}\n{stages}")


def _write(tmp_path: Path, paths: str = "in.jsonl", extra: str = "", stages: str = "") -> Path:
    lines = CORPUS.read_text(encoding="utf-8").splitlines()[:5]
    (tmp_path / "in.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    f = tmp_path / "r.yaml"
    f.write_text(RECIPE.format(paths=paths, extra=extra, stages=stages), encoding="utf-8")
    return f


def _validate(path: Path, capsys) -> tuple[int, str]:
    capsys.readouterr()
    code = main(["validate", str(path)])
    cap = capsys.readouterr()
    return code, " ".join((cap.out + cap.err).split())


@pytest.mark.parametrize(("extra", "match"), [
    # each passed validate; text_field "" removed all records as read_missing_text, exit 0
    (", text_field: ''", "r.yaml:5: input.text_field: `text_field` is empty: give the name"),
    # license_field "" labelled every record with the recipe's licence, no warning
    (", license_field: ''", "r.yaml:5: input.license_field: `license_field` is empty: give the name, or remove it"),
    (", license_field: '   '", "input.license_field: `license_field` is empty"),
    (", language_field: ''", "input.language_field: `language_field` is empty"),
    (", id_field: ''", "input.id_field: `id_field` is empty: give the record field's name, or null for none"),
    (", text_field: \"a\\0b\"", "input.text_field: `text_field` is not a name (a NUL byte)"),
])
def test_empty_field_names_are_errors(tmp_path, capsys, extra, match):
    code, out = _validate(_write(tmp_path, extra=extra), capsys)
    assert code == 2 and match in out, out
    assert "Traceback" not in out


def test_an_empty_path_is_an_error(tmp_path, capsys):
    """`paths: [""]` read the recipe's own folder (its YAML files) as data: 125 read_invalid_json."""
    code, out = _validate(_write(tmp_path, paths="in.jsonl, ''"), capsys)
    assert code == 2 and "input.paths: paths[1] is empty: give a file, folder or glob" in out, out


@pytest.mark.parametrize("kind", ["loop", "dangling", "fifo"])
def test_input_paths_that_are_not_regular_files(tmp_path, capsys, kind):
    """A symlink loop was a traceback (validate and build), a dangling symlink failed the whole source as "a defect"
    after validate said OK, a named pipe hung the build."""
    f = _write(tmp_path, paths="'in*.jsonl'")
    if kind == "loop":
        os.symlink(tmp_path / "in_b.jsonl", tmp_path / "in_a.jsonl")
        os.symlink(tmp_path / "in_a.jsonl", tmp_path / "in_b.jsonl")
        why = "in_a.jsonl is a symlink loop (it points to"
    elif kind == "dangling":
        os.symlink(tmp_path / "nowhere.jsonl", tmp_path / "in_x.jsonl")
        why = "in_x.jsonl is a symlink to " + str(tmp_path / "nowhere.jsonl") + ", which does not exist"
    else:
        os.mkfifo(tmp_path / "in_pipe.jsonl")
        why = "in_pipe.jsonl is a named pipe (reading it would wait for a writer forever)"
    code, out = _validate(f, capsys)
    assert code == 2 and "r.yaml:5: input.paths[0]:" in out and why in out, out
    assert "remove it, or make `paths` match regular files only" in out
    assert main(["build", str(f), "--output", str(tmp_path / "out")]) == 2  # refused before any work
    assert not (tmp_path / "out" / "sources").exists()


@pytest.mark.parametrize(("text", "match"), [
    ("? [a, b]\n: 1\n", "invalid YAML: found unhashable key (a key written as a list or a mapping"),
    ("a: " + "[" * 600 + "]" * 600 + "\n", "invalid YAML: nested too deeply to read"),
    # aliases nested in aliases: 9 levels were minutes and 20 GB; 7 levels (4.8 million values) refused at once
    ("a0: &a0 [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]\n" for i in range(1, 8)),
     "invalid YAML: its aliases (`*name` of an `&name` anchor) expand 26 written values to 54,481,013"),
])
def test_yaml_that_parses_but_no_recipe_could_be(tmp_path, capsys, text, match):
    f = tmp_path / "r.yaml"
    f.write_text(text, encoding="utf-8")
    code, out = _validate(f, capsys)
    assert code == 2 and match in out and "Traceback" not in out, out
    w = tmp_path / "w.yaml"
    w.write_text(text, encoding="utf-8")
    (tmp_path / "s.csv").write_text("subset,language,category,tokens\na,fr,web,10\n", encoding="utf-8")
    capsys.readouterr()
    assert main(["mix", "plan", "--stats", str(tmp_path / "s.csv"), "--weights", str(w)]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert f"weights file {w}" in err and match in err, err


def test_a_weights_yaml_error_is_one_line_with_its_hint(tmp_path, capsys):
    w = tmp_path / "w.yaml"
    w.write_text("factors:\n\tfr--web: 1\n", encoding="utf-8")
    (tmp_path / "s.csv").write_text("subset,language,category,tokens\na,fr,web,10\n", encoding="utf-8")
    assert main(["mix", "plan", "--stats", str(tmp_path / "s.csv"), "--weights", str(w)]) == 2
    err = capsys.readouterr().err.strip()
    assert err == (f"error: weights file {w}:2: invalid YAML: found character '\\t' that cannot start any token "
                   "(a tab: YAML indents with spaces only)"), err


@pytest.mark.parametrize(("content", "why"), [(b"", "the file is empty"), (b"not a model at all, text", "")])
def test_a_language_id_model_that_is_not_one(tmp_path, capsys, content, why):
    """An empty or fake fastText `model:` passed validate; the build read every record, then its tasks failed."""
    (tmp_path / "m.bin").write_bytes(content)
    f = _write(tmp_path, stages="stages:\n  - type: language_id\n    model: m.bin\n")
    code, out = _validate(f, capsys)
    assert code == 2 and "r.yaml:8: stages[0].model: file 'm.bin' is not a fastText model" in out, out
    assert why in out


def test_the_bundled_model_is_one(tmp_path, capsys):
    import lucie_data

    model = Path(lucie_data.__file__).parent / "assets" / "lid.176.ftz"
    f = _write(tmp_path, stages=f"stages:\n  - type: language_id\n    model: {model}\n")
    assert _validate(f, capsys)[0] == 0


def test_output_folder_names(tmp_path, capsys):
    f = _write(tmp_path)
    pipe = tmp_path / "p.yaml"
    pipe.write_text('name: p\nsources: [r.yaml]\noutput_dir: "a\\0b"\n', encoding="utf-8")
    code, out = _validate(pipe, capsys)  # a NUL byte passed validate, and was a traceback at build
    assert code == 2 and "p.yaml:3: output_dir: `output_dir` is not a path (a NUL byte)" in out, out
    pipe.write_text("name: p\nsources: [r.yaml]\noutput_dir: '  '\n", encoding="utf-8")
    assert _validate(pipe, capsys)[0] == 2
    capsys.readouterr()
    assert main(["build", str(f), "--output", ""]) == 2  # was ignored: the build went elsewhere
    assert "--output is empty" in capsys.readouterr().err


def test_absurd_factors_and_token_counts(tmp_path, capsys):
    (tmp_path / "s.csv").write_text("subset,language,category,tokens\na,fr,web," + "9" * 5000 + "\n", encoding="utf-8")
    assert main(["mix", "plan", "--stats", str(tmp_path / "s.csv")]) == 2  # was Python's int-limit traceback
    assert "tokens must be a non-negative integer of at most 30 digits" in capsys.readouterr().err
    (tmp_path / "s.csv").write_text("subset,language,category,tokens\na,fr,web,10\n", encoding="utf-8")
    w = tmp_path / "w.yaml"
    for factor, code in (("1e30", 2), ("2000", 2), ("100", 0), ("2.5", 0)):
        w.write_text(f"factors: {{fr--web: {factor}}}\n", encoding="utf-8")
        capsys.readouterr()
        assert main(["mix", "plan", "--stats", str(tmp_path / "s.csv"), "--weights", str(w)]) == code, factor
        if code:
            assert "a factor or multiplier of epochs (Lucie's largest factor is 3)" in capsys.readouterr().err


def test_a_binary_text_column_of_utf8_is_read(tmp_path):
    """A Parquet `text` column of type binary holding UTF-8 was removed as read_text_not_string; bytes that are not
    UTF-8 still are (every record accounted for)."""
    import polars as pl
    import pyarrow as pa
    import pyarrow.parquet as pq

    recs = [json.loads(x) for x in CORPUS.read_text(encoding="utf-8").splitlines()[:3]]
    texts = [r["text"].encode("utf-8") for r in recs[:2]] + [b"\xff\xfe not utf-8"]
    pq.write_table(pa.table({"id": [r["id"] for r in recs], "text": pa.array(texts, pa.binary())}),
                   tmp_path / "in.parquet")
    (tmp_path / "r.yaml").write_text("name: gsd\ncategory: web\nlanguages: [fr]\nlicense: CC-BY-SA-4.0\n"
                                     "input: {type: parquet, paths: [in.parquet]}\n", encoding="utf-8")
    assert main(["build", str(tmp_path / "r.yaml"), "--output", str(tmp_path / "out")]) == 0
    kept = pl.read_parquet(sorted((tmp_path / "out/sources/gsd/data").glob("*/*.parquet")))
    assert kept["text"].to_list() == [r["text"] for r in recs[:2]]
    removed = pl.read_parquet(sorted((tmp_path / "out/sources/gsd/removed").glob("*/*.parquet")))
    assert removed["removal_reason"].to_list() == ["read_text_not_string"]


def test_default_stages_every_recipe_replaces_are_still_checked(tmp_path, capsys):
    """Fuzz review: an invalid `defaults.stages` passed `validate` when every recipe had its own `stages:`."""
    _write(tmp_path, stages="stages:\n  - type: normalize\n")
    pipe = tmp_path / "p.yaml"
    pipe.write_text("name: p\nsources: [r.yaml]\noutput_dir: out\n"
                    "defaults:\n  stages:\n    - type: min_length\n      min_chars: abc\n", encoding="utf-8")
    code, out = _validate(pipe, capsys)
    assert code == 2, out
    assert ("p.yaml:7: defaults.stages[0].min_chars: Input should be a valid integer" in out
            and "(in the defaults, which every recipe replaces)" in out), out
    # a recipe that takes them: reported once, with that recipe (as before)
    (tmp_path / "r.yaml").write_text((tmp_path / "r.yaml").read_text().replace("stages:\n  - type: normalize\n", ""))
    code, out = _validate(pipe, capsys)
    assert code == 2 and out.count("min_chars") == 1 and "which every recipe replaces" not in out, out


def test_a_long_list_written_out_is_not_an_alias_bomb(tmp_path, capsys):
    """Code review: the 100,000-value cap refused a url_filter with 100,000 domains written out (no alias), telling
    the user to write the values out."""
    domains = "".join(f"      - site{i}.example\n" for i in range(120_000))
    f = _write(tmp_path, stages="stages:\n  - type: url_filter\n    domains:\n" + domains)
    code, out = _validate(f, capsys)
    assert "aliases" not in out, out[:500]


def test_the_epoch_cap_is_on_the_product(tmp_path, capsys):
    """Code review: factor 100 × language 100 × source 100 planned 10^6 epochs."""
    (tmp_path / "s.csv").write_text("subset,language,category,tokens\nwiki--fr,fr,wiki,1000\n", encoding="utf-8")
    w = tmp_path / "w.yaml"
    w.write_text("factors: {fr--wiki: 100}\nlanguages: {fr: 100}\nsources: {wiki--fr: 100}\n", encoding="utf-8")
    assert main(["mix", "plan", "--stats", str(tmp_path / "s.csv"), "--weights", str(w)]) == 2
    err = capsys.readouterr().err
    assert ("subset wiki--fr: 1e+06 epochs (factor 100 for fr--wiki × language multiplier 100 × source multiplier 100)"
            in err), err
    w.write_text("factors: {fr--wiki: 10}\nlanguages: {fr: 5}\nsources: {wiki--fr: 2}\n", encoding="utf-8")
    assert main(["mix", "plan", "--stats", str(tmp_path / "s.csv"), "--weights", str(w)]) == 0


def test_a_symlinked_subfolder_of_a_folder_input_is_read(tmp_path):
    """Code review: `paths: [data]` skipped data/2023 -> ../archive/2023 (rglob does not follow it), while
    `data/**/*.jsonl` read it: the same folder gave different inputs, and the skipped file was lost without a word. A
    link back up the tree is read once."""
    from lucie_data.recipe import resolve_paths

    lines = CORPUS.read_text(encoding="utf-8").splitlines()
    (tmp_path / "data/2024").mkdir(parents=True)
    (tmp_path / "archive/2023").mkdir(parents=True)
    (tmp_path / "data/2024/jan.jsonl").write_text(lines[0] + "\n", encoding="utf-8")
    (tmp_path / "archive/2023/dec.jsonl").write_text(lines[1] + "\n", encoding="utf-8")
    os.symlink("../archive/2023", tmp_path / "data/2023")
    os.symlink("..", tmp_path / "data/2024/up")  # a loop: data/2024/up/2024/up/…
    problems: list[str] = []
    got = resolve_paths(tmp_path, ["data"], problems)
    assert got == [tmp_path / "archive/2023/dec.jsonl", tmp_path / "data/2024/jan.jsonl"] and not problems
    assert sorted(resolve_paths(tmp_path, ["data/**/*.jsonl"])) == sorted(got)
