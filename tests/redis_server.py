"""A real redis-server for tests: own port, own data directory, AOF fsynced on every write."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path
from types import TracebackType

import redis
from redis import exceptions as redis_errors

from tests.support import free_port

# Redis with an empty AOF starts in milliseconds; replaying a large one after a crash
# takes longer, and a loaded CI machine longer still.
START_DEADLINE_SECONDS = 20.0
STOP_DEADLINE_SECONDS = 10.0


class RedisServer:
    """One redis-server process on 127.0.0.1 that keeps its data in ``data_dir``."""

    def __init__(self, binary: str, data_dir: Path) -> None:
        self._binary = binary
        self._data_dir = data_dir
        # Chosen once so that the URL stays the same across restarts.
        self._port = free_port()
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The redis:// URL of database 0."""
        return f"redis://127.0.0.1:{self._port}/0"

    @property
    def port(self) -> int:
        """The TCP port the server listens on."""
        return self._port

    @property
    def data_dir(self) -> Path:
        """Where the server keeps its append-only file and log."""
        return self._data_dir

    def start(self) -> None:
        """Starts the server and returns once it answers PING (its AOF is loaded)."""
        if self._process is not None:
            raise RuntimeError("redis-server is already running")
        self._data_dir.mkdir(parents=True, exist_ok=True)
        # Appending keeps the log of earlier runs, which is what one reads after a crash.
        with (self._data_dir / "redis.log").open("ab") as log:
            self._process = subprocess.Popen(
                [
                    self._binary,
                    "--port", str(self._port),
                    "--bind", "127.0.0.1",
                    "--dir", str(self._data_dir),
                    "--save", "",
                    "--appendonly", "yes",
                    "--appendfsync", "always",
                    "--daemonize", "no",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )  # fmt: skip
        try:
            self._wait_until_ready()
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Stops the server gracefully (SIGTERM) and waits for it to exit."""
        self._end(kill=False)

    def kill(self) -> None:
        """Kills the server with SIGKILL, as a crash would, and waits for it to exit."""
        self._end(kill=True)

    def restart(self, *, crash: bool = False) -> None:
        """Stops (or, with ``crash``, kills) the server and starts it on the same port and data."""
        self._end(kill=crash)
        self.start()

    def flushall(self) -> None:
        """Deletes every key in every database, so that the next test starts empty."""
        with redis.Redis.from_url(self.url) as client:
            client.flushall()

    def _end(self, *, kill: bool) -> None:
        process = self._process
        if process is None:
            return
        self._process = None
        if process.poll() is not None:
            return
        if kill:
            process.kill()
        else:
            process.terminate()
        try:
            process.wait(timeout=STOP_DEADLINE_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def _wait_until_ready(self) -> None:
        # An open port is not enough: while replaying its AOF, Redis accepts
        # connections and answers LOADING, so poll with PING instead.
        assert self._process is not None
        deadline = time.monotonic() + START_DEADLINE_SECONDS
        with redis.Redis.from_url(
            self.url, socket_connect_timeout=0.5, socket_timeout=0.5, retry=None
        ) as client:
            while True:
                if self._process.poll() is not None:
                    raise RuntimeError(
                        f"redis-server exited with {self._process.returncode}; "
                        f"see {self._data_dir / 'redis.log'}:\n{self._log_tail()}"
                    )
                try:
                    if client.ping():
                        return
                except (redis_errors.ConnectionError, redis_errors.TimeoutError):
                    pass
                if time.monotonic() >= deadline:
                    raise TimeoutError(
                        f"redis-server did not answer PING within {START_DEADLINE_SECONDS}s"
                    )
                time.sleep(0.02)

    def _log_tail(self, lines: int = 20) -> str:
        log = self._data_dir / "redis.log"
        if not log.exists():
            return ""
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])

    def __enter__(self) -> RedisServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
