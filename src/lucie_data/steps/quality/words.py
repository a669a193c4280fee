"""Fast word and sentence splitting shared by the Gopher, C4 and FineWeb filters.

datatrove's filters tokenise with spaCy's blank pipelines (``datatrove.utils.text.split_into_words``),
which costs ~3 ms per 1 KB document and dominates their run time. This module approximates spaCy's
rule-based tokeniser with one compiled regular expression per language (``re.findall`` runs in C):

* whitespace separates tokens and is never a token (datatrove strips whitespace tokens);
* punctuation that spaCy strips as a prefix or suffix (``( , ; : ! ? « » " * _``…) is its own token; characters
  it has in no rule stay inside the token around them (OCR's line-break mark ``con¬``, ``@user``, ``~~~~``,
  ``•``), and so does inner punctuation it does not split (``foo_bar``, ``un´altra``, ``file.pdf``, the
  citation mark ``exceptions.[1`` + ``]``), while ``____`` gives one ``_`` per character;
* runs of dots (``...``), dotted abbreviations (``U.S.``, ``z.B.``), the language's listed abbreviations, a
  lone lowercase letter with its period (``8 h. du matin``: spaCy's base exceptions) and URLs stay whole;
* numbers keep their inner separators (``3,5``, ``1.000``);
* French/Italian elisions split after the apostrophe (``l'`` + ``homme``, ``quelqu'`` + ``un``), English
  contractions split before it (``do`` + ``n't``, ``John`` + ``'s``), German keeps ``geht's`` whole;
* hyphens follow each language's infix rule: es never splits (``ciudad-estado``, dialogue ``-dijo``),
  de only ``--`` between letters and ``-`` between digits, it only before a lowercase letter
  (``Della-Morte`` whole, ``rosso-nero`` split) plus its listed words (``nord-est``), en and fr between
  letters; a hyphen anywhere else sticks to its neighbours (``-No``, ``Álvaro-``, ``Feb-02``). French keeps
  spaCy's listed words (``peut-être``, ``celui-ci``, ``rendez-vous``) and its TOKEN_MATCH words (``Saint-Denis``,
  ``sous-préfet``, ``États-Unis``, ``arc-en-ciel``) whole, splits the others (``là - bas``, ``c' est - à -
  dire``) and keeps a final hyphen-pronoun as one token (``dit -il``, ``a -t -elle``, ``est -ce``).

The differences left, all rare in our corpora (``benchmarks/quality_bench.py`` measures their effect on
decisions): spaCy's per-language exception lists beyond the ones above (English ``can not``/``cannot``,
``ma'am``, ``o'clock``, ``'em``, ``and/or``; Italian ``l'art.``; German ``v. Chr.``, ordinals ``5.``; title
abbreviations of other languages such as ``Mr.`` in German text), English apostrophes inside a word (``o'er``
is split here, whole in spaCy), French TOKEN_MATCH words with an elision (``grand'mère``, kept whole by spaCy,
split here), inner punctuation spaCy leaves unsplit without a space (``ab;cd``, ``ab(cd``, split here), French
``—``/``–`` glued after a word (suffixes in other languages, not in French: ``ab—`` whole in spaCy), and a
period after a glue character (``con¬.``, whole in spaCy) and the guillemets ``‹ ›`` glued to a word (split
here: the compiled loop treats them as plain punctuation; spaCy has them in no rule).

Tokenisation happens once per (text, language) thanks to a tiny identity cache: the filters of one chain see
the same ``str`` object, so the second filter gets the words for free, and nothing is stored on the document (no risk of it reaching a writer).
"""
from __future__ import annotations

import re
import unicodedata
from collections import OrderedDict

from ...fastpath import compiled

_fast = compiled()  # compiled twin of tokenize's loop, or None: the Python loop gives the same tokens

