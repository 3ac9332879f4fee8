"""What ``tocsin serve`` checks before it creates anything: the store's directory, its port.

Found only once the application started, a port in use or a missing directory came as a
long traceback after the store file and the correlator child had been created. Checked
first, each is one line and an exit code, and nothing is left behind.
"""

from __future__ import annotations

import errno
import os
import socket
from pathlib import Path
from urllib.parse import urlsplit

# As asyncio's create_server.
_BACKLOG = 128


class PreflightError(Exception):
    """The server cannot start as configured; the message is the one line to show."""


def check_store_directory(store_url: str) -> None:
    """Raises PreflightError if an SQLite store's directory is missing or not writable.

    SQLite creates the file, and its ``-wal``, ``-shm`` and ``-writer`` companions, in
    that directory; other stores have nothing local to check.
    """
    scheme = urlsplit(store_url).scheme
    if scheme not in {"sqlite", ""}:
        return
    path = Path(store_url.removeprefix("sqlite://"))
    directory = path.parent
    if not directory.is_dir():
        what = "is not a directory" if directory.exists() else "does not exist"
        raise PreflightError(
            f"the store's directory {str(directory)!r} {what} (--store {store_url}): "
            "create it first"
        )
    if not os.access(directory, os.W_OK | os.X_OK):
        raise PreflightError(
            f"the store's directory {str(directory)!r} is not writable (--store {store_url})"
        )


def listening_sockets(host: str, port: int, *, reuse_port: bool) -> list[socket.socket]:
    """Binds and listens on every address of ``host`` at ``port``; PreflightError if it cannot.

    The sockets are handed to the server, so nothing else can take the port in between.
    """
    where = f"{host}:{port}"
    try:
        addresses = socket.getaddrinfo(
            host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )
    except socket.gaierror as exc:
        raise PreflightError(f"cannot listen on {where}: {exc.strerror}") from exc
    sockets: list[socket.socket] = []
    seen: set[tuple[object, ...]] = set()
    try:
        for family, kind, protocol, _, address in addresses:
            if (family, address) in seen:
                continue
            seen.add((family, address))
            sockets.append(_listen(family, kind, protocol, address, reuse_port))
    except OSError as exc:
        for sock in sockets:
            sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise PreflightError(
                f"cannot listen on {where}: the address is already in use "
                "(another tocsin serve? choose another with --port or TOCSIN_PORT, "
                "e.g. TOCSIN_PORT=9798 make run)"
            ) from exc
        raise PreflightError(f"cannot listen on {where}: {exc.strerror or exc}") from exc
    return sockets


def _listen(
    family: socket.AddressFamily,
    kind: socket.SocketKind,
    protocol: int,
    address: tuple[object, ...],
    reuse_port: bool,
) -> socket.socket:
    sock = socket.socket(family, kind, protocol)
    try:
        # As asyncio does: restart at once over connections in TIME_WAIT.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuse_port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        if family == socket.AF_INET6:
            # One socket per address family, as asyncio binds them.
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.bind(address)
        sock.listen(_BACKLOG)
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock
