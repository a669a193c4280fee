/* Compiled inner loops of the quality filters and the token counter (optional: each caller keeps a
 * pure-Python twin and uses it when this module was not built).
 *
 * Each function computes exactly what its Python twin computes; tests/test_quality.py compares them
 * on every test corpus and on fuzzed text (hypothesis).
 *
 *   tokenize(text, findall, rest, abbrevs, elide)
 *                                       -> words.tokenize: whitespace chunks; a letters-only chunk is one
 *                                          token; a chunk made of letters wrapped in "safe" punctuation
 *                                          (and final periods) is split here, as is, with elide (fr, it),
 *                                          an elision l'homme; any other chunk goes to the language's regex.
 *   segment_dups(text)                  -> duplicate paragraphs and lines (gopher._dup_counts of
 *                                          _PARA.split(text.strip()) and _LINES.split(text)).
 *   ngram_stats(words, top_ns, dup_ns)  -> gopher._NGrams.top_chars / dup_chars for each n, with the
 *                                          same 64-bit rolling hash of Python's str hashes.
 *   needs_ftfy(text)                    -> filters._NEEDS_FTFY.search(text) is not None
 *   longest_run(text)                   -> max(map(len, text.split()), default=0)
 *   count_pretokens(text)               -> len(re.findall(r"\w+|[^\w\s]", text)) (tokens.py's fallback)
 *                                          without building the list.
 *   collapse_spaces(text)               -> " ".join(text.split()) (dedup.exact_key) without the list of words.
 *   count_runs(text)                    -> len(text.split()) without the list.
 *   maybe_mojibake(text)                -> filters._MAYBE_BAD.search(text) is not None (a necessary condition
 *                                          of ftfy's badness test, see filters.py)
 *   gopher_counts(words, rest, punct)   -> gopher.gopher_counts_py: characters of the words, and the symbol and
 *                                          alpha-less counts of the other tokens, without a Counter.
 *   lowered_contains(text, needles)     -> tuple(n in text.lower() for n in needles) for ASCII needles, without
 *                                          the lowered copy of the text (c4.lowered_contains_py).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

/* Punctuation that no alternative of the word patterns (words._pattern) combines with a neighbour:
 * each is a token on its own (the `[^\w\s]|_` alternative) and never part of a URL, e-mail,
 * abbreviation, number, elision, contraction, hyphenated word or ellipsis. Excluded on purpose:
 * . - + @ / ' ’ … _ # & and every other character. All of these are Unicode punctuation (P*). */
static int is_safe(Py_UCS4 c) {
    switch (c) {
    case ',': case ';': case ':': case '!': case '?': case '(': case ')': case '[': case ']':
    case '{': case '}': case '"': case '*':
    case 0x00AB: case 0x00BB:                     /* « » */
    case 0x00A1: case 0x00BF:                     /* ¡ ¿ */
    case 0x2018: case 0x201C: case 0x201D: case 0x201E:  /* ‘ “ ” „ (not ’: an apostrophe) */
    case 0x2039: case 0x203A:                     /* ‹ › */
    case 0x2013: case 0x2014: case 0x2026:        /* – — … (the ellipsis alternative takes one at a time) */
        return 1;
    default:
        return 0;
    }
}

/* a METH_O function's str argument: its kind, data and length (kind, data, n), or TypeError */
#define TEXT_ARG(arg)                                                                                    \
    if (!PyUnicode_Check(arg)) { PyErr_SetString(PyExc_TypeError, "text must be str"); return NULL; }    \
    const int kind = PyUnicode_KIND(arg);                                                                \
    const void *data = PyUnicode_DATA(arg);                                                              \
    const Py_ssize_t n = PyUnicode_GET_LENGTH(arg)

/* str.isalpha / str.isalnum of one character, with the ASCII answer inline (most characters of our text) */
static inline int is_alpha(Py_UCS4 c) { return c < 128 ? ((c | 32) - 'a' < 26u) : Py_UNICODE_ISALPHA(c); }
static inline int is_alnum(Py_UCS4 c) { return c < 128 ? ((c | 32) - 'a' < 26u || c - '0' < 10u) : Py_UNICODE_ISALNUM(c); }

static int append_sub(PyObject *list, PyObject *rest, PyObject *text, Py_ssize_t a, Py_ssize_t b) {
    PyObject *s = PyUnicode_Substring(text, a, b);
    if (s == NULL) return -1;
    int r = PyList_Append(list, s);
    if (r == 0 && rest != NULL) r = PyList_Append(rest, s);
    Py_DECREF(s);
    return r;
}

static int extend(PyObject *list, PyObject *items) {
    Py_ssize_t n = PyList_GET_SIZE(list);
    return PyList_SetSlice(list, n, n, items);
}

