"""Loads a rules file or a directory of them into one validated :class:`Rules`."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import yaml

from core.errors import RuleError, RuleProblem
from rules.model import Rules, SourceConfig
from rules.sources import read_sources
from rules.yamlread import Reader, compose_file

_SECTIONS = {"sources"}


def load_rules(path: Path, env: Mapping[str, str] | None = None) -> Rules:
    """Loads and validates rules from a ``.yml``/``.yaml`` file or a directory of them.

    A directory's files are read in name order and merged; a name defined twice is an
    error naming both places. Raises RuleError listing every problem found.
    """
    environment = os.environ if env is None else env
    files = _rule_files(path)
    problems: list[RuleProblem] = []
    sources: dict[str, tuple[SourceConfig, str]] = {}
    for file in files:
        reader = Reader(str(file))
        try:
            root = compose_file(file)
        except RuleError as exc:
            problems.extend(exc.problems)
            continue
        if root is None:
            continue  # an empty file defines nothing
        sections = reader.mapping(root, "", _SECTIONS)
        if sections is not None and "sources" in sections:
            for source, node in read_sources(reader, sections["sources"], environment, file.parent):
                where = f"{file}:{node.start_mark.line + 1}"
                if source.name in sources:
                    first = sources[source.name][1]
                    reader.problem(
                        node, "sources", f"source {source.name!r} is also defined at {first}"
                    )
                else:
                    sources[source.name] = (source, where)
        problems.extend(reader.problems)
    if problems:
        raise RuleError(problems)
    return Rules(sources=tuple(s for s, _ in sources.values()))


def _rule_files(path: Path) -> list[Path]:
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix in {".yml", ".yaml"} and p.is_file())
        if not files:
            raise RuleError(
                [RuleProblem(str(path), 1, "", "directory holds no .yml or .yaml files")]
            )
        return files
    if not path.exists():
        raise RuleError([RuleProblem(str(path), 1, "", "no such file or directory")])
    return [path]


def node_line(node: yaml.Node) -> int:
    """Returns the 1-based line where a node starts."""
    return node.start_mark.line + 1
