"""``tocsin incidents`` against a real ``tocsin serve`` with the example rules (as ``make run``)."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.server_process import TocsinProcess
from tests.support import free_port
from tocsin.cli import main

EXAMPLES = Path(__file__).resolve().parents[2] / "rules" / "examples"
# What `make run` sets (Makefile EXAMPLE_ENV); the API keys are files in the examples.
EXAMPLE_ENV = {
    "TOCSIN_ALERTMANAGER_TOKEN": "example-alertmanager-token",
    "TOCSIN_PROMETHEUS_PASSWORD": "example-prometheus-password",
    "TOCSIN_WEBHOOK_TOKEN": "example-webhook-token",
    "TOCSIN_PAGERDUTY_ROUTING_KEY": "example0routing0key0000000000000",
}
ADMIN_KEY = "example-operator-key"
VIEWER_KEY = "example-viewer-key"
DEADLINE_SECONDS = 20.0


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TocsinProcess]:
    """One ``tocsin serve`` on SQLite with the example rules, for the module's tests."""
    work_dir = tmp_path_factory.mktemp("cli")
    process = TocsinProcess(
        rules=EXAMPLES,
        store=f"sqlite://{work_dir / 'tocsin.db'}",
        work_dir=work_dir,
        env=EXAMPLE_ENV,
    )
    asyncio.run(process.start())
    yield process
    process.kill()


def send_alert(server: TocsinProcess, dedup_key: str, summary: str) -> None:
    """Sends one firing webhook alert with the example webhook token."""
    body = {"dedup_key": dedup_key, "summary": summary, "severity": "critical"}
    request = urllib.request.Request(  # noqa: S310 (an http:// URL of the test's server)
        f"{server.url}/ingest/webhook",
        data=json.dumps(body).encode(),
        headers={
            "Authorization": "Bearer example-webhook-token",
            "Content-Type": "application/json",
        },
    )
    with urllib.request.urlopen(request, timeout=5) as answer:  # noqa: S310
        assert answer.status in (200, 202)


