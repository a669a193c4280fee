"""Scale review 48, finding 4: the `pii` stage stalled a worker for minutes on one long token without spaces (a base64
image next to an address, `a-a-a…`), since datatrove's e-mail regex was run over the whole text."""
import base64
import json
import random

from datatrove.data import Document

from lucie_data.steps.quality import pii
from lucie_data.steps.quality.pii import EMAIL_RE, IP_RE, PIIFilter, email_matches, email_sub

from .conftest import DATA, ROOT, SHARED

_PIECES = ["a", "b", "Z", "1", "9", "0", "-", "_", ".", ".", "@", "@", " ", "!", "+", "é", "ß", "[", "]", ":", "2", "5",
           "\n", "x.y", "a@b.c", "[1.2.3.4]", "[IPv6:", "25", "255.", "::", "..", "a.b@", "@c.d"]


def _corpus_texts():
    """Every text of the shared corpora, the demo data and the test data that holds an "@"."""
    for folder in (SHARED, ROOT / "data" / "demo", DATA):
        for path in sorted(folder.rglob("*")):
            if path.suffix == ".jsonl":
                for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
                    try:
                        rec = json.loads(line)
                    except ValueError:
                        continue
                    for v in (rec.values() if isinstance(rec, dict) else ()):
                        if isinstance(v, str) and "@" in v:
                            yield v
            elif path.suffix in (".html", ".txt", ".md"):
                text = path.read_text(encoding="utf-8", errors="replace")
                if "@" in text:
                    yield text


def test_email_matches_are_the_regex_matches_on_any_text():
    rng = random.Random(48)
    found = 0
    for _ in range(30_000):
        text = "".join(rng.choice(_PIECES) for _ in range(rng.randint(0, 30)))
        spans = [m.span() for m in EMAIL_RE.finditer(text)]
        assert [m.span() for m in email_matches(text)] == spans, text
        found += bool(spans)
    assert found > 5_000


def test_same_replacements_as_before_on_the_corpora():
    texts = list(_corpus_texts())
    assert len(texts) > 100
    n = 0
    for text in texts:
        old = EMAIL_RE.sub(lambda m: f"<{m.group(0)}>", text)  # what the stage replaced before, on normal text
        assert email_sub(lambda m: f"<{m.group(0)}>", text) == old
        n += old != text
    assert n > 20  # (the corpora hold addresses: the comparison compared something)
    doc = Document(text="Écrire à jean.dupont@orange.fr (ou à x@[1.2.3.4]) via 8.8.8.8", id="d", metadata={})
    assert PIIFilter(seed=1, stage_id="pii").filter(doc) is True
    assert "jean.dupont" not in doc.text and "1.2.3.4" not in doc.text and "8.8.8.8" not in doc.text


class _OnlyAtEachAt:
    """EMAIL_RE as the stage may use it: tried at one place per "@" (``match``), never run over the whole text."""

    def __init__(self):
        self.tries = 0

    def match(self, text, pos=0):
        self.tries += 1
        return EMAIL_RE.match(text, pos)

    def __getattr__(self, name):  # sub, search, finditer: quadratic on a long token without spaces
        raise AssertionError(f"EMAIL_RE.{name} run over the whole text")


def test_long_tokens_without_spaces_are_scanned_once(monkeypatch):
    """Before: 16 s for 40 KB of `a-a-a…` and a lone "@", 9 s for a 133 KB base64 image next to an address, 90 s
    for 200 KB of `a.a.a…@x` (`EMAIL_RE.sub` tried the regex at every word boundary, each to the token's end)."""
    spy = _OnlyAtEachAt()
    monkeypatch.setattr(pii, "EMAIL_RE", spy)
    image = base64.b64encode(random.Random(0).randbytes(100_000)).decode()
    cases = [("a-" * 20_000 + " @", 0), ("x@y.fr " + image, 1), ("a." * 100_000 + "@x", 0),
             ("contact@exemple.fr\n![logo](data:image/png;base64," + image + ")", 1), (image + "@b.fr", 1),
             ("a-" * 50_000 + "a@b.fr", 1)]
    for text, addresses in cases:
        doc = Document(text=text, id="d", metadata={})
        spy.tries = 0
        PIIFilter(email_replacements=["<email>"], seed=1, stage_id="pii").filter(doc)
        assert spy.tries <= text.count("@")
        assert doc.text.count("<email>") == addresses
    # the regex of IP addresses reads at most 15 characters from a position: linear by construction
    assert IP_RE.match("1." * 50_000).end() == 7
