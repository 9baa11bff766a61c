"""Free ports for what a test session or a throwaway run starts (PostgreSQL, the broker, the relay,
services): below the kernel's ephemeral range and never handed out twice in one process, so several
runs (or a running `make up`) can share a machine."""

from __future__ import annotations

import random
import socket
from pathlib import Path


def _listening_ports() -> range:
    """Ports below the kernel's ephemeral range: the stack picks its ports at the start of a session and
    some are bound minutes later (the console's, the services'); a port the kernel hands out (bind to
    0) can meanwhile become an outgoing connection's local port, and the late bind fails."""
    try:
        low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        low = 32768
    return range(min(20000, low - 2000), low)


_HANDED_OUT: set[int] = set()


def free_port() -> int:
    """A port nothing listens on, outside the ephemeral range, never handed out twice in one run."""
    ports = _listening_ports()
    for port in random.sample(ports, min(500, len(ports))):
        if port in _HANDED_OUT:
            continue
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
        _HANDED_OUT.add(port)
        return port
    raise RuntimeError(f"no free port in {ports}")
