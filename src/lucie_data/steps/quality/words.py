"""Fast word and sentence splitting shared by the Gopher, C4 and FineWeb filters.

datatrove's filters tokenise with spaCy's blank pipelines (``datatrove.utils.text.split_into_words``),
which costs ~3 ms per 1 KB document and dominates their run time. This module approximates spaCy's
rule-based tokeniser with one compiled regular expression per language (``re.findall`` runs in C):

* whitespace separates tokens and is never a token (datatrove strips whitespace tokens);
* every punctuation character is its own token, except runs of dots/dashes (``...``, ``--``),
  dotted abbreviations (``U.S.``, ``z.B.``) and URLs, which spaCy keeps whole;
* numbers keep their inner separators (``3,5``, ``1.000``);
* French/Italian elisions split after the apostrophe (``l'`` + ``homme``), English contractions
  split before it (``do`` + ``n't``, ``John`` + ``'s``), as spaCy's prefix/suffix rules do;
* hyphenated words stay whole in fr/de (spaCy's exception lists and token_match keep most of them)
  and split in en/es/it (spaCy's infix rule).

The differences left (title abbreviations such as ``M.``/``Dr.``, ``dit-il`` → ``dit -il``) move a
document's word count by one or two tokens; ``benchmarks/quality_bench.py`` measures the effect on
decisions. Tokenisation happens once per (text, language) thanks to a tiny identity cache: the
filters of one chain see the same ``str`` object, so the second filter gets the words for free, and
nothing is stored on the document (no risk of it reaching a writer).
"""
from __future__ import annotations

import re
import unicodedata
from collections import OrderedDict

from ...fastpath import compiled

_fast = compiled()  # compiled twin of tokenize's loop, or None: the Python loop gives the same tokens

_URL = r"(?:https?://|www\.)[^\s<>\"']+[^\s<>\"'.,;:!?)\]]|[\w.+-]+@[\w-]+(?:\.[\w-]+)+"
_ABBR = r"(?:[^\W\d_]{1,3}\.){2,}|\b[A-ZÀ-Ý]\.(?!\w)"  # U.S. e.g. z.B. i.e.; initials M. A. W.
_NUM = r"(?>\d+(?:[.,:/]\d+)*)(?![^\W\d_])"
_WORD = r"\w+(?:\.(?=[a-zà-ÿ])\w+)*"  # file.pdf, site.com: spaCy splits a period only before a capital
_ELLIPSIS = r"\.{2,}|-{2,}|…"
_PUNCT = r"[^\w\s]|_"
_L = r"[^\W\d_]"

# spaCy's tokenizer exceptions keep these abbreviations whole (lang/<xx>/tokenizer_exceptions.py)
_ABBREVS = {
    "en": "Mr|Mrs|Ms|Dr|St|Inc|Corp|Ltd|Co|Jr|Sr|vs|etc|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec|Mt|Gov|Gen|Rev|Prof",
    "fr": "MM|Mme|Mmes|Mlle|Mlles|Mgr|Dr|St|Ste|etc|av|apr|cf|éd|vol|chap|p",
    "de": "St|Dr|Nr|bzw|usw|ca|vgl|Hr|Fr|Prof|etc",
    "es": "Sr|Sra|Srta|Dr|Dra|etc|pág|núm|Av|Sto|Sta|vs",
    "it": "Sig|Sigg|Dott|Prof|ecc|pag|Ing|Avv|etc",
}
# French: clitic pronouns after a hyphen are their own token (dit-il, a-t-elle, est-ce) as in spaCy
_FR_CLITIC = r"-t(?=-)|-(?:je|tu|il|elle|on|nous|vous|ils|elles|ce|là|ci|moi|toi|lui|leur|le|la|les|y|en)(?![\w-])"
_FR_KEEP = r"(?i:aujourd['’]hui|quelqu['’]une?s?|prud['’]hom\w*|presqu['’]île\w*)"


def _pattern(lang: str) -> str:
    abbr = rf"\b(?:{_ABBREVS[lang]})\.(?!\w)|" if lang in _ABBREVS else ""
    head = rf"{_URL}|{_ABBR}|{abbr}"
    if lang == "en":
        return (rf"{head}\w+(?=[nN]['’][tT]\b)|[nN]['’][tT]\b|(?<=\w)['’](?:[sSdDmM]|re|ve|ll|RE|VE|LL)\b|"
                rf"{_NUM}|{_WORD}|{_ELLIPSIS}|{_PUNCT}")
    if lang == "fr":
        return (rf"{head}{_FR_KEEP}|{_L}+['’](?={_L})|{_NUM}|{_FR_CLITIC}|\w+(?:-(?!(?:t-)?(?:je|tu|il|elle|on|nous|vous|ils|elles|ce|là|ci|moi|toi|lui|leur|le|la|les|y|en)(?![\w-]))\w+)*|"
                rf"{_ELLIPSIS}|{_PUNCT}")
    if lang == "it":
        return rf"{head}{_L}+['’](?={_L})|{_NUM}|{_WORD}|{_ELLIPSIS}|{_PUNCT}"
    if lang == "de":
        return (rf"{head}\w+(?=['’]s\b)|(?<=\w)['’]s\b|{_NUM}|\w+(?:-\w+)*(?:-(?=\s|$))?|"
                rf"{_ELLIPSIS}|{_PUNCT}")
    # es and every other language: spaCy's generic infixes split hyphens between letters
    return rf"{head}{_NUM}|{_WORD}|{_ELLIPSIS}|{_PUNCT}"


