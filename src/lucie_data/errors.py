"""User-facing errors: each one carries what went wrong, where, and how to fix it.

The CLI prints these without a traceback (rule 3 of the product: bad input gets a clear error).
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class ConfigIssue:
    """One problem in one recipe or pipeline file."""

    file: str
    path: str  # YAML path such as ``stages[2].min_chars`` ('' for the whole file)
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = self.file + (f":{self.line}" if self.line else "")
        return f"{where}: {self.path + ': ' if self.path else ''}{self.message}"


def in_file_order(issues: list[ConfigIssue]) -> list[ConfigIssue]:
    """Issues grouped by file (files in the order they were first named) and by line within a file (issues without
    a line last, in the order found), each once: checks run kind by kind, a reader fixes a file top to bottom."""
    first: dict[str, int] = {}
    for i in issues:
        first.setdefault(i.file, len(first))
    unique = list(dict.fromkeys(issues))
    return sorted(unique, key=lambda i: (first[i.file], i.line is None, i.line or 0))


class LucieError(Exception):
    """Base of the errors the CLI reports without a traceback."""

    exit_code = 1


@dataclass
class RecipeError(LucieError):
    """One or more invalid recipes or pipelines; reported all at once, before any work starts."""

    issues: list[ConfigIssue] = field(default_factory=list)
    pipelines: tuple[str, ...] = ()  # the files among the issues' that are pipelines, named as the issues name them
    exit_code = 2

    def __post_init__(self) -> None:
        self.issues = in_file_order(self.issues)

    def __str__(self) -> str:
        n = len(self.issues)
        in_pipeline = any(i.file in self.pipelines for i in self.issues)
        in_recipes = any(i.file not in self.pipelines for i in self.issues)
        where = ("the pipeline and its recipes" if in_pipeline and in_recipes else "the pipeline" if in_pipeline
                 else "recipes")  # (review: a pipeline's own errors were headed "found in recipes")
        head = f"{n} problem{'s' if n != 1 else ''} found in {where}:"
        return "\n".join([head, *(f"  - {i}" for i in self.issues)])


class InputError(LucieError):
    """An input the build cannot use at all (missing file, unreachable dataset)."""

    exit_code = 2


class OutputError(LucieError):
    """A command's product (what it is run for, e.g. `schema`'s JSON on stdout) that could not be written."""

    exit_code = 2


class BuildError(LucieError):
    """A build that ran but could not account for its documents or failed a task. ``result``: the build's result
    when sources failed and the others were built (runner.build raises it after writing the manifest)."""

    def __init__(self, *args, result=None):
        super().__init__(*args)
        self.result = result


class BuildFileError(InputError):
    """A file of a finished build or mix folder that is damaged or is not what the folder's contract says (a
    JSON file cut short or edited by hand, a Parquet shard that does not read). The message names the file,
    says what is wrong and how to get a good one back; the CLI prints it with exit 2, without a traceback."""


def disk_full(err: BaseException | None) -> OSError | None:
    """The full disk or exhausted quota behind ``err`` (itself or what caused it), or None."""
    import errno

    seen = 0
    while err is not None and seen < 10:
        if isinstance(err, OSError) and err.errno in (errno.ENOSPC, errno.EDQUOT):
            return err
        err, seen = err.__cause__ or err.__context__, seen + 1
    return None
