"""E-mail and IP address replacement (datatrove's ``PIIFormatter`` regexes).

``replacement: lucie`` uses the values Lucie's ``CorrectPII`` put back after MinHash (lucie-dataset.md
§3.1 step 9) — but chosen from a hash of (document id, seed, occurrence) instead of ``random``, so a
rebuild gives identical bytes. ``placeholder`` writes ``<email>`` / ``<ip>`` (Lucie's step 7).
"""
from __future__ import annotations

import hashlib
import ipaddress

from datatrove.data import Document
from datatrove.pipeline.formatters.pii import PIIFormatter

from ..base import LucieFilter
from ..filters import mark_modified

LUCIE_EMAILS = ("email@example.com", "firstname.lastname@example.org")
LUCIE_IPS = ("22.214.171.124", "126.96.36.199", "188.8.131.52", "184.108.40.206", "220.127.116.11", "18.104.22.168")

_dt = PIIFormatter()
EMAIL_RE = _dt.emails_replacer.regex
IP_RE = _dt.ip_replacer.regex


def _public(ip: str, only_public: bool) -> bool:
    try:
        return not only_public or ipaddress.ip_address(ip).is_global
    except ValueError:
        return False


class PIIFilter(LucieFilter):
    """Replaces matches in place and records the stage in ``modified_by``; drops a document only when an empty
    replacement left nothing of it (reason ``pii_empty_after_replace``)."""

    name = "📞 PII (lucie)"

    def __init__(self, emails: bool = True, ips: bool = True, only_public_ips: bool = True,
                 email_replacements: list[str] | None = None, ip_replacements: list[str] | None = None,
                 seed: int = 0, drop_if_empty: bool = True, **kw):
        super().__init__(**kw)
        self.emails, self.ips, self.only_public_ips = emails, ips, only_public_ips
        self.drop_if_empty = drop_if_empty
        self.email_replacements = tuple(email_replacements or LUCIE_EMAILS)
        self.ip_replacements = tuple(ip_replacements or LUCIE_IPS)
        self.seed = seed

    def _pick(self, options: tuple[str, ...], doc_id: str, kind: str, i: int) -> str:
        if len(options) == 1:
            return options[0]
        h = hashlib.blake2b(f"{doc_id}\0{self.seed}\0{kind}\0{i}".encode(), digest_size=8).digest()
        return options[int.from_bytes(h, "big") % len(options)]

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        text = doc.text
        n = [0, 0]
        if self.emails and "@" in text:
            def rep_email(m):
                n[0] += 1
                return self._pick(self.email_replacements, doc.id, "email", n[0])
            text = EMAIL_RE.sub(rep_email, text)
        if self.ips and "." in text:
            def rep_ip(m):
                if not _public(m.group(0), self.only_public_ips):
                    return m.group(0)
                n[1] += 1
                return self._pick(self.ip_replacements, doc.id, "ip", n[1])
            text = IP_RE.sub(rep_ip, text)
        if text != doc.text:
            self.stat_update("emails_replaced", value=n[0])
            self.stat_update("ips_replaced", value=n[1])
            if self.drop_if_empty and not text.strip():  # an empty replacement removed all there was: the document
                return False, "pii_empty_after_replace"  # is removed with its original text (removed shard, ledger)
            doc.text = text
            mark_modified(doc, self.stage_id)
        return True
