"""The rules' calendar_feeds section: strict, every mistake named by file, line and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.errors import RuleError
from rules.calendar_feeds import FeedKind
from rules.loader import load_rules
from tests.tocsin.oncall_rules import ONCALL_ENV, ONCALL_RULES

_SECTION = """calendar_feeds:
  secret: {env: FEED_SECRET}
  generations:
    people: {ben: 2}
"""

MISTAKES: list[tuple[str, str, str]] = [
    (
        # A secret written inline is refused: it belongs in the environment or a file.
        "calendar_feeds:\n  secret: hunter2\n",
        "calendar_feeds.secret",
        "not written inline",
    ),
    (
        # An unknown key is named.
        "calendar_feeds:\n  secret: {env: FEED_SECRET}\n  generation: 1\n",
        "calendar_feeds.generation",
        "unknown key",
    ),
    (
        # A generation for someone the rules do not define.
        "calendar_feeds:\n  secret: {env: FEED_SECRET}\n  generations: {people: {bob: 1}}\n",
        "calendar_feeds.generations.people.bob",
        "unknown person 'bob'",
    ),
    (
        # A generation is a whole number, 0 or more.
        "calendar_feeds:\n  secret: {env: FEED_SECRET}\n  generations: {schedules: {web-weekly: -1}}\n",
        "calendar_feeds.generations.schedules.web-weekly",
        "",
    ),
    (
        # Only schedules and people have feeds.
        "calendar_feeds:\n  secret: {env: FEED_SECRET}\n  generations: {teams: {web: 1}}\n",
        "calendar_feeds.generations.teams",
        "unknown key",
    ),
]


@pytest.mark.parametrize(("section", "key", "message"), MISTAKES)
def test_calendar_feed_mistakes_name_file_line_and_key(
    tmp_path: Path, section: str, key: str, message: str
) -> None:
    path = tmp_path / "rules.yml"
    path.write_text(ONCALL_RULES.replace(_SECTION, section))
    with pytest.raises(RuleError) as caught:
        load_rules(path, ONCALL_ENV)
    [problem] = [p for p in caught.value.problems if p.key == key]
    assert problem.file == str(path)
    assert problem.line > 30
    assert message in problem.message


def test_without_the_section_no_feed_exists_and_generations_default_to_zero(tmp_path: Path) -> None:
    path = tmp_path / "rules.yml"
    path.write_text(ONCALL_RULES.replace(_SECTION, ""))
    assert load_rules(path, ONCALL_ENV).calendar_feeds is None
    path.write_text(ONCALL_RULES)
    feeds = load_rules(path, ONCALL_ENV).calendar_feeds
    assert feeds is not None
    assert feeds.generation(FeedKind.PERSON, "ben") == 2
    assert feeds.generation(FeedKind.PERSON, "ana") == 0
    # The token depends on the generation: bumping it changes the URL.
    assert feeds.token(FeedKind.PERSON, "ben") != type(feeds)(feeds.secret).token(
        FeedKind.PERSON, "ben"
    )
