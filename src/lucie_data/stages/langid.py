"""Language identification stages: ``language_id`` (annotate) and ``language_gate`` (decide).

Default detector: fastText lid.176, compressed (``lid.176.ftz``, CC-BY-SA-3.0, Joulin et al. 2016/2017),
shipped inside lucie-data so a build never needs the network. A user may point ``model:`` at another
fastText file or at a Hub repository (downloaded only then, and only if the network is allowed).
"""
from __future__ import annotations

import functools
import importlib.util
import os
import re
from typing import Annotated, ClassVar, Literal

from pydantic import AfterValidator, BeforeValidator, ConfigDict, Field, field_validator, model_validator

from ..languages import language_problem, not_a_yaml_boolean
from ..models import YamlModel
from .base import BuildContext, StageSpec

ISO1_RE = r"[a-z]{2}"
GATE_LANG_RE = r"[a-z]{2,3}(-[a-z]{2,3})?|code(:[a-z0-9#+_.-]+)?|[a-z]{2},[a-z]{2}"  # as SourceRecipe.languages
HUB_ID_RE = r"[A-Za-z0-9][\w.-]*/[\w.-]+"
# Lucie kept RedPajama web text only with `ccnet_language_score >= 0.65` (lucie-dataset.md §3.1, from
# webdata_processing/base.py) and Gallica chunks with fastText "fr" and score >= 0.65 (§3.3); FineWeb
# uses the same fastText threshold (0.65) for its language filter. All three used the full lid.176.bin (CCNet's
# Makefile, datatrove's utils/lid.py), not the compressed lid.176.ftz bundled here.
LUCIE_MIN_SCORE = 0.65
# fastText lid.176 is unreliable below ~40 characters (2-5 word snippets: 0.90 vs 1.00 on sentences,
# environment.md "fastText and language ID"); the benchmark in benchmarks/langid_bench.py measures it here.
SHORT_TEXT_CHARS = 40
# Second opinion only below 20 characters: on UD PUD openings lingua (5 candidates) beats fastText under
# 20 chars (0.901 vs 0.889) but not under 40 (0.980 vs 0.988); benchmarks/results/langid.md.
SECOND_OPINION_CHARS = 20
# Whole-document ID reads at most 2,000 characters in three windows, and the whole text where that sample is in doubt
# (steps/langid.py::sample_text).
DOC_SAMPLE_CHARS = 2000
LIBRARY_LICENSES = {
    "langdetect": {"name": "langdetect", "license": "Apache-2.0", "source": "https://github.com/Mimino666/langdetect"},
    "lingua": {"name": "lingua-language-detector", "license": "Apache-2.0",
               "source": "https://github.com/pemistahl/lingua-py"},
}


@functools.lru_cache(maxsize=16)
def _sha256(path: str) -> str:
    from ..manifest import sha256_file

    return sha256_file(path)


def lingua_lacks(codes: list[str]) -> list[str]:
    """The ISO 639-1 codes lingua has no model for (it knows 75 languages: `nb` and `nn`, not `no`; no `oc`), which
    failed a task with lingua's own "Matching enum member not found" after `validate` said OK (rv56)."""
    try:
        from lingua import IsoCode639_1
    except ImportError:  # (said by _need_lingua)
        return []
    lacks = []
    for code in codes:
        try:
            IsoCode639_1.from_str(code)
        except ValueError:
            lacks.append(code)
    return lacks


def _need_lingua(what: str) -> None:
    if importlib.util.find_spec("lingua") is None:
        raise ValueError(f"{what} needs the lingua package: pip install 'lucie-data[lingua]' "
                         "(or lingua-language-detector)")


def natural_languages(languages: list[str]) -> list[str]:
    """The ISO 639-1 codes a recipe expects in text: pairs expanded, code entries left out."""
    out: list[str] = []
    for lang in languages:
        if lang.startswith("code"):
            continue
        for part in lang.split(","):
            if part not in out:
                out.append(part)
    return out


