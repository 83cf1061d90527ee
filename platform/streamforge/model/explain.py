"""Validate plain data (read by `sources.load`) against a pydantic model, turning each error
into `file:line: problem; fix` with a fix a user can follow."""

from __future__ import annotations

import difflib
import types
import typing
from typing import Any

from pydantic import BaseModel, ValidationError

from streamforge.errors import Problem
from streamforge.model.schema.base import Invalid
from streamforge.model.sources import Loc, Origins


def validate(model: type[BaseModel], data: Any, origins: Origins, problems: list[Problem]) -> Any:
    """`model` made from `data`, or None with one problem per error appended to `problems`."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        for err in exc.errors():
            problems.append(_explain(model, err, origins))
        return None


def _explain(model: type[BaseModel], err: Any, origins: Origins) -> Problem:
    """Turn one pydantic error into a problem with a fix a user can follow."""
    loc: Loc = tuple(part for part in err["loc"] if not _is_union_tag(model, err["loc"], part))
    where = ".".join(str(p) for p in loc) or "(top level)"
    kind = err["type"]
    if kind == "extra_forbidden":
        allowed = _allowed_keys(model, tuple(err["loc"])[:-1])
        guess = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
        fix = f"did you mean '{guess[0]}'?" if guess else "remove it"
        return origins.problem(
            loc, f"unknown key '{where}'", f"{fix} (allowed here: {', '.join(allowed)})"
        )
    if kind == "missing":
        return origins.problem(loc[:-1], f"missing required key '{where}'", f"add '{loc[-1]}:'")
    if kind in ("union_tag_invalid", "union_tag_not_found"):
        tag = err["ctx"]["discriminator"].strip("'")
        return origins.problem(
            (*loc, tag),
            f"{where}.{tag}: {err['msg']}",
            f"set {tag}: to one of {err['ctx'].get('expected_tags', '')}",
        )
    if kind == "value_error":
        cause = err.get("ctx", {}).get("error")
        if isinstance(cause, Invalid):
            return origins.problem(loc, f"{where}: {cause.problem}", cause.fix)
        return origins.problem(loc, f"{where}: {cause or err['msg']}", "correct the value")
    if kind == "literal_error":
        return origins.problem(
            loc,
            f"{where}: {err['input']!r} is not allowed",
            f"use one of: {_allowed(err['ctx']['expected'])}",
        )
    if kind in ("less_than_equal", "greater_than_equal", "greater_than", "less_than"):
        bound = next(iter(err["ctx"].values()))
        word = {"less_than_equal": "at most", "greater_than_equal": "at least"}.get(
            kind, "above" if kind == "greater_than" else "below"
        )
        return origins.problem(
            loc, f"{where}: {err['input']!r} is out of range", f"use a value {word} {bound}"
        )
    if kind in ("string_too_long", "too_long"):
        limit = err["ctx"].get("max_length")
        return origins.problem(
            loc,
            f"{where}: longer than {limit} {'characters' if 'string' in kind else 'items'}",
            f"shorten it to at most {limit}",
        )
    if kind == "string_pattern_mismatch":
        return origins.problem(
            loc,
            f"{where}: '{err['input']}' has the wrong form",
            f"it must match {err['ctx']['pattern']}",
        )
    if kind == "string_type":
        return origins.problem(
            loc, f"{where}: expected text, got {err['input']!r}", f'quote it: "{err["input"]}"'
        )
    message = err["msg"][:1].lower() + err["msg"][1:]  # keep the spelling of values in it
    return origins.problem(loc, f"{where}: {message} (got {err['input']!r})", "correct the value")


def _allowed(expected: str) -> str:
    """pydantic's "'a', 'b' or 'c'" as "a, b, c", each value spelled as the model has it."""
    return ", ".join(part.strip().strip("'") for part in expected.replace(" or ", ", ").split(","))


def _is_union_tag(model: type[BaseModel], loc: tuple[Any, ...], part: Any) -> bool:
    # pydantic inserts the discriminator value ('kind') into the loc of tagged-union errors
    return (
        bool(loc)
        and loc[0] == "provider"
        and len(loc) > 1
        and loc[1] == part
        and part in ("kind", "existing")
    )


def _allowed_keys(model: Any, loc: Loc) -> list[str]:
    """The keys allowed at `loc` inside `model`, found by walking its type annotations."""
    current: Any = model
    for part in loc:
        current = _unwrap(current, part)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return [f.alias or name for name, f in current.model_fields.items()]
    return []


def _unwrap(tp: Any, part: str | int) -> Any:
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        fields = {f.alias or n: f for n, f in tp.model_fields.items()}
        return _strip(fields[str(part)].annotation) if str(part) in fields else None
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (list, dict) and args:
        return _strip(args[-1])
    for member in args:  # a tagged union: pydantic put the tag value into the loc
        member = _strip(member)
        tag = getattr(member, "model_fields", {}).get("type")
        if tag is not None and part in typing.get_args(tag.annotation):
            return member
    return None


def _strip(tp: Any) -> Any:
    """Peel Annotated and Optional so the model class underneath shows."""
    while typing.get_origin(tp) is typing.Annotated:
        tp = typing.get_args(tp)[0]
    args = [a for a in typing.get_args(tp) if a is not type(None)]
    if typing.get_origin(tp) in (typing.Union, types.UnionType) and len(args) == 1:
        return _strip(args[0])
    return tp
