"""Settings: flags win over TOCSIN_* variables, which win over defaults."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.settings import Settings, parse_settings, settings_to_env


def test_defaults_bind_to_loopback_with_sqlite() -> None:
    settings = parse_settings([], {})
    assert settings == Settings()
    assert settings.host == "127.0.0.1"
    assert settings.store.startswith("sqlite://")


def test_environment_overrides_defaults_and_flags_override_environment() -> None:
    env = {
        "TOCSIN_PORT": "1234",
        "TOCSIN_STORE": "redis://127.0.0.1:6390/0",
        "TOCSIN_RULES": "/etc/tocsin",
    }
    settings = parse_settings(["--port", "4321"], env)
    assert settings.port == 4321
    assert settings.store == "redis://127.0.0.1:6390/0"
    assert settings.rules == Path("/etc/tocsin")


def test_invalid_environment_value_names_the_variable() -> None:
    with pytest.raises(ValueError, match="TOCSIN_PORT"):
        parse_settings([], {"TOCSIN_PORT": "eighty"})


def test_correlator_switches_off_by_flag_or_environment() -> None:
    assert parse_settings([], {}).correlate is True
    assert parse_settings(["--no-correlate"], {}).correlate is False
    assert parse_settings([], {"TOCSIN_CORRELATE": "false"}).correlate is False
    with pytest.raises(ValueError, match="TOCSIN_CORRELATE"):
        parse_settings([], {"TOCSIN_CORRELATE": "maybe"})


def test_reuse_port_is_off_unless_asked_for() -> None:
    assert parse_settings([], {}).reuse_port is False
    assert parse_settings(["--reuse-port"], {}).reuse_port is True
    assert parse_settings([], {"TOCSIN_REUSE_PORT": "true"}).reuse_port is True


def test_correlator_runs_in_a_child_process_unless_asked_inline() -> None:
    assert parse_settings([], {}).correlator_mode == "process"
    assert parse_settings(["--correlator-mode", "inline"], {}).correlator_mode == "inline"
    assert parse_settings([], {"TOCSIN_CORRELATOR_MODE": "inline"}).correlator_mode == "inline"
    with pytest.raises(ValueError, match="TOCSIN_CORRELATOR_MODE"):
        parse_settings([], {"TOCSIN_CORRELATOR_MODE": "thread"})


def test_settings_survive_the_trip_through_the_environment() -> None:
    settings = Settings(
        port=9999,
        rules=Path("/etc/tocsin"),
        store="redis://:secret@127.0.0.1:6390/0",
        correlate=False,
        reuse_port=True,
        correlator_poll_seconds=0.05,
    )
    env = settings_to_env(settings)
    assert parse_settings([], env) == settings
    assert env["TOCSIN_CORRELATE"] == "false"
