"""Seeds no single node controls: a commit-reveal among the host of a co-hosted space and its
active partner nodes (docs/SORTITION.md §6, activities in docs/FEDERATION.md "Draw seeds").

Host: announcing the draw commits the host's own secret and sends ``DrawSeedRequest`` to every
partner; each ``DrawSeedCommit`` received before the commit deadline is kept; at the draw time
the host reveals its own secret and sends ``DrawSeedRevealRequest``; each ``DrawSeedReveal``
that matches its commitment is kept; the draw is made once every committed node has revealed, or
at the reveal deadline with the reveals received (the others are named as missing).

Partner: on ``DrawSeedRequest`` from the host of an active partnership it draws a secret, keeps
it and sends ``DrawSeedCommit`` (no person involved); on ``DrawSeedRevealRequest`` (or the
periodic ``reveal_due`` step), once its own clock has passed the draw time, ``DrawSeedReveal``.

Every write is conditional (first commitment, first matching reveal, one draw), so activities
arriving twice or concurrently change nothing more.
"""
from __future__ import annotations

import hashlib
import logging
import re
import secrets
import uuid
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from federation.vocab import default_context, id_of, same_origin
from node.activitypub import uris
from node.activitypub.outbox import enqueue
from node.appkeys import DB, SETTINGS
from node.cohosting.models import Partnership, SpacePartner
from node.components.sortitions import draw as algorithm
from node.components.sortitions import draws as service
from node.components.sortitions import reveal_timer
from node.components.sortitions.models import Draw, DrawCommitment, DrawSecret
from node.spaces.models import Space

log = logging.getLogger("civicnode.sortitions")

METHOD = "commit-reveal"
DRAW_PATH = re.compile(r"^/spaces/([^/]+)/c/(\d{1,9})/draws/(\d{1,9})$")


def _activity(base_url: str, kind: str, **fields) -> dict:
    node = uris.node_actor(base_url)
    return {"@context": default_context(), "id": f"{node}/draw-seeds/{uuid.uuid4()}", "type": kind,
            "actor": node, **fields}


async def active_partners(db, space_id: int) -> list[SpacePartner]:
    return list((await db.scalars(select(SpacePartner).where(SpacePartner.space_id == space_id,
                                                             SpacePartner.state == "active")
                                  .order_by(SpacePartner.node_uri))).all())


# --- host side ------------------------------------------------------------------------------------


async def start(db, draw: Draw, space: Space, partners: list[SpacePartner], *, base_url: str) -> None:
    """In the announcement's transaction: the host's own secret and commitment, and a request
    to commit to every partner."""
    node = uris.node_actor(base_url)
    draw_id = service.draw_uri(base_url, space.slug, draw.component_id, draw.id)
    secret = secrets.token_hex(32)
    db.add(DrawSecret(draw_uri=draw_id, host_node_uri=node, host_inbox="", secret=secret, draw_at=draw.draw_at))
    db.add(DrawCommitment(draw_id=draw.id, node_uri=node, commitment=algorithm.commitment_of(draw_id, secret),
                          committed_at=draw.announced_at))
    summary = {"type": "SortitionDraw", "id": draw_id, "space": uris.space_actor(base_url, space.slug),
               "participants": draw.participants, "drawAt": service.iso(draw.draw_at),
               "commitDeadline": service.iso(draw.commit_deadline),
               "revealDeadline": service.iso(draw.reveal_deadline)}
    for partner in partners:
        activity = _activity(base_url, "DrawSeedRequest", object=summary, target=partner.node_uri,
                             to=[partner.node_uri])
        await enqueue(db, actor_type="node", actor_id=0, activity=activity, inboxes=[partner.inbox])


async def _local_draw(app, draw_id) -> tuple[Draw, str] | None:
    """The commit-reveal draw of this node at ``draw_id``, with its space's slug."""
    base_url = app[SETTINGS].base_url
    if not isinstance(draw_id, str) or not draw_id.startswith(base_url + "/"):
        return None
    match = DRAW_PATH.match(draw_id[len(base_url):])
    if match is None:
        return None
    slug, component_id, number = match.group(1), int(match.group(2)), int(match.group(3))
    async with app[DB]() as db:
        row = (await db.execute(select(Draw, Space.slug).join(Space, Space.id == Draw.space_id).where(
            Draw.id == number, Draw.component_id == component_id, Draw.seed_method == METHOD))).first()
    if row is None or row[1] != slug:
        return None
    return row[0], slug


async def on_commit(ctx, activity: dict, actor) -> None:
    found = await _local_draw(ctx.app, id_of(activity.get("object")))
    if found is None:
        return
    draw, _slug = found
    commitment = activity.get("commitment")
    if actor.id not in (draw.participants or []) or not algorithm.is_secret(commitment):
        log.info("commitment from %s for draw %s refused: not a participant, or not a SHA-256", actor.id, draw.id)
        return
    if service.now() >= draw.commit_deadline:
        log.info("commitment from %s for draw %s refused: after the commit deadline", actor.id, draw.id)
        return
    try:
        async with ctx.app[DB].begin() as db:
            db.add(DrawCommitment(draw_id=draw.id, node_uri=actor.id, commitment=commitment,
                                  committed_at=service.now()))
    except IntegrityError:  # a node commits once; the first commitment stays
        log.info("second commitment from %s for draw %s ignored", actor.id, draw.id)


