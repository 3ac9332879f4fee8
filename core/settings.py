"""Process settings: command-line flags, then ``TOCSIN_*`` environment variables, then defaults."""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from pathlib import Path


@dataclass(frozen=True, slots=True)
class Settings:
    """How one ``tocsin serve`` process runs. Rules (what to do) live in the rules files."""

    host: str = "127.0.0.1"
    port: int = 9797
    rules: Path = Path("rules/examples")
    store: str = "sqlite://tocsin.db"
    log_format: str = "auto"  # auto: console on a terminal, JSON otherwise
    log_level: str = "info"
    max_body_bytes: int = 4 * 1024 * 1024
    # Slow clients: a connection must send a request's headers within this long of opening
    # (or of its previous answer; also the keep-alive idle time), and its body within
    # ``body_timeout_seconds`` of the headers.
    header_timeout_seconds: float = 30.0
    body_timeout_seconds: float = 30.0
    # Open connections kept at most; past it the oldest is closed. 0: derived from the
    # file-descriptor limit (RLIMIT_NOFILE), leaving room for the store and the logs.
    max_connections: int = 0
    # Per-alert size limits (UTF-8 bytes); an alert over one is refused with a 400 naming it.
    max_label_name_bytes: int = 1024
    max_label_value_bytes: int = 16 * 1024
    max_annotation_value_bytes: int = 64 * 1024
    max_alert_bytes: int = 512 * 1024
    # Alerts (items) one ingest request may carry; more: 413 naming ``alerts``. Prometheus
    # sends at most 64 a request; an Alertmanager webhook carries a whole group.
    max_alerts_per_request: int = 50_000
    # How often an unchanged, still-firing alert is written again so that its
    # freshness (and auto-resolve by staleness) can be judged downstream.
    dedup_refresh_seconds: float = 300.0
    # Unchanged alerts remembered in memory; past this the least recently written are forgotten.
    dedup_capacity: int = 1_000_000
    # FULL: an acknowledged alert survives power loss; NORMAL: survives a process crash only.
    sqlite_synchronous: str = "FULL"
    # Let several `tocsin serve` processes listen on one port (SO_REUSEPORT): the kernel
    # spreads connections over them, so replicas on one Redis use every core.
    reuse_port: bool = False
    # Correlation runs with every `tocsin serve` unless switched off.
    correlate: bool = True
    # "process": a child process of its own (`tocsin correlate`), so ingest and correlation
    # each have a core; "inline": in the serving process's event loop (one core for both).
    correlator_mode: str = "process"
    # Several correlators may share a Redis store; the log is split into this many
    # partitions (the same number on every replica). SQLite serves one process: keep 1.
    correlator_partitions: int = 1
    correlator_member: str = ""  # empty: host name and process id
    correlator_poll_seconds: float = 0.2
    correlator_sweep_seconds: float = 5.0
    # A correlator child that shows no progress (not even an idle poll) this long is
    # taken to be hung: it is killed and started again.
    correlator_heartbeat_timeout_seconds: float = 30.0
    # Operators' silences: at most this many stored (expired ones count until their
    # retention ends, as in Alertmanager), each at most this many bytes; 0: no limit.
    max_silences: int = 10_000
    max_silence_bytes: int = 64 * 1024
    # How long an expired silence is kept (to be read back) before it is deleted.
    silence_retention_seconds: float = 5 * 24 * 3600.0
    # Alerts the correlator keeps in memory with the incidents it last touched (about 1 KB
    # each); past this the least recently used incidents are read back from the store.
    correlator_cache_alerts: int = 500_000
    # Tocsin's public base URL, for the links in notifications (incident, action links);
    # empty: http://<host>:<port> (see ``public_base_url``).
    public_url: str = ""
    # How long the member that escalates and delivers (one at a time on Redis) holds its
    # lease without renewing it: a member killed is replaced after at most this long.
    escalation_lease_seconds: float = 30.0

    @property
    def public_base_url(self) -> str:
        """The public base URL without a trailing slash: ``public_url`` or the listen address."""
        if self.public_url:
            return self.public_url.rstrip("/")
        host = "127.0.0.1" if self.host in ("", "0.0.0.0", "::") else self.host  # noqa: S104
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}"

    def __post_init__(self) -> None:
        if self.public_url and not self.public_url.startswith(("http://", "https://")):
            raise ValueError(
                f"TOCSIN_PUBLIC_URL / --public-url {self.public_url!r} is not an http(s):// URL"
            )
        if self.correlator_mode not in CORRELATOR_MODES:
            raise ValueError(
                f"TOCSIN_CORRELATOR_MODE / --correlator-mode {self.correlator_mode!r} "
                f"is not one of {', '.join(CORRELATOR_MODES)}"
            )


