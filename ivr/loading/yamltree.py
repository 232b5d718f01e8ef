"""YAML → a tree of located values: every scalar stays a string and remembers its file, line and column.

Menus are read through PyYAML's composer only, never its constructor, so YAML 1.1 surprises
(`no` → False, `010` → 8, `09:00` → 540) cannot happen: the menu loader decides types itself.
Duplicate keys, which YAML parsers silently resolve to the last one, are reported.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from ivr.errors import Problem
from ivr.ir import Location

NULLS = frozenset({"", "~", "null", "Null", "NULL"})
MAX_VALUES = 100_000  # far more than any menu has; past it, aliases are multiplying the document (an "alias bomb")
_PLAIN_TAGS = frozenset(f"tag:yaml.org,2002:{t}" for t in ("str", "int", "float", "bool", "null", "timestamp", "seq", "map", "merge"))


@dataclass
class YNode:
    """Any located YAML value."""

    loc: Location


@dataclass
class YScalar(YNode):
    """A scalar, always as written; `plain` is False for quoted scalars."""

    value: str
    plain: bool = True

    @property
    def is_null(self) -> bool:
        """Whether YAML would read this as null."""
        return self.plain and self.value in NULLS


@dataclass
class YSeq(YNode):
    """A sequence of located values."""

    items: list[YNode] = field(default_factory=list)


@dataclass
class YMap(YNode):
    """A mapping with string keys; `keys` keeps where each key was written."""

    values: dict[str, YNode] = field(default_factory=dict)
    keys: dict[str, Location] = field(default_factory=dict)

    def get(self, key: str) -> YNode | None:
        """The value under `key`, if any."""
        return self.values.get(key)


def describe(node: YNode) -> str:
    """A short name for the kind of a YAML value, for error messages."""
    if isinstance(node, YMap):
        return "a mapping"
    if isinstance(node, YSeq):
        return "a list"
    return "an empty value" if isinstance(node, YScalar) and node.is_null else "a scalar"


class _Loader(yaml.SafeLoader):
    """The safe composer; no constructor is ever run."""


def _loc(path: str, mark: yaml.Mark | None) -> Location:
    if mark is None:
        return Location(path, 1, 1)
    return Location(path, mark.line + 1, mark.column + 1)


def parse_text(text: str, path: str, problems: list[Problem]) -> YNode | None:
    """Parse YAML text; syntax errors and duplicate keys are appended to `problems`."""
    try:
        root = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        problems.append(_syntax_problem(exc, path))
        return None
    except yaml.YAMLError as exc:
        problems.append(Problem(path, 1, 1, f"YAML: {exc}"))
        return None
    if root is None:
        problems.append(Problem(path, 1, 1, "the file is empty"))
        return None
    try:
        return _convert(root, path, problems, (), [0])
    except RecursionError:
        problems.append(Problem(path, 1, 1, "the YAML nests too deeply to be a menu"))
        return None
    except _TooBig as exc:
        problems.append(
            Problem(
                exc.loc.file,
                exc.loc.line,
                exc.loc.column,
                f"the YAML expands to more than {MAX_VALUES:,} values: check its aliases (*name)",
            )
        )
        return None


class _TooBig(Exception):
    """The document expands past MAX_VALUES values."""

    def __init__(self, loc: Location) -> None:
        super().__init__(str(loc))
        self.loc = loc


def _syntax_problem(exc: yaml.MarkedYAMLError, path: str) -> Problem:
    """A YAML syntax error, placed where a person would look and worded for people."""
    context, problem = exc.context or "", exc.problem or ""
    mark = exc.problem_mark or exc.context_mark
    reason = " ".join(filter(None, [context, problem]))
    if "scanning an alias" in context:  # `*: node` — an unquoted star starts an alias in YAML
        mark, reason = exc.context_mark or mark, "'*' must be quoted (\"*\": …); unquoted it starts a YAML alias"
    elif "scanning a quoted scalar" in context and "end of stream" in problem:
        mark, reason = exc.context_mark or mark, "this quoted text is never closed"
    elif "end of stream" in problem and exc.context_mark is not None:
        mark = exc.context_mark
    elif "expected <block end>" in problem:
        reason = "this line's indentation does not line up with the lines above it (check the spaces before it)"
    elif "mapping values are not allowed here" in problem:
        reason = "unexpected ':' — put text that contains ': ' in quotes"
    loc = _loc(path, mark)
    return Problem(loc.file, loc.line, loc.column, f"YAML syntax: {reason}")


class Sources:
    """Where file texts come from: the disk, or the files stored with a menu version (path -> text)."""

    def __init__(self, texts: Mapping[str, str] | None = None) -> None:
        self.texts = texts

    def read(self, path: Path) -> str:
        """The text of `path` (UTF-8); raises OSError or UnicodeDecodeError as reading a file would."""
        if self.texts is None:
            return path.read_bytes().decode("utf-8")
        if str(path) not in self.texts:
            raise FileNotFoundError(f"no stored file {path}")
        return self.texts[str(path)]

    def text(self, path: Path) -> str | None:
        """The text of `path`, or None when it cannot be read."""
        try:
            return self.read(path)
        except (OSError, UnicodeDecodeError):
            return None

    def is_file(self, path: Path) -> bool:
        """Whether `path` is a file."""
        return path.is_file() if self.texts is None else str(path) in self.texts

    def is_dir(self, path: Path) -> bool:
        """Whether `path` is a folder (of stored files, when stored)."""
        if self.texts is None:
            return path.is_dir()
        prefix = f"{path}/"
        return any(name.startswith(prefix) for name in self.texts)


def parse_file(path: Path, problems: list[Problem], read: dict[str, str] | None = None, files: Sources | None = None) -> YNode | None:
    """Read and parse one YAML file (UTF-8); `read` collects the exact text parsed, by path."""
    try:
        text = (files or Sources()).read(path)
    except (OSError, UnicodeDecodeError) as exc:
        problems.append(Problem(str(path), 1, 1, f"cannot read file: {exc}"))
        return None
    if read is not None:
        read[str(path)] = text
    return parse_text(text, str(path), problems)


def _convert(node: yaml.Node, path: str, problems: list[Problem], parents: tuple[int, ...], count: list[int]) -> YNode:
    loc = _loc(path, node.start_mark)
    count[0] += 1
    if count[0] > MAX_VALUES:
        raise _TooBig(loc)
    if node.tag not in _PLAIN_TAGS:
        problems.append(
            Problem(loc.file, loc.line, loc.column, f"YAML tags such as {node.tag!r} are not supported in a menu; remove the tag")
        )
    if id(node) in parents:  # an alias inside its own anchor: `x: &a [*a]`
        problems.append(Problem(loc.file, loc.line, loc.column, "this alias refers to a value that contains it (a recursive alias)"))
        return YScalar(loc, "", plain=True)
    parents = (*parents, id(node))
    if isinstance(node, yaml.ScalarNode):
        return YScalar(loc, str(node.value), plain=node.style is None)
    if isinstance(node, yaml.SequenceNode):
        return YSeq(loc, [_convert(item, path, problems, parents, count) for item in node.value])
    assert isinstance(node, yaml.MappingNode)
    result = YMap(loc)
    for key_node, value_node in node.value:
        key_loc = _loc(path, key_node.start_mark)
        if not isinstance(key_node, yaml.ScalarNode):
            problems.append(Problem(key_loc.file, key_loc.line, key_loc.column, "a key must be a plain string"))
            continue
        key = str(key_node.value)
        if key_node.tag == "tag:yaml.org,2002:merge":
            problems.append(
                Problem(key_loc.file, key_loc.line, key_loc.column, "merge keys ('<<') are not supported; write the fields out")
            )
            continue
        if key in result.values:
            first = result.keys[key]
            problems.append(
                Problem(
                    key_loc.file,
                    key_loc.line,
                    key_loc.column,
                    f"duplicate key {key!r} (first defined at line {first.line}, column {first.column}); "
                    "YAML would silently keep only the last one",
                )
            )
            continue
        result.keys[key] = key_loc
        result.values[key] = _convert(value_node, path, problems, parents, count)
    return result
