"""JSON encoding of frozen domain dataclasses, so rows round-trip to the exact same values.

Handles what the domain uses: str/int/float/bool/None, enums, nested dataclasses, tuples, lists and
dicts (keys kept as strings or enum values), and `X | None` unions.
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from enum import Enum
from functools import cache
from typing import Any, TypeVar, Union, get_args, get_origin

T = TypeVar("T")


def to_plain(obj: Any) -> Any:
    """A JSON-ready structure of `obj`."""
    if isinstance(obj, Enum):
        return obj.value
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_plain(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, list | tuple):
        return [to_plain(v) for v in obj]
    if isinstance(obj, dict):
        return {(k.value if isinstance(k, Enum) else str(k)): to_plain(v) for k, v in obj.items()}
    return obj


def dumps(obj: Any) -> str:
    return json.dumps(to_plain(obj), separators=(",", ":"), allow_nan=True)


@cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def from_plain(tp: Any, data: Any) -> Any:
    """Rebuild a value of type `tp` from `to_plain` output."""
    if data is None:
        return None
    origin = get_origin(tp)
    if origin in (Union, types.UnionType):
        members = [a for a in get_args(tp) if a is not type(None)]
        if len(members) == 1:
            return from_plain(members[0], data)
        for arg in members:  # first type that accepts the value
            try:
                return from_plain(arg, data)
            except (TypeError, ValueError, KeyError):
                continue
        return data
    if isinstance(tp, type) and issubclass(tp, Enum):
        return tp(data)
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        hints = _hints(tp)
        kwargs = {
            f.name: from_plain(hints[f.name], data[f.name])
            for f in dataclasses.fields(tp)
            if f.name in data
        }
        return tp(**kwargs)
    if origin is tuple:
        args = get_args(tp)
        item = args[0] if args else Any
        return tuple(from_plain(item, v) for v in data)
    if origin is list:
        (item,) = get_args(tp) or (Any,)
        return [from_plain(item, v) for v in data]
    if origin is dict:
        kt, vt = get_args(tp) or (Any, Any)
        return {from_plain(kt, k): from_plain(vt, v) for k, v in data.items()}
    if tp is float and isinstance(data, int):
        return float(data)
    return data


def loads(tp: type[T], text: str) -> T:
    return typing.cast(T, from_plain(tp, json.loads(text)))