# (an e-mail's local part at most 64 characters, RFC 5321, tried only where an `@` follows: unbounded, it was
# rescanned to the end of the chunk from every position of a 20,000-underscore or a-a-a… run, 2-7 s; review)
_URL = r"(?:https?://|www\.)[^\s<>\"']+[^\s<>\"'.,;:!?)\]]|(?=[\w.+-]{1,64}+@)[\w.+-]{1,64}+@[\w-]+(?:\.[\w-]+)+"
_ABBR = r"(?:[^\W\d_]{1,3}\.){2,}|\b[A-ZÀ-Ý]\.(?![\w.])"  # U.S. e.g. z.B. i.e.; initials M. A. W.
# spaCy's base exceptions keep a lone lowercase ASCII letter with its period (h. p. c.): 8 h. du matin
_LETTER_DOT = r"(?<![\w.'’¬@^|\\•‹›±¨~-])[a-z]\.(?![\w.])"
# characters spaCy has in no prefix, suffix or infix rule: they stay inside the token around them
# (con¬ ¬tinuer @user ~~~~ •), as hyphens do where the language has no hyphen infix there (-dijo, ab-)
_G = r"[¬@^|\\•±¨↑\u0300-\u036f]"
_A = r"[^\W_]"
_L = r"[^\W\d_]"
_NUM = rf"(?>\d+(?:[.,:/]\d+)*)(?![^\W\d]|{_G})"
_ELLIPSIS = r"\.{2,}|-{2,}|…"
_PUNCT = r"[^\w\s]|_"
# hyphen runs spaCy splits as an infix, per language (lang/<xx>/punctuation.py; es has none)
_SPLIT_H = {
    "en": r"(?<=[^\W_])[-~]++(?=[^\W\d_])|(?<=\d)-(?=[\d-])",
    "de": r"(?<=[^\W\d_])--(?=[^\W\d_])|(?<=\d)-(?=\d)",
    "it": r"(?<=[^\W\d_])[-~]++(?=[a-zß-öø-ÿ])|(?<=\d)-(?=[\d-])",
    "es": None,
}
_SPLIT_H_BASE = r"(?<=[^\W\d_])[-~]++(?=[^\W\d_])|(?<=\d)-(?=[\d-])"


def _core(lang: str, inner: str = "[_´]") -> str:
    """One spaCy token between prefixes and suffixes: letters, digits and glue characters, with `inner`
    characters (underscore, acute accent) only between them, a period only where spaCy's infix rule does
    not split (lowercase before a capital) and Wikipedia citation marks (word.[1]); stops at a hyphen infix."""
    split = _SPLIT_H.get(lang, _SPLIT_H_BASE)
    hyph = r"[-~]++" if split is None else rf"(?!{split})[-~]++"
    dot = rf"(?:(?<![a-zà-ÿ])\.|\.(?![A-ZÀ-Þ]))(?={_A}|{_G})"
    return (rf"(?!{inner}|\[)(?:{_A}++|{_G}|{hyph}|(?<=[-~])[¿¡]++(?={_A})|{inner}++(?={_A}|{_G})|{dot}|"
            rf"\.?(?:\[\d+\])*\[\d+(?=\]))++")


def _num(lang: str) -> str:
    """A number, unless a letter, glue character or gluing hyphen follows (then it is part of a _core)."""
    split = _SPLIT_H.get(lang, _SPLIT_H_BASE)
    hyph = "[-~]" if split is None else rf"(?!{split})[-~]"
    return rf"(?>\d+(?:[.,:/]\d+)*)(?![^\W\d]|{_G}|{hyph})"

# French, from spaCy's lang/fr/tokenizer_exceptions.py (MIT licence, © ExplosionAI GmbH): words kept whole
# (its exception list, case-sensitive) and its TOKEN_MATCH (case-insensitive: a prefix such as anti-, Saint-,
# sous- then a hyphen, or word-de-word); every other hyphen between letters is split, and a hyphen-pronoun
# at the end (dit-il, a-t-elle, est-ce) is a suffix token of its own.
_FR_EXC = ("après-midi|au-delà|au-dessus|celle-ci|celles-ci|celui-ci|ci-dessous|elle-même|en-dessous|jusque-là|"
           "lui-même|peut-être|quelques-uns|rendez-vous|[aA]ujourd['’]hui|n°|d°")
