"""`civicnode export`: the open data of a space (or of the whole node) to a file or stdout."""
from __future__ import annotations

import os
import sys
from pathlib import Path

from node.cli import CLIError
from node.config import Settings
from node.db import make_engine, make_sessionmaker
from node.db.schema import schema_status
from node.opendata.formats import write_csv_zip, write_json
from node.opendata.sources import load_scope

WRITERS = {"json": write_json, "csv": write_csv_zip}


def _file_sink(stream, name: str):
    async def sink(data: bytes) -> None:
        try:
            stream.write(data)
        except OSError as exc:  # disk full, closed pipe…: one line, not a traceback
            raise CLIError(f"cannot write {name}: {exc.strerror or exc}") from None
    return sink


async def run_export(settings: Settings, *, space: str | None, fmt: str, output: str | None) -> int:
    if output is None and fmt == "csv" and sys.stdout.isatty():
        raise CLIError("a zip archive is not written to a terminal; give --output FILE or redirect stdout")
    target = Path(output) if output else None
    if target is not None and not target.parent.is_dir():
        raise CLIError(f"cannot write {target}: the directory {target.parent} does not exist")
    engine = make_engine(settings.database_url)
    try:
        problem = (await schema_status(engine)).problem()
        if problem:
            raise CLIError(problem)
        sessionmaker = make_sessionmaker(engine)
        scope = await load_scope(sessionmaker, settings.base_url, space)
        if scope is None:
            raise CLIError(f"no published space has the address {space!r} (unpublished spaces are not exported)")
        write = WRITERS[fmt]
        if target is None:
            await write(sessionmaker, scope, _file_sink(sys.stdout.buffer, "standard output"))
            sys.stdout.buffer.flush()
            return 0
        # Written beside the target and renamed when complete: a failed export leaves no
        # half-written file, and an earlier export at that path stays intact until then.
        partial = target.with_name(f".{target.name}.partial")
        try:
            stream = open(partial, "wb")
        except OSError as exc:
            raise CLIError(f"cannot write {target}: {exc.strerror or exc}") from None
        try:
            with stream:
                counts = await write(sessionmaker, scope, _file_sink(stream, str(target)))
            os.replace(partial, target)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
    finally:
        await engine.dispose()
    summary = ", ".join(f"{name.replace('_', ' ')}: {count}" for name, count in counts.items())
    print(f"Exported {space or 'every published space'} to {target}: {summary}.")
    return 0
