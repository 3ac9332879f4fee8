"""Nothing but core.lifecycle sets an incident's state: no other module replaces it.

Incidents are frozen, so ``dataclasses.replace`` is the only way to change one.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("core", "rules", "ingest", "correlate", "escalation", "statuspage", "tocsin")


def _setters(path: Path) -> list[str]:
    """Where the module replaces a state (building an incident names one: that is fine)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
            if name == "replace" and any(k.arg == "state" for k in node.keywords):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    return found


def test_only_the_lifecycle_changes_a_state() -> None:
    setters = [
        where
        for package in PACKAGES
        if (ROOT / package).is_dir()
        for path in sorted((ROOT / package).rglob("*.py"))
        if path != ROOT / "core" / "lifecycle.py"
        for where in _setters(path)
    ]
    assert setters == []
