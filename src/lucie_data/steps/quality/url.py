"""URL rules: datatrove's shipped UT1 blocklist (``URLFilter`` assets) + user domains + keyword lists.

Lucie dropped web pages whose URL points to a source it already had (lucie-dataset.md §3.1 step 3,
``LucieURLFilter`` in OpenLLM-France/Lucie-Training ``webdata_processing/base.py``): the keyword
presets below are copied from there.
"""
from __future__ import annotations

from datatrove.data import Document

from .base import put_signals
from ..base import LucieFilter

LUCIE_KEYWORDS = {
    "lucie_fr": ["fr.wikipedia", "wiktionary", "wikisource", "theses.fr"],
    "lucie_en": ["en.wikipedia", "arxiv.org", "www.ncbi.nlm.nih.gov/pmc", "philpapers.org", "exporter.nih.gov",
                 "irclogs.ubuntu.com", "courtlistener.com", "uspto.gov"],
    "lucie_other": ["wikipedia", "europarl", "op.europa.eu"],
}

_DT_REASONS = {"domain": "url_blocklisted_domain", "subdomain": "url_blocklisted_domain",
               "url": "url_blocklisted_url", "hard_blacklisted": "url_banned_word",
               "soft_blacklisted": "url_soft_banned_words", "blacklisted_subword": "url_banned_subword"}


class URLQualityFilter(LucieFilter):
    name = "😈 URL filter (lucie)"
    _requires_dependencies = ["tldextract", ("ahocorasick", "pyahocorasick")]

    def __init__(self, use_blocklist: bool = True, domains: list[str] | None = None,
                 keywords: list[str] | None = None, missing_url: str = "keep", annotate_only: bool = False, **kw):
        super().__init__(**kw)
        self.use_blocklist = use_blocklist
        self.domains = [d.lower().strip() for d in domains or []]
        self.keywords = [k.lower() for k in keywords or []]
        self.missing_url = missing_url
        self.annotate_only = annotate_only
        self._dt = None

    def _datatrove(self):
        if self._dt is None:
            from datatrove.pipeline.filters import URLFilter
            from tldextract import TLDExtract

            f = URLFilter(extra_domains=self.domains or None, use_integrated_lists=self.use_blocklist)
            f.tldextractor = TLDExtract(suffix_list_urls=())  # offline: the suffix list bundled in the wheel
            self._dt = f
        return self._dt

    def decide(self, url: str) -> str | None:
        low = url.lower()
        for k in self.keywords:
            if k in low:
                return "url_keyword"
        if self.use_blocklist or self.domains:
            res = self._datatrove().filter(Document(text="", id="", metadata={"url": url}))
            if res is not True:
                return _DT_REASONS.get(res[1], f"url_{res[1]}")
        return None

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        url = doc.metadata.get("url")
        if not url:
            reason = "url_missing" if self.missing_url == "drop" else None
        else:
            reason = self.decide(str(url))
        if self.annotate_only:
            put_signals(doc, self.stage_id or "url_filter", {"would_remove": reason})
            return True
        return (False, reason) if reason else True
