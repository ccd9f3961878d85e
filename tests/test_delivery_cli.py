"""`civicnode worker`: delivery in a separate process (for `delivery_in_process = false`)."""
from __future__ import annotations

import asyncio
import os
import signal
import sys

import pytest

from node.activitypub.outbox import enqueue
from node.cli import main
from node.config import load_settings
from node.db import make_engine, make_sessionmaker
from node.keystore import ensure_keys
from tests.delivery_support import KEY_ID, Receiver, note_activity


def test_worker_help(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["worker", "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert "usage: civicnode worker" in out and "--data" in out and "--concurrency" in out


async def test_worker_process_delivers_and_stops_on_sigterm(tmp_path):
    data = tmp_path / "node"
    assert await asyncio.to_thread(main, ["init", "--data", str(data)]) == 0
    settings = load_settings(data)
    engine = make_engine(settings.database_url)
    sessionmaker = make_sessionmaker(engine)
    async with sessionmaker.begin() as db:
        public_pem = (await ensure_keys(db, "user", 1)).rsa_public_pem
    receiver = await Receiver({KEY_ID: public_pem}).start()
    env = dict(os.environ, CIVICNODE_ALLOW_PRIVATE_ADDRESSES="true", CIVICNODE_DELIVERY_IN_PROCESS="false")
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "node", "worker", "--data", str(data), env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    try:
        async with asyncio.timeout(20):
            line = (await process.stdout.readline()).decode()
        assert "delivering for" in line, line
        async with sessionmaker.begin() as db:
            await enqueue(db, actor_type="user", actor_id=1, activity=note_activity(1), inboxes=[receiver.inbox()])
        # Another process: it finds the row at its next poll (2 s).
        await receiver.wait_for(lambda: receiver.acked, timeout=15)
        assert receiver.acked[0].verified
        process.send_signal(signal.SIGTERM)
        async with asyncio.timeout(15):
            assert await process.wait() == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        await receiver.stop()
        await engine.dispose()