static inline int is_apostrophe(Py_UCS4 c) { return c == '\'' || c == 0x2019; }

static PyObject *fast_tokenize(PyObject *self, PyObject *args) {
    PyObject *text, *findall, *rest, *abbrevs;
    int elide = 0;
    if (!PyArg_ParseTuple(args, "UOOO!|p", &text, &findall, &rest, &PyFrozenSet_Type, &abbrevs, &elide)) return NULL;
    if (rest == Py_None) rest = NULL;
    else if (!PyList_Check(rest)) { PyErr_SetString(PyExc_TypeError, "rest must be a list or None"); return NULL; }
    const int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    const Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    PyObject *out = PyList_New(0);
    if (out == NULL) return NULL;
    Py_ssize_t i = 0;
    while (i < n) {
        while (i < n && Py_UNICODE_ISSPACE(PyUnicode_READ(kind, data, i))) i++;
        if (i >= n) break;
        const Py_ssize_t s = i;
        while (i < n && !Py_UNICODE_ISSPACE(PyUnicode_READ(kind, data, i))) i++;
        /* chunk [s, i) = leading safe punctuation [s, a) + letters [a, b) + safe punctuation or periods [b, i) */
        Py_ssize_t a = s, b = i;
        int dots = 0;
        while (a < b && is_safe(PyUnicode_READ(kind, data, a))) a++;
        while (b > a) {
            const Py_UCS4 c = PyUnicode_READ(kind, data, b - 1);
            if (c == '.') dots = 1;
            else if (!is_safe(c)) break;
            b--;
        }
        /* with `elide` (fr, it: the pattern's {_L}+['’](?={_L}) alternative), letters may hold one apostrophe
         * between letters: l'homme -> l' homme, the word after it then plays the part of [a, b) below */
        Py_ssize_t apos = -1;
        int fast = 1;
        for (Py_ssize_t k = a; fast && k < b; k++) {
            const Py_UCS4 c = PyUnicode_READ(kind, data, k);
            if (is_alpha(c)) continue;
            if (elide && apos < 0 && is_apostrophe(c) && k > a && k + 1 < b) apos = k;
            else fast = 0;
        }
        /* French keeps aujourd'hui, quelqu'un(e)(s), prud'hom*, presqu'île* whole, case-insensitively
         * (_FR_KEEP): an elided part of 4, 6 or 7 characters goes to the regex */
        if (fast && apos >= 0 && (apos - a == 4 || apos - a == 6 || apos - a == 7)) fast = 0;
        const Py_ssize_t w = apos >= 0 ? apos + 1 : a;  /* the word the suffix follows: [w, b) */
        if (fast && dots && b - w < 2) fast = 0;  /* a period after one letter is an initial (M.): the regex decides */
        if (fast && a == s && b == i && apos < 0) {  /* letters only: one token, not in rest (as words.tokenize) */
            if (append_sub(out, NULL, text, s, i) < 0) goto fail;
            continue;
        }
        PyObject *mid = NULL;
        if (fast && w < b) {
            if ((mid = PyUnicode_Substring(text, w, b)) == NULL) goto fail;
            if (dots && PyUnicode_READ(kind, data, b) == '.') {
                /* the language's abbreviations (etc. Mr. p.) and www. keep their period: the regex decides */
                const int hit = PySet_Contains(abbrevs, mid);
                if (hit < 0) { Py_DECREF(mid); goto fail; }
                if (hit) fast = 0;
            }
        }
        if (fast) {
            for (Py_ssize_t k = s; k < a; k++)
                if (append_sub(out, rest, text, k, k + 1) < 0) { Py_XDECREF(mid); goto fail; }
            if (apos >= 0 && append_sub(out, rest, text, a, w) < 0) { Py_XDECREF(mid); goto fail; }  /* l' */
            if (mid != NULL) {
                int r = PyList_Append(out, mid);
                if (r == 0 && rest != NULL) r = PyList_Append(rest, mid);
                Py_DECREF(mid);
                if (r < 0) goto fail;
            }
            for (Py_ssize_t k = b; k < i;) {  /* a run of two or more periods is one token (ellipsis) */
                Py_ssize_t e = k + 1;
                if (PyUnicode_READ(kind, data, k) == '.')
                    while (e < i && PyUnicode_READ(kind, data, e) == '.') e++;
                if (append_sub(out, rest, text, k, e) < 0) goto fail;
                k = e;
            }
        } else {
            Py_XDECREF(mid);
            PyObject *chunk = PyUnicode_Substring(text, s, i);
            if (chunk == NULL) goto fail;
            PyObject *toks = PyObject_CallOneArg(findall, chunk);
            Py_DECREF(chunk);
            if (toks == NULL) goto fail;
            if (!PyList_Check(toks)) { Py_DECREF(toks); PyErr_SetString(PyExc_TypeError, "findall must return a list"); goto fail; }
            int r = extend(out, toks);
            if (r == 0 && rest != NULL) r = extend(rest, toks);
            Py_DECREF(toks);
            if (r < 0) goto fail;
        }
    }
    return out;
fail:
    Py_DECREF(out);
    return NULL;
}

