"""Whatever the input, the loader answers with RuleError and a message, never another error.

Three sources of input: the example rules with random edits (close to valid, so they get
deep into the readers), random YAML built from the rules' own vocabulary, and random text.
Runs are derandomised and keep no example database, so CI sees the same cases each time.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.errors import RuleError, RuleProblem
from rules.loader import load_rules
from tests.rules.helpers import EXAMPLE_ENV, EXAMPLES

FUZZ = settings(
    max_examples=100,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

EXAMPLE_FILES = {p.name: p.read_text(encoding="utf-8") for p in sorted(EXAMPLES.glob("*.yml"))}

# Values that have broken YAML readers before: YAML 1.1 booleans and base-60 numbers,
# huge numbers, tags, aliases, NUL bytes, deep brackets, odd durations and zones.
AWKWARD = [
    "~",
    "yes",
    "no",
    "12:30",
    "1e400",
    ".nan",
    "-1",
    "0",
    "9" * 5000,
    "[]",
    "{}",
    "''",
    "*undefined",
    "&a [*a]",
    "!!python/object/apply:os.system ['true']",
    "!custom x",
    '"\\x00"',
    "[" * 200,
    "{env: NOT_SET}",
    "{file: /dev/null}",
    "{file: /nonexistent}",
    "1h30",
    "Mars/Olympus",
    "2026-02-30T09:00",
    "'a=~\"(\"'",
    "'{{ labels.x | nope }}'",
    "<<: *x",
    "2026-03-29T02:30",
]
VOCABULARY = [
    "sources", "channels", "people", "teams", "schedules", "escalation_policies",
    "services", "categories", "silences", "maintenance_windows", "inhibit_rules",
    "route", "priority", "status_page", "templates", "name", "kind", "auth", "matchers",
    "routes", "policy", "levels", "delay", "targets", "person", "team", "schedule",
    "members", "layers", "rotation", "every", "handoff", "restrictions", "days", "from",
    "to", "time_zone", "overrides", "start", "end", "contacts", "channel", "address",
    "group_by", "continue", "impact", "urgency", "matrix", "sla", "acknowledge",
    "resolve", "warn_at", "components", "weekly", "cron", "duration", "title", "env",
    "file", "source_matchers", "target_matchers", "equal", "<<",
]  # fmt: skip

edit = st.one_of(
    st.tuples(st.just("delete"), st.integers(0, 10_000), st.integers(1, 40)),
    st.tuples(
        st.just("insert"), st.integers(0, 10_000), st.text("-:{}[]&*!|>'\"#%@ \n\tax1", max_size=8)
    ),
    st.tuples(st.just("value"), st.integers(0, 10_000), st.sampled_from(AWKWARD)),
    st.tuples(st.just("line"), st.integers(0, 10_000), st.integers(0, 10_000)),
)


def apply(text: str, edits: list[tuple[str, int, object]]) -> str:
    """Applies random edits: delete, insert, replace a value, duplicate a line."""
    for kind, where, what in edits:
        if kind == "delete":
            at = where % (len(text) + 1)
            text = text[:at] + text[at + int(str(what)) :]
        elif kind == "insert":
            at = where % (len(text) + 1)
            text = text[:at] + str(what) + text[at:]
        else:
            lines = text.splitlines()
            if not lines:
                continue
            index = where % len(lines)
            if kind == "value" and ": " in lines[index]:
                head = lines[index].split(": ", 1)[0]
                lines[index] = f"{head}: {what}"
            elif kind == "line":
                lines.insert(int(str(what)) % len(lines), lines[index])
            text = "\n".join(lines) + "\n"
    return text


def assert_loads_or_rule_error(path: Path) -> None:
    problems: tuple[RuleProblem, ...] = ()
    try:
        load_rules(path, EXAMPLE_ENV)
    except RuleError as exc:
        problems = exc.problems or (RuleProblem("", 0, "", ""),)  # no problems: fails below
    assert all(p.message for p in problems)
    assert all(p.line >= 1 for p in problems)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("fuzz")
    (directory / "secrets").mkdir()
    for secret in (EXAMPLES / "secrets").iterdir():
        (directory / "secrets" / secret.name).write_bytes(secret.read_bytes())
    return directory


@FUZZ
@given(name=st.sampled_from(sorted(EXAMPLE_FILES)), edits=st.lists(edit, min_size=1, max_size=4))
def test_mutated_examples_give_rule_errors(
    workdir: Path, name: str, edits: list[tuple[str, int, object]]
) -> None:
    for file_name, text in EXAMPLE_FILES.items():
        content = apply(text, edits) if file_name == name else text
        (workdir / file_name).write_text(content, encoding="utf-8")
    assert_loads_or_rule_error(workdir)


scalars = st.one_of(
    st.sampled_from(VOCABULARY),
    st.text(max_size=12),
    st.integers(),
    st.floats(allow_nan=True),
    st.booleans(),
    st.none(),
)
documents = st.dictionaries(
    st.sampled_from(VOCABULARY),
    st.recursive(
        scalars,
        lambda inner: (
            st.lists(inner, max_size=4)
            | st.dictionaries(st.sampled_from(VOCABULARY), inner, max_size=4)
        ),
        max_leaves=25,
    ),
    max_size=6,
)


@FUZZ
@given(document=documents)
def test_random_yaml_gives_rule_errors(tmp_path: Path, document: dict[str, object]) -> None:
    path = tmp_path / "random.yml"
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    assert_loads_or_rule_error(path)


@FUZZ
@given(text=st.text(max_size=200))
def test_random_text_gives_rule_errors(tmp_path: Path, text: str) -> None:
    path = tmp_path / "random.yml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    assert_loads_or_rule_error(path)