class ChunkSpec(YamlModel):
    """Identify each chunk of a document (mixed-language documents, OCR books with foreign passages)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    mode: Literal["paragraph", "size"] = Field("paragraph", description="blank-line paragraphs, or fixed size "
                                               "extended to the next newline (Lucie's Gallica chunker)")
    size: int = Field(2000, ge=100, le=10_000_000, description="chunk size in characters (mode: size); "
                      "Lucie used 10,000 for Gallica")
    action: Literal["annotate", "drop_off_language", "split"] = Field(
        "annotate", description="annotate: only record `language_chunks` (their offsets are in the text as it came "
        "to the stage, also after drop_off_language cut it); drop_off_language: replace runs of "
        "off-language chunks with \\n\\n[...]\\n\\n; split: one document per language (`<id>#<lang>`)")
    min_chars: int = Field(SHORT_TEXT_CHARS, ge=0, description="shorter chunks are not judged: they take the "
                           "language of the previous chunk")
    min_score: float = Field(LUCIE_MIN_SCORE, ge=0, le=1, description="drop_off_language: a chunk in an expected "
                             "language below this score is off-language too (Lucie's Gallica rule: 0.65)")
    languages: list[str] | None = Field(None, description="expected languages (drop_off_language); default: "
                                        "the recipe's")

    @model_validator(mode="after")
    def _check(self) -> "ChunkSpec":
        if "size" in self.model_fields_set and self.mode != "size":
            raise ValueError("`size` only applies to `mode: size`; remove it or set `mode: size`")
        if self.languages is not None and self.action != "drop_off_language":
            raise ValueError("chunk `languages` only applies to `action: drop_off_language`")
        for lang in self.languages or []:
            if not re.fullmatch(ISO1_RE, lang):
                raise ValueError(f"chunk language {lang!r} is not an ISO 639-1 code (fr, en…)")
            if problem := language_problem(lang, "language_id"):
                raise ValueError(f"chunk {problem}")
        return self


class LanguageIdSpec(StageSpec):
    """Annotate language (top-k scores, ISO 639-1) with fastText lid.176 (offline), langdetect or lingua."""

    type: Literal["language_id"]
    # 2: a source of prose and code languages no longer keeps every document's language, and `chunk:` leaves code
    # documents whole (rv52); 3 (rv52): a sampled document whose sample is in doubt is identified whole, and a second
    # opinion's language is scored by the main detector; 4: in a source of language pairs, a record declared in one
    # language is judged as in any prose source (rv56: German text declared `fr` was kept as `fr`), a declared
    # document without letters keeps its language at `relabel_min_score: 0`, and a document without letters has a
    # null `language` column, as the README says (rv52: it was "und"), which any source may hold
    revision: ClassVar[int] = 4

    backend: Literal["fasttext", "langdetect", "lingua"] = "fasttext"
    model: str | None = Field(None, description="fasttext only: a .bin/.ftz path (absolute, or relative to the "
                              "recipe) or a Hub repository ORG/NAME (needs the network once); "
                              "default: the lid.176.ftz shipped with lucie-data")
    model_file: str = Field("model.bin", description="file to fetch when `model` is a Hub repository")
    model_license: str | None = Field(None, description="licence of a user-supplied model, for the manifest")
    top_k: int = Field(3, ge=1, le=20, description="languages kept in `language_scores`")
    candidates: list[str] | None = Field(None, description="lingua: languages to choose from; default: the "
                                         "recipe's languages")
    second_opinion: Literal["lingua", "langdetect"] | None = Field(
        None, description="names the language of texts shorter than `short_text_chars`; its score is the backend's "
        "score for that language, the scale the 0.65 thresholds are calibrated on (lingua's own confidences are "
        "relative among its candidates: rv52)")
    short_text_chars: int = Field(SECOND_OPINION_CHARS, ge=1, le=100_000,
                                  description="texts shorter than this go to the second opinion")
    sample_chars: int | None = Field(
        DOC_SAMPLE_CHARS, ge=300, le=10_000_000,
        description="documents longer than this are identified from three windows (start, middle, end) "
        "totalling this many characters, 3x faster, unless the sample is in doubt: its top language is not the "
        "declared one, or scores below the later language_gate's min_score (0.65 without one), or, with no declared "
        "language, the middle window names another: the whole text is identified then (rv52: 0.74 % of the shared "
        "corpora's long documents, see sample_text); null: always the whole text. Chunks are always identified whole")
    relabel_min_score: float = Field(
        LUCIE_MIN_SCORE, ge=0, le=1, description="a document with a declared language (the recipe's or a record's) "
        "takes the detected one only when its score is at least this; below, it keeps the declared language, scored "
        "by its own score (0 if not in the top-k), and a language_gate removes it as `language_low_score`. A "
        "relabelled document keeps the declared language in `language_declared`")
    chunk: ChunkSpec | None = None

    @field_validator("candidates")
    @classmethod
    def _cands(cls, v):
        for lang in v or []:
            if not re.fullmatch(ISO1_RE, lang):
                raise ValueError(f"candidate {lang!r} is not an ISO 639-1 code (fr, en…)")
            if problem := language_problem(lang, "language_id"):
                raise ValueError(f"candidate {problem}")
        if v is not None and len(set(v)) < 2:  # (a language listed twice is one: review)
            raise ValueError("lingua needs at least 2 different `candidates` to choose from")
        if v and (lacks := lingua_lacks(v)):
            raise ValueError(f"lingua has no model for {', '.join(map(repr, lacks))}: remove "
                             f"{'it' if len(lacks) == 1 else 'them'} from `candidates` (lingua knows 75 languages; "
                             "Norwegian is `nb` or `nn`)")
        return v

    @model_validator(mode="after")
    def _check(self) -> "LanguageIdSpec":
        if self.model is not None:
            if self.backend != "fasttext":
                raise ValueError(f"`model` only applies to backend fasttext (backend is {self.backend})")
            if not (self.model.endswith((".bin", ".ftz")) or re.fullmatch(HUB_ID_RE, self.model)):
                raise ValueError(f"model {self.model!r} is neither a fastText file (.bin/.ftz) nor a Hub "
                                 "repository id ORG/NAME")
        if self.model is None and ({"model_license", "model_file"} & self.model_fields_set):
            said = sorted({"model_license", "model_file"} & self.model_fields_set)
            raise ValueError(f"{', '.join(f'`{k}`' for k in said)} only appl{'ies' if len(said) == 1 else 'y'} with "
                             "`model:` (the bundled lid.176.ftz has its own licence, recorded in the manifest): "
                             "set `model:` or remove it")  # (new-user review: accepted and ignored)
        if self.candidates is not None and "lingua" not in (self.backend, self.second_opinion):
            raise ValueError("`candidates` only applies to lingua (backend: lingua or second_opinion: lingua)")
        if self.second_opinion is not None and self.second_opinion == self.backend:
            raise ValueError(f"second_opinion {self.second_opinion!r} is already the backend; choose the other one")
        if "second_opinion" not in self.model_fields_set and "short_text_chars" in self.model_fields_set:
            raise ValueError("`short_text_chars` only applies with a `second_opinion`")
        if "lingua" in (self.backend, self.second_opinion):
            _need_lingua(f"{self._lingua_role} lingua")
        return self

    path_fields: ClassVar[tuple[str, ...]] = ("model",)  # a local model file is checked when the recipe loads

    def sample_min_score(self, stages: list, stage_id: str) -> float:
        """The score a sample must reach to stand for its document: the highest `min_score` of the language gates
        after this stage (the decision the sample feeds), else Lucie's 0.65."""
        from ..recipe import stage_ids

        ids = stage_ids(stages)
        later = stages[ids.index(stage_id) + 1:] if stage_id in ids else stages
        return max((st.min_score for st in later if st.type == "language_gate"), default=LUCIE_MIN_SCORE)

    def is_path_value(self, field: str, value: str) -> bool:
        return not self._is_hub()

    def file_problem(self, field: str, path: str) -> str | None:
        """A fastText model starts with its magic number and version (fastText's FastText::checkModel, 793712314 and
        12): fuzz review, an empty or fake `model:` file passed validate, and the build read every record before
        its tasks failed on it."""
        import struct

        if self.backend != "fasttext":
            return None
        try:
            with open(path, "rb") as f:
                head = f.read(8)
        except OSError as e:
            return (f"cannot be read ({e.strerror or e}); give a .bin or .ftz model file, or remove `model:` for the "
                    "bundled lid.176.ftz")
        if len(head) < 8 or struct.unpack("<ii", head)[0] != 793712314:
            return ("is not a fastText model (it does not start with fastText's magic number"
                    + (": the file is empty" if not head else "") + "); give a .bin or .ftz that fastText wrote, "
                    "such as lid.176.bin, or remove `model:` for the bundled lid.176.ftz")
        return None

    # -- model resolution (main process; never touches the network unless the user asked for a Hub id) --
    def _is_hub(self) -> bool:
        return self.model is not None and not self.model.endswith((".bin", ".ftz"))

    def model_path(self) -> str:
        from ..steps.langid import vendored_model_path

        if self.model is None:
            return vendored_model_path()
        if not self._is_hub():
            path = os.path.abspath(os.path.expanduser(self.model))
            if not os.path.isfile(path):
                from ..errors import InputError

                raise InputError(f"language_id: model file {self.model!r} not found (looked at {path}); "
                                 "give an absolute path, or omit `model:` to use the bundled lid.176.ftz")
            return path
        return self._hub_download()

    def _hub_download(self) -> str:
        from ..errors import InputError

        try:
            from huggingface_hub import hf_hub_download

            return hf_hub_download(repo_id=self.model, filename=self.model_file)
        except Exception as e:  # offline (HF_HUB_OFFLINE=1) and not cached, no network, unknown repo…
            raise InputError(f"language_id: cannot get {self.model_file!r} from Hub repository {self.model!r} "
                             f"({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}). Download it "
                             "where the network is available and set `model:` to the local file, or omit "
                             "`model:` to use the bundled lid.176.ftz") from None

    @property
    def _lingua_role(self) -> str:
        """Where the recipe names lingua, for messages: `backend` or `second_opinion`."""
        return "backend" if self.backend == "lingua" else "second_opinion"

    def languages_problem(self, languages: list[str]) -> str | None:
        """What is wrong with this stage for a recipe of these ``languages``, or None: lingua chooses among the
        recipe's languages unless given `candidates`, and needs two. Checked by ``validate`` (recipe_problems), not
        only when the stage is built, after other sources (engineer review)."""
        if "lingua" not in (self.backend, self.second_opinion) or self.candidates:
            return None
        cands = natural_languages(languages)
        if len(cands) < 2:
            return (f"{self._lingua_role} lingua chooses among the "
                    f"recipe's languages, here {cands} only; lingua needs at least 2 languages to choose from: set "
                    "`candidates: [fr, en, …]` (the languages the documents may be in)")
        lacks = lingua_lacks([c for c in cands if "," not in c])
        if lacks:
            return (f"{self._lingua_role} lingua chooses among the "
                    f"recipe's languages, and has no model for {', '.join(map(repr, lacks))}: set `candidates:` to "
                    "the languages lingua should choose from without them (Norwegian is `nb` or `nn`)")
        return None

    def _candidates(self, ctx_languages: list[str]) -> list[str]:
        problem = self.languages_problem(ctx_languages)
        if problem:
            from ..errors import InputError

            raise InputError(f"language_id: {problem}")
        return self.candidates or natural_languages(ctx_languages)

    def models(self) -> list[dict]:
        out = []
        if self.backend == "fasttext":
            if self.model is None:
                from ..steps.langid import LID176_LICENSE, LID176_NAME, LID176_SOURCE, vendored_model_path

                path = vendored_model_path()
                out.append({"name": LID176_NAME, "path": path, "license": LID176_LICENSE,
                            "sha256": _sha256(path), "source": LID176_SOURCE})
            elif self._is_hub():
                out.append({"name": f"{self.model}/{self.model_file}", "id": self.model,
                            "license": self.model_license or "NOASSERTION",
                            "source": f"https://huggingface.co/{self.model}"})
            else:
                path = os.path.abspath(os.path.expanduser(self.model))
                out.append({"name": os.path.basename(path), "path": path,
                            "license": self.model_license or "NOASSERTION",
                            "sha256": _sha256(path) if os.path.isfile(path) else None})
        for lib in {self.backend, self.second_opinion} & set(LIBRARY_LICENSES):
            out.append(dict(LIBRARY_LICENSES[lib]))
        return sorted(out, key=lambda m: m["name"])

    def _detector_cfg(self, backend: str, ctx: BuildContext) -> dict:
        if backend == "fasttext":
            path = self.model_path()
            name = "fasttext:lid.176.ftz" if self.model is None else f"fasttext:{os.path.basename(path)}"
            return {"backend": "fasttext", "model_path": path, "name": name}
        if backend == "lingua":
            return {"backend": "lingua", "candidates": self._candidates(ctx.source.languages)}
        return {"backend": backend}

    def build(self, ctx: BuildContext):
        from ..steps.langid import LanguageID

        src = ctx.source
        # code and parallel sources keep their language (a pair stays a pair, whatever its members score); a source
        # that lists a pair among single languages ([fr, en, de, "fr,en"]) is judged document by document (second
        # code review: its German text declared `fr` was kept as `fr` with German's score), and so is a source of
        # prose and code languages, whose code documents LanguageID keeps by their own `code*` language (rv52)
        keep = (src.is_code and not src.mixes_code_and_prose) or all("," in lang for lang in src.languages)
        chunk = None
        if self.chunk is not None:
            chunk = self.chunk.model_dump()
        expected = (self.chunk.languages if self.chunk and self.chunk.languages
                    else natural_languages(src.languages))
        split = chunk is not None and chunk["action"] == "split"
        return [LanguageID(
            detector=self._detector_cfg(self.backend, ctx),
            second_opinion=self._detector_cfg(self.second_opinion, ctx) if self.second_opinion else None,
            top_k=self.top_k, short_text_chars=self.short_text_chars, keep_language=keep, chunk=chunk,
            expected=expected, stage_id=ctx.stage_id, removed_dir=ctx.removed_dir if split else None,
            tokenizer=ctx.tokenizer, sample_chars=self.sample_chars, relabel_min_score=self.relabel_min_score,
            sample_min_score=self.sample_min_score(list(src.stages), ctx.stage_id))]