/* ---- open-addressing tables over 64-bit keys ------------------------------------------------ */

typedef struct {
    uint64_t key;
    Py_ssize_t first;   /* first position (n-grams) or segment start (segments) */
    Py_ssize_t count;
    uint32_t stamp;     /* slot used in the current round when == table stamp */
} slot_t;

typedef struct {
    slot_t *slots;
    size_t mask;
    uint32_t stamp;
} table_t;

static int table_init(table_t *t, Py_ssize_t items) {
    size_t cap = 16;
    while (cap < (size_t)items * 2) cap <<= 1;
    t->slots = PyMem_Calloc(cap, sizeof(slot_t));
    if (t->slots == NULL) { PyErr_NoMemory(); return -1; }
    t->mask = cap - 1;
    t->stamp = 1;
    return 0;
}

static void table_clear(table_t *t) { t->stamp++; }

static inline uint64_t mix64(uint64_t h) {  /* splitmix64 finaliser: spreads keys over the slots */
    h ^= h >> 30; h *= 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 27; h *= 0x94d049bb133111ebULL;
    return h ^ (h >> 31);
}

/* ---- duplicate paragraphs and lines --------------------------------------------------------- */

typedef struct { Py_ssize_t parts, dup, dup_chars; } dups_t;

/* a segment's hash over its raw bytes, eight at a time (a segment is compared with memcmp when two hashes
 * agree: the hash only has to spread segments, it never decides) */
static uint64_t seg_hash(int kind, const void *data, Py_ssize_t a, Py_ssize_t b) {
    const unsigned char *p = (const unsigned char *)data + a * kind;
    size_t len = (size_t)(b - a) * kind;
    uint64_t h = 0xcbf29ce484222325ULL ^ len;
    for (; len >= 8; p += 8, len -= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        h = (h ^ w) * 0x9E3779B97F4A7C15ULL;
        h ^= h >> 29;
    }
    uint64_t w = 0;
    memcpy(&w, p, len);
    return (h ^ w) * 0x9E3779B97F4A7C15ULL;
}

/* the first '\n' in [k, hi), or hi (memchr on one-byte strings) */
static inline Py_ssize_t find_nl(int kind, const void *data, Py_ssize_t k, Py_ssize_t hi) {
    if (k >= hi) return hi;
    if (kind == PyUnicode_1BYTE_KIND) {
        const char *q = memchr((const char *)data + k, '\n', (size_t)(hi - k));
        return q == NULL ? hi : (Py_ssize_t)(q - (const char *)data);
    }
    while (k < hi && PyUnicode_READ(kind, data, k) != '\n') k++;
    return k;
}

static int seg_add(table_t *t, dups_t *d, int kind, const void *data, Py_ssize_t a, Py_ssize_t b) {
    const uint64_t h = seg_hash(kind, data, a, b);
    size_t j = mix64(h) & t->mask;
    d->parts++;
    for (;;) {
        slot_t *sl = &t->slots[j];
        if (sl->stamp != t->stamp) {
            sl->stamp = t->stamp; sl->key = h; sl->first = a; sl->count = b - a;  /* count holds the length */
            return 0;
        }
        if (sl->key == h && sl->count == b - a
            && memcmp((const char *)data + sl->first * kind, (const char *)data + a * kind, (size_t)(b - a) * kind) == 0) {
            d->dup++;
            d->dup_chars += b - a;
            return 0;
        }
        j = (j + 1) & t->mask;
    }
}

/* counts the duplicates among the pieces of [lo, hi) cut at runs of at least min_run newlines (re.split) */
static void split_newline_runs(table_t *t, dups_t *d, int kind, const void *data, Py_ssize_t lo, Py_ssize_t hi,
                               Py_ssize_t min_run) {
    Py_ssize_t start = lo, k = find_nl(kind, data, lo, hi);
    while (k < hi) {
        Py_ssize_t e = k;
        while (e < hi && PyUnicode_READ(kind, data, e) == '\n') e++;
        if (e - k >= min_run) {
            seg_add(t, d, kind, data, start, k);
            start = e;
        }
        k = find_nl(kind, data, e, hi);
    }
    seg_add(t, d, kind, data, start, hi);
}

