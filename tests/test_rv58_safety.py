"""rv58 (security and data-safety review): a build or a mix deletes or overwrites only what lucie-data wrote."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

from lucie_data.cli import main

ROOT = Path(__file__).resolve().parents[1]
PUD = ROOT / "sources" / "demo" / "pud_en.yaml"


def _project(tmp_path: Path) -> Path:
    """A project keeping one recipe per folder, `sources/pud_en/pud_en.yaml`, with notes beside it."""
    proj = tmp_path / "proj"
    (proj / "sources" / "pud_en").mkdir(parents=True)
    data = (ROOT / "data" / "demo" / "en_ud_pud.jsonl").resolve()
    recipe = PUD.read_text(encoding="utf-8").replace("../../data/demo/en_ud_pud.jsonl", str(data))
    (proj / "sources" / "pud_en" / "pud_en.yaml").write_text(recipe, encoding="utf-8")
    (proj / "sources" / "pud_en" / "notes.md").write_text("my notes\n", encoding="utf-8")
    return proj


def test_a_build_into_a_folder_it_did_not_make_is_refused_before_any_work(tmp_path, capsys):
    """`build --output .` in that project deleted `sources/pud_en/` (the recipe it was building, and the notes), then
    failed with a traceback; an unrelated manifest.json was overwritten. Now: exit 2, every file as it was."""
    proj = _project(tmp_path)
    before = {p: p.read_bytes() for p in proj.rglob("*") if p.is_file()}
    assert main(["build", str(proj / "sources" / "pud_en" / "pud_en.yaml"), "--output", str(proj)]) == 2
    err = capsys.readouterr().err
    assert f"{proj} is not a lucie-data build folder: it holds sources" in err and "Traceback" not in err
    assert "Build into a new or empty folder" in err
    assert {p: p.read_bytes() for p in proj.rglob("*") if p.is_file()} == before
    assert not (proj / ".lock").exists() and not (proj / "manifest.json").exists()

    app = tmp_path / "app"
    app.mkdir()
    (app / "manifest.json").write_text('{"name": "my web app", "icons": []}', encoding="utf-8")
    assert main(["build", str(PUD), "--output", str(app)]) == 2
    assert "it holds manifest.json, but no .pipeline file" in capsys.readouterr().err
    assert (app / "manifest.json").read_text(encoding="utf-8") == '{"name": "my web app", "icons": []}'


def test_a_file_no_build_wrote_in_a_source_folder_stops_the_build_that_would_delete_it(tmp_path, capsys):
    """A build folder's source folder is replaced whole when rebuilt: a file put there (a mix written inside it, rv58
    F5) was deleted without a word by the next rebuild. The build names it; moved out, the build goes on."""
    out = tmp_path / "out"
    assert main(["build", str(PUD), "--output", str(out)]) == 0
    assert json.loads((out / "manifest.json").read_text(encoding="utf-8"))["pipeline"]["name"]
    (out / "sources" / "pud_en" / ".DS_Store").write_bytes(b"\0\0\0\1Bud1")  # (rv60: the system's, not refused)
    assert main(["build", str(PUD), "--output", str(out)]) == 0
    stray = out / "sources" / "pud_en" / "mymix"
    stray.mkdir()
    (stray / "README.md").write_text("a mix\n", encoding="utf-8")
    capsys.readouterr()
    assert main(["build", str(PUD), "--output", str(out), "--workers", "1"]) == 2
    err = capsys.readouterr().err
    assert f"{out} holds sources/pud_en/mymix, which no build wrote" in err and "Move them out" in err
    assert (stray / "README.md").read_text(encoding="utf-8") == "a mix\n"
    shutil.move(stray, tmp_path / "mymix")
    assert main(["build", str(PUD), "--output", str(out)]) == 0
    assert "up to date" in capsys.readouterr().out.lower()


def test_an_empty_folder_or_one_with_a_first_builds_lock_is_built_into(tmp_path):
    for name, files in (("empty", []), ("locked", [".lock", "build.log"])):
        out = tmp_path / name
        out.mkdir()
        for f in files:
            (out / f).write_text("", encoding="utf-8")
        assert main(["build", str(PUD), "--output", str(out)]) == 0, name


def test_a_mix_inside_a_builds_source_folders_is_refused(tmp_path, capsys):
    """rv58: `mix build --output BUILD/sources/<source>/mymix` was written, then deleted by that source's next rebuild."""
    out = tmp_path / "out"
    assert main(["build", str(PUD), "--output", str(out)]) == 0
    weights = tmp_path / "w.yaml"
    weights.write_text("factors: {en--web: 1}\n", encoding="utf-8")
    capsys.readouterr()
    target = out / "sources" / "pud_en" / "mymix"
    assert main(["mix", "build", str(out), "--weights", str(weights), "--output", str(target)]) == 2
    err = capsys.readouterr().err
    assert f"output {target} is inside {out / 'sources'}, the build's source folders" in err and "Traceback" not in err
    assert not target.exists()
    assert main(["mix", "build", str(out), "--weights", str(weights)]) == 0 and (out / "mix" / "mix_plan.json").is_file()
    other = tmp_path / "webapp"  # (rv60: a `sources/` beside another tool's manifest.json is no build's)
    (other / "sources").mkdir(parents=True)
    (other / "manifest.json").write_text('{"name": "my web app"}', encoding="utf-8")
    assert main(["mix", "build", str(out), "--weights", str(weights), "--output", str(other / "sources" / "m")]) == 0
