"""rv58: strings a record or a recipe gives, shown where they could act rather than be read.

F4: `lucie-data trace` printed a record's licence, id and title raw, so terminal escapes, CR and LF in them forged
lines (a fake `license CC-BY-4.0` over the real `LicenseRef-unknown`).

Texts: ELTeC French novel chapters (CC-BY-4.0) from the shared corpora (see their README)."""
from __future__ import annotations

import json

from lucie_data.cli import main

from .conftest import SHARED, write

# a scraped licence that moves the cursor up, clears the line and prints a licence line of its own (the review's)
FORGED_LICENCE = ("All rights reserved\x1b[2A\r\x1b[2K  license        CC-BY-4.0\n\x1b[2K  evidence       "
                  "record:license\n\x1b[2K  as written     CC BY 4.0")
# an id that sets the window title, clears the screen, and a C1 CSI and a bidi override
FORGED_ID = "ch1\x1b]0;PWNED\x07\x1b[2J\x9b2J\u202eKO"
FORGED_TITLE = "Une veillée\r\nlicense        CC0-1.0"


def _chapters(n: int) -> list[dict]:
    with open(SHARED / "fr_eltec_novels.jsonl", encoding="utf-8") as f:
        return [json.loads(next(f)) for _ in range(n)]


def _build_forged(tmp_path) -> tuple:
    first, second = _chapters(2)
    records = [{"id": FORGED_ID, "text": first["text"], "license": FORGED_LICENCE, "title": FORGED_TITLE},
               {"id": "ch2", "text": second["text"], "license": second["license"], "title": second.get("title")}]
    write(tmp_path / "s.jsonl", "".join(json.dumps(r) + "\n" for r in records))
    write(tmp_path / "s.yaml", "name: s\ncategory: book\nlanguages: [fr]\nlicense: CC-BY-4.0\n"
          "input: {type: jsonl, paths: [s.jsonl], license_field: license, title_field: title}\n")
    out = tmp_path / "out"
    assert main(["build", str(tmp_path / "s.yaml"), "--output", str(out)]) == 0
    return out


def _no_control(text: str) -> None:
    bad = sorted({hex(ord(c)) for c in text if (ord(c) < 32 and c != "\n") or 0x7f <= ord(c) <= 0x9f
                  or c == "\u202e"})
    assert not bad, bad


def test_trace_escapes_what_a_record_gives(tmp_path, capsys):
    out = _build_forged(tmp_path)
    capsys.readouterr()
    assert main(["trace", str(out), f"s/{FORGED_ID}"]) == 0
    shown = capsys.readouterr().out
    _no_control(shown)
    lines = shown.splitlines()
    # the real licence line is the only one: the record's text is one `as written` line, escaped as JSON writes it
    assert [x for x in lines if x.lstrip().startswith("license ")] == ["  license        LicenseRef-unknown"]
    assert ("  as written     All rights reserved\\u001b[2A\\r\\u001b[2K  license        CC-BY-4.0\\n\\u001b[2K  "
            "evidence       record:license\\n\\u001b[2K  as written     CC BY 4.0") in lines
    assert "  title          Une veillée\\r\\nlicense        CC0-1.0" in lines
    assert lines[0] == "document  s/ch1\\u001b]0;PWNED\\u0007\\u001b[2J\\u009b2J\\u202eKO"
    # the JSON output stays exact: the values as the record gave them
    assert main(["trace", str(out), f"s/{FORGED_ID}", "--json"]) == 0
    t = json.loads(capsys.readouterr().out)
    assert (t["id"], t["license_raw"], t["title"]) == (f"s/{FORGED_ID}", FORGED_LICENCE, FORGED_TITLE)


def test_trace_did_you_mean_escapes_the_ids_it_suggests(tmp_path, capsys):
    out = _build_forged(tmp_path)
    capsys.readouterr()
    assert main(["trace", str(out), "ch1"]) != 0
    err = capsys.readouterr().err
    _no_control(err.rstrip("\n"))
    assert "the full id is s/ch1\\u001b]0;PWNED\\u0007\\u001b[2J\\u009b2J\\u202eKO" in err
