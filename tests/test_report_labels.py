"""The provenance report on a build whose licences are long LicenseRefs allowed by name, as in the Lucie stand-in
(`LicenseRef-RedPajama-V2-CommonCrawl-ToU`, `LicenseRef-TheStack-terms-of-use`): every chart label is inside its
SVG in a real headless Chromium, and the warning about kept documents of unknown licence class names the rule of
the policy that let them through (by name in `allow:`, or `unknown: allow`), never one the policy does not have."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from lucie_data.cli import main
from lucie_data.recipe import load_pipeline
from lucie_data.report.aggregate import build_report
from lucie_data.report.render import to_html
from lucie_data.runner import build
from tests.test_licence_stages import DATA, write_build
from tests.test_report_browser import CHROMIUM, DRIVER, driver  # noqa: F401  (module fixture)

LONG = "LicenseRef-RedPajama-V2-CommonCrawl-ToU"
STACK = "LicenseRef-TheStack-terms-of-use"
POLICY = {"allow_classes": ["public-domain", "permissive", "share-alike"], "allow": [LONG, STACK], "unknown": "deny"}


@pytest.fixture(scope="module")
def longref_build(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("longref")
    lines = (DATA / "mixed.jsonl").read_text(encoding="utf-8").splitlines()
    (tmp / "a.jsonl").write_text("\n".join(lines[:8]) + "\n", encoding="utf-8")
    (tmp / "b.jsonl").write_text("\n".join(lines[8:14]) + "\n", encoding="utf-8")
    (tmp / "c.jsonl").write_text("\n".join(lines[14:]) + "\n", encoding="utf-8")
    srcs = {  # the recipe's licence on real text (no per-record licence field)
        "redpajama": {"category": "web", "languages": ["fr"], "license": LONG,
                      "input": {"type": "jsonl", "paths": [str(tmp / "a.jsonl")]}, "stages": [{"type": "normalize"}]},
        "thestack": {"category": "web", "languages": ["fr"], "license": STACK,
                     "input": {"type": "jsonl", "paths": [str(tmp / "b.jsonl")]}, "stages": [{"type": "normalize"}]},
        "cc": {"category": "web", "languages": ["fr"], "license": "CC-BY-4.0",
               "input": {"type": "jsonl", "paths": [str(tmp / "c.jsonl")]}, "stages": [{"type": "normalize"}]},
    }
    pipe = load_pipeline(write_build(tmp, srcs, policy=POLICY, name="longref"))
    build(pipe)
    out = pipe.output_dir
    assert main(["report", str(out)]) == 0
    return out


def _unknown_kept(rep: dict) -> dict[str, str]:
    return {w["source"]: w["message"] for w in rep["warnings"] if w["kind"] == "unknown_license_kept"}


def test_unknown_class_kept_warning_names_the_allow_list_not_unknown_allow(longref_build):
    rep = json.loads((longref_build / "reports" / "provenance.json").read_text(encoding="utf-8"))
    assert rep["build"]["license_policy"]["unknown"] == "deny"
    said = _unknown_kept(rep)
    assert set(said) == {"redpajama", "thestack"}  # CC-BY-4.0 is of a known class
    for source, lic in (("redpajama", LONG), ("thestack", STACK)):
        assert lic in said[source] and "allowed by name in the policy's `allow:` list" in said[source], said[source]
        assert "allows unknown" not in said[source] and "unknown: allow" not in said[source]
    md = (longref_build / "reports" / "provenance.md").read_text(encoding="utf-8")
    assert "the policy allows unknown licences" not in md and "allowed by name in the policy's `allow:` list" in md


def test_unknown_class_kept_warning_under_unknown_allow_says_so(longref_build, tmp_path):
    """The same build described by a manifest whose policy allows unknown licences and lists none by name."""
    b = tmp_path / "b"
    shutil.copytree(longref_build, b)
    m = json.loads((b / "manifest.json").read_text(encoding="utf-8"))
    m["license_policy"] = {**m["license_policy"], "allow": [], "unknown": "allow"}
    (b / "manifest.json").write_text(json.dumps(m), encoding="utf-8")
    said = _unknown_kept(build_report(b))
    assert set(said) == {"redpajama", "thestack"}
    assert all("the policy allows unknown licences (`unknown: allow`)" in s and "`allow:` list" not in s
               for s in said.values()), said


SVG_TEXT_BOXES = """
const out = [];
document.querySelectorAll('svg').forEach((s, i) => {
  const w = s.getBoundingClientRect().width;
  s.querySelectorAll('text').forEach(t => {
    const b = t.getBBox();
    out.push([i, t.textContent, b.x, b.x + b.width, w]);
  });
});
return out;"""


@pytest.mark.browser
@pytest.mark.skipif(not CHROMIUM.exists() or not Path(DRIVER).exists(),
                    reason="needs Debian packages chromium and chromium-driver")
def test_every_chart_label_is_inside_its_svg_in_chromium(longref_build, driver):  # noqa: F811
    driver.get((longref_build / "reports" / "provenance.html").as_uri())
    boxes = driver.execute_script(SVG_TEXT_BOXES)
    labels = {b[1] for b in boxes}
    assert LONG in labels and STACK in labels  # drawn whole: short enough to need no ellipsis
    outside = [b for b in boxes if b[2] < 0 or b[3] > b[4] + 0.5]
    assert not outside, outside


@pytest.mark.browser
@pytest.mark.skipif(not CHROMIUM.exists() or not Path(DRIVER).exists(),
                    reason="needs Debian packages chromium and chromium-driver")
def test_a_label_too_long_for_any_column_is_cut_and_keeps_its_full_text(longref_build, driver, tmp_path):  # noqa: F811
    rep = build_report(longref_build)
    huge = "LicenseRef-" + "VeryLongLicenceName-" * 8 + "End"
    for c in rep["composition"]:
        if c["license"] == LONG:
            c["license"] = huge
    page = tmp_path / "p.html"
    page.write_text(to_html(rep), encoding="utf-8")
    driver.get(page.as_uri())
    boxes = driver.execute_script(SVG_TEXT_BOXES)
    outside = [b for b in boxes if b[2] < 0 or b[3] > b[4] + 0.5]
    assert not outside, outside
    cut = [b[1] for b in boxes if b[1].startswith(huge)]  # textContent = <title> (full text) + the shown label
    assert len(cut) == 1 and cut[0].endswith("…") and huge[:20] in cut[0][len(huge):]
