"""Idle resident memory of `civicnode serve` on the demo data, after it has served its pages once.

Seeds a demo data dir (`civicnode demo`, stopped once it serves), then starts `civicnode serve`
on it (port 0), waits for /healthz, requests the home page and the demo space page once, waits
until the resident set size stops changing (polled, bounded) and reads VmRSS from /proc.
Goal: 80 MB or less.
"""
from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.bench.nodeproc import demo_space_paths, get, seed_demo_data, start_serve  # noqa: E402

GOAL_MB = 80
STABLE_FOR_S = 2.0   # unchanged (within STABLE_KB) for this long counts as idle
STABLE_KB = 64
MAX_WAIT_S = 20.0
POLL_S = 0.1


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for process {pid}")


def wait_idle(pid: int) -> tuple[int, float, bool]:
    """Poll RSS until it has stayed within STABLE_KB for STABLE_FOR_S; returns (kB, waited, settled)."""
    start = time.monotonic()
    reference = rss_kb(pid)
    since = start
    while True:
        now = time.monotonic()
        current = rss_kb(pid)
        if abs(current - reference) > STABLE_KB:
            reference, since = current, now
        elif now - since >= STABLE_FOR_S:
            return current, now - start, True
        if now - start >= MAX_WAIT_S:
            return current, now - start, False
        time.sleep(POLL_S)  # sampling interval of the measurement, not a synchronisation


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="civicnode-bench-") as tmp:
        data = Path(tmp) / "data"
        seed_demo_data(data)
        started = time.monotonic()
        node = start_serve(data)
        startup_s = time.monotonic() - started
        try:
            status, _ = get(node.url + "/")
            if status != 200:
                raise RuntimeError(f"home page answered {status}")
            spaces = demo_space_paths(node.url)
            if not spaces:
                raise RuntimeError("the demo home page links to no space")
            status, _ = get(node.url + spaces[0])
            if status != 200:
                raise RuntimeError(f"{spaces[0]} answered {status}")
            kb, waited, settled = wait_idle(node.pid)
        finally:
            node.stop()
    rss_mb = round(kb / 1024, 1)
    print(json.dumps({
        "benchmark": "idle_rss",
        "rss_mb": rss_mb,
        "goal_mb": GOAL_MB,
        "ok": rss_mb <= GOAL_MB,
        "settled": settled,
        "idle_wait_s": round(waited, 1),
        "startup_s": round(startup_s, 2),
        "command": "civicnode serve (demo data, sqlite)",
    }), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
