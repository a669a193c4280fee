"""Language identification: annotate every document (and optionally its chunks) offline.

"Annotate first, decide later" (dolma): ``LanguageID`` never drops a document for its language; the
``language_gate`` stage decides. The one exception is chunk ``action: split``, which replaces a
bilingual document by one document per language: the parent goes to ``removed/<stage>/`` with reason
``language_split_into_parts`` and the parts are counted in the ledger as *created* (stat
``created:<stage>``), so ``in + created = kept + removed`` still holds per stage.

Detectors load lazily, once per worker process, never at pickling time.
"""
from __future__ import annotations

import copy
import re
from typing import Any, Iterable

from datatrove.data import Document, DocumentsPipeline
from datatrove.pipeline.base import PipelineStep

from .base import LucieFilter
from .filters import mark_modified

LID176_NAME = "fasttext-lid.176.ftz"
LID176_SOURCE = "https://fasttext.cc/docs/en/language-identification.html"
LID176_LICENSE = "CC-BY-SA-3.0"
SPLIT_REASON = "language_split_into_parts"
DROP_MARKER = "\n\n[...]\n\n"  # Lucie's Gallica rule: removed spans become "\n\n[...]\n\n" (lucie-dataset.md §3.3)
UNDETERMINED = "und"

# lid.176 reads the typographic apostrophe as another character: "Forse l’abbigliamento richiesto era un po’
# all’antica." scores it 0.15 (0.97 with '), "Aujourd’hui" fr 0.575 (0.96); lingua reads ʼ (U+02BC, a letter)
# differently too. Detectors see ’ and ʼ as ' (the document's text is unchanged).
_APOSTROPHES = ("\u2019", "\u02bc")

# ISO 639-3/2 -> 639-1 for models labelled with 3-letter codes (e.g. NLLB's `fra_Latn` in
# facebook/fasttext-language-identification). lid.176 already uses 639-1 where one exists.
_ISO3_TO_1 = {
    "fra": "fr", "eng": "en", "deu": "de", "spa": "es", "ita": "it", "por": "pt", "nld": "nl", "cat": "ca",
    "eus": "eu", "glg": "gl", "oci": "oc", "bre": "br", "cos": "co", "pol": "pl", "ces": "cs", "ron": "ro",
    "swe": "sv", "dan": "da", "nob": "nb", "fin": "fi", "ell": "el", "rus": "ru", "ukr": "uk", "ara": "ar",
    "zho": "zh", "jpn": "ja", "kor": "ko", "tur": "tr", "hun": "hu", "bul": "bg", "hrv": "hr", "slk": "sk",
    "slv": "sl", "lit": "lt", "lav": "lv", "est": "et", "gle": "ga", "cym": "cy", "lat": "la", "epo": "eo",
}


def vendored_model_path() -> str:
    """The compressed lid.176 model shipped inside lucie-data (CC-BY-SA-3.0, see NOTICE.md)."""
    from importlib.resources import files

    return str(files("lucie_data") / "assets" / "lid.176.ftz")


def normalize_label(label: str) -> str:
    """`__label__fr` -> `fr`; `__label__fra_Latn` -> `fr`; `zh-cn` -> `zh`."""
    lab = label.removeprefix("__label__").lower()
    base = re.split(r"[_-]", lab, maxsplit=1)[0]
    return _ISO3_TO_1.get(base, base)


_LETTER = re.compile(r"[^\W\d_]")  # a letter of any script (what a language is identified from)


def detector_text(text: str) -> str:
    """``text`` as the detectors read it: typographic apostrophes as ASCII ones (see ``_APOSTROPHES``)."""
    for q in _APOSTROPHES:
        if q in text:
            text = text.replace(q, "'")
    return text


def declared_score(lang: str, scores: dict[str, float]) -> float:
    """The detector's score for ``lang``: 0 if not in its top-k; a pair (``fr,en``) scores the sum of its members,
    since a bilingual text splits the probability between its two languages."""
    return round(sum(scores.get(part, 0.0) for part in lang.split(",")), 4)


def _clamp(score: float) -> float:
    # fastText's softmax can exceed 1 by float error (1.00001); rounding keeps shards byte-identical
    return round(min(1.0, max(0.0, float(score))), 4)


# ---------------------------------------------------------------------------------- detectors


class Detector:
    """A language detector: ``predict(texts, k)`` -> per text, the top-k ``[(lang, score)]`` (may be empty)."""

    name = "detector"

    def __getstate__(self):
        # never ship a loaded model to worker processes: each loads its own, lazily
        return {k: v for k, v in self.__dict__.items() if not k.startswith("_")}

    def predict(self, texts: list[str], k: int) -> list[list[tuple[str, float]]]:
        raise NotImplementedError


_MODELS: dict[str, Any] = {}
_ALL_LABELS = 1000  # a top-k of every language a detector knows (lid.176: 176)


def _fasttext_model(path: str):
    """A fastText model loaded once per process: a worker runs several tasks (runner.QuietLocalExecutor), each with
    its own unpickled detector (the model is read-only; loading lid.176.ftz takes ~30 ms)."""
    model = _MODELS.get(path)
    if model is None:
        import fasttext

        model = _MODELS[path] = fasttext.load_model(path)
    return model


class FastTextDetector(Detector):
    def __init__(self, model_path: str, name: str = "fasttext"):
        self.model_path = model_path
        self.name = name

    def _load(self):
        model = _fasttext_model(self.model_path)
        # `fasttext-numpy2-wheel` exposes the C++ binding as `.f`; calling it directly skips the numpy
        # arrays the Python wrapper builds for every call (a large share of the per-document cost).
        raw = getattr(model, "f", None)
        self._raw = raw if raw is not None and hasattr(raw, "predict") else None
        self._model = model
        self._labels: dict[str, str] = {}

    def predict(self, texts: list[str], k: int) -> list[list[tuple[str, float]]]:
        if not hasattr(self, "_model"):
            self._load()
        labels, out = self._labels, []
        raw = self._raw
        for text in texts:
            text = text.replace("\n", " ")  # fastText predicts one line; a newline would cut the text
            if raw is not None:
                pairs = raw.predict(text + "\n", k, 0.0, "replace")  # [(prob, label)]
            else:
                labs, probs = self._model.predict(text, k=k)
                pairs = list(zip(probs, labs))
            res = []
            for prob, lab in pairs:  # hot loop: inlined label cache and clamp (see _clamp)
                code = labels.get(lab)
                if code is None:
                    code = labels[lab] = normalize_label(lab)
                res.append((code, round(prob if prob < 1.0 else 1.0, 4)))
            out.append(res)
        return out


class LangdetectDetector(Detector):
    name = "langdetect"

    def predict(self, texts: list[str], k: int) -> list[list[tuple[str, float]]]:
        from langdetect import DetectorFactory, detect_langs
        from langdetect.lang_detect_exception import LangDetectException

        DetectorFactory.seed = 0  # langdetect samples n-grams at random: a fixed seed makes it deterministic
        out = []
        for text in texts:
            try:
                res = detect_langs(text)
            except LangDetectException:  # no letters at all
                res = []
            best: dict[str, float] = {}
            for r in res:
                code = normalize_label(r.lang)
                best[code] = max(best.get(code, 0.0), _clamp(r.prob))
            out.append(sorted(best.items(), key=lambda kv: (-kv[1], kv[0]))[:k])
        return out


class LinguaDetector(Detector):
    name = "lingua"

    def __init__(self, candidates: list[str]):
        self.candidates = list(candidates)

    def predict(self, texts: list[str], k: int) -> list[list[tuple[str, float]]]:
        if not hasattr(self, "_det"):
            from lingua import IsoCode639_1, LanguageDetectorBuilder

            codes = [IsoCode639_1.from_str(c) for c in self.candidates]
            self._det = LanguageDetectorBuilder.from_iso_codes_639_1(*codes).build()
        out = []
        for text in texts:
            vals = self._det.compute_language_confidence_values(text)
            res = [(v.language.iso_code_639_1.name.lower(), _clamp(v.value)) for v in vals]
            out.append([r for r in res if r[1] > 0][:k])
        return out


def make_detector(cfg: dict) -> Detector:
    """Build a detector from a plain dict (what the stage spec hands to the step)."""
    kind = cfg["backend"]
    if kind == "fasttext":
        return FastTextDetector(cfg["model_path"], cfg.get("name", "fasttext"))
    if kind == "langdetect":
        return LangdetectDetector()
    if kind == "lingua":
        return LinguaDetector(cfg["candidates"])
    raise ValueError(f"unknown language-id backend {kind!r}")


# ---------------------------------------------------------------------------------- chunking

_PARA_RE = re.compile(r"\n[ \t\r\f\v]*\n\s*")


