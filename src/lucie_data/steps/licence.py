"""Licence annotator and gate (datatrove steps; pure over ``Document``, no YAML or I/O).

``LicenseRulesAnnotator`` never drops a document: it rewrites ``license``/``license_evidence`` from
per-document data and records Lucie's Gutenberg verdict in ``license_rule_verdict`` and what it rested on in
``license_rule_basis`` (``death_year``, ``birth_year``, ``english_usagerights``, ``usagerights_copyright``,
``no_dates``/``no_data`` when Lucie's default kept a book nothing could be checked on, ``unreadable_year`` when a
year is given but is not one year: refused).
``LicenseGateFilter`` decides, with machine-readable reasons: ``license_gutenberg_*`` (a failed rule),
``license_not_allowed``/``license_unknown`` (``LicensePolicy.decide``), ``license_unverified`` (``unverified: deny``
and a licence its document did not state), ``license_no_derivatives_modified``.
"""
from __future__ import annotations

from datatrove.data import Document, DocumentsPipeline
from datatrove.pipeline.base import PipelineStep

from ..licenses import FLAG_VERDICT, FLAG_WARNING, UNKNOWN, UNVERIFIED_EVIDENCE, VERDICT_ALLOWED, LicensePolicy, gutenberg_decision, license_from_statement, normalize_license
from .base import LucieFilter

ALLOWED = VERDICT_ALLOWED  # a licence rule passed (licenses.flag_reason: any other verdict flags the document)
ND_MODIFIED = "license_no_derivatives_modified"


class LicenseRulesAnnotator(PipelineStep):
    """Sets each document's licence from its own rights data; annotates only (a later gate decides)."""

    name = "⚖️ Licence rules"
    type = "🏷 - ANNOTATOR"

    def __init__(self, rule_name: str, license_field: str | None = None, statement_field: str | None = None,
                 use_detected: bool = False, gutenberg: dict | None = None):
        super().__init__()
        self.rule_name = rule_name
        self.license_field = license_field
        self.statement_field = statement_field
        self.use_detected = use_detected
        self.gutenberg = gutenberg

    def _set(self, doc: Document, spdx: str, raw, evidence: str) -> None:
        meta = doc.metadata
        if meta.get("license") not in (None, spdx):
            meta.setdefault("license_previous", meta.get("license"))
        meta["license"] = spdx
        meta["license_evidence"] = evidence
        if isinstance(raw, str) and raw != spdx:
            meta["license_raw"] = raw
        elif not isinstance(raw, str):
            meta["license_raw"] = repr(raw)[:200]

    def annotate(self, doc: Document) -> None:
        meta = doc.metadata
        done = False
        # a detected licence the page itself puts in doubt (readers.license_link_doubt) is never adopted (web review)
        doubted = bool(meta.get("license_detected_doubt"))
        if self.license_field:
            raw = meta.get(self.license_field)
            if self.license_field == "license_detected" and doubted:
                raw = None
            if raw not in (None, ""):
                self._set(doc, normalize_license(raw), raw, f"rule:{self.rule_name}")
                done = True
        if not done and self.statement_field:
            raw = meta.get(self.statement_field)
            if raw not in (None, ""):
                self._set(doc, license_from_statement(raw), raw, f"rule:{self.rule_name}")
                done = True
        if (not done and (self.license_field or self.statement_field) and not self.gutenberg
                and meta.get("license_evidence") == "recipe"):  # (with the Gutenberg rule, its verdict is the check)
            meta["license_evidence"] = "recipe:no_rights_data"  # told where to look, found nothing: unverified
        # the recipe's licence, checked or not (``recipe:no_sidecar_row``: a page its sidecar does not list)
        if not done and self.use_detected and str(meta.get("license_evidence", "")).split(":")[0] == "recipe":
            det = None if doubted else meta.get("license_detected")
            spdx = normalize_license(det) if det else UNKNOWN
            if spdx == UNKNOWN and det:
                spdx = license_from_statement(det)
            if spdx != UNKNOWN:
                self._set(doc, spdx, det, "detector:trafilatura")
        if self.gutenberg:
            g = self.gutenberg
            ok, reason, basis = gutenberg_decision(
                meta.get("language"), meta.get(g["death_year_field"]), meta.get(g["birth_year_field"]),
                meta.get(g["usagerights_field"]), current_year=g["current_year"], years_fr=g["years_fr"],
                years_other=g["years_other"])
            meta[FLAG_VERDICT] = ALLOWED if ok else reason
            meta["license_rule_basis"] = basis  # what the verdict rested on (licenses.GUTENBERG_BASES)

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        for doc in data:
            with self.track_time():
                self.annotate(doc)
            self.stat_update("annotated")
            yield doc


class LicenseGateFilter(LucieFilter):
    """Keeps a document only if every policy allows its licence and no licence rule failed."""

    name = "⚖️ Licence gate"

    def __init__(self, policies: list[dict], no_derivatives_modified: str = "remove", **kw):
        super().__init__(**kw)
        self.policies = [LicensePolicy.model_validate(p) for p in policies]
        self.no_derivatives_modified = no_derivatives_modified

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        verdict = gate_verdict(doc.metadata, self.policies, self.no_derivatives_modified)
        if verdict is FLAGGED:
            doc.metadata[FLAG_WARNING] = "no_derivatives_modified"
            return True
        return True if verdict is None else (False, verdict)


FLAGGED = "flag"  # gate_verdict: kept with a licence warning (a modified no-derivatives text under `flag`)


def gate_verdict(meta: dict, policies: list[LicensePolicy], no_derivatives_modified: str = "remove") -> str | None:
    """What a licence gate with these policies does to a document of this metadata: None (kept), :data:`FLAGGED`
    (kept, flagged: never published), or the reason it removes it. Pure: the gate applies it, and a dedup stage
    reads it to keep the copy the gate will keep (auditor review: the CC-BY copy of a text was removed as the
    duplicate of its CC-BY-NC copy, which the gate then removed: no copy left)."""
    verdict = meta.get(FLAG_VERDICT)
    if verdict not in (None, ALLOWED):
        return str(verdict)
    lic = meta.get("license")
    lic = lic if isinstance(lic, str) and lic else UNKNOWN
    if meta.get("license_evidence") in UNVERIFIED_EVIDENCE and any(p.unverified == "deny" for p in policies):
        return "license_unverified"
    for policy in policies:
        ok, reason = policy.decide(lic)
        if not ok:
            return reason or "license_not_allowed"
    # a modified document needs a way of using its licence that every policy allows and that no no-derivatives
    # licence binds ("CC-BY-4.0 OR CC-BY-ND-4.0" under `deny: [CC-BY-4.0]` is no-derivatives)
    if meta.get("modified_by") and not all(p.allows_modified(lic) for p in policies):
        return ND_MODIFIED if no_derivatives_modified == "remove" else FLAGGED
    return None
