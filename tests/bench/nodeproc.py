"""Start and stop `civicnode` in a subprocess (shared by the benchmarks and the browser tests).

The node always binds 127.0.0.1 on a port the OS picks (--port 0); we learn the address from the
line the command prints once it is listening, then check that /healthz answers. `civicnode demo`
runs three nodes (city, town, collective) and prints a block for each, the city first. Nothing here
sleeps to synchronise: every wait is on a line printed, a URL answering or a process exiting,
each bounded by a deadline.
"""
from __future__ import annotations

import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SERVE_RE = re.compile(r"is serving at (http://\S+)")
DEMO_RE = re.compile(r"^civicnode demo: (.*) at (http://\S+?)/?\s*$")
LOGIN_RE = re.compile(r"^\s+(\S.*?)\s+(\S+)\s+password: (\S+)\s*$")
DEMO_END = "Stop with Ctrl-C"


def civicnode_command() -> list[str]:
    """The `civicnode` console script of this interpreter's environment (else `python -m node`)."""
    script = Path(sys.executable).parent / "civicnode"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "node"]


class NodeFailed(RuntimeError):
    """The node did not start (the message carries what it printed)."""


@dataclass
class DemoSite:
    """One node of `civicnode demo`, as printed: its name, address and logins."""

    name: str
    url: str
    logins: list[tuple[str, str, str]] = field(default_factory=list)


@dataclass
class NodeProcess:
    """A running `civicnode serve` or `civicnode demo` subprocess."""

    process: subprocess.Popen
    url: str = ""
    # (role, username, password) as printed by `civicnode demo` for its first node, the city.
    logins: list[tuple[str, str, str]] = field(default_factory=list)
    # Every node `civicnode demo` printed, the city first (url and logins above are its).
    sites: list[DemoSite] = field(default_factory=list)
    output: list[str] = field(default_factory=list)
    _lines: "queue.Queue[str | None]" = field(default_factory=queue.Queue)

    @property
    def pid(self) -> int:
        return self.process.pid

    def _pump(self) -> None:
        # Always drain the pipe so the node never blocks on a full stdout.
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.output.append(line.rstrip("\n"))
            self._lines.put(line.rstrip("\n"))
        self._lines.put(None)

    def next_line(self, deadline: float) -> str:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise NodeFailed(self._failure("timed out waiting for the node to start"))
        try:
            line = self._lines.get(timeout=remaining)
        except queue.Empty:
            raise NodeFailed(self._failure("timed out waiting for the node to start")) from None
        if line is None:
            self.process.wait()
            raise NodeFailed(self._failure(f"the node exited with status {self.process.returncode}"))
        return line

    def _failure(self, what: str) -> str:
        tail = "\n".join(self.output[-40:])
        return f"{what}; it printed:\n{tail}"

    def wait_healthy(self, deadline: float, url: str | None = None) -> None:
        """Wait until GET /healthz answers 200 (the node is listening and its database works)."""
        url = url or self.url
        last = None
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise NodeFailed(self._failure(f"the node exited with status {self.process.returncode}"))
            try:
                with urllib.request.urlopen(url + "/healthz", timeout=2) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, OSError) as exc:
                last = exc
            # Poll again right away: a refused connection returns at once, an answer ends the wait.
            time.sleep(0.05)
        raise NodeFailed(self._failure(f"{url}/healthz did not answer in time ({last})"))

    def stop(self, timeout: float = 15) -> int:
        """SIGTERM (the node shuts down cleanly), then SIGKILL if it does not exit in time."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()
        return self.process.returncode


def _spawn(args: list[str], env: dict | None) -> NodeProcess:
    environ = dict(os.environ)
    environ["PYTHONUNBUFFERED"] = "1"
    # Settings come from the data dir only, not from whatever the caller's shell exports.
    for key in list(environ):
        if key.startswith("CIVICNODE_"):
            del environ[key]
    environ.update(env or {})
    process = subprocess.Popen(
        civicnode_command() + args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL, text=True, cwd=REPO, env=environ,
    )
    node = NodeProcess(process)
    threading.Thread(target=node._pump, name=f"civicnode-{process.pid}-output", daemon=True).start()
    return node


def start_demo(data: Path, *, timeout: float = 120, env: dict | None = None, port: int = 0) -> NodeProcess:
    """`civicnode demo --data DATA --port 0`: seeds its three nodes on first run, then serves them.
    Returns once every node is healthy; `url` and `logins` are the city's, `sites` all three."""
    node = _spawn(["demo", "--data", str(data), "--host", "127.0.0.1", "--port", str(port)], env)
    deadline = time.monotonic() + timeout
    try:
        while True:
            line = node.next_line(deadline)
            match = DEMO_RE.match(line)
            if match:
                node.sites.append(DemoSite(match.group(1), match.group(2).rstrip("/")))
                continue
            login = LOGIN_RE.match(line)
            if node.sites and login:
                node.sites[-1].logins.append((login.group(1), login.group(2), login.group(3)))
                continue
            if node.sites and line.startswith(DEMO_END):
                break
        node.url, node.logins = node.sites[0].url, node.sites[0].logins
        for site in node.sites:
            node.wait_healthy(deadline, site.url)
    except BaseException:
        node.stop()
        raise
    return node


def start_serve(data: Path, *, timeout: float = 60, env: dict | None = None) -> NodeProcess:
    """`civicnode serve --data DATA --port 0`. Returns once healthy."""
    node = _spawn(["serve", "--data", str(data), "--host", "127.0.0.1", "--port", "0"], env)
    deadline = time.monotonic() + timeout
    try:
        while True:
            match = SERVE_RE.search(node.next_line(deadline))
            if match:
                node.url = match.group(1).rstrip("/")
                break
        node.wait_healthy(deadline)
    except BaseException:
        node.stop()
        raise
    return node


def seed_demo_data(data: Path, timeout: float = 120) -> None:
    """Make DATA (not existing yet) a one-node data dir holding the demo's city, seeded the way
    `civicnode demo` does: run it once in a scratch directory, stop it, keep its city/. Seeded with
    --port 0, the city keeps no address, so `civicnode serve --data DATA` serves it on any port."""
    scratch = data.with_name(data.name + ".demo")
    node = start_demo(scratch, timeout=timeout)
    code = node.stop()
    if code not in (0, -signal.SIGTERM):
        raise NodeFailed(node._failure(f"civicnode demo exited with status {code} when stopped"))
    (scratch / "city").rename(data)
    shutil.rmtree(scratch)


def space_paths(home_html: str) -> list[str]:
    """Links to spaces on a page (the home page lists the published ones)."""
    seen = []
    for path in re.findall(r'href="(/spaces/[^"/?#]+)"', home_html):
        if path not in seen:
            seen.append(path)
    return seen


def demo_space_paths(base_url: str) -> list[str]:
    """Space pages of a running node, participatory processes first (the demo's main space)."""
    status, body = get(base_url + "/spaces?kind=process")
    processes = space_paths(body.decode()) if status == 200 else []
    status, body = get(base_url + "/")
    if status != 200:
        raise NodeFailed(f"the home page answered {status}")
    return processes + [path for path in space_paths(body.decode()) if path not in processes]


def get(url: str, timeout: float = 10) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()
