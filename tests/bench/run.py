"""Run every tests/bench/bench_*.py and print one JSON object per benchmark on stdout.

Each benchmark is its own process (so one cannot skew another's memory or event loop) and prints
its JSON object(s) on stdout; what it says on stderr passes through. A benchmark that crashes,
times out or prints no JSON gets an {"benchmark": ..., "error": ...} object and makes this
script exit non-zero. A goal that is missed ("ok": false) is a figure, not a crash.

    python tests/bench/run.py              # all of them
    python tests/bench/run.py space_page   # those whose file name contains "space_page"
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
TIMEOUT = float(os.environ.get("CIVICNODE_BENCH_TIMEOUT", "600"))


def run_one(path: Path) -> bool:
    name = path.stem.removeprefix("bench_")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])))
    try:
        done = subprocess.run([sys.executable, str(path)], cwd=REPO, env=env, stdout=subprocess.PIPE,
                              stdin=subprocess.DEVNULL, text=True, timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        print(json.dumps({"benchmark": name, "error": f"timed out after {TIMEOUT:.0f} s"}), flush=True)
        return False
    printed = 0
    for line in done.stdout.splitlines():
        line = line.strip()
        if not line:
            continue
        try:
            result = json.loads(line)
        except ValueError:
            print(f"{path.name}: {line}", file=sys.stderr)  # stray output: keep stdout pure JSON
            continue
        print(json.dumps(result), flush=True)
        printed += 1
    if done.returncode != 0 or printed == 0:
        why = f"exited with status {done.returncode}" if done.returncode else "printed no JSON"
        print(json.dumps({"benchmark": name, "error": why}), flush=True)
        return False
    return True


def main(argv: list[str]) -> int:
    benches = sorted(HERE.glob("bench_*.py"))
    if argv:
        benches = [b for b in benches if any(word in b.name for word in argv)]
    if not benches:
        print("no benchmark matches", argv, file=sys.stderr)
        return 2
    failed = [b.name for b in benches if not run_one(b)]
    if failed:
        print("benchmarks that crashed: " + ", ".join(failed), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
