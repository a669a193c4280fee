"""Review 10: recipe and pipeline messages."""
from pathlib import Path

from lucie_data.errors import ConfigIssue, RecipeError, in_file_order
from lucie_data.recipe import validate_paths

RECIPE = """\
name: r
input:
  type: jsonl
  paths: [x.jsonl]
language: fr
licnse: CC-BY-4.0
stages:
  - type: min_lenght
    min_chars: 10
  - type: gopher_quality
    min_words: -3
category: bogus
"""


def test_validate_lists_a_files_problems_in_line_order(tmp_path: Path):
    """They came kind by kind (unknown keys, then stages, then paths), so a reader fixing the file top to bottom
    went back and forth."""
    f = tmp_path / "r.yaml"
    f.write_text(RECIPE)
    issues = validate_paths([f])
    lines = [i.line for i in issues]
    assert len(issues) == 8 and lines == sorted(lines), [str(i) for i in issues]
    assert [i.path for i in issues][-5:] == ["language", "licnse", "stages[0]", "stages[1].min_words", "category"]


def test_issues_are_grouped_by_file_once_each():
    a1, a9, b3 = ConfigIssue("a", "x", "m", 1), ConfigIssue("a", "y", "m", 9), ConfigIssue("b", "z", "m", 3)
    whole = ConfigIssue("a", "", "whole file")
    assert in_file_order([a9, b3, whole, a1, b3]) == [a1, a9, whole, b3]
    assert RecipeError([a9, a1]).issues == [a1, a9]
