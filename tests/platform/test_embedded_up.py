"""`make up` runs `embedded-stack up`: everything ready, Ctrl-C stops it all, data survives a restart."""

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
from samples import APPLICATION, CDF_LIST_CSV, CLINICIAN

from casework.auth import mint_token
from casework.services import SERVICE_NAMES
from casework.settings import ServiceSettings
from embedded_stack.ports import free_port


def start_stack(home: Path, env: dict[str, str]) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "embedded_stack", "up"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    deadline = time.monotonic() + 120
    assert process.stdout is not None
    for line in process.stdout:
        if "is up" in line:
            return process
        if time.monotonic() > deadline:
            break
    process.kill()
    raise AssertionError(f"stack did not come up; logs in {home / 'logs'}")


def stack_env(tmp_path: Path) -> tuple[Path, dict[str, str], dict[str, str]]:
    """A stack's folder, its free ports and the environment `up` runs with."""
    home = tmp_path / "local"
    ports = {f"STACK_{name.upper()}_PORT": str(free_port()) for name in SERVICE_NAMES}
    ports |= {
        k: str(free_port())
        for k in ("STACK_POSTGRES_PORT", "STACK_BROKER_PORT", "STACK_RELAY_PORT", "STACK_INBOUND_PORT")
    }
    return home, ports, {**os.environ, "STACK_HOME": str(home), **ports}


def stop_stack(process: subprocess.Popen[str]) -> None:
    process.send_signal(signal.SIGINT)  # what Ctrl-C on `make up` sends
    assert process.wait(timeout=60) == 0


def test_up_ready_stop_and_restart_keeps_data(tmp_path: Path) -> None:
    home, ports, env = stack_env(tmp_path)
    url = {name: f"http://127.0.0.1:{ports[f'STACK_{name.upper()}_PORT']}" for name in SERVICE_NAMES}

    process = start_stack(home, env)
    try:
        for name in SERVICE_NAMES:
            ready = httpx.get(f"{url[name]}/health/ready", timeout=10)
            assert ready.status_code == 200, (name, ready.text)
        secret = json.loads((home / "secrets.json").read_text())["jwt_secret"]
        token = mint_token(ServiceSettings(jwt_secret=secret), "dr", "RRV", ["clinician"])
        headers = {"Authorization": f"Bearer {token}"}
        prepare_cdf(url["cdf"], ServiceSettings(jwt_secret=secret))
        created = httpx.post(f"{url['cdf']}/api/v1/cdf/applications", json=APPLICATION, headers=headers, timeout=10)
        assert created.status_code == 201, created.text
    finally:
        stop_stack(process)
    for name in SERVICE_NAMES:
        try:
            httpx.get(f"{url[name]}/health/live", timeout=2)
            raise AssertionError(f"{name} still answers after Ctrl-C")
        except httpx.ConnectError:
            pass
    assert not (home / "run" / "stack.pid").exists()

    process = start_stack(home, env)  # same folder: the databases come back
    try:
        again = httpx.get(f"{url['cdf']}/api/v1/cdf/applications/{created.json()['id']}", headers=headers, timeout=10)
        assert again.status_code == 200 and again.json()["reference"] == created.json()["reference"]
    finally:
        stop_stack(process)


def test_up_restarts_a_part_that_dies_and_says_so(tmp_path: Path) -> None:
    home, ports, env = stack_env(tmp_path)
    cdf = f"http://127.0.0.1:{ports['STACK_CDF_PORT']}"
    process = start_stack(home, env)
    lines: queue.Queue[str] = queue.Queue()
    assert process.stdout is not None
    threading.Thread(target=lambda: [lines.put(line) for line in process.stdout], daemon=True).start()  # type: ignore[union-attr]
    try:
        run = home / "run"
        for part in ("cdf", "broker"):
            os.kill(int((run / f"{part}.pid").read_text()), signal.SIGKILL)
        said = _lines_until(lines, ("cdf exited (signal 9): started again", "the broker exited (signal 9)"), 60)
        assert all(line.startswith("restarted: ") for line in said), said
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{cdf}/health/ready", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        ready = httpx.get(f"{cdf}/health/ready", timeout=10).json()
        assert ready["checks"] == {"database": "ok", "broker": "ok"} or ready["degraded"] == ["broker"], ready
    finally:
        stop_stack(process)
    assert not (home / "run" / "stack.pid").exists()


def _lines_until(lines: queue.Queue[str], wanted: tuple[str, ...], within_s: float) -> list[str]:
    """The lines `up` printed until each of `wanted` has appeared in one."""
    said: list[str] = []
    deadline = time.monotonic() + within_s
    while not all(any(w in line for line in said) for w in wanted):
        try:
            said.append(lines.get(timeout=max(0.1, deadline - time.monotonic())))
        except queue.Empty:
            raise AssertionError(f"`up` did not say {wanted}; it said {said}") from None
    return [line for line in said if any(w in line for w in wanted)]


def prepare_cdf(base: str, settings: ServiceSettings) -> None:
    """The national list and a confirmed clinician: what an approval needs."""

    def auth(org: str, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {mint_token(settings, f'{role}-user', org, [role])}"}

    with httpx.Client(base_url=f"{base}/api/v1/cdf", timeout=10) as client:
        loaded = client.post("/list/import", content=CDF_LIST_CSV, headers=auth("X24", "cdf_manager"))
        assert loaded.status_code == 200, loaded.text
        registered = client.post("/clinicians", json=CLINICIAN, headers=auth("RRV", "clinician"))
        assert registered.status_code == 201, registered.text
        lead = {**auth("RRV", "trust_cdf_lead"), "If-Match": registered.headers["ETag"]}
        confirmed = client.post(f"/clinicians/{registered.json()['id']}/confirm", headers=lead)
        assert confirmed.status_code == 200, confirmed.text
