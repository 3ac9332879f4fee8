"""What a section reader works with: the file's Reader, secrets' inputs, and the ledgers
of definitions and references that the loader checks across all files."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, TypeVar

import yaml

from rules.templates import TemplateCompiler
from rules.yamlread import Reader


class _Named(Protocol):
    @property
    def name(self) -> str | None: ...


N = TypeVar("N", bound=_Named)


@dataclass(frozen=True, slots=True)
class Place:
    """Where something is written: file and 1-based line."""

    file: str
    line: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"


@dataclass(frozen=True, slots=True)
class Definition:
    """A named thing defined at a place, e.g. person ``ana`` at ``people.yml:12``."""

    kind: str
    name: str
    place: Place
    key: str
    value: object


@dataclass(frozen=True, slots=True)
class Reference:
    """A use of a named thing, checked once every file has been read.

    ``check`` looks at the definition found and returns a problem, if any (for
    example an e-mail contact whose channel is not an e-mail channel).
    """

    kind: str
    name: str
    place: Place
    key: str
    check: Callable[[object], str | None] | None = None


@dataclass
class FileContext:
    """One rules file being read."""

    reader: Reader
    env: Mapping[str, str]
    base: Path  # relative secret file paths are read from here
    templates: TemplateCompiler
    definitions: list[Definition] = field(default_factory=list)
    references: list[Reference] = field(default_factory=list)

    def place(self, node: yaml.Node) -> Place:
        """Returns where ``node`` is written."""
        return Place(self.reader.file, node.start_mark.line + 1)

    def read_named(
        self,
        node: yaml.Node,
        key: str,
        kind: str,
        read_item: Callable[[FileContext, yaml.Node, str], N | None],
    ) -> list[N]:
        """Reads a list with ``read_item``, defining each valid item that has a name as ``kind``."""
        items: list[N] = []
        for item_key, item in self.reader.sequence(node, key):
            value = read_item(self, item, item_key)
            if value is not None:
                if value.name is not None:
                    self.define(kind, value.name, item, item_key, value)
                items.append(value)
        return items

    def define(self, kind: str, name: str, node: yaml.Node, key: str, value: object) -> None:
        """Records that ``name`` of ``kind`` is defined at ``node``."""
        self.definitions.append(Definition(kind, name, self.place(node), key, value))

    def refer(
        self,
        kind: str,
        name: str,
        node: yaml.Node,
        key: str,
        check: Callable[[object], str | None] | None = None,
    ) -> None:
        """Records that ``name`` of ``kind`` is used at ``node`` and must exist."""
        self.references.append(Reference(kind, name, self.place(node), key, check))
