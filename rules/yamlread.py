"""Strict reading of YAML nodes: every value is checked, every mistake names file, line and key.

The loader composes YAML into nodes (so each value keeps its line) with the safe loader,
then the section readers walk those nodes through :class:`Reader`, which collects all
problems instead of stopping at the first, so that ``tocsin check`` lists every mistake.
"""

from __future__ import annotations

import difflib
import math
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import yaml

from core.errors import RuleError, RuleProblem

T = TypeVar("T")

# A rules file larger than this is refused before parsing: a mistake, or an attack.
MAX_FILE_BYTES = 4 * 1024 * 1024
# Nodes visited while reading one file; aliases are shared nodes, so "billion laughs"
# documents that expand exponentially hit this limit instead of exhausting memory.
MAX_NODES_VISITED = 200_000
# How deeply ``<<`` merges may nest; real rules use one level.
MAX_MERGE_DEPTH = 8


@dataclass
class Reader:
    """Walks the nodes of one rules file and collects problems with their locations."""

    file: str
    problems: list[RuleProblem] = field(default_factory=list)
    visited: int = 0

    def problem(self, node: yaml.Node | None, key: str, message: str) -> None:
        """Records a mistake at ``node`` (line 1-based), under the dotted ``key`` path."""
        line = node.start_mark.line + 1 if node is not None else 1
        self.problems.append(RuleProblem(self.file, line, key, message))

    def _visit(self, node: yaml.Node, key: str) -> bool:
        self.visited += 1
        if self.visited > MAX_NODES_VISITED:
            if self.visited == MAX_NODES_VISITED + 1:
                self.problem(node, key, "document expands to too many values (alias bomb?)")
            return False
        return True

    def mapping(
        self,
        node: yaml.Node,
        key: str,
        allowed: set[str],
        required: set[str] = frozenset(),  # type: ignore[assignment]
    ) -> dict[str, yaml.Node] | None:
        """Returns a mapping's values by key; reports unknown, duplicate and missing keys."""
        if not self._visit(node, key):
            return None
        if not isinstance(node, yaml.MappingNode):
            self.problem(node, key, f"must be a mapping, not {describe(node)}")
            return None
        values: dict[str, yaml.Node] = {}
        pairs = self._pairs(node, key, 0)
        # Every key costs a visit: a mapping with many keys reached through many aliases
        # would otherwise produce a problem per key per alias.
        self.visited += len(pairs)
        if not self._visit(node, key):
            return None
        for key_node, value_node in pairs:
            name = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
            if not isinstance(name, str) or key_node.tag == "tag:yaml.org,2002:null":
                self.problem(key_node, key, "keys must be strings")
                continue
            path = join(key, name)
            if name not in allowed:
                known = ", ".join(sorted(allowed))
                close = difflib.get_close_matches(name, sorted(allowed), n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                self.problem(key_node, path, f"unknown key{hint} (allowed: {known})")
            elif name in values:
                self.problem(key_node, path, "key given twice")
            else:
                values[name] = value_node
        for name in sorted(required - values.keys()):
            self.problem(node, join(key, name), "is required")
        return values

    def _pairs(
        self, node: yaml.MappingNode, key: str, depth: int
    ) -> list[tuple[yaml.Node, yaml.Node]]:
        # YAML merge keys (``<<: *defaults``) are resolved here, since nodes are read
        # without the constructor that would otherwise flatten them. Keys written in the
        # mapping itself win over merged ones, as in PyYAML and Go's yaml.v2.
        own: list[tuple[yaml.Node, yaml.Node]] = []
        merged: list[tuple[yaml.Node, yaml.Node]] = []
        for key_node, value_node in node.value:
            if key_node.tag != "tag:yaml.org,2002:merge":
                own.append((key_node, value_node))
                continue
            sources = (
                value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
            )
            for source in sources:
                if not self._visit(source, key):
                    return own
                if not isinstance(source, yaml.MappingNode) or depth >= MAX_MERGE_DEPTH:
                    self.problem(source, key, "'<<' merges only mappings (at most 8 deep)")
                    continue
                merged.extend(self._pairs(source, key, depth + 1))
        names = {k.value for k, _ in own if isinstance(k, yaml.ScalarNode)}
        kept: dict[object, tuple[yaml.Node, yaml.Node]] = {}
        for key_node, value_node in merged:
            name = key_node.value if isinstance(key_node, yaml.ScalarNode) else id(key_node)
            if name not in names:
                kept.setdefault(name, (key_node, value_node))
        return list(kept.values()) + own

    def sequence(self, node: yaml.Node, key: str) -> Iterator[tuple[str, yaml.Node]]:
        """Yields ``(key[i], item)`` for each item of a list; reports a non-list."""
        if not self._visit(node, key):
            return
        if not isinstance(node, yaml.SequenceNode):
            self.problem(node, key, f"must be a list, not {describe(node)}")
            return
        for index, item in enumerate(node.value):
            yield f"{key}[{index}]", item

    def string(self, node: yaml.Node, key: str, *, non_empty: bool = True) -> str | None:
        """Returns a string value; numbers, booleans and nulls are mistakes, not strings."""
        if not self._visit(node, key):
            return None
        if not isinstance(node, yaml.ScalarNode) or node.tag != "tag:yaml.org,2002:str":
            self.problem(node, key, f"must be a string, not {describe(node)}")
            return None
        value = str(node.value)
        if non_empty and not value.strip():
            self.problem(node, key, "must not be empty")
            return None
        return value

    def choice(
        self, node: yaml.Node, key: str, choices: Callable[[str], T], names: list[str]
    ) -> T | None:
        """Returns ``choices(value)`` for a string that must be one of ``names``."""
        value = self.string(node, key)
        if value is None:
            return None
        if value not in names:
            self.problem(node, key, f"must be one of {', '.join(names)}, not {value!r}")
            return None
        return choices(value)

    def number(
        self, node: yaml.Node, key: str, *, minimum: float = 0.0, integer: bool = False
    ) -> float | None:
        """Returns a number at or above ``minimum``; with ``integer``, a whole number."""
        if not self._visit(node, key):
            return None
        tags = (
            {"tag:yaml.org,2002:int"}
            if integer
            else {"tag:yaml.org,2002:int", "tag:yaml.org,2002:float"}
        )
        if not isinstance(node, yaml.ScalarNode) or node.tag not in tags:
            kind = "a whole number" if integer else "a number"
            self.problem(node, key, f"must be {kind}, not {describe(node)}")
            return None
        try:
            value = float(yaml.safe_load(node.value))
        except (ValueError, OverflowError, yaml.YAMLError):
            # Integers with thousands of digits exceed Python's conversion limit.
            self.problem(node, key, f"{node.value[:20]!r} is out of range")
            return None
        if not math.isfinite(value):
            self.problem(node, key, "must be a finite number")
            return None
        if not value >= minimum:
            self.problem(node, key, f"must be at least {minimum:g}")
            return None
        return value

    def maximum(self, node: yaml.Node, key: str, value: float, limit: float) -> bool:
        """Reports a number above ``limit``; returns whether ``value`` is within it."""
        if value > limit:
            self.problem(node, key, f"must be at most {limit:g}")
            return False
        return True

    def boolean(self, node: yaml.Node, key: str) -> bool | None:
        """Returns a YAML boolean (``true``/``false``)."""
        if not self._visit(node, key):
            return None
        if not isinstance(node, yaml.ScalarNode) or node.tag != "tag:yaml.org,2002:bool":
            self.problem(node, key, f"must be true or false, not {describe(node)}")
            return None
        return bool(yaml.safe_load(node.value))

    def scalar_text(self, node: yaml.Node, key: str, what: str) -> str | None:
        """Returns the text of a plain scalar as written, whatever YAML resolved it to.

        For values such as ``17:00`` (a base-60 integer to YAML 1.1) or
        ``2025-01-06T09:00:00Z`` (a timestamp) that are parsed by their own rules.
        """
        if not self._visit(node, key):
            return None
        if not isinstance(node, yaml.ScalarNode) or node.tag not in _TEXT_TAGS:
            self.problem(node, key, f"must be {what}, not {describe(node)}")
            return None
        return str(node.value).strip()

    def strings(self, node: yaml.Node, key: str) -> list[tuple[str, str, yaml.Node]]:
        """Returns ``(key[i], string, node)`` per list item; a lone string is a list of one."""
        if isinstance(node, yaml.ScalarNode) and node.tag == "tag:yaml.org,2002:str":
            value = self.string(node, key)
            return [] if value is None else [(key, value, node)]
        found: list[tuple[str, str, yaml.Node]] = []
        for item_key, item in self.sequence(node, key):
            value = self.string(item, item_key)
            if value is not None:
                found.append((item_key, value, item))
        return found


_TEXT_TAGS = frozenset(f"tag:yaml.org,2002:{t}" for t in ("str", "int", "float", "timestamp"))


def join(prefix: str, name: str) -> str:
    """Joins a key path and a key: ``sources[0]`` + ``auth`` is ``sources[0].auth``."""
    return f"{prefix}.{name}" if prefix else name


def describe(node: yaml.Node) -> str:
    """Names the kind of value a node holds, for error messages."""
    if isinstance(node, yaml.MappingNode):
        return "a mapping"
    if isinstance(node, yaml.SequenceNode):
        return "a list"
    tag = node.tag.rsplit(":", 1)[-1]
    return {
        "str": f"the string {node.value!r}",
        "null": "null",
        "bool": f"the boolean {node.value}",
        "int": f"the number {node.value}",
        "float": f"the number {node.value}",
    }.get(tag, f"a {tag} value")


# libyaml's parser, when PyYAML has it, is ten times faster and caps nesting at 1,000
# levels; the pure-Python one gives the same nodes and marks.
_LOADER: type[yaml.SafeLoader] | type[yaml.CSafeLoader] = getattr(
    yaml, "CSafeLoader", yaml.SafeLoader
)


# The key of a problem with a whole file (unreadable, not YAML): no key inside it is at
# fault, and an empty key would read "broken.yml:2: : not valid YAML".
DOCUMENT_KEY = "(document)"


def compose_file(path: Path) -> yaml.Node | None:
    """Parses one YAML file into nodes with the safe loader; raises RuleError if it is not YAML."""
    name = str(path)
    try:
        size = os.path.getsize(path)
        if size > MAX_FILE_BYTES:
            raise RuleError(
                [RuleProblem(name, 1, DOCUMENT_KEY, f"file is larger than {MAX_FILE_BYTES} bytes")]
            )
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RuleError(
            [RuleProblem(name, 1, DOCUMENT_KEY, f"cannot read: {exc.strerror}")]
        ) from exc
    except UnicodeDecodeError as exc:
        raise RuleError([RuleProblem(name, 1, DOCUMENT_KEY, "not UTF-8 text")]) from exc
    try:
        return yaml.compose(text, Loader=_LOADER)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        raise RuleError(
            [RuleProblem(name, line, DOCUMENT_KEY, f"not valid YAML: {exc.problem}")]
        ) from exc
    except yaml.YAMLError as exc:
        raise RuleError([RuleProblem(name, 1, DOCUMENT_KEY, f"not valid YAML: {exc}")]) from exc
    except RecursionError as exc:
        # The composer recurses once per nesting level; thousands of '[' get here.
        raise RuleError(
            [RuleProblem(name, 1, DOCUMENT_KEY, "not valid YAML: nested too deeply")]
        ) from exc
