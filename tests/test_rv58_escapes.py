"""rv58: strings a record or a recipe gives, shown where they could act rather than be read.

F4: `lucie-data trace` printed a record's licence, id and title raw, so terminal escapes, CR and LF in them forged
lines (a fake `license CC-BY-4.0` over the real `LicenseRef-unknown`).

F6: a recipe's description, provenance url, citation and notes went into the mix's dataset card as they were: raw
`<script>`, `<img onerror>`, a `javascript:` autolink, newlines starting new Markdown blocks.

Texts: ELTeC French novel chapters (CC-BY-4.0) from the shared corpora (see their README)."""
from __future__ import annotations

import json

import yaml

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


HOSTILE = {
    "description": "<script>document.body.dataset.pwned='2'</script> Romans\n---\nlicense: mit",
    "provenance": {"url": "javascript:document.body.dataset.pwned='3'",
                   "citation": "<img src=x onerror=\"document.body.dataset.pwned='4'\">\n\n# Cited *here*\nconfigs: []",
                   "notes": "[click](javascript:alert(1)) <b>bold</b>\r\n- a list item"}}


def _card_body(tmp_path) -> str:
    first, second = _chapters(2)
    for name, rec, extra in (("hostile", first, HOSTILE),
                             ("plain", second, {"description": "ELTeC French novels", "provenance": {
                                 "url": "https://github.com/COST-ELTeC/ELTeC-fra?tab=readme&x=a_b"}})):
        write(tmp_path / f"{name}.jsonl", json.dumps({"id": rec["id"], "text": rec["text"]}) + "\n")
        write(tmp_path / f"{name}.yaml", yaml.safe_dump({
            "name": name, "category": "book", "languages": ["fr"], "license": "CC-BY-4.0", **extra,
            "input": {"type": "jsonl", "paths": [f"{name}.jsonl"]}}))
    write(tmp_path / "p.yaml", "name: p\nsources: [hostile.yaml, plain.yaml]\noutput_dir: out\n"
          "executor: {type: local, workers: 1}\nmix:\n  default_factor: 1\n")
    assert main(["build", str(tmp_path / "p.yaml")]) == 0
    assert main(["mix", "build", str(tmp_path / "out")]) == 0
    card = (tmp_path / "out" / "mix" / "README.md").read_text(encoding="utf-8")
    return card.split("\n---\n", 1)[1]  # the body, after the YAML front matter (safe, unchanged)


def test_card_shows_a_recipes_strings_as_text(tmp_path):
    from markdown_it import MarkdownIt

    body = _card_body(tmp_path)
    # no HTML, and `javascript:` only as text: not an autolink, not a link's target
    assert "<script" not in body and "<img" not in body and "<b>" not in body and "<javascript:" not in body
    assert "](javascript:" not in body.replace("\\](javascript:", "")
    lines = body.splitlines()
    hostile = [x for x in lines if x.startswith("- **hostile**")]
    assert len(hostile) == 1 and "Romans --- license: mit" in hostile[0], hostile
    assert "Cite: &lt;img src=x onerror=" in hostile[0] and "Note: \\[click\\](javascript:alert(1))" in hostile[0]
    html = MarkdownIt("commonmark").render(body)
    assert "<script" not in html and "<img" not in html and "<b>" not in html and 'href="javascript:' not in html
    # the hostile entry renders as one list item of text; the plain source's https url is still a link
    item = next(x for x in html.split("<li>") if x.startswith("<strong>hostile</strong>"))
    assert "&lt;script&gt;document.body.dataset.pwned='2'&lt;/script&gt; Romans --- license: mit " \
           "javascript:document.body.dataset.pwned='3'. Cite: &lt;img src=x onerror=" in item.replace("&quot;", '"')
    assert "<h1>" not in html.split("Attribution")[1].split("Provenance")[0]
    assert '<a href="https://github.com/COST-ELTeC/ELTeC-fra?tab=readme&amp;x=a_b">' in html