async def accept_reveal(db, draw: Draw, node_uri: str, secret, draw_id: str) -> bool:
    """Keep ``secret`` as ``node_uri``'s reveal if it matches its commitment and comes between
    the draw time and the reveal deadline, before the draw was made. False when refused."""
    moment = service.now()
    if not algorithm.is_secret(secret) or not draw.draw_at <= moment < draw.reveal_deadline:
        return False
    changed = await db.execute(
        update(DrawCommitment).where(
            DrawCommitment.draw_id == draw.id, DrawCommitment.node_uri == node_uri,
            DrawCommitment.reveal.is_(None),
            DrawCommitment.commitment == algorithm.commitment_of(draw_id, secret),
            DrawCommitment.draw_id.in_(select(Draw.id).where(Draw.id == draw.id, Draw.drawn_at.is_(None))))
        .values(reveal=secret, revealed_at=moment).execution_options(synchronize_session=False))
    return changed.rowcount == 1


async def on_reveal(ctx, activity: dict, actor) -> None:
    draw_id = id_of(activity.get("object"))
    found = await _local_draw(ctx.app, draw_id)
    if found is None:
        return
    draw, slug = found
    async with ctx.app[DB].begin() as db:
        if not await accept_reveal(db, draw, actor.id, activity.get("secret"), draw_id):
            log.info("reveal from %s for draw %s refused: no matching commitment, outside the reveal window, "
                     "or the draw is already made", actor.id, draw.id)
            return
    async with ctx.app[DB].begin() as db:
        await finish_if_ready(db, await db.get(Draw, draw.id), base_url=ctx.app[SETTINGS].base_url, slug=slug)


async def at_draw_time(app, db, draw: Draw, *, slug: str) -> None:
    """Once the draw time has passed (page view, JSON fetch or ``reveal_due``): ask the partners
    to reveal (once), reveal the host's own secret, and make the draw if it is ready."""
    base_url = app[SETTINGS].base_url
    moment = service.now()
    if draw.seed_method != METHOD or draw.drawn_at is not None or moment < draw.draw_at:
        return
    first = await db.execute(update(Draw).where(Draw.id == draw.id, Draw.reveals_requested_at.is_(None))
                             .values(reveals_requested_at=moment).execution_options(synchronize_session=False))
    draw_id = service.draw_uri(base_url, slug, draw.component_id, draw.id)
    if first.rowcount == 1:
        node = uris.node_actor(base_url)
        inboxes = dict((await db.execute(select(SpacePartner.node_uri, SpacePartner.inbox).where(
            SpacePartner.space_id == draw.space_id))).all())
        for participant in draw.participants or []:
            if participant != node and participant in inboxes:
                activity = _activity(base_url, "DrawSeedRevealRequest", object=draw_id, to=[participant])
                await enqueue(db, actor_type="node", actor_id=0, activity=activity, inboxes=[inboxes[participant]])
    own = await db.scalar(select(DrawSecret).where(DrawSecret.draw_uri == draw_id, DrawSecret.revealed_at.is_(None)))
    if own is not None and await accept_reveal(db, draw, own.host_node_uri, own.secret, draw_id):
        await db.execute(update(DrawSecret).where(DrawSecret.id == own.id).values(revealed_at=moment))
    await finish_if_ready(db, draw, base_url=base_url, slug=slug)


async def finish_if_ready(db, draw: Draw, *, base_url: str, slug: str) -> None:
    """Make the draw once every node that committed has revealed, or at the reveal deadline with
    the reveals received."""
    moment = service.now()
    if draw.drawn_at is not None or moment < draw.draw_at:
        return
    rows = (await db.scalars(select(DrawCommitment).where(DrawCommitment.draw_id == draw.id))).all()
    if moment < draw.reveal_deadline and any(row.reveal is None for row in rows):
        return
    await service.freeze_if_due(db, draw, base_url=base_url, slug=slug)
    reveals = {node: None for node in draw.participants or []}
    reveals.update({row.node_uri: row.reveal for row in rows if row.node_uri in reveals})
    seed = hashlib.sha256(algorithm.seed_input(reveals).encode("utf-8")).hexdigest()
    result = algorithm.select([c["id"] for c in draw.candidates], seed, draw.count)
    await db.execute(update(Draw).where(Draw.id == draw.id, Draw.drawn_at.is_(None))
                     .values(seed=seed, seed_entered_at=moment, result=result, drawn_at=moment)
                     .execution_options(synchronize_session=False))
    await db.refresh(draw)


async def commitments_of(db, draw: Draw) -> list[DrawCommitment]:
    return list((await db.scalars(select(DrawCommitment).where(DrawCommitment.draw_id == draw.id)
                                  .order_by(DrawCommitment.node_uri))).all())


