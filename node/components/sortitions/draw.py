"""The draw of proposals, "civicnode-draw-1", as docs/SORTITION.md specifies it: no database, no
node, so that `civicnode sortition verify` runs exactly the code the node ran.

    seed_value = "7 19 23 38 41"                  # the third party's published value, as typed
    normalised = normalise_seed_value(seed_value)  # "7 19 23 38 41"
    seed = seed_of(normalised)                     # SHA-256 hex of its UTF-8 bytes
    chosen = select(candidate_ids, seed, 3)        # ids, in the order they were drawn
"""
from __future__ import annotations

import hashlib
import unicodedata

from node.components.sortitions.prng import SeededStream, choose_members

SPEC = "civicnode-draw-1"
# The same selection, seeded by a commit-reveal among federated nodes (docs/SORTITION.md §6).
SPEC_COMMIT_REVEAL = "civicnode-draw-2"
STREAM = "proposal-draw"
MAX_SEED_VALUE = 500


def _is_word_character(char: str) -> bool:
    return unicodedata.category(char)[0] in "LN"


def normalise_seed_value(text: str) -> str:
    """The value with its formatting removed: NFKC, lower case, the runs of letters and digits
    joined by one space, leading zeros of all-digit runs dropped. "07-19-23" and " 7 19 23 " are
    the same value, so whoever types it has no formatting choice that changes the draw."""
    text = unicodedata.normalize("NFKC", str(text)).lower()
    tokens, current = [], []
    for char in text + " ":
        if _is_word_character(char):
            current.append(char)
        elif current:
            tokens.append("".join(current))
            current = []
    return " ".join(token.lstrip("0") or "0" if token.isascii() and token.isdigit() else token
                    for token in tokens)


def seed_of(normalised: str) -> str:
    return hashlib.sha256(normalised.encode("utf-8")).hexdigest()


def canonical_order(candidate_ids) -> list[str]:
    """Ids sorted by Unicode code points (byte order for the ASCII URIs the node publishes)."""
    return sorted(candidate_ids)


def select(candidate_ids, seed: str, count: int) -> list[str]:
    """`count` ids (all of them when there are fewer), in the order drawn: the first `count`
    steps of a Fisher–Yates shuffle of the canonical order, on the stream `proposal-draw`."""
    ordered = canonical_order(candidate_ids)
    return choose_members(SeededStream(seed, STREAM), ordered, min(count, len(ordered)))


def is_secret(text) -> bool:
    """32 bytes written as 64 lower-case hexadecimal digits: the only form a secret or a hash
    takes, so that a participant has no formatting choice either."""
    return isinstance(text, str) and len(text) == 64 and all(c in "0123456789abcdef" for c in text)


def commitment_of(draw_id: str, secret: str) -> str:
    return hashlib.sha256(f"civicnode-draw-commit:{draw_id}:{secret}".encode("utf-8")).hexdigest()


def seed_input(reveals: dict[str, str | None]) -> str:
    """The text hashed into the seed: one line per participating node in code-point order of its
    actor URI, its revealed secret or "-" when it revealed none."""
    return "civicnode-draw-2\n" + "".join(f"{node} {reveals[node] or '-'}\n" for node in sorted(reveals))


def check_document(document: dict) -> tuple[list[str], list[str] | None]:
    """Re-run a published draw: (problems found, the result the inputs give). No problem means
    the published seed and result follow from the published value and candidates."""
    problems: list[str] = []
    if document.get("spec") == SPEC_COMMIT_REVEAL:
        return _check_commit_reveal(document)
    if document.get("spec") != SPEC:
        return [f"the draw follows {document.get('spec')!r}, not {SPEC!r}: this version cannot check it"], None
    candidates = document.get("candidates")
    value, result, count = document.get("seed_value"), document.get("result"), document.get("count")
    if not isinstance(candidates, list) or not all(isinstance(c, dict) and isinstance(c.get("id"), str)
                                                   for c in candidates):
        return ["the document has no list of candidates with their ids"], None
    if not isinstance(value, str) or not isinstance(result, list) or not isinstance(count, int) or count < 1:
        return ["the document lacks the typed seed value, the count or the result"], None
    ids = [c["id"] for c in candidates]
    if len(set(ids)) != len(ids):
        problems.append("a candidate is listed twice")
    if ids != canonical_order(ids):
        problems.append("the candidates are not published in canonical order")
    normalised = normalise_seed_value(value)
    if not normalised:
        return problems + [f"the seed value {value!r} has no letter or digit"], None
    if document.get("seed_normalised") != normalised:
        problems.append(f"the seed value {value!r} normalises to {normalised!r}, "
                        f"the node published {document.get('seed_normalised')!r}")
    seed = seed_of(normalised)
    if document.get("seed") != seed:
        problems.append(f"the seed is SHA-256({normalised!r}) = {seed}, the node published {document.get('seed')}")
    expected = select(ids, seed, count)
    if result != expected:
        problems.append("the published result differs from the draw's: published "
                        + ", ".join(map(str, result)) + "; re-run " + ", ".join(expected))
    problems.extend(_timing_problems(document))
    return problems, expected