_FR_HYPHEN_PREFIX = (
    "a[ée]ro|abat|a[fg]ro|after|aigues?|am[ée]ricano|anglo|anti|apr[èe]s|arabo|arcs?|archi|arrières?|audio|avant|"
    "avion|auto|banc|bas(?:ses?)?|bateaux?|bec?|belles?|beau|best|bio?|bien|blanc|bo[îi]te|bonn?e?s?|bois|"
    "bou(?:c|rg)|b[êe]ta|cache|cap(?:ello)?|casse|castel|champ|chapelle|ch[âa]teau(?:neuf)?|chasse|cha(?:ud|t)e?s?|"
    "chauffe|chou|chromo|claire?s?|co(?:de|ca)?|compte|contre|cordon|coupe?|courte?s?|couvre|crash|crise|croche|"
    "cross|cyber|côte|demi|di(?:sney)?|dix|d[ée]s?|dys|ex?|émirato|entre|est|ethno|ex|extra|extrême|[ée]co|faux|"
    "fil|fort|franco?s?|gallo|gardes?|gastro|grande?|gratte|gr[ée]co|gros|g[ée]o|haute?s?|homm?es?|hors|hyper|indo|"
    "infra|inter|intra|islamo|italo|jean|labio|latino|live|lot|louis|m[ai]cro|mal|médio|mesnil|mi(?:ni)?|mono|"
    "mont?s?|moyen|multi|m[ée]cano|m[ée]dico|m[ée]do|m[ée]ta|mots?|neuro|noix|non|nord|notre|n[ée]o|ouest|outre|"
    "ouvre|passe|perce|pharmaco|ph[oy]to|pieds?|pique|poissons?|ponce|pont|po[rs]t|pousse|primo|pro(?:cès|to)?|"
    "pare|petite?s?|plessis|porte|pré|prêchi|protège|pseudo|pêle|péri|puy|quasi|quatre|radio|recourt|rythmo|"
    "(?:re)?doubles?|r[ée]|r[ée]tro|requin|sans?|sa?inte?s?|semi|serre|sino|socio|sociale?s?|soixante|sous|"
    "su[bdrs]|super|taille|tire|thermo|tiers|tourne|toute?s?|tra[iî]ne?|trans|trente|trois|trousse|tr(?:i|ou)|"
    "t[ée]l[ée]|utéro|vaso|vi[cd]e|vid[ée]o|vie(?:ux|i?lles?|i?l)|vill(?:e|eneuve|ers|ette|iers|y)|vingt|"
    "voitures?|wagons?|ultra|à|[ée]lectro|[ée]qui|Fontaine|Marie|Neuville|Pierre|Val|Vaux")
_FR_HYPHEN_WORDS = (  # spaCy's explicit list: stem, hyphen, stem, letters (+ one or more, * any)
    "a-sexualis+ arginine-méthyl+ binge-watch+ black-out* bouche-por+ burn-out* by-pass* chape-chut+ "
    "down-load* [ée]tats-uni* fac-simil* fleur-bleuis+ flic-flaqu+ fox-trott+ google-is+ hard-discount* hip-hop* "
    "jet-set* knock-out* lèche-bott+ litho-typographi+ lock-out* lombri-compost+ mac-adamis+ marque-pag+ "
    "mouton-noiris+ new-york* pair-programm+ people-is+ plan-socialis+ premier-ministr* réarc-bout+ "
    "refox-trott+ remicro-ond+ repique-niqu+ repetit-déjeun+ rick-roll* rond-ponn+ shift-cliqu+ soudo-bras+ "
    "stabilo-boss+ strip-teas+ terra-form* teuf-teuf* yo-yo+ zig-zag*")
_FR_HY = r"\-–—‐‑"
_FR_CLITICS = "ce|clés|elle|en|il|ils|je|là|moi|nous|on|t|vous"
_FR_CLITICS += "|" + _FR_CLITICS.upper()


def _fr_token_match() -> str:
    hy, lo = f"[{_FR_HY}]", r"[^\W\d_]"
    words = "|".join(w[:-1].replace("-", hy) + lo + w[-1] for w in _FR_HYPHEN_WORDS.split())
    combo = r"l[èe]s?|la|en|des?|d[eu]|sur|sous|aux?|à|et|près|saint"
    return (rf"(?i:(?:{words})|droits?{hy}de{hy}l['’]homm{lo}+|prud['’]hom{lo}+|"
            rf"(?:{_FR_HYPHEN_PREFIX}){hy}{lo}(?:{lo}|[{_FR_HY}'’])*+|{lo}+{hy}(?:{combo}){hy}(?:l['’])?{lo}+)")

