"""Keep/drop agreement of lucie-data's Gopher/C4/FineWeb filters with datatrove's (spaCy) on real docs.

Used by benchmarks/quality_bench.py and tests/test_quality.py. datatrove is configured with exactly
the thresholds of our per-language preset, and with our one departure from its rules (a top n-gram that
occurs once counts 0, as in RedPajama-V2), so a disagreement can only come from tokenisation.
"""
from __future__ import annotations

import copy
import json
from pathlib import Path

from datatrove.data import Document

CORPORA = Path("/work/shared/corpora")


def load_docs(files: list[str], limit_per_file: int | None = None, max_chars: int | None = None) -> list[Document]:
    docs = []
    for f in files:
        with open(CORPORA / f, encoding="utf-8") as fh:
            for i, line in enumerate(fh):
                if limit_per_file is not None and i >= limit_per_file:
                    break
                r = json.loads(line)
                text = r["text"][:max_chars] if max_chars else r["text"]
                docs.append(Document(text=text, id=f"{f}:{r['id']}", metadata={"language": r.get("language", "en")}))
    return docs


def datatrove_filter(family: str, lang: str):
    """datatrove's own filter configured with our preset for ``lang``."""
    from datatrove.pipeline.filters import (C4QualityFilter, FineWebQualityFilter, GopherQualityFilter,
                                            GopherRepetitionFilter)

    from lucie_data.steps.quality.base import preset_params

    p = preset_params(family, lang)
    if family == "gopher_quality":
        return GopherQualityFilter(language=lang, **p)
    if family == "gopher_repetition":
        p["top_n_grams"] = tuple(map(tuple, p["top_n_grams"]))
        p["dup_n_grams"] = tuple(map(tuple, p["dup_n_grams"]))
        return GopherRepetitionFilter(language=lang, **p)
    if family == "c4_quality":
        end = tuple(p.pop("end_punctuation"))
        f = C4QualityFilter(language=lang, **p)
        f._end = end
        return f
    if family == "fineweb_quality":
        return FineWebQualityFilter(language=lang, **p)
    raise ValueError(family)


def _top_duplicate_repeated(x: list[str]) -> int:
    """datatrove's ``find_top_duplicate``, 0 when the top n-gram occurs once (lucie-data's gopher.py)."""
    from collections import Counter

    gram, count = Counter(x).most_common(1)[0]
    return len(gram) * count if count > 1 else 0


def run_datatrove(f, doc: Document):
    """datatrove's ``filter`` (C4's terminal punctuation list and Gopher's top n-gram function are
    module-level: patched for the call)."""
    import datatrove.pipeline.filters.c4_filters as c4
    import datatrove.pipeline.filters.gopher_repetition_filter as rep

    if isinstance(f, rep.GopherRepetitionFilter):
        saved, rep.find_top_duplicate = rep.find_top_duplicate, _top_duplicate_repeated
        try:
            return f.filter(doc)
        finally:
            rep.find_top_duplicate = saved
    end = getattr(f, "_end", None)
    if end is not None:
        saved, c4.END_PUNCTUATION = c4.END_PUNCTUATION, end
        try:
            return f.filter(doc)
        finally:
            c4.END_PUNCTUATION = saved
    return f.filter(doc)


def ours(family: str):
    from lucie_data.steps.quality.c4 import C4QualityFilter
    from lucie_data.steps.quality.fineweb import FineWebQualityFilter
    from lucie_data.steps.quality.gopher import GopherQualityFilter, GopherRepetitionFilter

    cls = {"gopher_quality": GopherQualityFilter, "gopher_repetition": GopherRepetitionFilter,
           "c4_quality": C4QualityFilter, "fineweb_quality": FineWebQualityFilter}[family]
    return cls(language="auto")


FAMILIES = ("gopher_repetition", "gopher_quality", "c4_quality", "fineweb_quality")


def _norm(res) -> tuple[bool, str | None]:
    if isinstance(res, tuple):
        return bool(res[0]), res[1]
    return bool(res), None


def agreement(docs: list[Document], families=FAMILIES) -> dict:
    """Per family: docs compared, agreeing decisions, and the disagreements (id, ours, datatrove)."""
    out = {}
    dt_cache: dict = {}
    for fam in families:
        mine = ours(fam)
        agree, dis = 0, []
        for d in docs:
            lang = d.metadata["language"]
            key = (fam, lang)
            if key not in dt_cache:
                dt_cache[key] = datatrove_filter(fam, lang)
            a = _norm(mine.filter(copy.deepcopy(d)))
            b = _norm(run_datatrove(dt_cache[key], copy.deepcopy(d)))
            if a[0] == b[0]:
                agree += 1
            else:
                dis.append({"id": d.id, "lang": lang, "ours": a[1] or "keep", "datatrove": b[1] or "keep"})
        out[fam] = {"docs": len(docs), "agree": agree, "rate": agree / len(docs) if docs else 1.0, "disagreements": dis}
    return out
