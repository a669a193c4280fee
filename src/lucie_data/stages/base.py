"""The contract every stage spec follows: validate YAML arguments, then ``build()`` datatrove steps."""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from pydantic import Field

from ..models import YamlModel

if TYPE_CHECKING:
    from datatrove.pipeline.base import PipelineStep

    from ..recipe import SourceRecipe


@dataclass(frozen=True)
class BuildContext:
    """What a stage needs to know about where it runs; nothing about YAML or the CLI reaches the steps."""

    source: "SourceRecipe"
    stage_id: str
    source_dir: str  # <out>/sources/<source>
    seed: int = 0
    tasks: int = 1
    work_dir: str = ""  # scratch space of this source (barrier plans, hand-off files)
    tokenizer: str | None = None  # pipeline's tokenizer (token counts of kept and removed documents)
    # the licence gates that run after this stage in the source (stages.licence.gates_after: each one's policies and
    # what it does with a modified no-derivatives text): a dedup keeps, of each group of copies, one they all keep
    later_gates: tuple[dict, ...] = ()

    def filter_kwargs(self, stage_type: str) -> dict:
        """Arguments every LucieFilter of this stage takes: where removals go and how they are labelled."""
        return {"removed_dir": self.removed_dir, "stage_id": self.stage_id, "stage_type": stage_type,
                "tokenizer": self.tokenizer}

    @property
    def removed_dir(self) -> str:
        return os.path.join(self.source_dir, "removed", self.stage_id)

    @property
    def plan_path(self) -> str:
        return os.path.join(self.work_dir, f"plan_{self.stage_id}.parquet")


class StageSpec(YamlModel):
    """Base of every stage spec. Subclasses set ``type: Literal[...]`` and implement ``build``."""

    name: str | None = Field(None, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$",
                             description="stage id (folder under removed/); defaults to the type")
    barrier: ClassVar[bool] = False
    revision: ClassVar[int] = 1
    """Bumped when the stage's output changes for the same arguments: a revision above 1 enters the build key
    (runner.source_build_key) where :meth:`revised_for` says the change can apply, so a source built with the
    stage's older code is rebuilt rather than kept "up to date" (the build key does not hash stage code)."""

    def revised_for(self, recipe: "SourceRecipe") -> bool:
        """Whether the changes behind :attr:`revision` can change this stage's output in ``recipe``: a source they
        cannot touch keeps its build key (rv50: every source with the stage rebuilt to the same bytes). By default,
        yes."""
        return True

    def revision_for(self, recipe: "SourceRecipe") -> int:
        """The revision that enters ``recipe``'s build key: the latest whose change can apply there (1: none). A stage
        whose revisions touch different sources overrides it, so that a new revision does not rebuild the sources an
        older one alone applies to."""
        return self.revision if self.revision > 1 and self.revised_for(recipe) else 1
    """A barrier stage needs to see every document of the source before deciding (dedup)."""
    path_fields: ClassVar[tuple[str, ...]] = ()
    """Fields naming local files (models, word lists): resolved against the recipe's folder and checked
    to exist when the recipe is loaded, so a missing file fails before any work starts."""

    def path_values(self) -> list[tuple[str, str]]:
        """(field, value) of each ``path_fields`` field set to a local file (not a Hub id): what the recipe loader
        resolves and checks, and what the build key fingerprints."""
        return [(f, v) for f in self.path_fields if (v := getattr(self, f, None)) and self.is_path_value(f, v)]

    def is_path_value(self, field: str, value: str) -> bool:
        """Whether ``value`` of a ``path_fields`` field names a local file (a field may also take a Hub id)."""
        return True

    def file_problem(self, field: str, path: str) -> str | None:
        """Why the existing file ``path`` of a ``path_fields`` field cannot be what it should be (a cheap look at its
        first bytes, at load time), or None."""
        return None

    def build(self, ctx: BuildContext) -> list["PipelineStep"]:
        raise NotImplementedError

    # barrier stages only -------------------------------------------------------------------
    def pre_barrier(self, ctx: BuildContext) -> list["PipelineStep"]:
        """Steps run at the end of the segment before the barrier (e.g. compute a signature into ``_sig``)."""
        return []

    def plan(self, ctx: BuildContext, work_folder: str) -> None:
        """Read the hand-off files in ``work_folder`` and write ``ctx.plan_path`` (runs once, in the main process)."""
        raise NotImplementedError
