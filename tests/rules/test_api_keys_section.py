"""The ``api_keys`` section: roles, secrets from env or files, mistakes located."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.errors import RuleError
from rules.api_keys import Role
from tests.rules.helpers import assert_reported, load_text


def test_keys_are_read_with_their_roles(tmp_path: Path) -> None:
    (tmp_path / "admin.key").write_text("s3cret\n")
    rules = load_text(
        tmp_path,
        "api_keys:\n  - {name: ops, role: admin, key: {file: admin.key}}\n"
        "  - {name: wall, role: viewer, key: {env: WALL_KEY}}\n",
        env={"WALL_KEY": "w"},
    )
    ops, wall = rules.api_keys
    assert (ops.name, ops.role, ops.key.value) == ("ops", Role.ADMIN, "s3cret")
    assert (wall.role, wall.key.value) == (Role.VIEWER, "w")
    assert "s3cret" not in repr(ops)


def test_roles_include_the_lower_ones() -> None:
    assert Role.ADMIN.allows(Role.RESPONDER)
    assert Role.RESPONDER.allows(Role.VIEWER)
    assert not Role.VIEWER.allows(Role.RESPONDER)


@pytest.mark.parametrize(
    ("text", "key", "message"),
    [
        # A role that does not exist.
        pytest.param(
            "api_keys:\n  - name: x\n    role: root  #<\n    key: {env: K}\n",
            "api_keys[0].role",
            "must be one of",
            id="role",
        ),
        # A key written inline.
        pytest.param(
            "api_keys:\n  - name: x\n    role: admin\n    key: hunter2  #<\n",
            "api_keys[0].key",
            "inline",
            id="inline",
        ),
        # A key from an unset variable.
        pytest.param(
            "api_keys:\n  - name: x\n    role: admin\n    key: {env: NOPE_UNSET}  #<\n",
            "api_keys[0].key.env",
            "not set",
            id="unset",
        ),
    ],
)
def test_mistakes_are_located(tmp_path: Path, text: str, key: str, message: str) -> None:
    assert_reported(tmp_path, text, key, message)


def test_two_keys_with_one_secret_are_refused_naming_both(tmp_path: Path) -> None:
    with pytest.raises(RuleError) as caught:
        load_text(
            tmp_path,
            "api_keys:\n  - {name: a, role: viewer, key: {env: K}}\n  - {name: b, role: admin, key: {env: K}}\n",
            env={"K": "same"},
        )
    [problem] = caught.value.problems
    assert (problem.line, problem.key) == (3, "api_keys[1].key")
    assert "api key 'a'" in problem.message