static PyObject *fast_segment_dups(PyObject *self, PyObject *arg) {
    TEXT_ARG(arg);
    Py_ssize_t newlines = 0;
    for (Py_ssize_t k = find_nl(kind, data, 0, n); k < n; k = find_nl(kind, data, k + 1, n)) newlines++;
    table_t t;
    if (table_init(&t, newlines + 2) < 0) return NULL;
    dups_t para = {0, 0, 0}, line = {0, 0, 0};

    /* paragraphs: text.strip() split on runs of two or more newlines; lines: the text split on runs of newlines */
    Py_ssize_t lo = 0, hi = n;
    while (lo < hi && Py_UNICODE_ISSPACE(PyUnicode_READ(kind, data, lo))) lo++;
    while (hi > lo && Py_UNICODE_ISSPACE(PyUnicode_READ(kind, data, hi - 1))) hi--;
    split_newline_runs(&t, &para, kind, data, lo, hi, 2);
    table_clear(&t);
    split_newline_runs(&t, &line, kind, data, 0, n, 1);
    PyMem_Free(t.slots);
    return Py_BuildValue("(nnnnnn)", para.parts, para.dup, para.dup_chars, line.parts, line.dup, line.dup_chars);
}

/* ---- word n-grams ------------------------------------------------------------------------------ */

#define K_ROLL 0x9E3779B97F4A7C15ULL  /* gopher._K: h(n) = h(n-1) * K + hash(word n) */

static Py_ssize_t *parse_ns(PyObject *seq, Py_ssize_t *len, Py_ssize_t *maxn) {
    PyObject *fast = PySequence_Fast(seq, "n-gram sizes must be a sequence");
    if (fast == NULL) return NULL;
    *len = PySequence_Fast_GET_SIZE(fast);
    Py_ssize_t *ns = PyMem_Malloc(sizeof(Py_ssize_t) * (*len + 1));
    if (ns == NULL) { Py_DECREF(fast); PyErr_NoMemory(); return NULL; }
    for (Py_ssize_t i = 0; i < *len; i++) {
        ns[i] = PyLong_AsSsize_t(PySequence_Fast_GET_ITEM(fast, i));
        if (ns[i] == -1 && PyErr_Occurred()) { PyMem_Free(ns); Py_DECREF(fast); return NULL; }
        if (ns[i] < 1) {
            PyErr_Format(PyExc_ValueError, "n-gram size must be >= 1, got %zd", ns[i]);
            PyMem_Free(ns); Py_DECREF(fast); return NULL;
        }
        if (ns[i] > *maxn) *maxn = ns[i];
    }
    Py_DECREF(fast);
    return ns;
}

