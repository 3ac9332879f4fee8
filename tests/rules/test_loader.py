"""Loading: directories merge, names defined twice name both places, limits hold."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.errors import RuleError
from rules import yamlread
from rules.loader import load_rules
from rules.model import BearerAuth
from tests.rules.helpers import ENV, load_text

PEOPLE = "people:\n  - {name: ana, contacts: [{channel: hook}]}\n"
CHANNELS = "channels:\n  - {name: hook, webhook: {url: 'https://example.com/h'}}\n"


def write(directory: Path, files: dict[str, str]) -> Path:
    directory.mkdir(exist_ok=True)
    for name, text in files.items():
        (directory / name).write_text(text, encoding="utf-8")
    return directory


def test_a_directory_merges_its_files_in_name_order(tmp_path: Path) -> None:
    rules_dir = write(
        tmp_path / "rules",
        {
            "b-teams.yaml": "teams:\n  - {name: ops, members: [ana]}\n",
            "a-people.yml": PEOPLE + CHANNELS,
            "c-more.yml": "categories:\n  - {matchers: [], category: second}\n",
            "0-first.yml": "categories:\n  - {matchers: ['a=\"1\"'], category: first}\n",
            "notes.txt": "not rules: ignored",
        },
    )
    rules = load_rules(rules_dir, ENV)
    assert list(rules.teams) == ["ops"]
    assert rules.teams["ops"].members == ("ana",)
    assert [r.category for r in rules.categories] == ["first", "second"]


def test_a_name_defined_twice_names_both_places(tmp_path: Path) -> None:
    rules_dir = write(
        tmp_path / "rules",
        {
            "a.yml": PEOPLE + CHANNELS,
            "b.yml": "\n\npeople:\n  - {name: ana, contacts: [{channel: hook}]}\n",
        },
    )
    with pytest.raises(RuleError) as caught:
        load_rules(rules_dir, ENV)
    [problem] = caught.value.problems
    assert (problem.file, problem.line, problem.key) == (str(rules_dir / "b.yml"), 4, "people[0]")
    assert problem.message == f"person 'ana' is also defined at {rules_dir / 'a.yml'}:2"


def test_a_name_twice_in_one_file_is_also_an_error(tmp_path: Path) -> None:
    text = (
        "sources:\n"
        + "  - {name: am, kind: alertmanager, auth: {bearer_token: {env: TOKEN}}}\n" * 2
    )
    with pytest.raises(RuleError) as caught:
        load_text(tmp_path, text)
    [problem] = caught.value.problems
    assert (problem.line, problem.message) == (
        3,
        f"source 'am' is also defined at {tmp_path / 'rules.yml'}:2",
    )


def test_the_same_name_in_different_kinds_is_fine(tmp_path: Path) -> None:
    text = PEOPLE + CHANNELS + "teams:\n  - {name: ana, members: [ana]}\n"
    assert list(load_text(tmp_path, text).teams) == ["ana"]


def test_a_single_section_in_two_files_names_both(tmp_path: Path) -> None:
    rules_dir = write(
        tmp_path / "rules",
        {"a.yml": "priority: {}\n", "b.yml": "# comment\npriority: {}\n"},
    )
    with pytest.raises(RuleError) as caught:
        load_rules(rules_dir, ENV)
    [problem] = caught.value.problems
    assert (problem.file, problem.line, problem.key) == (str(rules_dir / "b.yml"), 2, "priority")
    assert f"also defined at {rules_dir / 'a.yml'}:1" in problem.message


def test_references_resolve_across_files(tmp_path: Path) -> None:
    rules_dir = write(
        tmp_path / "rules",
        {
            "a.yml": "escalation_policies:\n  - {name: p, levels: [{delay: 5m, targets: [{team: ops}]}]}\n",
            "b.yml": "route: {policy: p}\nteams:\n  - {name: ops, members: [ana]}\n",
            "c.yml": PEOPLE + CHANNELS,
        },
    )
    assert load_rules(rules_dir, ENV).route.policy == "p"


def test_secrets_come_from_files_next_to_the_rules(tmp_path: Path) -> None:
    (tmp_path / "token").write_text("from-a-file\n")
    rules = load_text(
        tmp_path,
        "sources:\n  - {name: am, kind: alertmanager, auth: {bearer_token: {file: token}}}\n",
    )
    auth = rules.sources[0].auth
    assert isinstance(auth, BearerAuth)
    assert auth.token.value == "from-a-file"
    assert "from-a-file" not in repr(rules.sources[0])


def test_yaml_merge_keys_work(tmp_path: Path) -> None:
    text = (
        CHANNELS
        + "people:\n"
        + "  - &base {name: ana, contacts: [{channel: hook}], time_zone: Europe/Berlin}\n"
        + "  - {<<: *base, name: ben}\n"
    )
    rules = load_text(tmp_path, text)
    assert rules.people["ben"].time_zone == rules.people["ana"].time_zone
    assert rules.people["ben"].contacts == rules.people["ana"].contacts


def test_an_alias_bomb_is_refused(tmp_path: Path) -> None:
    # Each person merges ten copies of the one before, each route nests ten copies of the
    # one before: expanded, 10^9 mappings and 10^11 routes in a file of 2 KB.
    text = "\n".join(
        [
            "people:",
            "  - &p0 {name: a, contacts: []}",
            *[
                f"  - &p{i} {{<<: [{', '.join([f'*p{i - 1}'] * 10)}], name: n{i}}}"
                for i in range(1, 10)
            ],
            "route:",
            "  policy: x",
            "  routes:",
            "    - &r0 {matchers: []}",
            *[
                f"    - &r{i} {{matchers: [], routes: [{', '.join([f'*r{i - 1}'] * 10)}]}}"
                for i in range(1, 12)
            ],
        ]
    )
    assert len(text) < 2048
    with pytest.raises(RuleError) as caught:
        load_text(tmp_path, text)
    assert any("alias bomb" in p.message for p in caught.value.problems)


def test_a_file_over_the_size_limit_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(yamlread, "MAX_FILE_BYTES", 100)
    with pytest.raises(RuleError) as caught:
        load_text(tmp_path, "# " + "x" * 200 + "\n")
    [problem] = caught.value.problems
    assert problem.message == "file is larger than 100 bytes"


def test_the_real_size_limit_is_a_few_megabytes() -> None:
    assert yamlread.MAX_FILE_BYTES == 4 * 1024 * 1024


@pytest.mark.parametrize(
    ("content", "message"),
    [
        # Nesting deeper than the YAML parser allows (or Python can recurse).
        ("[" * 5000 + "]" * 5000, "not valid YAML"),
        # Two documents in one file.
        ("a: 1\n---\nb: 2\n", "not valid YAML"),
        # Bytes that are not UTF-8.
        (b"\xff\xfe rules", "not UTF-8 text"),
        # An integer with more digits than Python converts.
        (
            "sources:\n  - {name: a, kind: webhook, auth: {bearer_token: {env: TOKEN}}, "
            "rate_limit: {alerts_per_second: 1, burst: " + "9" * 5000 + "}}\n",
            "out of range",
        ),
    ],
)
def test_hostile_documents_give_rule_errors(
    tmp_path: Path, content: str | bytes, message: str
) -> None:
    path = tmp_path / "rules.yml"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    with pytest.raises(RuleError) as caught:
        load_rules(path, ENV)
    assert any(message in p.message for p in caught.value.problems), caught.value.problems


def test_an_empty_file_defines_nothing(tmp_path: Path) -> None:
    assert load_text(tmp_path, "# nothing yet\n").sources == ()


@pytest.mark.parametrize(
    ("make", "message"),
    [
        # A path that does not exist.
        (lambda p: p / "missing.yml", "no such file or directory"),
        # A directory without rules files.
        (lambda p: p, "directory holds no .yml or .yaml files"),
    ],
)
def test_paths_without_rules(tmp_path: Path, make: object, message: str) -> None:
    with pytest.raises(RuleError, match=message):
        load_rules(make(tmp_path), ENV)  # type: ignore[operator]
