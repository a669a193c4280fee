"""Licence stages: ``license_rules`` annotates, ``license_gate`` decides ("annotate first, decide later").

A pipeline's ``license_policy`` reaches every source: :func:`with_policy_gate` (called by the runner when
it assembles a source's stage list) hands the pipeline policy to each ``license_gate`` and appends an
implicit gate (id ``license_policy``) to any recipe that forgot one. Rule 2 of the product: no document
reaches the output unless the pipeline's policy allows its licence.
"""
from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import ConfigDict, Field, PrivateAttr

from ..licenses import LicensePolicy
from ..models import YamlModel
from .base import BuildContext, StageSpec

IMPLICIT_GATE_ID = "license_policy"


class GutenbergRule(YamlModel):
    """Lucie's Project Gutenberg rule (Lucie-Training ``DataIteratorGutenberg``): the book is kept only if
    ``usagerights != "copyright"`` and the author died at least 80 (French) / 70 (other) years before
    ``current_year``. Field names are keys of ``doc.metadata`` (copy them with ``input.metadata_fields``; a
    dotted path such as ``author.authoryearofdeath`` reads a key inside a JSON-string column). Metadata
    ``license_rule_basis`` says what the verdict rested on: ``death_year``, ``birth_year``, ``english_usagerights``,
    ``usagerights_copyright``, ``no_dates``/``no_data`` (kept by Lucie's default, nothing checked), or
    ``unreadable_year`` (a year given but not one year, ``18??``: refused). The fields must be listed in
    ``input.metadata_fields`` (a recipe error otherwise: the rule would read nothing)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    death_year_field: str = Field("author_death_year", description="metadata key of the author's death year")
    birth_year_field: str = Field("author_birth_year", description="metadata key of the author's birth year (used "
                                  "when the death year is missing)")
    usagerights_field: str = Field("usagerights", description="metadata key of Gutenberg's usage rights; "
                                   "\"copyright\" refuses the book")
    # A build must not depend on the day it runs (rule 4): the year is part of the recipe. Lucie's
    # dataset was assembled in 2024.
    current_year: int = Field(2024, ge=1900, le=2200, description="year the copyright terms are counted from")
    years_fr: int = Field(80, ge=0, description="French: 70 years + war-time extensions (Lucie)")
    years_other: int = Field(70, ge=0, description="EU term: author's death + 70 years (a document whose language "
                             "is unknown gets the larger of years_fr and years_other; a pair with French, years_fr)")


class LicenseRulesSpec(StageSpec):
    """Per-document licence from a metadata field or statement, and Lucie's Gutenberg rule (annotates only)."""

    type: Literal["license_rules"]
    # 2 (2026-11-28): rights statements naming NC/ND terms, bans ("may not", "not for sale", in fr/de/es/it), needed
    # permission or "proprietary" read as unknown, CC's own deed lines as grants; a Gutenberg book of unknown language
    # under the stricter threshold. Sources built before keep documents the rules now label otherwise (rule 2)
    revision: ClassVar[int] = 2
    license_field: str | None = Field(None, description="metadata key holding a licence id or name; normalised "
                                      "to SPDX, overrides the current licence (evidence rule:<stage>)")
    statement_field: str | None = Field(None, description="metadata key holding a free-text rights statement "
                                        "(e.g. a page footer); used when license_field gives nothing")
    use_detected: bool = Field(False, description="adopt `license_detected` (trafilatura) when the licence only "
                               "comes from the recipe and the detected one is recognised; not when the page itself "
                               "puts it in doubt (`license_detected_doubt`: its footer says 'all rights reserved', "
                               "it links to several CC licences, or its CC links credit images or icons)")
    gutenberg: GutenbergRule | None = Field(None, description="apply Lucie's Gutenberg rule; verdict in "
                                            "metadata `license_rule_verdict` (its basis in `license_rule_basis`), "
                                            "enforced by license_gate")

    def revised_for(self, recipe) -> bool:
        """Revision 2 changed how rights statements are read (`statement_field`, a detected licence that is a
        statement) and the Gutenberg rule; a licence field is normalised as before."""
        return bool(self.statement_field or self.use_detected or self.gutenberg)

    def build(self, ctx: BuildContext):
        from ..steps.licence import LicenseRulesAnnotator

        g = self.gutenberg.model_dump() if self.gutenberg else None
        return [LicenseRulesAnnotator(rule_name=ctx.stage_id, license_field=self.license_field,
                                      statement_field=self.statement_field, use_detected=self.use_detected,
                                      gutenberg=g)]