static PyObject *fast_ngram_stats(PyObject *self, PyObject *args) {
    PyObject *words, *top_seq, *dup_seq;
    if (!PyArg_ParseTuple(args, "O!OO", &PyList_Type, &words, &top_seq, &dup_seq)) return NULL;
    Py_ssize_t n_top = 0, n_dup = 0, maxn = 1;
    Py_ssize_t *top_ns = NULL, *dup_ns = NULL;
    uint64_t *ids = NULL, *h = NULL;
    Py_ssize_t *cum = NULL, *pos = NULL;
    char *rep = NULL;
    table_t t = {NULL, 0, 0};
    PyObject *result = NULL, *tops = NULL, *dups = NULL;

    if ((top_ns = parse_ns(top_seq, &n_top, &maxn)) == NULL) goto done;
    if ((dup_ns = parse_ns(dup_seq, &n_dup, &maxn)) == NULL) goto done;
    const Py_ssize_t m = PyList_GET_SIZE(words);
    ids = PyMem_Malloc(sizeof(uint64_t) * (m + 1));
    h = PyMem_Malloc(sizeof(uint64_t) * (m + 1));
    cum = PyMem_Malloc(sizeof(Py_ssize_t) * (m + 1));
    pos = PyMem_Malloc(sizeof(Py_ssize_t) * (m + 1));
    rep = PyMem_Malloc(m + 1);
    if (ids == NULL || h == NULL || cum == NULL || pos == NULL || rep == NULL) { PyErr_NoMemory(); goto done; }
    cum[0] = 0;
    for (Py_ssize_t i = 0; i < m; i++) {
        PyObject *w = PyList_GET_ITEM(words, i);
        if (!PyUnicode_Check(w)) { PyErr_SetString(PyExc_TypeError, "words must be str"); goto done; }
        Py_hash_t hw = PyObject_Hash(w);
        if (hw == -1 && PyErr_Occurred()) goto done;
        ids[i] = h[i] = (uint64_t)hw;
        cum[i + 1] = cum[i] + PyUnicode_GET_LENGTH(w);
    }
    if (table_init(&t, m + 1) < 0) goto done;
    tops = PyList_New(n_top);
    dups = PyList_New(n_dup);
    if (tops == NULL || dups == NULL) goto done;
    for (Py_ssize_t i = 0; i < n_top; i++) { Py_INCREF(Py_None); PyList_SET_ITEM(tops, i, Py_None); }
    for (Py_ssize_t i = 0; i < n_dup; i++) { Py_INCREF(Py_None); PyList_SET_ITEM(dups, i, Py_None); }

    /* As gopher._NGrams: level n only keeps the positions whose (n-1)-gram occurs more than once (every
     * occurrence of a repeated n-gram starts there), so after the bigrams there is little left to do.
     * pos[0..na) are those positions in increasing order, h[i] the hash of the n-gram at pos[i]. */
    Py_ssize_t na = m;
    for (Py_ssize_t p = 0; p < m; p++) pos[p] = p;
    for (Py_ssize_t n = 1; n <= maxn && n <= m; n++) {
        if (n > 1) {
            Py_ssize_t j = 0;
            for (Py_ssize_t i = 0; i < na; i++) {
                if (!rep[i] || pos[i] > m - n) continue;
                pos[j] = pos[i];
                h[j] = h[i] * K_ROLL + ids[pos[i] + n - 1];
                j++;
            }
            na = j;
        }
        /* count every n-gram of the level */
        table_clear(&t);
        for (Py_ssize_t i = 0; i < na; i++) {
            size_t j = mix64(h[i]) & t.mask;
            for (;;) {
                slot_t *sl = &t.slots[j];
                if (sl->stamp != t.stamp) { sl->stamp = t.stamp; sl->key = h[i]; sl->first = pos[i]; sl->count = 1; break; }
                if (sl->key == h[i]) { sl->count++; break; }
                j = (j + 1) & t.mask;
            }
        }
        for (Py_ssize_t k = 0; k < n_top; k++) {
            if (top_ns[k] != n) continue;
            /* the most frequent n-gram; ties go to the one seen first (Counter.most_common in datatrove) */
            Py_ssize_t best_c = 0, best_p = 0;
            for (Py_ssize_t i = 0; i < na; i++) {
                size_t j = mix64(h[i]) & t.mask;
                while (t.slots[j].key != h[i]) j = (j + 1) & t.mask;
                const slot_t *sl = &t.slots[j];
                if (sl->count > best_c || (sl->count == best_c && sl->first < best_p)) { best_c = sl->count; best_p = sl->first; }
            }
            if (best_c <= 1) { best_c = 0; best_p = 0; }  /* no n-gram repeats: 0 (RedPajama-V2) */
            PyObject *v = PyLong_FromSsize_t((cum[best_p + n] - cum[best_p] + n - 1) * best_c);
            if (v == NULL) goto done;
            Py_SETREF(PyList_GET_ITEM(tops, k), v);
        }
        if (n < maxn) {  /* which positions the next level extends */
            for (Py_ssize_t i = 0; i < na; i++) {
                size_t j = mix64(h[i]) & t.mask;
                while (t.slots[j].key != h[i]) j = (j + 1) & t.mask;
                rep[i] = t.slots[j].count > 1;
            }
        }
        for (Py_ssize_t k = 0; k < n_dup; k++) {
            if (dup_ns[k] != n) continue;
            /* datatrove's find_all_duplicate: left to right, a repeat counts its characters and skips n words;
             * n-grams that occur once never repeat, so visiting only this level's positions gives the same sum */
            Py_ssize_t total = 0, nxt = 0;
            table_clear(&t);  /* the counts of this level are no longer needed */
            for (Py_ssize_t i = 0; i < na; i++) {
                const Py_ssize_t p = pos[i];
                if (p < nxt) continue;
                size_t j = mix64(h[i]) & t.mask;
                for (;;) {
                    slot_t *sl = &t.slots[j];
                    if (sl->stamp != t.stamp) { sl->stamp = t.stamp; sl->key = h[i]; break; }
                    if (sl->key == h[i]) { total += cum[p + n] - cum[p]; nxt = p + n; break; }
                    j = (j + 1) & t.mask;
                }
            }
            PyObject *v = PyLong_FromSsize_t(total);
            if (v == NULL) goto done;
            Py_SETREF(PyList_GET_ITEM(dups, k), v);
        }
    }
    /* sizes longer than the document: no n-gram at all */
    for (Py_ssize_t i = 0; i < n_dup; i++) {
        if (PyList_GET_ITEM(dups, i) == Py_None) {
            PyObject *v = PyLong_FromLong(0);
            if (v == NULL) goto done;
            Py_SETREF(PyList_GET_ITEM(dups, i), v);
        }
    }
    result = PyTuple_Pack(2, tops, dups);
done:
    Py_XDECREF(tops);
    Py_XDECREF(dups);
    PyMem_Free(top_ns);
    PyMem_Free(dup_ns);
    PyMem_Free(ids);
    PyMem_Free(h);
    PyMem_Free(cum);
    PyMem_Free(pos);
    PyMem_Free(rep);
    PyMem_Free(t.slots);
    return result;
}