def _gate_language(lang: str) -> str:
    if problem := language_problem(lang, "gate"):
        raise ValueError(problem)
    if not re.fullmatch(GATE_LANG_RE, lang.strip().lower()):
        raise ValueError(f"language {lang!r} is not an ISO 639-1 code (fr, en…), a pair (fr,en) or code[:lang]")
    return lang


# one value of `language_gate.languages`, checked on its own: every bad value reported with its path and line
GateLanguage = Annotated[str, BeforeValidator(not_a_yaml_boolean), AfterValidator(_gate_language)]


class LanguageGateSpec(StageSpec):
    """Keep documents in an expected language with score >= min_score (a pair: its two summed; after language_id).

    A bilingual document splits the probability between its two languages (UD PUD fr-en pairs: fr 0.55, en 0.31):
    a document declared as a pair scores the sum of its members' scores and needs one of them on top."""

    type: Literal["language_gate"]
    languages: list[GateLanguage] | None = Field(None, description="expected languages; default: the recipe's "
                                                 "`languages`")
    min_score: float = Field(LUCIE_MIN_SCORE, ge=0, le=1, description="minimum `language_score` (Lucie/FineWeb: "
                             "0.65); for a pair (fr,en) the sum of its members' scores (a bilingual text splits the "
                             "probability between its two languages); not applied to code:<lang> documents")

    @field_validator("languages")
    @classmethod
    def _langs(cls, v):
        if v is not None and not v:
            raise ValueError("`languages` is empty; omit it to use the recipe's languages")
        return v

    def build(self, ctx: BuildContext):
        from ..steps.langid import LanguageGateFilter

        # default: the recipe's languages, plus the members of a pair (`fr,en`), so that the parts of a
        # parallel document split by language_id (`chunk: {action: split}`) are expected too
        langs = self.languages or list(dict.fromkeys([*ctx.source.languages, *natural_languages(ctx.source.languages)]))
        return [LanguageGateFilter(langs, self.min_score, **ctx.filter_kwargs(self.type))]