_COMPILED: dict[str, re.Pattern] = {}
# words whose final period belongs to them (the language's abbreviations) or starts a URL (www.):
# the compiled loop leaves chunks ending in one of them plus "." to the regex
_KEEP_PERIOD: dict[str, frozenset] = {}
# patterns whose {_L}+['’](?={_L}) alternative splits an elision (l'homme -> l' homme): the compiled loop
# splits letters-apostrophe-letters chunks itself there (but for _FR_KEEP's words)
_ELIDES: dict[str, bool] = {}


def word_pattern(language: str | None) -> re.Pattern:
    lang = (language or "en").split("_")[0][:2].lower()
    pat = _COMPILED.get(lang)
    if pat is None:
        pat = _COMPILED[lang] = re.compile(_pattern(lang))
        _KEEP_PERIOD[pat.pattern] = frozenset(_ABBREVS.get(lang, "").split("|")) | {"www"}
        _ELIDES[pat.pattern] = lang in ("fr", "it")
    return pat


def tokenize(text: str, language: str | None = "en", rest: list[str] | None = None) -> list[str]:
    """``word_pattern(language).findall(text)``, 2-3x faster and with the same result.

    No alternative of the pattern matches whitespace, and every look-around treats whitespace like the
    ends of the string, so matching each whitespace-separated chunk on its own gives the same tokens;
    a chunk of letters only (``str.isalpha``, most of them) is one ``_WORD`` token and skips the regex.
    ``tests/test_quality.py`` checks the equality on every test corpus and on fuzzed text. Tokens
    that came from the regex (every token that is not all letters is among them) are also appended to
    ``rest`` when given, so per-token rules about symbols and digits need not visit plain words.

    The compiled loop (``_fast.c``) also splits letters wrapped in punctuation that no pattern combines
    with a neighbour (``mot,`` ``(voilà)`` ``«Oui»`` ``fin.``), and French and Italian elisions (``l'homme``,
    ``dell'anno``), without the regex; the tokens are the same.
    """
    if _fast is not None:
        pat = word_pattern(language)
        return _fast.tokenize(text, pat.findall, rest, _KEEP_PERIOD[pat.pattern], _ELIDES[pat.pattern])
    return tokenize_py(text, language, rest)


def tokenize_py(text: str, language: str | None = "en", rest: list[str] | None = None) -> list[str]:
    """The pure-Python ``tokenize`` (used without the compiled module; tests compare the two)."""
    findall = word_pattern(language).findall
    out: list[str] = []
    add, extend = out.append, out.extend
    more = rest.extend if rest is not None else None
    for chunk in text.split():
        if chunk.isalpha():
            add(chunk)
        else:
            toks = findall(chunk)
            extend(toks)
            if more is not None:
                more(toks)
    return out


_CACHE: OrderedDict = OrderedDict()
_CACHE_SIZE = 8


def _cached(text: str, language: str | None) -> tuple[list[str], list[str]]:
    key = (id(text), language)
    hit = _CACHE.get(key)
    if hit is not None and hit[0] is text:
        return hit[1], hit[2]
    rest: list[str] = []
    words = tokenize(text, language, rest)
    _CACHE[key] = (text, words, rest)  # keeping a reference to text pins its id while it is cached
    if len(_CACHE) > _CACHE_SIZE:
        _CACHE.popitem(last=False)
    return words, rest


def count_chunks_py(text: str) -> int:
    return len(text.split())


# whitespace-separated chunks without the list of them when the compiled loop is there (tests compare both)
count_chunks = _fast.count_runs if _fast is not None else count_chunks_py


def split_words(text: str, language: str | None = "en") -> list[str]:
    """Words of ``text`` (spaCy-like tokens, whitespace dropped), computed once per text object."""
    return _cached(text, language)[0]


def split_words_rest(text: str, language: str | None = "en") -> tuple[list[str], list[str]]:
    """``split_words`` and the sub-list of tokens that are not whole letter-only chunks (see ``tokenize``)."""
    return _cached(text, language)


# spaCy's Sentencizer.default_punct_chars (spacy/pipeline/sentencizer.pyx), Latin-relevant subset plus CJK full stops
SENT_PUNCT = frozenset("!.?։؟۔܀܁܂߹।॥၊။።፧፨᙮᜵᜶᠃᠉᥄᥅‼‽⁇⁈⁉⸮⸼﹒﹖﹗！．？｡。")


def _is_punct(tok: str) -> bool:
    return all(unicodedata.category(c)[0] == "P" for c in tok)


def count_sentences(line: str, language: str | None = "en", stop_at: int | None = None) -> int:
    """Sentences in ``line`` the way spaCy's rule-based sentencizer counts them.

    A new sentence starts at the first non-punctuation token after a token that is one of the
    sentence-final characters (a lone ``.``, ``!``, ``?``…; ``...`` does not end a sentence).
    Tokens come chunk by chunk as in ``tokenize`` (a letters-only chunk is one word token), so
    counting stops as soon as ``stop_at`` sentences are seen, without tokenising the rest.
    """
    findall = word_pattern(language).findall
    n, seen, any_token = 1, False, False
    for chunk in line.split():
        if chunk.isalpha():
            any_token = True
            if seen:
                n += 1
                seen = False
                if stop_at is not None and n >= stop_at:
                    return n
            continue
        for t in findall(chunk):
            any_token = True
            if t in SENT_PUNCT:
                seen = True
            elif seen and not _is_punct(t):
                n += 1
                seen = False
                if stop_at is not None and n >= stop_at:
                    return n
    return n if any_token else 0
