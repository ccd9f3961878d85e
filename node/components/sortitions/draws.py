"""Rules of draws of proposals: announcing one, freezing its candidates as they stood at the draw
time, typing in the third party's value, and the published document (docs/SORTITION.md).

A draw is written three times at most, each time by a conditional UPDATE that only a draw in the
previous state matches: announced (INSERT), candidates frozen, seed entered and result drawn.
Nothing else ever writes it: there is no edit, and a drawn draw is final.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import select, update

from node.components.proposals.models import Proposal, ProposalVersion
from node.components.sortitions import draw as algorithm
from node.components.sortitions.models import Draw
from node.events import Event
from node.i18n import N_
from node.moderation.log import log_action
from node.spaces.models import Component, Space
from node.spaces.service import check_lengths, clean_translated

MAX_COUNT = 1000
LIMITS = {"title": 200, "seed_source": 2000}
# How far ahead a draw may be announced.
MAX_AHEAD = timedelta(days=3 * 366)
# Commit-reveal: how long after the draw time the nodes have to reveal, by default and at most.
REVEAL_WINDOW = timedelta(hours=1)
MAX_REVEAL_WINDOW = timedelta(days=7)


class DrawError(Exception):
    """`errors` maps a form field to a gettext msgid or (msgid, values); `status` is the HTTP
    status the page answers with."""

    def __init__(self, errors: dict, status: int = 422) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors, self.status = errors, status


def now() -> datetime:
    """The clock of every rule here (tests replace it to let time pass)."""
    return datetime.now(timezone.utc).replace(microsecond=0)


def iso(moment: datetime | None) -> str | None:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ") if moment else None


def proposal_uri(base_url: str, slug: str, proposal_id: int) -> str:
    return f"{base_url}/spaces/{slug}/proposals/{proposal_id}"


def component_uri(base_url: str, slug: str, component_id: int) -> str:
    return f"{base_url}/spaces/{slug}/c/{component_id}"


def draw_uri(base_url: str, slug: str, component_id: int, draw_id: int) -> str:
    return f"{component_uri(base_url, slug, component_id)}/draws/{draw_id}"


def status_of(draw: Draw, moment: datetime | None = None) -> str:
    if draw.drawn_at is not None:
        return "drawn"
    if (moment or now()) < draw.draw_at:
        return "announced"
    return "waiting_for_reveals" if draw.seed_method == "commit-reveal" else "waiting_for_seed"


async def proposal_sources(db, space_id: int) -> list[tuple[Component, list[str]]]:
    """The space's proposals components with the categories one may draw from: those of the
    settings, then those the proposals use."""
    components = (await db.scalars(select(Component).where(
        Component.space_id == space_id, Component.kind == "proposals").order_by(Component.position))).all()
    sources = []
    for component in components:
        used = (await db.scalars(select(Proposal.category).distinct().where(
            Proposal.component_id == component.id, Proposal.category != ""))).all()
        listed = list((component.settings or {}).get("categories") or [])
        sources.append((component, list(dict.fromkeys([*listed, *sorted(used)]))))
    return sources


def parse_datetime(text, errors: dict, field: str = "draw_at") -> datetime | None:
    text = str(text or "").strip()
    if not text:
        errors[field] = N_("Enter the date and time of the draw, like 2027-03-31T18:30.")
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        errors[field] = N_("Enter a date and time like 2027-03-31T18:30.")
        return None
    # Form values have no zone; the node reads and shows times in UTC.
    return (value if value.tzinfo else value.replace(tzinfo=timezone.utc)).replace(microsecond=0)


async def announce_draw(db, space: Space, component: Component, values: dict, *, user, base_url: str) -> Draw:
    """values: title and seed_source ({lang: text}), source ("<component id>" or "<component
    id>:<category>"), count, draw_at, seed_source_url, seed_method ("external" or
    "commit-reveal") and, for commit-reveal, reveal_deadline."""
    from node.components.sortitions import commit_reveal

    errors: dict = {}
    moment = now()
    if not (space.published and component.published):
        raise DrawError({"_": N_("Publish the space and this component first: a draw must be announced "
                                 "publicly before it takes place.")}, 409)
    method = str(values.get("seed_method") or "external")
    if method not in ("external", commit_reveal.METHOD):
        raise DrawError({"seed_method": N_("Choose where the draw's seed comes from among the options offered.")})
    partners = await commit_reveal.active_partners(db, space.id) if method == commit_reveal.METHOD else []
    if method == commit_reveal.METHOD and not partners:
        raise DrawError({"seed_method": N_("A seed drawn among nodes needs at least one active partner node of "
                                           "this space: invite partner nodes first, or use a public value.")}, 409)
    title = clean_translated(values.get("title"))
    seed_source = clean_translated(values.get("seed_source"))
    if not title:
        errors["title"] = N_("Give the draw a title.")
    if not seed_source and method == "external":
        errors["seed_source"] = N_("Name the public value the draw will use, where and when it will be "
                                   "published, and how it will be written.")
    check_lengths(errors, "title", title, LIMITS["title"])
    check_lengths(errors, "seed_source", seed_source, LIMITS["seed_source"])
    url = str(values.get("seed_source_url") or "").strip()
    if url and (not url.startswith(("https://", "http://")) or len(url) > 2048 or any(c.isspace() for c in url)):
        errors["seed_source_url"] = N_("Enter an address starting with https://, or leave it empty.")
    try:
        count = int(str(values.get("count", "")).strip())
    except ValueError:
        count = 0
    if not 1 <= count <= MAX_COUNT:
        errors["count"] = (N_("Enter a whole number from 1 to %(max)s."), {"max": MAX_COUNT})
    draw_at = parse_datetime(values.get("draw_at"), errors)
    if draw_at is not None and draw_at <= moment:
        errors["draw_at"] = N_("The draw must be announced before it takes place: choose a time in the future.")
    elif draw_at is not None and draw_at > moment + MAX_AHEAD:
        errors["draw_at"] = N_("Choose a time within the next three years.")
    reveal_deadline = None
    if method == commit_reveal.METHOD and draw_at is not None and "draw_at" not in errors:
        if str(values.get("reveal_deadline") or "").strip():
            reveal_deadline = parse_datetime(values.get("reveal_deadline"), errors, "reveal_deadline")
        else:
            reveal_deadline = draw_at + REVEAL_WINDOW
        if reveal_deadline is not None and not draw_at < reveal_deadline <= draw_at + MAX_REVEAL_WINDOW:
            errors["reveal_deadline"] = N_("The reveal deadline must be after the draw time, within seven days.")
    source = await _source(db, space, str(values.get("source") or ""), errors)
    if errors:
        raise DrawError(errors)
    proposals, category = source
    draw = Draw(component_id=component.id, space_id=space.id, title=title, seed_source=seed_source,
                seed_source_url=url, seed_method=method, count=count, draw_at=draw_at,
                proposals_component_id=proposals.id, category=category,
                proposals_component_uri=component_uri(base_url, space.slug, proposals.id),
                announced_at=moment, announced_by=user.id)
    if method == commit_reveal.METHOD:
        # The node's own actor and its partners', as they stand now: nodes joining later take no part.
        draw.participants = sorted([f"{base_url}/actor", *(p.node_uri for p in partners)])
        draw.commit_deadline, draw.reveal_deadline = draw_at, reveal_deadline
    db.add(draw)
    await db.flush()
    if method == commit_reveal.METHOD:
        await commit_reveal.start(db, draw, space, partners, base_url=base_url)
    await log_action(db, user, "sortition.draw_announced", subject_type="sortition_draw", subject_id=draw.id,
                     data={"draw_at": iso(draw_at), "count": count, "category": category, "seed_method": method,
                           "proposals_component_id": proposals.id})
    return draw


async def _source(db, space: Space, value: str, errors: dict):
    component_id, _, category = value.partition(":")
    if component_id.isdigit():
        for component, categories in await proposal_sources(db, space.id):
            if component.id == int(component_id) and (not category or category in categories):
                return component, category
    errors["source"] = N_("Choose the proposals to draw from among those offered.")
    return None


async def candidates_at(db, draw_like, moment: datetime, *, base_url: str, slug: str) -> list[dict]:
    """The accepted proposals of the draw's component (and category) as they stood at `moment`:
    states from the append-only answer events, texts and categories from the versions then
    published, so the set does not depend on when it is computed."""
    in_component = select(Proposal.id).where(Proposal.component_id == draw_like.proposals_component_id,
                                             Proposal.created_at <= moment).scalar_subquery()
    states = dict((await db.execute(select(Proposal.id, Proposal.state).where(Proposal.id.in_(in_component)))).all())
    if not states:
        return []
    answers: dict[int, list] = {}
    for subject_id, created_at, data in (await db.execute(
            select(Event.subject_id, Event.created_at, Event.data).where(
                Event.kind == "proposal.answered", Event.subject_type == "proposal",
                Event.subject_id.in_(in_component)).order_by(Event.created_at, Event.id))).all():
        answers.setdefault(subject_id, []).append((created_at, data or {}))
    versions: dict[int, tuple] = {}
    for proposal_id, category, title, fingerprint in (await db.execute(
            select(ProposalVersion.proposal_id, ProposalVersion.category, ProposalVersion.title,
                   ProposalVersion.fingerprint).where(
                ProposalVersion.proposal_id.in_(in_component), ProposalVersion.created_at <= moment)
            .order_by(ProposalVersion.number))).all():
        versions[proposal_id] = (category, title, fingerprint)  # the latest published by then
    chosen = []
    for proposal_id, state in states.items():
        version = versions.get(proposal_id)
        if version is None or _state_at(state, answers.get(proposal_id, []), moment) != "accepted":
            continue
        category, title, fingerprint = version
        if draw_like.category and category != draw_like.category:
            continue
        chosen.append({"id": proposal_uri(base_url, slug, proposal_id), "fingerprint": fingerprint, "title": title})
    return sorted(chosen, key=lambda c: c["id"])


def _state_at(current: str, answers: list[tuple], moment: datetime) -> str:
    before = [data for created_at, data in answers if created_at <= moment]
    if before:
        return before[-1].get("state", "")
    if answers:  # answered only later: the first answer says what it changed
        return answers[0][1].get("previous", "not_answered")
    return current


async def freeze_if_due(db, draw: Draw, *, base_url: str, slug: str) -> bool:
    """Freeze the candidates once the draw time has passed (the first page view, JSON fetch or
    seed entry after it does it). True when they are frozen."""
    if draw.candidates_frozen_at is not None:
        return True
    moment = now()
    if moment < draw.draw_at:
        return False
    candidates = await candidates_at(db, draw, draw.draw_at, base_url=base_url, slug=slug)
    # Computed from history, two concurrent freezes compute the same list; the first one wins.
    await db.execute(update(Draw).where(Draw.id == draw.id, Draw.candidates_frozen_at.is_(None))
                     .values(candidates=candidates, candidates_frozen_at=moment)
                     .execution_options(synchronize_session=False))
    await db.refresh(draw)
    return True


async def enter_seed(db, draw: Draw, value: str, *, user, base_url: str, slug: str) -> Draw:
    """Type in the third party's value after the draw time: the seed and the result follow from
    it and from the frozen candidates. Allowed once."""
    if draw.seed_method != "external":
        raise DrawError({"_": N_("This draw's seed comes from the participating nodes: there is no value to "
                                 "type in.")}, 409)
    if draw.seed_entered_at is not None:
        raise DrawError({"_": N_("This draw has already taken place: its value and result can no longer "
                                 "change.")}, 409)
    if now() < draw.draw_at:
        raise DrawError({"_": N_("The draw time has not come yet: the value can only be typed in after it, "
                                 "once it has been published.")}, 409)
    value = str(value or "").strip()
    normalised = algorithm.normalise_seed_value(value)
    if not normalised:
        raise DrawError({"seed_value": N_("Type the published value: it must contain letters or digits.")})
    if len(value) > algorithm.MAX_SEED_VALUE:
        raise DrawError({"seed_value": (N_("Use at most %(n)s characters."), {"n": algorithm.MAX_SEED_VALUE})})
    await freeze_if_due(db, draw, base_url=base_url, slug=slug)
    seed = algorithm.seed_of(normalised)
    result = algorithm.select([c["id"] for c in draw.candidates], seed, draw.count)
    moment = now()
    changed = await db.execute(
        update(Draw).where(Draw.id == draw.id, Draw.seed_entered_at.is_(None))
        .values(seed_value=value, seed_normalised=normalised, seed=seed, seed_entered_at=moment,
                seed_entered_by=user.id, result=result, drawn_at=moment)
        .execution_options(synchronize_session=False))
    if changed.rowcount != 1:  # someone else typed it in meanwhile
        raise DrawError({"_": N_("This draw has already taken place: its value and result can no longer "
                                 "change.")}, 409)
    await log_action(db, user, "sortition.draw_seed", subject_type="sortition_draw", subject_id=draw.id,
                     data={"seed_value": value, "seed": seed, "result": result})
    await db.refresh(draw)
    return draw


def draw_document(draw: Draw, *, base_url: str, slug: str, commitments=None) -> dict:
    """The public JSON of a draw: everything needed to re-run it (docs/SORTITION.md).
    ``commitments``: the DrawCommitment rows of a commit-reveal draw."""
    document = {
        "type": "SortitionDraw",
        "spec": algorithm.SPEC,
        "id": draw_uri(base_url, slug, draw.component_id, draw.id),
        "space": f"{base_url}/spaces/{slug}",
        "title": draw.title,
        "status": status_of(draw),
        "announced_at": iso(draw.announced_at),
        "draw_at": iso(draw.draw_at),
        "count": draw.count,
        "candidates_rule": {"component": draw.proposals_component_uri, "state": "accepted",
                            "category": draw.category or None},
        "seed_source": {"method": draw.seed_method, "description": draw.seed_source,
                        "url": draw.seed_source_url or None},
        "candidates": draw.candidates,
        "candidates_frozen_at": iso(draw.candidates_frozen_at),
        "seed_value": draw.seed_value,
        "seed_normalised": draw.seed_normalised,
        "seed": draw.seed,
        "seed_entered_at": iso(draw.seed_entered_at),
        "result": draw.result,
    }
    if draw.seed_method == "commit-reveal":
        from node.components.sortitions.commit_reveal import document_fields

        document.update(document_fields(draw, commitments or []))
    return document


async def list_draws(db, component_id: int) -> list[Draw]:
    return list((await db.scalars(select(Draw).where(Draw.component_id == component_id)
                                  .order_by(Draw.draw_at.desc(), Draw.id.desc()))).all())
