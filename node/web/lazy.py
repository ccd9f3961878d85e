"""Handlers imported on first use.

A route (or inbox handler) is registered at start-up, but the module that does the work is
imported by the first request that needs it: an idle node does not carry the code of pages
nobody has opened yet (administration, export, search…), which is most of the idle-memory goal
(docs/ARCHITECTURE.md).

    router.add_get("/export.json", lazy("node.opendata.views", "node_export"), name="node_export")
"""
from __future__ import annotations

import importlib


def lazy(module: str, name: str):
    """An async callable that imports ``module`` on its first call and forwards to ``name``."""
    target = None

    async def call(*args, **kwargs):
        nonlocal target
        if target is None:
            target = getattr(importlib.import_module(module), name)
        return await target(*args, **kwargs)

    call.__name__ = call.__qualname__ = name
    call.__module__ = module
    return call
