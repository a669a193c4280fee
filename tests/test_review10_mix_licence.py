"""Review 10, the licence a mix is declared under: an OR expression's alternative is chosen for the whole mix (not
document by document), and the share-alike sentences name the alternative and the licence mix_license declares."""

from __future__ import annotations

import re
import time

from hypothesis import given, settings
from hypothesis import strategies as st

from lucie_data.licenses import license_class, mix_license, normalize_license, share_alike_obligations

LGPL_OR_SA3 = "LGPL-2.1-only OR CC-BY-SA-3.0"
SA4_OR_GPL3 = "CC-BY-SA-4.0 OR GPL-3.0"


# ---------------------------------------------------------------------------------------------------------------
# 1. the alternative that lets the whole mix have one licence is the one counted
# ---------------------------------------------------------------------------------------------------------------
def test_an_or_alternative_that_gives_the_mix_one_licence_is_chosen():
    lics = [LGPL_OR_SA3, "CC-BY-SA-4.0"]
    assert mix_license(lics) == "CC-BY-SA-4.0"  # CC-BY-SA-3.0 adaptations may be licensed under CC-BY-SA-4.0
    out = share_alike_obligations(lics)
    assert not any("cannot be relicensed" in o or "LGPL-2.1-only:" in o for o in out), out
    mine = [o for o in out if o.startswith(f"Documents under {LGPL_OR_SA3}")]
    assert len(mine) == 1 and "counted under its share-alike option CC-BY-SA-3.0" in mine[0], out
    assert mine[0].endswith("should be distributed under CC-BY-SA-4.0."), mine
    combined = [o for o in out if "can be combined" in o]
    assert combined == [f"{LGPL_OR_SA3} (its CC-BY-SA-3.0 option), CC-BY-SA-4.0 can be combined: each allows "
                        "adaptations under CC-BY-SA-4.0, the licence to declare for the mix."], out
    # the document's own class (no mix around it) is unchanged
    assert license_class(LGPL_OR_SA3) == "share-alike"


def test_a_gnu_alternative_joins_the_gnu_documents():
    assert mix_license([SA4_OR_GPL3, "GPL-3.0-only"]) == "GPL-3.0-only"
    assert mix_license([SA4_OR_GPL3, "GPL-3.0"]) == "GPL-3.0"  # the id as the documents give it, as ["GPL-3.0", "MIT"]
    for lics in ([SA4_OR_GPL3, "GPL-3.0"], [SA4_OR_GPL3, "GPL-3.0-only", "MIT"]):
        out = share_alike_obligations(lics)
        assert any(o.startswith(f"Documents under {SA4_OR_GPL3} are counted under its share-alike option GPL-3.0:")
                   for o in out), out
        assert not any("cannot be relicensed" in o for o in out), out
    # the other way round: the CC option joins CC-BY-SA documents
    assert mix_license([SA4_OR_GPL3, "CC-BY-SA-3.0", "CC-BY-4.0"]) == "CC-BY-SA-4.0"


def test_one_licence_left_after_the_choice_is_the_mix_licence():
    assert mix_license(["MIT OR Apache-2.0", "MIT"]) == "MIT"
    assert mix_license(["MIT OR Apache-2.0", "Apache-2.0"]) == "Apache-2.0"
    # two spellings of the same choice: one licence, the same whatever the order of the documents
    both = mix_license(["MIT OR Apache-2.0", "Apache-2.0 OR MIT"])
    assert both in ("MIT", "Apache-2.0") and mix_license(["Apache-2.0 OR MIT", "MIT OR Apache-2.0"]) == both
    assert mix_license(["MIT", "Apache-2.0"]) == "other"  # unchanged: two permissive licences


def test_fewer_copyleft_groups_when_no_single_licence_is_possible():
    lics = [LGPL_OR_SA3, "CC-BY-SA-4.0", "CC-BY-NC-4.0"]
    assert mix_license(lics) == "other"  # the NC documents
    out = share_alike_obligations(lics)
    assert not any("cannot be relicensed" in o for o in out), out
    assert any("counted under its share-alike option CC-BY-SA-3.0" in o for o in out), out
    # the CC-BY-SA documents still ask for CC-BY-SA-4.0, but the mix is not declared under it
    assert not any("the licence to declare for the mix" in o for o in out), out


def test_a_more_restrictive_alternative_is_not_taken_only_to_merge_groups():
    """GPL-3.0 OR CC-BY-NC-4.0 with CC-BY-SA-4.0: the NC option would leave one copyleft group, but the mix would
    still have no single licence and would become non-commercial; the per-document choice (GPL-3.0) stays."""
    lics = ["GPL-3.0 OR CC-BY-NC-4.0", "CC-BY-SA-4.0"]
    assert mix_license(lics) == "other"
    out = share_alike_obligations(lics)
    assert any("counted under its share-alike option GPL-3.0" in o for o in out), out
    assert any("cannot be relicensed together" in o and "declare 'other'" in o for o in out), out


def test_a_mix_of_one_licence_keeps_its_per_document_choice():
    assert share_alike_obligations(["MIT OR CC-BY-SA-4.0"]) == []
    assert mix_license(["MIT OR CC-BY-SA-4.0"]) == "MIT OR CC-BY-SA-4.0"
    assert mix_license([LGPL_OR_SA3]) == LGPL_OR_SA3


