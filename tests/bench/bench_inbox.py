"""Inbox throughput: signed Create activities verified and stored per second by `civicnode serve`,
next to the rate of bare `verify_request` calls on the same signed requests in the same run.

A fresh node (SQLite, private addresses allowed: every peer is on 127.0.0.1) runs in its own
process. This process serves a few remote actors (real RSA keys) and is the client: it pre-signs
N Create activities with distinct ids, warms the node's actor cache with one activity per actor,
then POSTs the N from CONCURRENCY keep-alive connections. Stored rows are counted in the node's
database afterwards. The bare rate is `verify_request` (draft-cavage, cached public key) over the
same N requests, one after another. Goal: stored/s >= 0.5 x bare verifications/s.
Also reported, since a shared machine makes rates noisy: the node's CPU time per activity
(all its threads, from /proc), next to the CPU time of one bare verification.

    CIVICNODE_BENCH_ACTIVITIES=N (default 2000), CIVICNODE_BENCH_ACTORS=A (default 4),
    CIVICNODE_BENCH_CONCURRENCY=C (default 16)
"""
from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import aiohttp
from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from federation.actors import build_actor  # noqa: E402
from federation.keys import NodeKeys  # noqa: E402
from federation.signatures import sign_request, verify_request  # noqa: E402
from tests.bench.nodeproc import civicnode_command, start_serve  # noqa: E402

ACTIVITIES = int(os.environ.get("CIVICNODE_BENCH_ACTIVITIES", "2000"))
ACTORS = int(os.environ.get("CIVICNODE_BENCH_ACTORS", "4"))
CONCURRENCY = int(os.environ.get("CIVICNODE_BENCH_CONCURRENCY", "16"))
GOAL_RATIO = 0.5


async def serve_actors(keys: list[NodeKeys]) -> tuple[web.AppRunner, str]:
    async def actor(request: web.Request) -> web.Response:
        index, base = int(request.match_info["n"]), f"http://{request.host}"
        actor_id = f"{base}/users/a{index}"
        doc = build_actor("Person", id=actor_id, preferred_username=f"a{index}", name=f"A{index}", summary=None,
                          inbox=actor_id + "/inbox", outbox=actor_id + "/outbox", followers=actor_id + "/followers",
                          shared_inbox=base + "/inbox", url=actor_id, rsa_public_pem=keys[index].rsa_public_pem,
                          ed25519_multibase=keys[index].ed25519_public_multibase)
        return web.json_response(doc, content_type="application/activity+json")

    app = web.Application()
    app.router.add_get(r"/users/a{n:\d+}", actor)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    return runner, f"http://{host}:{port}"


def signed_creates(remote: str, inbox: str, keys: list[NodeKeys], count: int) -> list[tuple[dict, bytes]]:
    out = []
    for i in range(count):
        n = i % len(keys)
        actor_id = f"{remote}/users/a{n}"
        activity = {
            "@context": "https://www.w3.org/ns/activitystreams", "id": f"{remote}/activities/{uuid.uuid4()}",
            "type": "Create", "actor": actor_id, "to": ["https://www.w3.org/ns/activitystreams#Public"],
            "object": {"id": f"{remote}/notes/{uuid.uuid4()}", "type": "Note", "attributedTo": actor_id,
                       "content": f"<p>Comment number {i} on the 2027 budget.</p>"},
        }
        body = json.dumps(activity).encode()
        headers = sign_request("POST", inbox, {"Content-Type": "application/activity+json"}, body,
                               actor_id + "#main-key", keys[n].rsa_private_pem)
        out.append((headers, body))
    return out


async def post_all(inbox: str, requests: list[tuple[dict, bytes]]) -> tuple[float, dict[str, int]]:
    codes: dict[str, int] = {}
    queue = list(reversed(requests))
    connector = aiohttp.TCPConnector(limit=CONCURRENCY)
    async with aiohttp.ClientSession(connector=connector) as session:
        async def worker():
            while queue:
                headers, body = queue.pop()
                async with session.post(inbox, data=body, headers=headers) as response:
                    code = f"{response.status} {(await response.json(content_type=None)).get('code')}"
                    codes[code] = codes.get(code, 0) + 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
        return time.perf_counter() - started, codes


def bare_verify_rate(requests: list[tuple[dict, bytes]], keys: list[NodeKeys], remote: str) -> float:
    pems = {f"{remote}/users/a{n}#main-key": k.rsa_public_pem for n, k in enumerate(keys)}
    started = time.perf_counter()
    for headers, body in requests:
        verify_request("POST", "/inbox", headers, body, pems.get)
    return len(requests) / (time.perf_counter() - started)


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process so far (Linux /proc), or None elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def run(data: Path) -> dict:
    keys = [NodeKeys.generate() for _ in range(ACTORS)]
    runner, remote = await serve_actors(keys)
    node = await asyncio.to_thread(start_serve, data, env={"CIVICNODE_ALLOW_PRIVATE_ADDRESSES": "true"})
    try:
        inbox = node.url + "/inbox"
        warmup = await asyncio.to_thread(signed_creates, remote, inbox, keys, ACTORS)
        _, warm_codes = await post_all(inbox, warmup)
        if set(warm_codes) - {"202 accepted", "202 ignored"}:
            raise RuntimeError(f"warm-up activities were refused: {warm_codes}")
        requests = await asyncio.to_thread(signed_creates, remote, inbox, keys, ACTIVITIES)
        cpu_before = cpu_seconds(node.pid)
        elapsed, codes = await post_all(inbox, requests)
        cpu_after = cpu_seconds(node.pid)
        bare = bare_verify_rate(requests, keys, remote)
        if set(codes) - {"202 accepted", "202 ignored"}:  # say why on stderr; the figure stands
            errors = [line for line in node.output if "ERROR" in line or "Error" in line]
            print("\n".join(errors[-30:]), file=sys.stderr)
    finally:
        await asyncio.to_thread(node.stop)
        await runner.cleanup()
    with sqlite3.connect(data / "civicnode.db") as db:
        rows = db.execute("SELECT count(*) FROM inbox_activities").fetchone()[0] - len(warmup)
    stored = rows / elapsed
    node_cpu = {} if cpu_before is None else {
        "node_cpu_ms_per_activity": round((cpu_after - cpu_before) * 1000 / ACTIVITIES, 3),
        "bare_verify_ms": round(1000 / bare, 3)}
    return {"benchmark": "inbox_throughput", "stored_per_s": round(stored, 1), "bare_verify_per_s": round(bare, 1),
            "ratio": round(stored / bare, 3), "goal_ratio": GOAL_RATIO, "ok": stored / bare >= GOAL_RATIO,
            "activities": ACTIVITIES, "stored": rows, "answers": codes, "actors": ACTORS,
            "concurrency": CONCURRENCY, "seconds": round(elapsed, 2), **node_cpu,
            "command": "civicnode serve (sqlite, one process)"}


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="civicnode-bench-") as tmp:
        data = Path(tmp) / "data"
        done = subprocess.run(civicnode_command() + ["init", "--data", str(data)], capture_output=True,
                              text=True, stdin=subprocess.DEVNULL)
        if done.returncode:
            raise RuntimeError(f"civicnode init failed:\n{done.stdout}{done.stderr}")
        print(json.dumps(asyncio.run(run(data))), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
