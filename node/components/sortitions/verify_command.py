"""`civicnode sortition verify URL-OF-DRAW`: fetch a draw's public JSON, re-run the draw from
its published inputs (node.components.sortitions.draw) and say whether the result matches."""
from __future__ import annotations

import json

from node import __version__


async def run_verify(url: str, *, allow_private: bool = False, as_json: bool = False) -> int:
    """Exit 0 when the published seed and result follow from the published value (or the
    nodes' reveals, each checked against its commitment) and candidates; 1 when they do not (each problem on its own line); 2 when there is nothing to
    check (unreadable, not a draw, not drawn yet)."""
    from federation.fetch import FetchError, SafeFetcher
    from node.components.sortitions.draw import check_document

    name = "civicnode sortition verify"
    if not url.startswith(("https://", "http://")):
        print(f"{name}: {url} is not the address of a draw (https://node.example/spaces/SLUG/c/ID/draws/ID)")
        return 2
    agent = f"civicnode/{__version__} sortition-verify"
    async with SafeFetcher(allow_private=allow_private, user_agent=agent) as fetcher:
        try:
            document = await fetcher.get_json(url, accept="application/json")
        except FetchError as exc:
            print(f"{name}: cannot read {url}: {exc}")
            return 2
    if document.get("type") != "SortitionDraw":
        print(f"{name}: {url} is not a draw (its JSON has no \"type\": \"SortitionDraw\")")
        return 2
    if document.get("status") != "drawn":
        print(f"{name}: {document.get('id', url)} has not been drawn yet (status {document.get('status')!r}); "
              f"run this again once its result is published")
        return 2
    problems, expected = check_document(document)
    fetched = url.split("?", 1)[0].split("#", 1)[0].removesuffix(".json")
    if document.get("id") != fetched:
        problems.append(f"the document's id is {document.get('id')}, but it was read from {url}")
    if as_json:
        print(json.dumps({"draw": document.get("id"), "ok": not problems, "problems": problems,
                          "expected": expected, "published": document.get("result")}, indent=2, sort_keys=True))
    else:
        candidates = document.get("candidates") or []
        if isinstance(document.get("participants"), list):
            source = (f"reveals of {len(document['participants'])} nodes"
                      + (f" ({len(document.get('missing') or [])} missing)" if document.get("missing") else ""))
        else:
            source = f"value {document.get('seed_value')!r}"
        print(f"{document.get('id')}: {len(candidates)} candidates, {document.get('count')} to draw, "
              f"{source}, seed {document.get('seed')}")
        for problem in problems:
            print(f"MISMATCH {problem}")
        print("OK: the published result is the one its published inputs give" if not problems else
              f"{len(problems)} problem(s)")
    return 0 if not problems else 1