def run(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    *argv: str,
    key: str | None = ADMIN_KEY,
) -> tuple[int, str, str]:
    """Runs ``tocsin ARGV`` in-process; returns the exit code, stdout and stderr."""
    if key is None:
        monkeypatch.delenv("TOCSIN_API_KEY", raising=False)
    else:
        monkeypatch.setenv("TOCSIN_API_KEY", key)
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def incident_titled(
    server: TocsinProcess,
    summary: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> dict[str, Any]:
    """Waits (polling the real server, with a deadline) until the alert's incident is listed."""
    deadline = time.monotonic() + DEADLINE_SECONDS
    while True:
        code, out, err = run(
            capsys, monkeypatch, "incidents", "list", "--url", server.url, "--output", "json"
        )
        assert code == 0, err
        found = [i for i in json.loads(out)["incidents"] if summary in i["title"]]
        if found:
            return found[0]
        if time.monotonic() > deadline:
            raise TimeoutError(server.describe(f"no incident {summary!r}"))
        time.sleep(0.05)


def test_list_prints_a_table_with_the_incident(
    server: TocsinProcess, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    send_alert(server, "cli-table", "Nightly backup failed for the table")
    incident = incident_titled(server, "for the table", capsys, monkeypatch)
    code, out, _ = run(capsys, monkeypatch, "incidents", "list", "--url", server.url)
    assert code == 0
    header, *rows = out.splitlines()
    assert header.split()[:3] == ["ID", "STATE", "PRI"]
    row = next(r for r in rows if r.startswith(incident["id"]))
    assert "triggered" in row
    assert "Nightly backup failed for the table" in row


def test_show_prints_fields_alerts_and_timeline(
    server: TocsinProcess, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    send_alert(server, "cli-show", "Disk almost full for show")
    incident = incident_titled(server, "for show", capsys, monkeypatch)
    code, out, _ = run(capsys, monkeypatch, "incidents", "show", incident["id"], "--url", server.url)
    assert code == 0
    assert out.startswith(f"{incident['id']}  ")
    assert "triggered" in out
    assert "\nalerts:\n" in out
    assert "\ntimeline:\n" in out
    assert "opened" in out


def test_show_json_is_the_servers_answer(
    server: TocsinProcess, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    send_alert(server, "cli-json", "Queue stuck for json")
    incident = incident_titled(server, "for json", capsys, monkeypatch)
    code, out, _ = run(
        capsys, monkeypatch, "incidents", "show", incident["id"], "--url", server.url,
        "--output", "json",
    )  # fmt: skip
    assert code == 0
    detail = json.loads(out)
    assert detail["id"] == incident["id"]
    assert "timeline" in detail


def test_ack_assign_note_resolve_close_work_an_incident_to_its_end(
    server: TocsinProcess, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    send_alert(server, "cli-work", "Checkout errors to work through")
    incident = incident_titled(server, "to work through", capsys, monkeypatch)
    url = ("--url", server.url)
    # Each step: the command, then what the server's answer (as text) must show.
    steps: list[tuple[tuple[str, ...], str]] = [
        (("ack", incident["id"], "--note", "looking"), "acknowledged"),
        (("assign", incident["id"], "--person", "ana"), "ana"),
        (("note", incident["id"], "rolled back the deploy"), "acknowledged"),
        # Escalating an acknowledged incident triggers it again for the next level.
        (("escalate", incident["id"], "--note", "needs the db team"), "triggered"),
        (
            ("resolve", incident["id"], "--code", "solved_permanently", "--notes", "rollback"),
            "solved_permanently",
        ),
        (("reopen", incident["id"], "--reason", "errors are back"), "triggered"),
        (("resolve", incident["id"], "--code", "solved_workaround", "--notes", "fixed"), "resolved"),
        (("close", incident["id"]), "closed"),
    ]
    for argv, shown in steps:
        code, out, err = run(capsys, monkeypatch, "incidents", *argv, *url)
        assert code == 0, (argv, err)
        assert shown in out, (argv, out)
    code, out, _ = run(capsys, monkeypatch, "incidents", "show", incident["id"], *url)
    assert "rolled back the deploy" in out
    assert "reopened" in out


def test_the_servers_metrics_observe_the_acknowledgement(
    server: TocsinProcess, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    name = "tocsin_incident_time_to_acknowledge_seconds_count"
    send_alert(server, "cli-metrics", "Acknowledged for the metrics")
    incident = incident_titled(server, "for the metrics", capsys, monkeypatch)
    before = asyncio.run(server.metric(name))
    code, _, err = run(capsys, monkeypatch, "incidents", "ack", incident["id"], "--url", server.url)
    assert code == 0, err
    # The server's consumer of the incident event stream observes it within a moment.
    deadline = time.monotonic() + DEADLINE_SECONDS
    while asyncio.run(server.metric(name)) < before + 1:
        if time.monotonic() > deadline:
            raise TimeoutError(server.describe("the acknowledgement was not observed"))
        time.sleep(0.1)


def test_an_action_the_state_refuses_prints_the_409_and_the_allowed_actions(
    server: TocsinProcess, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    send_alert(server, "cli-refused", "Closing too early")
    incident = incident_titled(server, "Closing too early", capsys, monkeypatch)
    code, _, err = run(capsys, monkeypatch, "incidents", "close", incident["id"], "--url", server.url)
    assert code == 1
    assert err.startswith("tocsin: HTTP 409: ")
    # The server's message lists what the state allows; the line says it once.
    assert "allows: acknowledge" in err
    assert err.count("allow") == 1


def test_a_stale_if_match_prints_the_412_and_the_current_version(
    server: TocsinProcess, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    send_alert(server, "cli-stale", "Someone else came first")
    incident = incident_titled(server, "Someone else came first", capsys, monkeypatch)
    code, _, err = run(
        capsys, monkeypatch, "incidents", "ack", incident["id"], "--if-match", "999",
        "--url", server.url,
    )  # fmt: skip
    assert code == 1
    assert err.startswith("tocsin: HTTP 412: ")
    assert "(field: If-Match)" in err
    assert f'current version: "{incident["version"]}"' in err


def test_an_unknown_incident_prints_the_servers_404(
    server: TocsinProcess, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, err = run(capsys, monkeypatch, "incidents", "show", "no-such", "--url", server.url)
    assert code == 1
    assert out == ""
    assert err.startswith("tocsin: HTTP 404: ")
    assert "no-such" in err


def test_a_bad_filter_prints_the_field_the_server_names(
    server: TocsinProcess, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, _, err = run(
        capsys, monkeypatch, "incidents", "list", "--state", "sleeping", "--url", server.url
    )
    assert code == 1
    assert err.startswith("tocsin: HTTP 400: ")
    assert "state:" in err


def test_a_viewer_key_that_acts_gets_the_403_and_the_key_is_never_printed(
    server: TocsinProcess, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    send_alert(server, "cli-viewer", "Viewer tries to ack")
    incident = incident_titled(server, "Viewer tries", capsys, monkeypatch)
    code, out, err = run(
        capsys, monkeypatch, "incidents", "ack", incident["id"], "--url", server.url,
        key=VIEWER_KEY,
    )  # fmt: skip
    assert code == 1
    assert err.startswith("tocsin: HTTP 403: ")
    assert VIEWER_KEY not in out + err


def test_no_key_is_a_usage_error_naming_the_variable(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, _, err = run(capsys, monkeypatch, "incidents", "list", key=None)
    assert code == 2
    assert "TOCSIN_API_KEY" in err


def test_a_server_that_is_not_there_is_said_so(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    code, _, err = run(capsys, monkeypatch, "incidents", "list", "--url", url)
    assert code == 1
    assert err.startswith(f"tocsin: no Tocsin server answers at {url}")
    assert ADMIN_KEY not in err


def test_the_console_command_lists_incidents_as_json(server: TocsinProcess) -> None:
    # The real entry point in its own process, as a person runs it.
    answer = subprocess.run(
        [sys.executable, "-m", "tocsin.cli", "incidents", "list", "--url", server.url,
         "--output", "json", "--limit", "5"],
        env={"TOCSIN_API_KEY": ADMIN_KEY, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=DEADLINE_SECONDS,
        check=False,
    )  # fmt: skip
    assert answer.returncode == 0, answer.stderr
    assert isinstance(json.loads(answer.stdout)["incidents"], list)
