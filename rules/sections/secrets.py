"""Reads secrets that the rules reference: ``{env: NAME}`` or ``{file: PATH}``, never inline.

Given the :data:`UNRESOLVED` environment, only the reference is checked: the variable or
file is not read, and the secret is marked not resolved (``tocsin check`` without
``--resolve-secrets``, for CI jobs that do not have the secrets).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from pathlib import Path

import yaml

from rules.credentials import Secret
from rules.yamlread import Reader

# A secret is a token or a password; a larger file is the wrong file (or /dev/zero).
_MAX_SECRET_BYTES = 64 * 1024


class _Unresolved(Mapping[str, str]):
    """An environment that stands for "check secret references, do not read them"."""

    def __getitem__(self, name: str) -> str:
        raise KeyError(name)

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0


UNRESOLVED: Mapping[str, str] = _Unresolved()


def read_secret(
    reader: Reader, node: yaml.Node, key: str, env: Mapping[str, str], base: Path
) -> Secret | None:
    """Reads a secret reference and resolves it; relative file paths are from the rules file."""
    if isinstance(node, yaml.ScalarNode) and node.tag == "tag:yaml.org,2002:str":
        reader.problem(node, key, "secrets are not written inline: use {env: NAME} or {file: PATH}")
        return None
    values = reader.mapping(node, key, {"env", "file"})
    if values is None:
        return None
    if len(values) != 1:
        reader.problem(node, key, "give exactly one of env or file")
        return None
    if "env" in values:
        name = reader.string(values["env"], f"{key}.env")
        if name is None:
            return None
        if env is UNRESOLVED:
            return Secret(f"env:{name}", f"env:{name}", resolved=False)
        value = env.get(name)
        if not value:
            reader.problem(
                values["env"], f"{key}.env", f"environment variable {name} is not set or empty"
            )
            return None
        return Secret(value, f"env:{name}")
    path_text = reader.string(values["file"], f"{key}.file")
    if path_text is None:
        return None
    path = (base / path_text) if not os.path.isabs(path_text) else Path(path_text)
    if env is UNRESOLVED:
        return Secret(f"file:{path}", f"file:{path}", resolved=False)
    try:
        with path.open("rb") as handle:
            raw = handle.read(_MAX_SECRET_BYTES + 1)
        value = raw.decode("utf-8").strip()
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        # ValueError: a path with a NUL byte in it.
        reader.problem(values["file"], f"{key}.file", f"cannot read {path}: {exc}")
        return None
    if len(raw) > _MAX_SECRET_BYTES:
        reader.problem(values["file"], f"{key}.file", f"{path} is too large for a secret")
        return None
    if not value:
        reader.problem(values["file"], f"{key}.file", f"{path} is empty")
        return None
    return Secret(value, f"file:{path}")