# ---------------------------------------------------------------------------------------------------------------
# 2. an AND expression: the sentences say what mix_license declares
# ---------------------------------------------------------------------------------------------------------------
def test_and_expression_alone_is_declared_as_written_and_the_sentence_says_so():
    assert mix_license(["CC-BY-SA-4.0 AND MIT"]) == "CC-BY-SA-4.0 AND MIT"
    assert share_alike_obligations(["CC-BY-SA-4.0 AND MIT"]) == [
        "Documents under CC-BY-SA-4.0 AND MIT carry CC-BY-SA-4.0: they must stay under CC-BY-SA-4.0 (or a compatible "
        "later version) in any adaptation; a mix that includes them should be distributed under CC-BY-SA-4.0 AND MIT."
    ]
    # with another document the mix is declared under the share-alike licence, and the sentences say that
    assert mix_license(["CC-BY-SA-4.0 AND MIT", "CC-BY-SA-4.0"]) == "CC-BY-SA-4.0"
    assert all(o.endswith("should be distributed under CC-BY-SA-4.0.")
               for o in share_alike_obligations(["CC-BY-SA-4.0 AND MIT", "CC-BY-SA-4.0"]) if "should be" in o)


def test_one_licence_carrying_two_copyleft_licences_is_not_told_to_declare_other():
    lic = "CC-BY-SA-4.0 AND GPL-3.0"
    assert mix_license([lic]) == lic
    out = share_alike_obligations([lic])
    assert not any("declare 'other'" in o for o in out), out
    assert any("cannot be relicensed together" in o and f"carries {lic}, the licence to declare for the mix" in o
               for o in out), out
    assert mix_license([lic, "MIT"]) == "other"
    assert any("declare 'other'" in o for o in share_alike_obligations([lic, "MIT"]))


# ---------------------------------------------------------------------------------------------------------------
# 3. consistency, order independence, bounded search
# ---------------------------------------------------------------------------------------------------------------
POOL = [LGPL_OR_SA3, SA4_OR_GPL3, "GPL-3.0", "GPL-3.0-only", "GPL-2.0-or-later OR MIT", "CC-BY-SA-4.0",
        "CC-BY-SA-3.0", "CC-BY-SA-4.0 AND MIT", "CC-BY-SA-4.0 OR CC-BY-NC-4.0", "MIT OR CC-BY-SA-4.0",
        "MIT OR Apache-2.0", "MIT", "CC-BY-4.0", "CC0-1.0", "CC-BY-NC-4.0", "LGPLLR", "garbage",
        "(MIT OR CC-BY-SA-3.0) AND (GPL-3.0-or-later OR CC-BY-4.0)"]
_DISTRIBUTE = re.compile(r"should be distributed under (.+?)\.$")


def _alternatives(expr: str) -> set[str]:
    return {t for t in re.split(r"[\s()]+", normalize_license(expr)) if t and t not in ("AND", "OR", "WITH")}


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(POOL), max_size=7), st.randoms(use_true_random=False))
def test_obligations_agree_with_mix_license(lics, rnd):
    m = mix_license(lics)
    out = share_alike_obligations(lics)
    shuffled = list(lics)
    rnd.shuffle(shuffled)
    assert mix_license(shuffled) == m and share_alike_obligations(shuffled) == out
    for o in out:
        if m != "other" and (hit := _DISTRIBUTE.search(o)):
            assert hit.group(1) == m, (lics, m, o)
        if "the licence to declare for the mix" in o:
            assert m != "other" and f"{m}, the licence to declare for the mix" in o, (lics, m, o)
        if "declare 'other'" in o:
            assert m == "other", (lics, m, o)
        if hit := re.match(r"Documents under (.+) are counted under its share-alike option (\S+):", o):
            assert hit.group(2) in _alternatives(hit.group(1)), o


PERMISSIVE = ["MIT", "Apache-2.0", "ISC", "Zlib", "BSD-2-Clause", "BSD-3-Clause", "X11", "PostgreSQL", "NCSA",
              "UPL-1.0", "BSL-1.0", "PSF-2.0", "W3C", "curl"]


def _padding(k: int) -> list[str]:
    """k distinct two-alternative permissive expressions."""
    pairs = [f"{a} OR {b}" for i, a in enumerate(PERMISSIVE) for b in PERMISSIVE[i + 1:]]
    return pairs[:k]


def test_the_search_is_bounded_and_deterministic():
    # 11 two-way expressions + the LGPL one: 4,096 combinations, searched
    lics = [LGPL_OR_SA3, "CC-BY-SA-4.0", *_padding(11)]
    t = time.perf_counter()
    assert mix_license(lics) == "CC-BY-SA-4.0"
    assert time.perf_counter() - t < 2.0
    # beyond the bound the per-document choice is kept, quickly and in any order
    many = [LGPL_OR_SA3, "CC-BY-SA-4.0", *_padding(40)]
    t = time.perf_counter()
    m = mix_license(many)
    out = share_alike_obligations(many)
    assert time.perf_counter() - t < 2.0
    assert mix_license(list(reversed(many))) == m and share_alike_obligations(list(reversed(many))) == out
    assert m in ("other", "CC-BY-SA-4.0")