/* re's \w for str patterns is str.isalnum() or "_", its \s is str.isspace() (Modules/_sre/sre.c) */
static PyObject *fast_count_pretokens(PyObject *self, PyObject *arg) {
    TEXT_ARG(arg);
    Py_ssize_t count = 0;
    int in_word = 0;
    for (Py_ssize_t k = 0; k < n; k++) {
        const Py_UCS4 c = PyUnicode_READ(kind, data, k);
        if (c == '_' || is_alnum(c)) {
            count += !in_word;
            in_word = 1;
        } else {
            in_word = 0;
            count += !Py_UNICODE_ISSPACE(c);
        }
    }
    return PyLong_FromSsize_t(count);
}

/* filters._NEEDS_FTFY.search(text) is not None, character by character */
static inline int ftfy_class(Py_UCS4 c) {
    return c <= 0x08 || (c >= 0x0b && c <= 0x1f) || (c >= 0x7f && c <= 0x9f) || c == 0x2028 || c == 0x2029
        || c == 0x200b || c == 0x2060 || (c >= 0x206a && c <= 0x206f) || c == 0xfeff || (c >= 0xfff9 && c <= 0xfffd)
        || (c >= 0xd800 && c <= 0xdfff);
}

static inline int cp1252_continuation(Py_UCS4 c) {  /* a UTF-8 continuation byte as Latin-1 or cp1252 shows it */
    if (c >= 0x80 && c <= 0xbf) return 1;
    switch (c) {
    case 0x20ac: case 0x201a: case 0x0192: case 0x201e: case 0x2026: case 0x2020: case 0x2021: case 0x02c6:
    case 0x2030: case 0x0160: case 0x2039: case 0x0152: case 0x017d: case 0x2018: case 0x2019: case 0x201c:
    case 0x201d: case 0x2022: case 0x2013: case 0x2014: case 0x02dc: case 0x2122: case 0x0161: case 0x203a:
    case 0x0153: case 0x017e: case 0x0178:
        return 1;
    default:
        return 0;
    }
}

static PyObject *fast_needs_ftfy(PyObject *self, PyObject *arg) {
    TEXT_ARG(arg);
    for (Py_ssize_t k = 0; k < n; k++) {
        const Py_UCS4 c = PyUnicode_READ(kind, data, k);
        if (c >= 0x20 && c < 0x7f) continue;
        if (ftfy_class(c)) Py_RETURN_TRUE;
        if (c >= 0xc2 && c <= 0xf4 && k + 1 < n && cp1252_continuation(PyUnicode_READ(kind, data, k + 1))) Py_RETURN_TRUE;
    }
    Py_RETURN_FALSE;
}

/* max(map(len, text.split()), default=0): the longest run of non-whitespace characters */
static PyObject *fast_longest_run(PyObject *self, PyObject *arg) {
    TEXT_ARG(arg);
    Py_ssize_t best = 0, run = 0;
    for (Py_ssize_t k = 0; k < n; k++) {
        if (Py_UNICODE_ISSPACE(PyUnicode_READ(kind, data, k))) run = 0;
        else if (++run > best) best = run;
    }
    return PyLong_FromSsize_t(best);
}

/* " ".join(text.split()): runs of str.isspace() characters become one space, none at either end */
static PyObject *fast_collapse_spaces(PyObject *self, PyObject *arg) {
    TEXT_ARG(arg);
    Py_ssize_t k = 0, m = 0;
    int clean = 1;  /* already collapsed: return the text itself */
    for (; k < n; k++) {
        const Py_UCS4 c = PyUnicode_READ(kind, data, k);
        if (Py_UNICODE_ISSPACE(c) && (c != ' ' || k == 0 || k == n - 1 || Py_UNICODE_ISSPACE(PyUnicode_READ(kind, data, k + 1)))) {
            clean = 0;
            break;
        }
    }
    if (clean) return Py_NewRef(arg);
    void *buf = PyMem_Malloc(n * kind + 1);
    if (buf == NULL) return PyErr_NoMemory();
    memcpy(buf, data, k * kind);  /* the clean prefix */
    m = k;
    int pending = 0;  /* a space to write before the next word (never at the start) */
    for (; k < n; k++) {
        const Py_UCS4 c = PyUnicode_READ(kind, data, k);
        if (Py_UNICODE_ISSPACE(c)) {
            pending = m > 0;
        } else {
            if (pending) {
                PyUnicode_WRITE(kind, buf, m, ' ');
                m++;
                pending = 0;
            }
            PyUnicode_WRITE(kind, buf, m, c);
            m++;
        }
    }
    PyObject *out = PyUnicode_FromKindAndData(kind, buf, m);  /* narrows the kind if the widest chars were spaces */
    PyMem_Free(buf);
    return out;
}

