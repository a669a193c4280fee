"""Scale review 48, finding 5: an html page nested more than 255 levels deep was kept with its text silently cut
(libxml2 stops parsing at depth 256 and returns what it read): an old page of never-closed `<font>` tags kept two
thirds of its text, 300 nested `<div>`s kept "I"."""
import html as H
import json

import pytest
import trafilatura
from trafilatura import utils

from lucie_data.steps.readers import RecordReader, decode_html

from .conftest import ROOT, SHARED
from .test_inputs import make_build

_PARAS = list(dict.fromkeys(p for line in (ROOT / "data" / "demo" / "fr_eltec_novels.jsonl").open(encoding="utf-8")
                            for p in json.loads(line)["text"].split("\n\n") if len(p.split()) > 20))[:400]


def _page(body: str) -> str:
    return f"<html><head><meta charset=utf-8><title>Vieille page</title></head><body>{body}</body></html>"


def _font_page(n: int = 400) -> str:
    """An old page: each paragraph opens a `<font>` that is never closed, so the n-th one is n levels deep."""
    return _page("".join(f"<font size=2>{H.escape(p)}<br>\n" for p in _PARAS[:n]))


def _divs(depth: int) -> str:
    return _page("<div>" * depth + "<p>" + H.escape(" ".join(_PARAS[:3])) + " FIN DU TEXTE.</p>" + "</div>" * depth)


def _extract(page: str):
    reader = RecordReader("s", {"type": "html", "text_field": "text"}, [], "/", ["fr"], "CC0-1.0", False, "/")
    return reader._extract(page)


def test_a_page_nested_deeper_than_libxml2s_default_limit_is_read_whole():
    default = utils.HTML_PARSER
    page = _font_page()
    res = _extract(page)
    # every paragraph (before: the first 254, 2/3 of the text; a second parse inside trafilatura's extraction, its
    # readability fallback, cut it again when only the first parse was made whole)
    assert len(_PARAS) == 400 and all(p[:60] in res["text"] for p in _PARAS)
    res = _extract(_divs(300))  # before: "" (nothing extracted), the page removed as having no main text
    assert "FIN DU TEXTE" in res["text"] and _PARAS[0][:60] in res["text"]
    assert utils.HTML_PARSER is default  # trafilatura's parser is its own again after the extraction


def test_a_page_too_deep_to_parse_whole_is_removed_with_the_reason(tmp_path):
    (tmp_path / "pages").mkdir()
    (tmp_path / "pages" / "font.html").write_text(_font_page(), encoding="utf-8")
    (tmp_path / "pages" / "deep.html").write_text(_divs(3000), encoding="utf-8")
    (tmp_path / "pages" / "normal.html").write_text(_font_page(20), encoding="utf-8")
    led, kept, removed = make_build(tmp_path, """\
        name: old_pages
        category: web
        languages: [fr]
        license: CC-BY-4.0
        input: {type: html, paths: ["../pages/*.html"]}
        """)
    assert sorted(kept["id"]) == ["old_pages/pages/font.html", "old_pages/pages/normal.html"]
    assert _PARAS[399][:60] in kept.filter(kept["id"] == "old_pages/pages/font.html")["text"][0]
    assert removed["id"].to_list() == ["old_pages/pages/deep.html:0"]
    assert removed["removal_reason"].to_list() == ["read_extraction_failed"]
    detail = json.loads(removed["metadata"][0])["read_error_detail"]
    assert "2048" in detail and "stopped before the end of the page" in detail and "XML_PARSE_HUGE" not in detail


def _pages():
    for folder in (SHARED / "html", ROOT / "data" / "demo" / "html"):
        for path in sorted(folder.glob("*.html")):
            yield path.name, decode_html(path.read_bytes())[0]


@pytest.mark.parametrize("name,page", list(_pages()), ids=lambda v: v if isinstance(v, str) and len(v) < 80 else "")
def test_normal_pages_extract_as_trafilatura_does(name, page):
    ours = _extract(page)
    theirs = trafilatura.bare_extraction(page, favor_precision=True, include_tables=True, include_comments=False,
                                         with_metadata=True)
    theirs = theirs if theirs is None or isinstance(theirs, dict) else theirs.as_dict()
    if theirs is None:
        assert ours is None
        return
    for key in ("text", "title", "date", "url", "author", "sitename", "language", "categories", "tags", "comments"):
        assert ours.get(key) == theirs.get(key), key  # (its licence: the reader may prefer the page's own link)