def check_language_stage_order(stages: list, languages: list[str] | None = None) -> str | None:
    """A language_gate needs a language_id before it (otherwise every document would be `language_missing`);
    with a recipe whose languages are unknown (``[und]``), a gate or a ``drop_off_language`` chunk pass must say
    which languages to keep (the recipe's `und` matches no document: language_id always names a language)."""
    seen_id = False
    unknown = languages == ["und"]
    for i, st in enumerate(stages):
        t = getattr(st, "type", None)
        if t == "language_id":
            seen_id = True
            chunk = getattr(st, "chunk", None)
            if unknown and chunk is not None and chunk.action == "drop_off_language" and not chunk.languages:
                return (f"stages[{i}]: chunk `action: drop_off_language` expects the recipe's languages, and "
                        "`languages: [und]` (unknown) names none: every chunk would be off-language; set "
                        "`chunk: {languages: [fr, …]}`")
        elif t == "language_gate" and not seen_id:
            return (f"stages[{i}]: language_gate needs a `- type: language_id` stage before it "
                    "(the gate reads the scores language_id writes)")
        elif t == "language_gate" and unknown and not getattr(st, "languages", None):
            return (f"stages[{i}]: language_gate expects the recipe's languages, and `languages: [und]` (unknown) "
                    "matches no document (language_id always names a language); set `languages: [fr, …]` on the "
                    "gate")
    return None
