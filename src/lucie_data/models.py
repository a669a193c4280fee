"""The base of every model a YAML file fills (recipes, stage specs, the pipeline's ``mix:`` block).

Why: pydantic's lax mode reads YAML's ``true``/``false`` (and YAML 1.1's ``yes``/``no``/``on``/``off``) as
``1``/``0`` in a number field, so ``min_chars: true`` kept every document of one character and ``workers: yes``
ran one worker, without a word (fuzz review). Strict mode would also refuse what YAML writes naturally (a path
as a string, ``5`` for a float), so only a boolean given where a number and no boolean is expected is refused.
"""
from __future__ import annotations

import types
import typing
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, GetCoreSchemaHandler
from pydantic_core import core_schema

__all__ = ["YamlModel", "number_not_bool"]


def _kinds(annotation: Any) -> set[str]:
    """What scalars an annotation takes: ``number`` (int, float), ``bool``; looked for through unions, ``Optional``,
    ``Annotated`` and ``Literal`` (a ``Literal[True]`` takes a boolean)."""
    origin = typing.get_origin(annotation)
    if annotation is bool:
        return {"bool"}
    if annotation in (int, float):
        return {"number"}
    if origin is Annotated:
        if any(getattr(getattr(m, "func", None), "refuses_booleans", False) for m in annotation.__metadata__):
            return set()  # its own validator refuses a boolean, value by value: every bad value of a mapping is named
        return _kinds(typing.get_args(annotation)[0])
    if origin in (Union, types.UnionType):
        return set().union(*(_kinds(a) for a in typing.get_args(annotation)))
    if origin is Literal:
        return {"bool" if isinstance(a, bool) else "other" for a in typing.get_args(annotation)}
    if annotation is Any:
        return {"bool", "number"}
    return set()


def _bool_path(annotation: Any, value: Any) -> str | None:
    """Where in ``value`` a boolean stands for a number of ``annotation`` (``""`` for the value itself, ``[1]``,
    ``[0][0]`` or ``.key`` inside lists, tuples and mappings), or None."""
    if isinstance(value, bool):
        return "" if number_not_bool(annotation) else None
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is Annotated:
        return _bool_path(args[0], value)
    if origin in (Union, types.UnionType):
        for a in args:
            found = _bool_path(a, value)
            if found is not None:
                return found
        return None
    if isinstance(value, (list, tuple)):
        if origin in (list, set, frozenset) or (origin is tuple and args[1:] == (Ellipsis,)):
            items = [(args[0], v) for v in value]
        elif origin is tuple and len(args) == len(value):
            items = list(zip(args, value))
        else:
            return None
        for i, (a, v) in enumerate(items):
            found = _bool_path(a, v)
            if found is not None:
                return f"[{i}]{found}"
    elif isinstance(value, dict) and origin is dict and len(args) == 2:
        for k, v in value.items():
            found = _bool_path(args[1], v)
            if found is not None:
                return f".{k}{found}"
    return None


def number_not_bool(annotation: Any) -> bool:
    """Whether a boolean given for ``annotation`` would be read as a number: it takes a number and no boolean."""
    k = _kinds(annotation)
    return "number" in k and "bool" not in k


def _model_fields_schema(schema: Any) -> dict | None:
    """The ``fields`` of a model schema, inside the ``definitions`` and the model validators around it."""
    while schema.get("type") in ("definitions", "function-after", "function-before", "function-wrap"):
        schema = schema["schema"]
    if schema.get("type") == "model" and schema["schema"].get("type") == "model-fields":
        return schema["schema"]["fields"]
    return None


def _takes_number(annotation: Any) -> bool:
    if number_not_bool(annotation):
        return True
    return any(_takes_number(a) for a in typing.get_args(annotation) if a is not Ellipsis)


def _refuser(annotation: Any):
    def refuse_booleans(v: Any) -> Any:
        at = _bool_path(annotation, v)
        if at is not None:
            raise ValueError(f"{at + ': ' if at else ''}expected a number, got a boolean (YAML reads true/false, "
                             "yes/no and on/off as booleans); write a number")
        return v
    refuse_booleans.lucie_boolean_check = True
    return refuse_booleans


def _is_check(schema: Any) -> bool:
    """Whether a field's schema is already wrapped in :func:`_refuser`'s check."""
    return (isinstance(schema, dict) and schema.get("type") == "function-before"
            and getattr((schema.get("function") or {}).get("function"), "lucie_boolean_check", False))


class YamlModel(BaseModel):
    """Forbids unknown keys, is frozen, and refuses a boolean where a number is expected (module docstring)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        """The model's schema with a check before each field that takes a number somewhere, so the error has the
        field's place (``stages[0].min_chars``). Not a ``field_validator("*")``: pydantic refuses a before-validator
        on a discriminated union's ``type`` field."""
        schema = handler(source)
        fields = _model_fields_schema(schema)
        for name, field in (fields or {}).items():
            info = cls.model_fields.get(name)
            if info is None or not _takes_number(info.annotation):
                continue
            inner = field["schema"]
            target = inner if inner["type"] != "default" else inner["schema"]
            if _is_check(target):  # pydantic hands back its cached schema: wrapped once, not once per use
                continue  # (code review: 64 layers on min_chars after 50 TypeAdapter(AnyStage), time quadratic)
            check = core_schema.no_info_before_validator_function(_refuser(info.annotation), target)
            if inner["type"] == "default":
                inner["schema"] = check
            else:
                field["schema"] = check
        return schema
