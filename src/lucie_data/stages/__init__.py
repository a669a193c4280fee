"""The one place that maps a YAML ``type:`` to code.

Adding a stage = one spec class (in a module of this package), one line in ``STAGE_SPECS``, one row in
the stage table test. Nothing else in lucie-data switches on type strings.
"""
from __future__ import annotations

from typing import Annotated, Union

from pydantic import Field

from .base import BuildContext, StageSpec
from .dedup import ExactDedupSpec, MinhashDedupSpec
from .langid import LanguageGateSpec, LanguageIdSpec
from .licence import LicenseGateSpec, LicenseRulesSpec
from .parallel import ParallelJoinSpec
from .quality import QUALITY_SPECS
from .text import MinLengthSpec, NormalizeSpec

STAGE_SPECS: tuple[type[StageSpec], ...] = (
    NormalizeSpec,
    MinLengthSpec,
    ExactDedupSpec,
    MinhashDedupSpec,
    LicenseRulesSpec,
    LicenseGateSpec,
    LanguageIdSpec,
    LanguageGateSpec,
    ParallelJoinSpec,
    *QUALITY_SPECS,
)

AnyStage = Annotated[Union[STAGE_SPECS], Field(discriminator="type")]  # type: ignore[valid-type]
StageList = list[AnyStage]


def stage_type_name(spec: type[StageSpec]) -> str:
    return spec.model_fields["type"].annotation.__args__[0]


def stage_table() -> dict[str, type[StageSpec]]:
    return {stage_type_name(s): s for s in STAGE_SPECS}


__all__ = ["AnyStage", "BuildContext", "STAGE_SPECS", "StageList", "StageSpec", "stage_table"]