def paragraph_spans(text: str) -> list[tuple[int, int]]:
    """[start, end) of each blank-line-separated paragraph (separators belong to no chunk)."""
    spans, pos = [], 0
    for m in _PARA_RE.finditer(text):
        if text[pos:m.start()].strip():
            spans.append((pos, m.start()))
        pos = m.end()
    if text[pos:].strip():
        spans.append((pos, len(text)))
    return spans


def sample_windows(text: str, max_chars: int | None, windows: int = 3) -> list[str] | None:
    """The ``windows`` (start, middle, end) of a text longer than ``max_chars``, totalling that many characters, cut
    at spaces so none starts or ends inside a word; None for a text that is not longer."""
    n = len(text)
    if not max_chars or n <= max_chars:
        return None
    w = max_chars // windows
    parts = []
    for i in range(windows):
        start = (n - w) * i // (windows - 1)
        end = start + w
        if start:
            j = text.find(" ", start, end)
            start = j + 1 if j >= 0 else start
        if end < n:
            j = text.rfind(" ", start, end)
            end = j if j > start else end
        parts.append(text[start:end])
    return parts


def sample_text(text: str, max_chars: int | None, windows: int = 3) -> str:
    """``text`` itself, or for a longer one its :func:`sample_windows` joined.

    fastText's cost grows with the text while its answer stops changing after a few hundred words; CLD3 likewise
    reads at most ``max_num_bytes``. The sample stands only where it is not in doubt (``LanguageID._doubtful_samples``;
    rv52: a Gutenberg French book's windows were its English licence and a Dutch glossary, nl 0.39, whole text fr
    0.90). Shared corpora, 1,083 documents over 2,000 characters: 8 (0.74 %) are read whole, and the top language is
    the whole text's on all of them (99.45 % from the sample alone; ``benchmarks/langid_sampling.py``).
    """
    parts = sample_windows(text, max_chars, windows)
    return text if parts is None else " ".join(parts)


def size_spans(text: str, size: int) -> list[tuple[int, int]]:
    """Chunks of ``size`` characters, each extended to the next newline (Lucie's Gallica chunker, §3.3)."""
    spans, pos, n = [], 0, len(text)
    while pos < n:
        end = pos + size
        if end >= n:
            end = n
        else:
            nl = text.find("\n", end)
            end = n if nl < 0 else nl + 1
        if text[pos:end].strip():
            spans.append((pos, end))
        pos = end
    return spans


# ---------------------------------------------------------------------------------- the step