def document_fields(draw: Draw, rows: list[DrawCommitment]) -> dict:
    """What the public JSON adds for this method. Reveals are published only once the draw is
    made: before that a late node could read the others' and choose its own."""
    by_node = {row.node_uri: row for row in rows}
    drawn = draw.drawn_at is not None
    participants = []
    for node in sorted(draw.participants or []):
        row = by_node.get(node)
        participants.append({
            "node": node, "commitment": row.commitment if row else None,
            "committed_at": service.iso(row.committed_at) if row else None,
            "reveal": row.reveal if row and drawn else None,
            "revealed_at": service.iso(row.revealed_at) if row and drawn else None})
    reveals = {p["node"]: p["reveal"] for p in participants}
    return {"spec": algorithm.SPEC_COMMIT_REVEAL, "participants": participants,
            "commit_deadline": service.iso(draw.commit_deadline),
            "reveal_deadline": service.iso(draw.reveal_deadline),
            "seed_value": None, "seed_normalised": None,
            "seed_input": algorithm.seed_input(reveals) if drawn else None,
            "missing": sorted(node for node, reveal in reveals.items() if reveal is None) if drawn else None}


# --- partner side ---------------------------------------------------------------------------------


async def on_request(ctx, activity: dict, actor) -> None:
    """Commit at once to a draw of a space this node co-hosts."""
    app, base_url = ctx.app, ctx.app[SETTINGS].base_url
    node = uris.node_actor(base_url)
    summary = activity.get("object")
    if actor.kind != "Application" or id_of(activity.get("target")) != node or not isinstance(summary, dict):
        return
    draw_id = summary.get("id")
    participants = summary.get("participants")
    if (not isinstance(draw_id, str) or not same_origin(draw_id, actor.id) or not isinstance(participants, list)
            or node not in participants):
        log.info("DrawSeedRequest %s ignored: not a draw of %s naming this node", activity.get("id"), actor.id)
        return
    try:
        draw_at = datetime.fromisoformat(str(summary.get("drawAt")).replace("Z", "+00:00"))
        commit_deadline = datetime.fromisoformat(str(summary.get("commitDeadline")).replace("Z", "+00:00"))
    except ValueError:
        return
    if service.now() >= commit_deadline:
        log.info("DrawSeedRequest %s ignored: its commit deadline has passed", activity.get("id"))
        return
    secret = secrets.token_hex(32)
    try:
        async with app[DB].begin() as db:
            partnership = next((p for p in (await db.scalars(select(Partnership).where(
                Partnership.host_node_uri == actor.id, Partnership.state == "active"))).all()
                if draw_id.startswith(p.space_uri + "/c/")), None)
            if partnership is None:
                log.info("DrawSeedRequest %s ignored: no active partnership with %s for this space",
                         activity.get("id"), actor.id)
                return
            db.add(DrawSecret(draw_uri=draw_id, host_node_uri=actor.id, host_inbox=partnership.host_inbox,
                              secret=secret, draw_at=draw_at))
            await db.flush()
            commit = _activity(base_url, "DrawSeedCommit", object=draw_id,
                               commitment=algorithm.commitment_of(draw_id, secret), to=[actor.id])
            await enqueue(db, actor_type="node", actor_id=0, activity=commit, inboxes=[partnership.host_inbox])
    except IntegrityError:  # the same request again: this node already committed
        return
    reveal_timer.schedule(app, draw_at)


async def on_reveal_request(ctx, activity: dict, actor) -> None:
    draw_id = id_of(activity.get("object"))
    if isinstance(draw_id, str):
        await reveal_due(ctx.app, draw_id=draw_id, host=actor.id)


async def reveal_due(app, *, draw_id: str | None = None, host: str | None = None) -> int:
    """Reveal this node's secrets whose draw time has passed (on its own clock): sent to the
    host, or written directly for this node's own draws. The number revealed."""
    moment = service.now()
    query = select(DrawSecret).where(DrawSecret.revealed_at.is_(None), DrawSecret.draw_at <= moment)
    if draw_id is not None:
        query = query.where(DrawSecret.draw_uri == draw_id)
    if host is not None:
        query = query.where(DrawSecret.host_node_uri == host)
    async with app[DB]() as db:
        due = (await db.scalars(query)).all()
    done = 0
    for secret in due:
        if not secret.host_inbox:
            found = await _local_draw(app, secret.draw_uri)
            if found is not None:
                async with app[DB].begin() as db:
                    await at_draw_time(app, db, await db.get(Draw, found[0].id), slug=found[1])
                done += 1
            continue
        async with app[DB].begin() as db:
            changed = await db.execute(update(DrawSecret).where(DrawSecret.id == secret.id,
                                                                DrawSecret.revealed_at.is_(None))
                                       .values(revealed_at=moment).execution_options(synchronize_session=False))
            if changed.rowcount != 1:
                continue
            reveal = _activity(app[SETTINGS].base_url, "DrawSeedReveal", object=secret.draw_uri,
                               secret=secret.secret, to=[secret.host_node_uri])
            await enqueue(db, actor_type="node", actor_id=0, activity=reveal, inboxes=[secret.host_inbox])
            done += 1
    return done