def _candidates_problems(document: dict) -> tuple[list[str], list[str] | None]:
    candidates = document.get("candidates")
    if not isinstance(candidates, list) or not all(isinstance(c, dict) and isinstance(c.get("id"), str)
                                                   for c in candidates):
        return ["the document has no list of candidates with their ids"], None
    ids = [c["id"] for c in candidates]
    problems = []
    if len(set(ids)) != len(ids):
        problems.append("a candidate is listed twice")
    if ids != canonical_order(ids):
        problems.append("the candidates are not published in canonical order")
    return problems, ids


def _check_commit_reveal(document: dict) -> tuple[list[str], list[str] | None]:
    problems, ids = _candidates_problems(document)
    if ids is None:
        return problems, None
    draw_id, participants = document.get("id"), document.get("participants")
    result, count = document.get("result"), document.get("count")
    if not isinstance(participants, list) or not all(isinstance(p, dict) and isinstance(p.get("node"), str)
                                                     for p in participants):
        return problems + ["the document has no list of participating nodes"], None
    if not isinstance(result, list) or not isinstance(count, int) or count < 1:
        return problems + ["the document lacks the count or the result"], None
    commit_deadline, reveal_deadline = document.get("commit_deadline"), document.get("reveal_deadline")
    draw_at = document.get("draw_at")
    reveals: dict[str, str | None] = {}
    for p in participants:
        node, commitment, reveal = p["node"], p.get("commitment"), p.get("reveal")
        if node in reveals:
            problems.append(f"the node {node} is listed twice")
        reveals[node] = None
        committed_at, revealed_at = p.get("committed_at"), p.get("revealed_at")
        if isinstance(committed_at, str) and isinstance(commit_deadline, str) and not committed_at < commit_deadline:
            problems.append(f"{node} committed at {committed_at}, not before the deadline {commit_deadline}")
        if reveal is None:
            continue
        if commitment is None:
            problems.append(f"{node} revealed a secret without having committed to one")
        elif not is_secret(reveal) or commitment_of(draw_id, reveal) != commitment:
            problems.append(f"the reveal of {node} does not match its commitment: "
                            f"SHA-256 of {reveal!r} for {draw_id} is not {commitment}")
        else:
            reveals[node] = reveal
        if isinstance(revealed_at, str) and isinstance(draw_at, str) and not draw_at <= revealed_at:
            problems.append(f"{node} revealed at {revealed_at}, before the draw time {draw_at}")
        if (isinstance(revealed_at, str) and isinstance(reveal_deadline, str)
                and not revealed_at < reveal_deadline):
            problems.append(f"{node} revealed at {revealed_at}, after the deadline {reveal_deadline}")
    text = seed_input(reveals)
    seed = hashlib.sha256(text.encode("utf-8")).hexdigest()
    if document.get("seed_input") != text:
        problems.append("the published seed input is not the one the participants' reveals give")
    if document.get("seed") != seed:
        problems.append(f"the seed is SHA-256 of the participants' reveals = {seed}, "
                        f"the node published {document.get('seed')}")
    missing = sorted(node for node, reveal in reveals.items() if reveal is None)
    if sorted(document.get("missing") or []) != missing:
        problems.append("the nodes named as missing are not those without a valid reveal: " + ", ".join(missing))
    expected = select(ids, seed, count)
    if result != expected:
        problems.append("the published result differs from the draw's: published "
                        + ", ".join(map(str, result)) + "; re-run " + ", ".join(expected))
    if not (isinstance(document.get("announced_at"), str) and isinstance(commit_deadline, str)
            and document["announced_at"] < commit_deadline):
        problems.append("the draw was not announced before its commit deadline")
    return problems, expected


def _timing_problems(document: dict) -> list[str]:
    # ISO 8601 UTC strings of one format compare as text in time order.
    announced, draw_at = document.get("announced_at"), document.get("draw_at")
    frozen, entered = document.get("candidates_frozen_at"), document.get("seed_entered_at")
    if not all(isinstance(v, str) for v in (announced, draw_at, frozen, entered)):
        return ["the document lacks the times of announcement, draw, freezing or seed entry"]
    problems = []
    if not announced < draw_at:
        problems.append(f"announced at {announced}, not before the draw time {draw_at}")
    if not draw_at <= frozen:
        problems.append(f"candidates frozen at {frozen}, before the draw time {draw_at}")
    if not draw_at <= entered:
        problems.append(f"seed entered at {entered}, before the draw time {draw_at}")
    return problems