/* len(text.split()): runs of non-whitespace characters */
static PyObject *fast_count_runs(PyObject *self, PyObject *arg) {
    TEXT_ARG(arg);
    Py_ssize_t count = 0;
    int in_run = 0;
    for (Py_ssize_t k = 0; k < n; k++) {
        if (Py_UNICODE_ISSPACE(PyUnicode_READ(kind, data, k))) in_run = 0;
        else if (!in_run) { in_run = 1; count++; }
    }
    return PyLong_FromSsize_t(count);
}

/* filters._MAYBE_BAD.search(text) is not None: two adjacent non-ASCII characters, or one of Ã Â Œ œ or
 * a C1 control */
static PyObject *fast_maybe_mojibake(PyObject *self, PyObject *arg) {
    TEXT_ARG(arg);
    int prev = 0;  /* the previous character was not ASCII */
    for (Py_ssize_t k = 0; k < n; k++) {
        const Py_UCS4 c = PyUnicode_READ(kind, data, k);
        if (c < 0x80) { prev = 0; continue; }
        if (prev || c <= 0x9f || c == 0xc3 || c == 0xc2 || c == 0x152 || c == 0x153) Py_RETURN_TRUE;
        prev = 1;
    }
    Py_RETURN_FALSE;
}

/* c is one of the code points of `punct` (a str sorted by code point): binary search */
static int in_sorted(Py_UCS4 c, int pkind, const void *pdata, Py_ssize_t pn) {
    Py_ssize_t lo = 0, hi = pn;
    while (lo < hi) {
        const Py_ssize_t mid = (lo + hi) / 2;
        const Py_UCS4 m = PyUnicode_READ(pkind, pdata, mid);
        if (m == c) return 1;
        if (m < c) lo = mid + 1; else hi = mid;
    }
    return 0;
}

/* gopher.gopher_counts_py: (sum of len(w) for w in words, symbols among rest, their characters, rest tokens
 * without a letter). A symbol: not w.isalnum() and every character in punct. Without a letter: not w.isalpha()
 * and no match of [^\W\d_] (re: \w = isalnum() or '_', \d = isdecimal()). */
static PyObject *fast_gopher_counts(PyObject *self, PyObject *args) {
    PyObject *words, *rest, *punct;
    if (!PyArg_ParseTuple(args, "O!O!U", &PyList_Type, &words, &PyList_Type, &rest, &punct)) return NULL;
    const int pkind = PyUnicode_KIND(punct);
    const void *pdata = PyUnicode_DATA(punct);
    const Py_ssize_t pn = PyUnicode_GET_LENGTH(punct);
    Py_ssize_t chars = 0, n_sym = 0, sym_chars = 0, no_alpha = 0;
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(words); i++) {
        PyObject *w = PyList_GET_ITEM(words, i);
        if (!PyUnicode_Check(w)) { PyErr_SetString(PyExc_TypeError, "words must be str"); return NULL; }
        chars += PyUnicode_GET_LENGTH(w);
    }
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(rest); i++) {
        PyObject *w = PyList_GET_ITEM(rest, i);
        if (!PyUnicode_Check(w)) { PyErr_SetString(PyExc_TypeError, "words must be str"); return NULL; }
        const int kind = PyUnicode_KIND(w);
        const void *data = PyUnicode_DATA(w);
        const Py_ssize_t n = PyUnicode_GET_LENGTH(w);
        int all_alnum = n > 0, all_alpha = n > 0, all_punct = 1, has_alpha = 0;
        for (Py_ssize_t k = 0; k < n; k++) {
            const Py_UCS4 c = PyUnicode_READ(kind, data, k);
            const int alnum = is_alnum(c);
            all_alnum &= alnum;
            all_alpha &= is_alpha(c);
            if (alnum && c != '_' && !Py_UNICODE_ISDECIMAL(c)) has_alpha = 1;
            if (all_punct && !in_sorted(c, pkind, pdata, pn)) all_punct = 0;
        }
        if (!all_alnum && all_punct) {
            n_sym++;
            sym_chars += n;
        }
        if (!all_alpha && !has_alpha) no_alpha++;
    }
    return Py_BuildValue("(nnnn)", chars, n_sym, sym_chars, no_alpha);
}

/* tuple(n in text.lower() for n in needles), needles ASCII. Only the ASCII characters of text.lower() can be
 * part of a match, and str.lower() maps a non-ASCII character to non-ASCII characters only, but for two
 * (Unicode's full lower-case mapping; tests/test_quality.py checks every code point): KELVIN SIGN -> "k" and
 * LATIN CAPITAL LETTER I WITH DOT ABOVE -> "i" + U+0307. So the lowered text is kept as one byte per
 * character: ASCII lowered, those two mapped, anything else 0x80 (never in a needle). */