_IT_EXC = r"all-path|by-pass|centro-sinistra|check-up|e-mail|nord-est|week-end"

# spaCy's tokenizer exceptions keep these abbreviations whole (lang/<xx>/tokenizer_exceptions.py)
_ABBREVS = {
    "en": "Mr|Mrs|Ms|Dr|St|Inc|Corp|Ltd|Co|Jr|Sr|vs|etc|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec|Mt|Gov|Gen|Rev|Prof",
    "fr": "MM|Mme|Mmes|Mlle|Mlles|Mgr|Dr|St|Ste|etc|av|apr|cf|éd|vol|chap|p",
    "de": "St|Dr|Nr|bzw|usw|ca|vgl|Hr|Fr|Prof|etc",
    "es": "Sr|Sra|Srta|Dr|Dra|etc|pág|núm|Av|Sto|Sta|vs",
    "it": "Sig|Sigg|Dott|Prof|ecc|pag|Ing|Avv|etc",
}
_WHOLE_START = r"(?:(?<![^\W_]|[-'’])|(?<=(?<![^\W_])[lLdDnN]['’]))"  # a word spaCy keeps whole must be the whole token: nothing glued before
# but right after the elisions spaCy's French prefix rule splits, l' d' n' (review: l'après-midi, d'Île-de-France; after
# c' qu' s' j' spaCy splits the word at its hyphens, its infix rule taking the elision)
_WHOLE_END = rf"(?![\w\-'’]|{_G})"


def _pattern(lang: str) -> str:
    abbr = rf"\b(?:{_ABBREVS[lang]})\.(?!\w)|" if lang in _ABBREVS else ""
    head = rf"{_URL}|{_ABBR}|{abbr}{_LETTER_DOT}|"
    if lang == "en":
        return (rf"{head}[^\W_]+(?=[nN]['’][tT]\b)|[nN]['’][tT]\b|(?<=\w)['’](?:[sSdDmM]|re|ve|ll|RE|VE|LL)\b|"
                rf"{_num(lang)}|{_core(lang)}|{_ELLIPSIS}|{_PUNCT}")
    if lang == "fr":
        clitic = (rf"(?<={_L})[{_FR_HY}](?:{_FR_CLITICS})"
                  # (at most 3 more: real chains are a-t-elle, dit-il-en; unbounded, a t-t-t… run was re-read from
                  # every hyphen, 40,000 characters took 7.6 s; review)
                  rf"(?=(?:[{_FR_HY}](?:{_FR_CLITICS})){{0,3}}+(?![\w{_FR_HY}'’]|{_G}))")
        # spaCy's exceptions est-ce, passe-t-il split although est-, passe- open its token_match words
        not_tm = rf"(?!(?:[eE]st|[pP]asse)(?:[{_FR_HY}](?:{_FR_CLITICS})){{1,3}}+{_WHOLE_END})"
        return (rf"{head}(?<=J\.)-C\.|{_WHOLE_START}(?=[^\W_]*+[{_FR_HY}'’°])(?:{_FR_EXC}|{not_tm}{_fr_token_match()}){_WHOLE_END}|{_L}+['’](?={_L})|{_num(lang)}|"
                rf"{clitic}|{_core(lang)}|{_ELLIPSIS}|{_PUNCT}")
    if lang == "it":
        return (rf"{head}{_WHOLE_START}(?=[^\W_]*+[-'])(?:{_IT_EXC}|po'|E'){_WHOLE_END}|{_L}+['’](?={_L})|{_num(lang)}|{_core(lang)}|"
                rf"{_ELLIPSIS}|{_PUNCT}")
    if lang == "de":  # German has no apostrophe infix: geht's, ist's stay whole
        return rf"{head}{_num(lang)}|{_core(lang, inner=r'[_´' + chr(39) + ']')}|{_ELLIPSIS}|{_PUNCT}"
    # es and every other language
    return rf"{head}{_num(lang)}|{_core(lang)}|{_ELLIPSIS}|{_PUNCT}"


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