CORRELATOR_MODES = ("process", "inline")
_ENV_PREFIX = "TOCSIN_"


def add_settings_arguments(parser: argparse.ArgumentParser) -> None:
    """Adds one ``--flag`` per setting; an absent flag falls back to the environment."""
    parser.add_argument("--host", help="address to listen on (TOCSIN_HOST, default 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port to listen on (TOCSIN_PORT, default 9797)")
    parser.add_argument("--rules", type=Path, help="rules file or directory (TOCSIN_RULES)")
    parser.add_argument("--store", help="sqlite://PATH or redis://HOST:PORT/DB (TOCSIN_STORE)")
    parser.add_argument(
        "--log-format", choices=["auto", "json", "console"], help="TOCSIN_LOG_FORMAT"
    )
    parser.add_argument(
        "--log-level", choices=["debug", "info", "warning", "error"], help="TOCSIN_LOG_LEVEL"
    )
    parser.add_argument(
        "--max-body-bytes", type=int, help="largest request body (TOCSIN_MAX_BODY_BYTES)"
    )
    parser.add_argument(
        "--header-timeout-seconds", type=float, help="TOCSIN_HEADER_TIMEOUT_SECONDS (default 30)"
    )
    parser.add_argument(
        "--body-timeout-seconds", type=float, help="TOCSIN_BODY_TIMEOUT_SECONDS (default 30)"
    )
    parser.add_argument(
        "--max-connections", type=int, help="TOCSIN_MAX_CONNECTIONS (default from RLIMIT_NOFILE)"
    )
    parser.add_argument("--max-label-name-bytes", type=int, help="TOCSIN_MAX_LABEL_NAME_BYTES")
    parser.add_argument("--max-label-value-bytes", type=int, help="TOCSIN_MAX_LABEL_VALUE_BYTES")
    parser.add_argument(
        "--max-annotation-value-bytes", type=int, help="TOCSIN_MAX_ANNOTATION_VALUE_BYTES"
    )
    parser.add_argument("--max-alert-bytes", type=int, help="TOCSIN_MAX_ALERT_BYTES")
    parser.add_argument(
        "--max-alerts-per-request",
        type=int,
        help="TOCSIN_MAX_ALERTS_PER_REQUEST (default 50000)",
    )
    parser.add_argument("--dedup-refresh-seconds", type=float, help="TOCSIN_DEDUP_REFRESH_SECONDS")
    parser.add_argument("--dedup-capacity", type=int, help="TOCSIN_DEDUP_CAPACITY")
    parser.add_argument(
        "--sqlite-synchronous", choices=["FULL", "NORMAL"], help="TOCSIN_SQLITE_SYNCHRONOUS"
    )
    parser.add_argument(
        "--reuse-port",
        action="store_const",
        const=True,
        default=None,
        help="share the port with other tocsin serve processes (TOCSIN_REUSE_PORT)",
    )
    parser.add_argument(
        "--no-correlate",
        dest="correlate",
        action="store_const",
        const=False,
        default=None,
        help="do not run the correlator in this process (TOCSIN_CORRELATE=false)",
    )
    parser.add_argument(
        "--correlator-mode",
        choices=CORRELATOR_MODES,
        help="run the correlator in a child process or in this one (TOCSIN_CORRELATOR_MODE)",
    )
    parser.add_argument("--correlator-partitions", type=int, help="TOCSIN_CORRELATOR_PARTITIONS")
    parser.add_argument("--correlator-member", help="TOCSIN_CORRELATOR_MEMBER")
    parser.add_argument(
        "--correlator-poll-seconds", type=float, help="TOCSIN_CORRELATOR_POLL_SECONDS"
    )
    parser.add_argument(
        "--correlator-sweep-seconds", type=float, help="TOCSIN_CORRELATOR_SWEEP_SECONDS"
    )
    parser.add_argument(
        "--correlator-heartbeat-timeout-seconds",
        type=float,
        help="restart a correlator child that is silent this long "
        "(TOCSIN_CORRELATOR_HEARTBEAT_TIMEOUT_SECONDS)",
    )
    parser.add_argument(
        "--max-silences", type=int, help="most silences stored, 0: no limit (TOCSIN_MAX_SILENCES)"
    )
    parser.add_argument(
        "--max-silence-bytes",
        type=int,
        help="largest silence, 0: no limit (TOCSIN_MAX_SILENCE_BYTES)",
    )
    parser.add_argument(
        "--silence-retention",
        dest="silence_retention_seconds",
        type=float,
        metavar="SECONDS",
        help="keep expired silences this long (TOCSIN_SILENCE_RETENTION_SECONDS, default 5 days)",
    )
    parser.add_argument(
        "--public-url",
        help="Tocsin's public base URL for links in notifications "
        "(TOCSIN_PUBLIC_URL, default http://HOST:PORT)",
    )
    parser.add_argument(
        "--escalation-lease-seconds",
        type=float,
        help="lease of the member that escalates and delivers (TOCSIN_ESCALATION_LEASE_SECONDS)",
    )
    parser.add_argument(
        "--correlator-cache-alerts",
        type=int,
        help="alerts the correlator keeps in memory (TOCSIN_CORRELATOR_CACHE_ALERTS)",
    )


