"""`arena dashboard` as a user starts it: it stays on this machine unless told otherwise,
and a SIGTERM to the command leaves no server behind."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from dashboards.launch import is_loopback, url
from tests.servers import free_port, wait_until_serving

LISTEN = "0A"  # the TCP state LISTEN in /proc/net/tcp


def listening(port: int) -> set[str]:
    """Addresses with a socket listening on `port` (IPv4 dotted, or 'ipv6')."""
    found = set()
    for table in ("tcp", "tcp6"):
        for line in Path(f"/proc/net/{table}").read_text().splitlines()[1:]:
            fields = line.split()
            address, _, hex_port = fields[1].partition(":")
            if fields[3] != LISTEN or int(hex_port, 16) != port:
                continue
            if table == "tcp6":
                found.add("ipv6")
            else:  # little-endian hex
                found.add(socket.inet_ntoa(bytes.fromhex(address)[::-1]))
    return found


def non_loopback_address() -> str | None:
    """An IPv4 address of this machine that other hosts may reach (None when it has none)."""
    if shutil.which("ip") is None:
        return None
    shown = subprocess.run(
        ["ip", "-4", "-o", "addr", "show", "scope", "global"], capture_output=True, text=True
    ).stdout.split()
    return next((shown[i + 1].split("/")[0] for i, w in enumerate(shown) if w == "inet"), None)


def descendants(pid: int) -> set[int]:
    """Processes whose parent chain leads to `pid`."""
    parents = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # exited meanwhile
            continue
        parents[int(stat.parent.name)] = int(fields[1])
    found, frontier = set(), {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier}
        found |= frontier
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def refused(host: str, port: int) -> bool:
    try:
        socket.create_connection((host, port), timeout=10).close()
    except ConnectionRefusedError:
        return True
    return False


class Dashboard:
    """`python -m arena dashboard` in a subprocess, its output in a file."""

    def __init__(self, tmp_path: Path, *options: str):
        runs = tmp_path / "runs"
        runs.mkdir(exist_ok=True)
        self.port = free_port()
        self.log = tmp_path / "dashboard.log"
        with open(self.log, "w") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "arena", "dashboard", str(runs), "--port", str(self.port)]
                + list(options),
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        self.pids = {self.process.pid}

    def output(self) -> str:
        return self.log.read_text()

    def stop(self) -> None:
        """SIGTERM the command, as `kill` does, and wait for it to exit."""
        self.pids |= descendants(self.process.pid)
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=60)

    def cleanup(self) -> None:
        self.pids |= descendants(self.process.pid)
        for pid in self.pids:  # only what this test started, should a check have failed
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
        self.process.wait(timeout=60)


@pytest.fixture
def start(tmp_path):
    started = []

    def start(*options: str) -> Dashboard:
        started.append(Dashboard(tmp_path, *options))
        return started[-1]

    yield start
    for dashboard in started:
        dashboard.cleanup()


def test_dashboard_listens_on_loopback_only_and_stops_with_its_command(start):
    dashboard = start()
    wait_until_serving(f"http://127.0.0.1:{dashboard.port}", dashboard.process)
    assert f"on http://127.0.0.1:{dashboard.port} " in dashboard.output()
    assert "no authentication" not in dashboard.output()
    assert listening(dashboard.port) == {"127.0.0.1"}
    address = non_loopback_address()
    if address is not None:
        assert refused(address, dashboard.port)
    dashboard.stop()
    assert listening(dashboard.port) == set()
    assert not [pid for pid in dashboard.pids if alive(pid)]


def test_dashboard_host_option_binds_that_address_with_a_warning(start):
    address = non_loopback_address()
    if address is None:
        pytest.skip("this machine has no address but loopback")
    dashboard = start("--host", address)
    wait_until_serving(f"http://{address}:{dashboard.port}", dashboard.process)
    output = dashboard.output()
    assert "warning: the dashboard has no authentication" in output
    assert f"on http://{address}:{dashboard.port} " in output
    assert listening(dashboard.port) == {address}
    assert refused("127.0.0.1", dashboard.port)
    dashboard.stop()
    assert listening(dashboard.port) == set()


def test_loopback_addresses_and_urls():
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.0.2.7")
    assert not is_loopback("example.org")  # a name may resolve anywhere
    assert url("::", 8501) == "http://[::]:8501"
    assert url("127.0.0.1", 80) == "http://127.0.0.1:80"
