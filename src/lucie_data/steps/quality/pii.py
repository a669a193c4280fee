"""E-mail and IP address replacement (datatrove's ``PIIFormatter`` regexes).

``replacement: lucie`` uses the values Lucie's ``CorrectPII`` put back after MinHash (lucie-dataset.md
§3.1 step 9) — but chosen from a hash of (document id, seed, occurrence) instead of ``random``, so a
rebuild gives identical bytes. ``placeholder`` writes ``<email>`` / ``<ip>`` (Lucie's step 7).
"""
from __future__ import annotations

import hashlib
import ipaddress
import re
from collections.abc import Callable, Iterator

from datatrove.data import Document
from datatrove.pipeline.formatters.pii import PIIFormatter

from ..base import LucieFilter
from ..filters import mark_modified

LUCIE_EMAILS = ("email@example.com", "firstname.lastname@example.org")
LUCIE_IPS = ("22.214.171.124", "126.96.36.199", "188.8.131.52", "184.108.40.206", "220.127.116.11", "18.104.22.168")

_dt = PIIFormatter()
EMAIL_RE = _dt.emails_replacer.regex  # never run with .sub/.search on a whole text: see email_matches
IP_RE = _dt.ip_replacer.regex  # (at most 15 characters from any position: linear)

# EMAIL_RE's local part: its characters, and those with the dots that separate its atoms
_LOCAL = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!#$%&'*+/=?^_`{|}~-")
_RUN = _LOCAL | {"."}
_START = re.compile(r"\b[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]")  # where EMAIL_RE's local part can start


def email_matches(text: str) -> Iterator[re.Match]:
    """EMAIL_RE's matches in ``text``, the same as ``EMAIL_RE.finditer(text)``, in linear time.

    ``EMAIL_RE.finditer`` tries the pattern at every word boundary and each try runs its local part to the end of the
    token, so a long token without spaces costs its length squared (scale review: 13 s for 40 KB of ``a-a-a…``,
    9.5 s for a 133 KB base64 image next to an address, minutes for a data URI). A match ends its local part at an
    "@", so this starts from each "@": the local part is the run of local-part characters and dots just before it,
    since the previous match; its first start EMAIL_RE accepts is the first word boundary before a local-part
    character after the run's last "..". EMAIL_RE is then tried there only: its domain does not depend on where the
    local part starts, so when it fails there it fails from every other start too. Each character is looked at a
    bounded number of times, and the matches are EMAIL_RE's own, on any text (tested against ``finditer``)."""
    pos = 0  # the end of the last match: the search goes on from there, as finditer's does
    at = text.find("@")
    while at != -1:
        r = at
        while r > pos and text[r - 1] in _RUN:
            r -= 1
        if r < at and text[at - 1] != ".":
            dots = text.rfind("..", r, at)
            start = _START.search(text, r if dots == -1 else dots + 2, at)
            m = EMAIL_RE.match(text, start.start()) if start else None
            if m:
                yield m
                pos = m.end()  # (no "@" in an address's domain: the next one is after it)
                at = text.find("@", pos)
                continue
        at = text.find("@", at + 1)


def email_sub(repl: Callable[[re.Match], str], text: str) -> str:
    """``EMAIL_RE.sub(repl, text)`` in linear time (:func:`email_matches`)."""
    out, last = [], 0
    for m in email_matches(text):
        out.append(text[last:m.start()])
        out.append(repl(m))
        last = m.end()
    return "".join(out) + text[last:] if out else text


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
            text = email_sub(rep_email, text)
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