def settings_from(args: argparse.Namespace, env: Mapping[str, str]) -> Settings:
    """Builds Settings: a flag wins over ``TOCSIN_<NAME>``, which wins over the default."""
    defaults = Settings()
    values: dict[str, object] = {}
    for f in fields(Settings):
        flag = getattr(args, f.name, None)
        if flag is not None:
            values[f.name] = flag
            continue
        raw = env.get(_ENV_PREFIX + f.name.upper())
        if raw is None:
            continue
        default = getattr(defaults, f.name)
        try:
            values[f.name] = _parse_bool(raw) if isinstance(default, bool) else type(default)(raw)
        except ValueError as exc:
            raise ValueError(
                f"{_ENV_PREFIX}{f.name.upper()}={raw!r} is not a valid {type(default).__name__}"
            ) from exc
    return Settings(**values)  # type: ignore[arg-type]


def parse_settings(argv: Sequence[str], env: Mapping[str, str]) -> Settings:
    """Parses serve flags alone; convenient for tests and tools."""
    parser = argparse.ArgumentParser()
    add_settings_arguments(parser)
    return settings_from(parser.parse_args(list(argv)), env)


def _parse_bool(raw: str) -> bool:
    lowered = raw.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ValueError(f"{raw!r} is not a boolean")


def settings_to_env(settings: Settings) -> dict[str, str]:
    """Returns ``TOCSIN_*`` variables that :func:`settings_from` reads back as ``settings``.

    A child process gets its settings this way rather than on its command line, where a
    store URL's password would be visible to every user of the machine.
    """
    env: dict[str, str] = {}
    for f in fields(Settings):
        value = getattr(settings, f.name)
        text = ("true" if value else "false") if isinstance(value, bool) else str(value)
        env[_ENV_PREFIX + f.name.upper()] = text
    return env
