"""``tocsin oncall who|show|feeds`` against a rules file, no server."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from icalendar import Calendar

from rules.calendar_feeds import FeedKind
from rules.loader import load_rules
from tests.tocsin.oncall_rules import ONCALL_ENV, ONCALL_RULES
from tocsin.cli import main


@pytest.fixture
def rules(tmp_path: Path) -> str:
    path = tmp_path / "rules.yml"
    path.write_text(ONCALL_RULES)
    return str(path)


def test_who_names_the_person_on_call_and_the_policys_first_level(
    rules: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # 12:30 in Berlin on 4 March: inside Cy's override.
    code = main(["oncall", "who", "--rules", rules, "--at", "2026-03-04T11:30:00Z"])
    out = capsys.readouterr().out
    assert code == 0
    assert "web-weekly: Cy Young (cy), override, until 2026-03-05 12:00 CET" in out
    assert "policy web, first level: Cy Young (cy); channels hook" in out


def test_who_reads_a_time_without_offset_in_the_schedules_zone(
    rules: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # 08:59 Berlin on Monday 9 March is still Ana's week; 09:00 is Ben's.
    for at, person in (("2026-03-09T08:59", "ana"), ("2026-03-09T09:00", "ben")):
        args = ["oncall", "who", "--rules", rules, "--schedule", "web-weekly", "--at", at]
        assert main([*args, "--format", "json"]) == 0
        body = json.loads(capsys.readouterr().out)
        assert body["schedules"][0]["person"] == person


def test_show_prints_shifts_in_the_schedules_zone_and_ics_parses(
    rules: str, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["oncall", "show", "--rules", rules, "--schedule", "web-weekly"]
    assert main([*args, "--from", "2026-03-02", "--to", "2026-03-10"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1:] == [
        "  2026-03-02 00:00 CET - 2026-03-02 09:00 CET  Ben Okafor (ben), layer weekly",
        "  2026-03-02 09:00 CET - 2026-03-04 12:00 CET  Ana Lima (ana), layer weekly",
        "  2026-03-04 12:00 CET - 2026-03-05 12:00 CET  Cy Young (cy), override",
        "  2026-03-05 12:00 CET - 2026-03-09 09:00 CET  Ana Lima (ana), layer weekly",
        "  2026-03-09 09:00 CET - 2026-03-10 00:00 CET  Ben Okafor (ben), layer weekly",
    ]
    assert main([*args, "--from", "2026-03-02", "--to", "2026-03-10", "--format", "ics"]) == 0
    events = Calendar.from_ical(capsys.readouterr().out).walk("VEVENT")
    assert [e.decoded("DTSTART") for e in events][2] == datetime(2026, 3, 4, 11, tzinfo=UTC)


BAD: list[tuple[list[str], str]] = [
    # An unknown schedule is named, with the ones that exist.
    (["who", "--schedule", "nope"], "no schedule 'nope'"),
    # --to before --from.
    (["show", "--schedule", "web-weekly", "--from", "2026-03-02", "--to", "2026-03-01"], "--to"),
    # A range over 400 days.
    (
        ["show", "--schedule", "web-weekly", "--from", "2026-01-01", "--to", "2027-06-01"],
        "400 days",
    ),
    # A time that does not exist in Berlin (DST gap) must be written with an offset.
    (["who", "--schedule", "web-weekly", "--at", "2026-03-29T02:30"], "does not exist"),
]


@pytest.mark.parametrize(("args", "message"), BAD)
def test_bad_arguments_exit_2_saying_why(
    rules: str, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    assert main(["oncall", *args, "--rules", rules]) == 2
    assert message in capsys.readouterr().err


def test_feeds_prints_urls_whose_tokens_the_server_accepts(
    rules: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in ONCALL_ENV.items():
        monkeypatch.setenv(name, value)
    assert main(["oncall", "feeds", "--rules", rules, "--base-url", "https://tocsin.example/"]) == 0
    out = capsys.readouterr().out
    assert "https://tocsin.example/api/v1/calendar/schedules/web-weekly.ics?token=" in out
    feeds = load_rules(Path(rules), ONCALL_ENV).calendar_feeds
    assert feeds is not None
    # Ben's current token (generation 2), the one the server accepts.
    current = feeds.token(FeedKind.PERSON, "ben")
    assert (
        f"  person ben: https://tocsin.example/api/v1/calendar/people/ben.ics?token={current}"
        in out
    )