class LicenseGateSpec(StageSpec):
    """Remove documents whose licence the policy forbids, failed licence rules, modified no-derivatives docs."""

    type: Literal["license_gate"]
    policy: LicensePolicy | None = Field(None, description="extra policy for this source; it adds restrictions "
                                         "to the pipeline's license_policy, it cannot loosen it")
    no_derivatives_modified: Literal["remove", "flag"] = Field(
        "remove", description="a no-derivatives document whose text a stage changed: remove it, or keep it with "
        "metadata `license_warning` (the report lists it; a published mix must not ship it)")

    _pipeline_policy: LicensePolicy | None = PrivateAttr(None)

    def policies(self) -> list[LicensePolicy]:
        """Every policy a document must pass; the default policy when none is configured anywhere."""
        out = [p for p in (self._pipeline_policy, self.policy) if p is not None]
        return out or [LicensePolicy()]

    def build(self, ctx: BuildContext):
        from ..steps.licence import LicenseGateFilter

        return [LicenseGateFilter(policies=[p.model_dump(mode="json") for p in self.policies()],
                                  no_derivatives_modified=self.no_derivatives_modified,
                                  **ctx.filter_kwargs(self.type))]


def _implicit_gate(stages: list[tuple[str, StageSpec]]) -> LicenseGateSpec:
    """The gate added at the end of a recipe: it treats a modified no-derivatives document as the recipe's own last
    gate says (review: a recipe's `no_derivatives_modified: flag` followed by a stage was overridden by this gate's
    default `remove`, without a word)."""
    own = [sp for _, sp in stages if isinstance(sp, LicenseGateSpec)]
    # its policy too: without a pipeline policy, the default policy would remove what the recipe's gate allowed
    return LicenseGateSpec(type="license_gate", name=IMPLICIT_GATE_ID, policy=own[-1].policy if own else None,
                           no_derivatives_modified=own[-1].no_derivatives_modified if own else "remove")


def final_gate(stages: list[tuple[str, StageSpec]], policy: LicensePolicy | None) -> dict | None:
    """What the last stage of a recipe's effective stages (:func:`with_policy_gate`) checks when it is a licence gate:
    ``{"policies": [...], "no_derivatives_modified": ...}``, or None when no gate runs last. Recorded per source in
    the manifest: the mix knows from it which modified no-derivatives documents the build removed or flagged."""
    out = with_policy_gate(stages, policy)
    return gate_record(out[-1][1] if out else None)


def gates_after(stages: list[tuple[str, StageSpec]], policy: LicensePolicy | None, stage_id: str) -> tuple[dict, ...]:
    """The :func:`gate_record` of every licence gate that runs after ``stage_id`` in the recipe's effective stages
    (:func:`with_policy_gate`), in order: what a dedup at ``stage_id`` ranks copies by (adversary review: with a gate
    of its own between the dedup and the last gate, ranking by the last one alone kept the copy the first removed)."""
    out = with_policy_gate(stages, policy)
    at = next((i for i, (sid, _) in enumerate(out) if sid == stage_id), None)
    if at is None:
        raise ValueError(f"stage {stage_id!r} is not a stage of this recipe")
    return tuple(r for _, spec in out[at + 1:] if (r := gate_record(spec)) is not None)


def gate_record(spec: StageSpec | None) -> dict | None:
    """``{"policies": [...], "no_derivatives_modified": ...}`` of a licence gate spec; None for anything else."""
    if not isinstance(spec, LicenseGateSpec):
        return None
    return {"policies": [p.model_dump(mode="json") for p in spec.policies()],
            "no_derivatives_modified": spec.no_derivatives_modified}


def with_policy_gate(stages: list[tuple[str, StageSpec]], policy: LicensePolicy | None) -> list[tuple[str, StageSpec]]:
    """(id, spec) pairs with the pipeline ``policy`` applied: every ``license_gate`` gets it, and a recipe
    that does not end with a gate gets an implicit one (id ``license_policy``) at the end. Pure; specs are copied."""
    if policy is None:
        # no pipeline policy: a recipe's licence rules (e.g. the Gutenberg verdict) still need a gate to act
        # (and a recipe's own gate placed before a stage that changes the text: code review, a CC-BY-ND text
        # normalised after the gate reached a mix; the last word is the recipe's last gate's, as below)
        out = list(stages)
        if any(isinstance(sp, (LicenseRulesSpec, LicenseGateSpec)) for _, sp in out) \
                and not (out and isinstance(out[-1][1], LicenseGateSpec)):
            out.append((IMPLICIT_GATE_ID, _implicit_gate(out)))
        return out
    out: list[tuple[str, StageSpec]] = []
    has_gate = False
    for sid, spec in stages:
        if isinstance(spec, LicenseGateSpec):
            spec = spec.model_copy()
            spec._pipeline_policy = policy
            has_gate = True
        out.append((sid, spec))
    # the last word is the policy's: a gate placed earlier cannot see later stages modifying a
    # no-derivatives document, so unless the recipe already ends with a gate, one more is added
    if not has_gate or not isinstance(out[-1][1], LicenseGateSpec):
        gate = _implicit_gate(out)
        gate._pipeline_policy = policy
        out.append((IMPLICIT_GATE_ID, gate))
    return out
