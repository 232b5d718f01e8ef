"""Frozen dataclasses the engine builds at every step, made as cheaply as mutable ones."""

from __future__ import annotations

from dataclasses import MISSING, fields
from typing import Any, TypeVar

__all__ = ["filled_directly"]

_T = TypeVar("_T")


def filled_directly(cls: type[_T]) -> type[_T]:
    """Give a frozen dataclass an `__init__` that fills its `__dict__` directly, with the same parameters and defaults.

    The `__init__` that `dataclass(frozen=True)` writes sets each field through `object.__setattr__`, at about
    twice the cost of a plain store; a call step builds a dozen actions and a `Step`. Equality, hashing, `repr`,
    `replace` and frozenness stay the dataclass's own: only how a new instance is filled changes.
    """
    params, lines, defaults = [], [], {}
    for f in fields(cls):  # type: ignore[arg-type]  # a dataclass, as the decorator below it makes it
        if f.default_factory is not MISSING or f.kw_only or not f.init:
            raise TypeError(f"{cls.__name__}.{f.name}: only positional fields with plain defaults are filled directly")
        if f.default is MISSING:
            params.append(f.name)
        else:
            defaults[f.name] = f.default
            params.append(f"{f.name}=_defaults[{f.name!r}]")
        lines.append(f"    fill[{f.name!r}] = {f.name}")
    source = f"def __init__(self, {', '.join(params)}):\n    fill = self.__dict__\n" + "\n".join(lines)
    namespace: dict[str, Any] = {}
    exec(source, {"_defaults": defaults}, namespace)  # as `dataclasses` itself makes `__init__`
    init = namespace["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    cls.__init__ = init  # type: ignore[method-assign]  # replacing the generated one is the point
    return cls