class LanguageID(PipelineStep):
    """Writes ``language_scores`` (top-k), ``language_score``, ``language_detector`` and ``language``.

    Code sources keep ``code:<lang>`` and parallel sources their pair (``keep_language``); their scores
    are still written. A ``code*`` document keeps its language in any source (in a source of prose and code
    languages, whose prose is judged: rv52). A declared language (the recipe's or a record's) gives way only to a top language scoring
    at least ``relabel_min_score`` and is then kept in ``language_declared``; below, it stays, with its own score.
    With ``chunk``, every chunk is identified too (``language_chunks``).
    """

    name = "🌐 Language ID"
    type = "🏷️ - ANNOTATOR"

    def __init__(self, detector: dict, top_k: int = 3, second_opinion: dict | None = None,
                 short_text_chars: int = 20, keep_language: bool = False, chunk: dict | None = None,
                 expected: Iterable[str] = (), stage_id: str = "language_id", removed_dir: str | None = None,
                 tokenizer: str | None = None, batch_size: int = 256, sample_chars: int | None = None,
                 relabel_min_score: float = 0.65, sample_min_score: float = 0.65):
        super().__init__()
        self.relabel_min_score = relabel_min_score
        self.sample_chars = sample_chars
        self.sample_min_score = sample_min_score
        self.detector = make_detector(detector)
        self.second = make_detector(second_opinion) if second_opinion else None
        self.top_k = top_k
        self.short = short_text_chars
        self.keep_language = keep_language
        self.chunk = chunk
        self.expected = set(expected)
        self.stage_id = stage_id
        self.removed_dir = removed_dir
        self.tokenizer = tokenizer
        self.batch_size = batch_size

    # -- identification ------------------------------------------------------------------------
    def identify(self, texts: list[str], wholes: list[str] | None = None) -> list[tuple[list[tuple[str, float]], str]]:
        """Top-k of each text and the detector(s) that decided.

        A text shorter than ``short_text_chars`` takes the second opinion's language, first, scored by the main
        detector's score for it (0 if it has none), whose scale the thresholds (``relabel_min_score``, the gate's
        ``min_score``) are calibrated on; the rest of the top-k stays the main detector's. rv52: lingua's own
        confidences are relative among its candidates (a German snippet is fr 0.9 among [fr, en]), so compared with
        0.65 they kept 4,896 of 8,905 UD PUD snippets under 20 characters correctly where fastText alone kept 6,263;
        so scored, 6,263, and 47 wrongly kept instead of 101 (fastText alone: 142).

        ``wholes``: the documents when ``texts`` are samples of them (:func:`sample_text`): whether a text is
        short is decided on the document, so sampling never sends a long one to the second opinion."""
        texts = [detector_text(t) for t in texts]
        res = self.detector.predict(texts, self.top_k)
        names = [self.detector.name] * len(texts)
        if self.second is not None and self.short:
            idx = [i for i, t in enumerate(wholes or texts) if len(t.strip()) < self.short]
            named = [(i, r[0][0]) for i, r in zip(idx, self.second.predict([texts[i] for i in idx], 1)) if r]
            unscored = [(i, lang) for i, lang in named if lang not in dict(res[i])]  # outside the main top-k
            every = self.detector.predict([texts[i] for i, _ in unscored], _ALL_LABELS) if unscored else []
            scores = {i: dict(r).get(lang, 0.0) for (i, lang), r in zip(unscored, every)}
            for i, lang in named:
                own = dict(res[i])
                res[i] = [(lang, own.get(lang, scores.get(i, 0.0)))] + [kv for kv in res[i] if kv[0] != lang]
                res[i] = res[i][:self.top_k]
                names[i] = f"{self.second.name}+{self.detector.name}"
        for i, t in enumerate(texts):  # no letter, no language (review: "" was en 0.12, a U+3000 space ja 0.85,
            if not _LETTER.search(t):  # enough to relabel a declared document): undetermined, score 0
                res[i] = []
        return list(zip(res, names))

    def annotate(self, doc: Document, top: list[tuple[str, float]], detector: str,
                 part_lang: str | None = None) -> None:
        """``part_lang``: the language of a split part (by construction, its chunks' language)."""
        meta = doc.metadata
        scores = meta["language_scores"] = dict(top)
        meta["language_detector"] = detector
        if top:
            lang, score = top[0]
        else:
            lang, score = UNDETERMINED, 0.0
        cur = meta.get("language")
        # a source of pairs keeps a pair whatever its members score; a record there declared in one language (`fr`)
        # is judged as in any prose source (rv56: German text declared `fr` was kept as `fr`, with German's score)
        single = isinstance(cur, str) and "," not in cur and cur not in ("", UNDETERMINED)
        if (isinstance(cur, str) and cur.startswith("code")) or (self.keep_language and part_lang is None
                                                                 and not single):
            meta["language_score"] = declared_score(cur, scores) if isinstance(cur, str) and "," in cur else score
            return
        declared = cur if isinstance(cur, str) and cur and cur != UNDETERMINED else None
        if part_lang is not None:
            lang, score = part_lang, declared_score(part_lang, scores)
        elif declared is not None and (lang in declared.split(",") or lang == UNDETERMINED
                                       or score < self.relabel_min_score):
            # the declared language stays, scored by its own score (a pair: its two members'), when the detector
            # agrees with it (a member of a declared pair on top: code review, pairs became `fr` when fr scored >=
            # relabel_min_score and stayed `fr,en` below, two folders and two mix keys for one kind of document) or
            # is unsure (annotate first, decide later, as dolma: the gate then reports a low score, not another
            # language), or finds no language (no letter: `relabel_min_score: 0` relabelled such a document `und`, rv52)
            lang, score = declared, declared_score(declared, scores)
        meta["language_score"] = score
        if lang != cur:
            if declared is not None:
                meta.setdefault("language_declared", declared)
            meta["language"] = lang

    # -- chunks --------------------------------------------------------------------------------
    def _chunk_labels(self, text: str) -> list[list]:
        c = self.chunk
        spans = paragraph_spans(text) if c["mode"] == "paragraph" else size_spans(text, c["size"])
        judged = [i for i, (s, e) in enumerate(spans) if len(text[s:e].strip()) >= c["min_chars"]]
        preds = self.identify([text[spans[i][0]:spans[i][1]] for i in judged]) if judged else []
        labels: list = [None] * len(spans)
        for i, (top, _) in zip(judged, preds):
            labels[i] = top[0] if top else (UNDETERMINED, 0.0)
        # chunks too short to judge (headings, "— Oui.") take the language of the previous judged chunk
        # (or of the next one at the start), so they follow their neighbours instead of being guessed
        last = next((lab for lab in labels if lab is not None), None)
        if last is None:
            return []
        for i, lab in enumerate(labels):
            if lab is None:
                labels[i] = (last[0], None)
            else:
                last = lab
        return [[s, e, lab[0], lab[1]] for (s, e), lab in zip(spans, labels)]

    def _is_kept_chunk(self, ch: list) -> bool:
        lang, score = ch[2], ch[3]
        return lang in self.expected and (score is None or score >= self.chunk["min_score"])

    def _drop_off_language(self, doc: Document, chunks: list[list]) -> None:
        keep = [self._is_kept_chunk(ch) for ch in chunks]
        if all(keep) or not any(keep):
            return  # nothing to cut, or nothing would remain: the document-level gate decides
        text, out, pos, i = doc.text, [], 0, 0
        while i < len(chunks):
            if keep[i]:
                i += 1
                continue
            j = i
            while j < len(chunks) and not keep[j]:
                j += 1
            cut_start = chunks[i - 1][1] if i > 0 else 0  # swallow separators on both sides of the run
            cut_end = chunks[j][0] if j < len(chunks) else len(text)
            out.append(text[pos:cut_start])
            marker = DROP_MARKER
            if i == 0:
                marker = marker.lstrip("\n")
            if j == len(chunks):
                marker = marker.rstrip("\n")
            out.append(marker)
            pos, i = cut_end, j
        out.append(text[pos:])
        doc.text = "".join(out)
        doc.metadata["language_chunks_removed"] = sum(1 for k in keep if not k)
        mark_modified(doc, self.stage_id)

    def _split(self, doc: Document, chunks: list[list]) -> list[Document] | None:
        langs: list[str] = []
        for ch in chunks:
            if ch[2] not in langs:
                langs.append(ch[2])
        if len(langs) < 2:
            return None
        parts = []
        for lang in langs:
            mine = [ch for ch in chunks if ch[2] == lang]
            meta = copy.deepcopy(doc.metadata)
            meta["split_from"] = doc.id
            meta["language_chunks"] = mine
            meta["_split_lang"] = lang
            text = "\n\n".join(doc.text[s:e].strip("\n") for s, e, _, _ in mine)
            part = Document(text=text, id=f"{doc.id}#{lang}", metadata=meta)
            mark_modified(part, self.stage_id)
            parts.append(part)
        return parts

    # -- run -----------------------------------------------------------------------------------
    def _process(self, batch: list[Document], writer, rank: int) -> Iterable[Document]:
        action = self.chunk["action"] if self.chunk else None
        out: list[Document] = []
        for doc in batch:
            lang = doc.metadata.get("language")
            if self.chunk is None or (isinstance(lang, str) and lang.startswith("code")):
                out.append(doc)  # (a code file's paragraphs are not prose to mark, cut or split off: rv52)
                continue
            chunks = self._chunk_labels(doc.text)
            doc.metadata["language_chunks"] = chunks
            if action == "drop_off_language":
                self._drop_off_language(doc, chunks)
            elif action == "split":
                parts = self._split(doc, chunks)
                if parts:
                    self.stat_update(f"created:{self.stage_id}", value=len(parts))
                    self.stat_update(f"dropped_{SPLIT_REASON}")
                    doc.metadata["filter_reason"] = SPLIT_REASON
                    doc.metadata["split_into"] = [p.id for p in parts]
                    self._annotate_all([doc])
                    writer.write(doc, rank)
                    out.extend(parts)
                    continue
            out.append(doc)
        self._annotate_all(out)
        return out

    def _annotate_all(self, docs: list[Document]) -> None:
        if not docs:
            return
        samples = [sample_windows(d.text, self.sample_chars) for d in docs]
        texts = [d.text if parts is None else " ".join(parts) for d, parts in zip(docs, samples)]
        found = self.identify(texts, [d.text for d in docs])
        doubtful = self._doubtful_samples(docs, samples, found)
        if doubtful:
            for i, res in zip(doubtful, self.identify([docs[i].text for i in doubtful])):
                found[i] = res
        for doc, (top, name) in zip(docs, found):
            self.annotate(doc, top, name, doc.metadata.pop("_split_lang", None))

    def _doubtful_samples(self, docs: list[Document], samples: list, found: list) -> list[int]:
        """Indexes of the sampled documents to read whole (rv52). The sample stands where its top language is the
        declared one (a split part's; a pair's member) scoring (a pair: with its other member) at least
        ``sample_min_score``, the later gate's threshold: the document keeps its language and passes the gate, as the
        whole text would most likely have it; with no declared language, where its top scores that much and the middle window says it too (a
        licence at both ends outvoted the book between them). Code documents keep their language: not read again."""
        check, windows = [], []
        out = []
        for i, (doc, parts) in enumerate(zip(docs, samples)):
            if parts is None:
                continue
            top = found[i][0]
            lang = doc.metadata.get("_split_lang") or doc.metadata.get("language")
            if isinstance(lang, str) and lang.startswith("code"):
                continue
            if not top:
                out.append(i)
            elif isinstance(lang, str) and lang and lang != UNDETERMINED:
                if top[0][0] not in lang.split(",") or declared_score(lang, dict(top)) < self.sample_min_score:
                    out.append(i)
            elif top[0][1] < self.sample_min_score:
                out.append(i)
            else:  # no declaration to agree with: a header and a licence at both ends must not outvote the body
                check.append((i, top[0][0]))
                windows.append(detector_text(parts[len(parts) // 2]))
        if check:
            for (i, lang), r in zip(check, self.detector.predict(windows, 1)):
                if not r or r[0][0] != lang:
                    out.append(i)
        return sorted(out)

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        import contextlib

        writer = None
        if self.chunk and self.chunk["action"] == "split" and self.removed_dir:
            from .base import RemovedWriter

            writer = RemovedWriter(self.removed_dir, self.stage_id, "language_id", self.tokenizer)
        with writer if writer is not None else contextlib.nullcontext():
            batch: list[Document] = []
            for doc in data:
                batch.append(doc)
                if len(batch) >= self.batch_size:
                    with self.track_time("batch"):
                        done = self._process(batch, writer, rank)
                    self.stat_update("docs", value=len(batch))
                    yield from done
                    batch = []
            if batch:
                with self.track_time("batch"):
                    done = self._process(batch, writer, rank)
                self.stat_update("docs", value=len(batch))
                yield from done


class LanguageGateFilter(LucieFilter):
    """Keeps documents whose identified language is expected, with a score at or above ``min_score``.

    A document declared as a pair (``fr,en``, in ``language`` or ``language_declared``) scores the sum of its
    members' scores and passes only if its top language is one of them."""

    name = "🚦 Language gate"

    def __init__(self, languages: Iterable[str], min_score: float = 0.65, **kw):
        super().__init__(**kw)
        self.languages = set(languages)
        self.min_score = min_score
        self.any_code = "code" in self.languages

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        meta = doc.metadata
        if "language_detector" not in meta:
            return False, "language_missing"
        lang = str(meta.get("language") or UNDETERMINED)
        is_code = lang.startswith("code")
        score = float(meta.get("language_score") or 0.0)
        declared = meta.get("language_declared")
        # the pair the document is judged as: its language, or the pair it was declared as while it holds one of its
        # members; relabelled to another language, it is judged as that language (code review: a fr,en document
        # relabelled `de` in a [fr, en, de] source was `language_not_expected`)
        pair = lang if "," in lang else declared if (isinstance(declared, str) and "," in declared
                                                     and lang in declared.split(",")) else None
        scores = meta.get("language_scores")
        if pair is not None and isinstance(scores, dict) and scores:
            # a bilingual text splits the probability between its two languages (UD PUD fr-en pairs:
            # {fr: 0.55, en: 0.31}): the pair scores the sum of its members, and one of them must come first
            top = max(scores, key=scores.get)
            score = declared_score(pair, scores)
            if top not in pair.split(",") and max(float(scores[top]), score) >= self.min_score:
                # another language on top, and either it or the pair identified with confidence (code review: a
                # German text declared fr,en, de 0.99, was `language_low_score`)
                return False, "language_not_expected"
        # an uncertain identification is reported as such, not as a confident "other language"
        if not is_code and score < self.min_score:
            return False, "language_low_score"
        if lang not in self.languages and not (is_code and self.any_code) \
                and not ("," in lang and all(m in self.languages for m in lang.split(","))):  # fr,en where fr and en
            return False, "language_not_expected"  # are expected: a bilingual document of them
        return True