static PyObject *fast_lowered_contains(PyObject *self, PyObject *args) {
    PyObject *text, *needles;
    if (!PyArg_ParseTuple(args, "UO!", &text, &PyTuple_Type, &needles)) return NULL;
    const int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    const Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    const Py_ssize_t nn = PyTuple_GET_SIZE(needles);
    for (Py_ssize_t j = 0; j < nn; j++) {
        PyObject *nd = PyTuple_GET_ITEM(needles, j);
        if (!PyUnicode_Check(nd) || !PyUnicode_IS_ASCII(nd)) {
            PyErr_SetString(PyExc_ValueError, "needles must be ASCII str");
            return NULL;
        }
    }
    unsigned char *low = PyMem_Malloc(2 * (size_t)n + 1);
    if (low == NULL) return PyErr_NoMemory();
    Py_ssize_t m = 0;
    for (Py_ssize_t k = 0; k < n; k++) {
        const Py_UCS4 c = PyUnicode_READ(kind, data, k);
        if (c < 128) low[m++] = (c >= 'A' && c <= 'Z') ? (unsigned char)(c + 32) : (unsigned char)c;
        else if (c == 0x212a) low[m++] = 'k';
        else if (c == 0x130) { low[m++] = 'i'; low[m++] = 0x80; }
        else low[m++] = 0x80;
    }
    PyObject *out = PyTuple_New(nn);
    if (out == NULL) { PyMem_Free(low); return NULL; }
    for (Py_ssize_t j = 0; j < nn; j++) {
        PyObject *nd = PyTuple_GET_ITEM(needles, j);
        const unsigned char *p = (const unsigned char *)PyUnicode_DATA(nd);
        const Py_ssize_t len = PyUnicode_GET_LENGTH(nd);
        int found = len == 0;
        for (Py_ssize_t k = 0; !found && k + len <= m; k++) {
            const unsigned char *hit = memchr(low + k, p[0], (size_t)(m - len - k + 1));
            if (hit == NULL) break;
            k = hit - low;
            if (memcmp(hit, p, (size_t)len) == 0) found = 1;
        }
        PyTuple_SET_ITEM(out, j, Py_NewRef(found ? Py_True : Py_False));
    }
    PyMem_Free(low);
    return out;
}

static PyMethodDef methods[] = {
    {"lowered_contains", fast_lowered_contains, METH_VARARGS,
     "lowered_contains(text, needles) -> tuple(n in text.lower() for n in needles), for ASCII needles"},
    {"gopher_counts", fast_gopher_counts, METH_VARARGS,
     "gopher_counts(words, rest, punct) -> (characters of words, symbols in rest, their characters, rest tokens without a letter)"},
    {"maybe_mojibake", fast_maybe_mojibake, METH_O, "maybe_mojibake(text) -> filters._MAYBE_BAD.search(text) is not None"},
    {"count_runs", fast_count_runs, METH_O, "count_runs(text) -> len(text.split())"},
    {"collapse_spaces", fast_collapse_spaces, METH_O, "collapse_spaces(text) -> ' '.join(text.split())"},
    {"needs_ftfy", fast_needs_ftfy, METH_O, "needs_ftfy(text) -> filters._NEEDS_FTFY.search(text) is not None"},
    {"longest_run", fast_longest_run, METH_O, "longest_run(text) -> length of the longest whitespace-free run"},
    {"count_pretokens", fast_count_pretokens, METH_O, "count_pretokens(text) -> number of \\w+ runs and other non-space characters"},
    {"tokenize", fast_tokenize, METH_VARARGS, "tokenize(text, findall, rest, abbrevs, elide=False) -> list of tokens (see words.tokenize)"},
    {"segment_dups", fast_segment_dups, METH_O,
     "segment_dups(text) -> (paragraphs, duplicate paragraphs, their chars, lines, duplicate lines, their chars)"},
    {"ngram_stats", fast_ngram_stats, METH_VARARGS,
     "ngram_stats(words, top_ns, dup_ns) -> (top n-gram chars x count per n, duplicated n-gram chars per n)"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_fast", "Compiled loops of the quality filters and the token counter.", -1, methods};

#ifndef LUCIE_FAST_SOURCE_SHA256
#define LUCIE_FAST_SOURCE_SHA256 "unknown"  /* setup.py passes the sha256 of this file */
#endif

PyMODINIT_FUNC PyInit__fast(void) {
    PyObject *m = PyModule_Create(&module);
    if (m != NULL && PyModule_AddStringConstant(m, "source_sha256", LUCIE_FAST_SOURCE_SHA256) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
