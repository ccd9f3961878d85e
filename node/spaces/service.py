"""Rules for spaces, their phases and components. Views, the admin and the demo all go through
these functions, which work inside the caller's transaction and raise SpaceError (every problem
at once, keyed by form field) before writing anything."""
from __future__ import annotations

import re
from datetime import date

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from node.components.registry import kinds
from node.config import LOCALES
from node.events import record_event
from node.i18n import N_
from node.accounts.models import User
from node.spaces.models import FEDERATION_POLICIES, SPACE_KINDS, SPACE_ROLES, Component, Phase, Space, SpaceRole

SLUG_RE = re.compile(r"^[a-z0-9-]{3,64}$")
# Words that name (or will name) pages of their own next to /spaces/<slug>.
RESERVED_SLUGS = {"new", "edit", "admin", "api", "static", "spaces", "users", "actor", "inbox",
                  "outbox", "followers", "following", "search", "feed", "rss", "c", "phases",
                  "components", "login", "logout", "register", "well-known"}
LIMITS = {"title": 200, "subtitle": 300, "description": 20_000, "phase_title": 200,
          "phase_description": 5_000, "component_name": 100}


class SpaceError(Exception):
    """Invalid input; `errors` maps a form field ("slug", "title.fr"...) to a gettext msgid."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


def clean_translated(value: dict | None) -> dict:
    """Keep the node's languages only, stripped, dropping empty ones."""
    value = value or {}
    return {lang: str(value[lang]).strip() for lang in LOCALES if str(value.get(lang) or "").strip()}


def too_long(limit: int) -> tuple[str, dict]:
    """An error message with a parameter: (msgid, values), formatted after translation."""
    return (N_("Use at most %(n)s characters."), {"n": limit})


def check_lengths(errors: dict, field: str, value: dict, limit: int) -> None:
    for lang, text in value.items():
        if len(text) > limit:
            errors[f"{field}.{lang}"] = too_long(limit)


# --- spaces -------------------------------------------------------------------------------

async def get_space(db, slug: str) -> Space | None:
    return await db.scalar(select(Space).where(Space.slug == slug))


async def list_spaces(db, *, kind: str | None = None, published_only: bool = True) -> list[Space]:
    query = select(Space).order_by(Space.created_at.desc(), Space.id.desc())
    if published_only:
        query = query.where(Space.published.is_(True))
    if kind in SPACE_KINDS:
        query = query.where(Space.kind == kind)
    return list((await db.scalars(query)).all())


async def _validate_space(db, data: dict, default_locale: str, current: Space | None) -> dict:
    errors: dict[str, str] = {}
    slug = data["slug"]
    if not SLUG_RE.match(slug):
        errors["slug"] = N_("Use 3 to 64 lower-case letters, digits or hyphens.")
    elif slug in RESERVED_SLUGS:
        errors["slug"] = N_("This address is reserved; choose another one.")
    elif current is not None and current.published and slug != current.slug:
        # Published addresses are shared and federated (they are the space's actor id).
        errors["slug"] = N_("The address of a published space cannot change.")
    elif await db.scalar(select(Space.id).where(Space.slug == slug,
                                                Space.id != (current.id if current else -1))):
        errors["slug"] = N_("Another space already uses this address.")
    elif await db.scalar(select(User.id).where(User.username == slug)):
        # Users and spaces share one actor namespace (acct:name@host in WebFinger).
        errors["slug"] = N_("A member of this node already uses this name; choose another one.")
    if data["kind"] not in SPACE_KINDS:
        errors["kind"] = N_("Choose a participatory process or an assembly.")
    if data["federation_policy"] not in FEDERATION_POLICIES:
        errors["federation_policy"] = N_("Choose one of the federation policies offered.")
    if not data["title"].get(default_locale):
        errors[f"title.{default_locale}"] = N_("Enter a title, at least in the node's default language.")
    for field in ("title", "subtitle", "description"):
        check_lengths(errors, field, data[field], LIMITS[field])
    return errors


def _space_data(values: dict, current: Space | None) -> dict:
    def get(name, fallback):
        return values[name] if name in values else fallback

    return {
        "slug": str(get("slug", current.slug if current else "")).strip().lower(),
        "kind": get("kind", current.kind if current else "process"),
        "federation_policy": get("federation_policy", current.federation_policy if current else "local"),
        "title": clean_translated(get("title", current.title if current else {})),
        "subtitle": clean_translated(get("subtitle", current.subtitle if current else {})),
        "description": clean_translated(get("description", current.description if current else {})),
    }


async def create_space(db, values: dict, *, default_locale: str) -> Space:
    """values: slug, kind, title, subtitle, description (dicts per language), federation_policy,
    published."""
    data = _space_data(values, None)
    errors = await _validate_space(db, data, default_locale, None)
    if errors:
        raise SpaceError(errors)
    space = Space(**data, published=bool(values.get("published", False)))
    db.add(space)
    await _flush_unique(db)
    return space


async def update_space(db, space: Space, values: dict, *, default_locale: str) -> Space:
    data = _space_data(values, space)
    errors = await _validate_space(db, data, default_locale, space)
    if errors:
        raise SpaceError(errors)
    for key, value in data.items():
        setattr(space, key, value)
    await _flush_unique(db)
    if space.published:
        # Followers on other nodes show the space's name and description: they get an Update.
        await record_event(db, "space.updated", subject_type="space", subject_id=space.id, space_id=space.id)
    return space


async def set_published(db, space: Space, published: bool) -> None:
    space.published = published
    await db.flush()


async def _flush_unique(db) -> None:
    try:
        await db.flush()
    except IntegrityError:
        # Two admins raced past the uniqueness check; the constraint decided.
        raise SpaceError({"slug": N_("Another space already uses this address.")}) from None


# --- phases -------------------------------------------------------------------------------

def parse_date(text: str | None, field: str, errors: dict) -> date | None:
    text = (text or "").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        errors[field] = N_("Enter a date like 2027-03-31.")
        return None


def _phase_data(values: dict, current: Phase | None) -> tuple[dict, dict]:
    errors: dict[str, str] = {}
    data = {
        "title": clean_translated(values.get("title", current.title if current else {})),
        "description": clean_translated(values.get("description", current.description if current else {})),
    }
    for field in ("start_date", "end_date"):
        raw = values.get(field, getattr(current, field) if current else None)
        data[field] = raw if isinstance(raw, date) or raw is None else parse_date(raw, field, errors)
    if not data["title"]:
        errors["title"] = N_("Enter the phase's title in at least one language.")
    check_lengths(errors, "title", data["title"], LIMITS["phase_title"])
    check_lengths(errors, "description", data["description"], LIMITS["phase_description"])
    if data["start_date"] and data["end_date"] and data["end_date"] < data["start_date"]:
        errors["end_date"] = N_("The end date must be on or after the start date.")
    return data, errors


async def _lock_space(db, space_id: int) -> None:
    # Serialises phase changes of one space on PostgreSQL; SQLite serialises all writes anyway.
    await db.execute(select(Space.id).where(Space.id == space_id).with_for_update())


async def space_phases(db, space_id: int) -> list[Phase]:
    return list((await db.scalars(
        select(Phase).where(Phase.space_id == space_id).order_by(Phase.position, Phase.id))).all())


async def add_phase(db, space: Space, values: dict) -> Phase:
    data, errors = _phase_data(values, None)
    if errors:
        raise SpaceError(errors)
    await _lock_space(db, space.id)
    existing = await space_phases(db, space.id)
    # A process always shows where it stands: its first phase starts active.
    phase = Phase(space_id=space.id, position=len(existing), active=not existing, **data)
    db.add(phase)
    await db.flush()
    return phase


async def update_phase(db, phase: Phase, values: dict) -> Phase:
    data, errors = _phase_data(values, phase)
    if errors:
        raise SpaceError(errors)
    for key, value in data.items():
        setattr(phase, key, value)
    await db.flush()
    return phase


async def activate_phase(db, space_id: int, phase_id: int) -> None:
    """Make this the space's only active phase (one transaction, the space row locked)."""
    await _lock_space(db, space_id)
    found = await db.scalar(select(Phase.id).where(Phase.id == phase_id, Phase.space_id == space_id))
    if found is None:
        raise SpaceError({"phase": N_("This phase does not belong to this space.")})
    # Two statements, not one: the partial unique index is checked row by row on PostgreSQL.
    await db.execute(update(Phase).where(Phase.space_id == space_id, Phase.active.is_(True))
                     .values(active=False).execution_options(synchronize_session="fetch"))
    await db.execute(update(Phase).where(Phase.id == phase_id)
                     .values(active=True).execution_options(synchronize_session="fetch"))
    await record_event(db, "space.phase_activated", subject_type="space", subject_id=space_id, space_id=space_id,
                       data={"phase_id": phase_id})


async def delete_phase(db, phase: Phase) -> None:
    space_id, was_active = phase.space_id, phase.active
    await _lock_space(db, space_id)
    await db.delete(phase)
    await db.flush()
    remaining = await space_phases(db, space_id)
    for position, other in enumerate(remaining):
        other.position = position
    if was_active and remaining:
        remaining[0].active = True
    await db.flush()


async def move_phase(db, phase: Phase, offset: int) -> None:
    await _lock_space(db, phase.space_id)
    await _move(await space_phases(db, phase.space_id), phase, offset)
    await db.flush()


async def _move(rows: list, row, offset: int) -> None:
    index = next(i for i, r in enumerate(rows) if r.id == row.id)
    target = max(0, min(len(rows) - 1, index + offset))
    rows.insert(target, rows.pop(index))
    for position, item in enumerate(rows):
        item.position = position


# --- components ---------------------------------------------------------------------------

async def space_components(db, space_id: int) -> list[Component]:
    return list((await db.scalars(select(Component).where(Component.space_id == space_id)
                                  .order_by(Component.position, Component.id))).all())


def component_name_errors(values: dict) -> dict:
    """Problems with a component's name, for forms that also check the kind's settings."""
    errors: dict = {}
    _component_name(values, errors)
    return errors


def _component_name(values: dict, errors: dict) -> dict:
    name = clean_translated(values.get("name"))
    if not name:
        errors["name"] = N_("Enter the component's name in at least one language.")
    check_lengths(errors, "name", name, LIMITS["component_name"])
    return name


async def add_component(db, space: Space, kind: str, values: dict | None = None) -> Component:
    """Add an instance of a registered kind, with the kind's default settings."""
    values = values or {}
    registered = kinds()
    errors: dict[str, str] = {}
    if kind not in registered:
        errors["kind"] = N_("Choose one of the component kinds offered.")
    name = clean_translated(values.get("name")) or (
        {lang: registered[kind].label for lang in LOCALES} if kind in registered else {})
    check_lengths(errors, "name", name, LIMITS["component_name"])
    if errors:
        raise SpaceError(errors)
    settings = {**registered[kind].default_settings, **values.get("settings", {})}
    count = await db.scalar(select(func.count()).select_from(Component).where(Component.space_id == space.id))
    component = Component(space_id=space.id, kind=kind, name=name, settings=settings,
                          position=count, published=bool(values.get("published", True)))
    db.add(component)
    await db.flush()
    return component


async def update_component(db, component: Component, values: dict) -> Component:
    """values: name (per language) and settings (already checked by the kind's parser)."""
    errors: dict[str, str] = {}
    name = _component_name(values, errors) if "name" in values else component.name
    if errors:
        raise SpaceError(errors)
    component.name = name
    if "settings" in values:
        component.settings = {**component.settings, **values["settings"]}
    await db.flush()
    return component


async def set_component_published(db, component: Component, published: bool) -> None:
    component.published = published
    await db.flush()


async def move_component(db, component: Component, offset: int) -> None:
    await _move(await space_components(db, component.space_id), component, offset)
    await db.flush()


async def delete_component(db, component: Component) -> None:
    space_id = component.space_id
    await db.delete(component)
    await db.flush()
    for position, other in enumerate(await space_components(db, space_id)):
        other.position = position
    await db.flush()


# --- space roles --------------------------------------------------------------------------

async def space_roles(db, space_id: int) -> list[tuple[SpaceRole, User]]:
    rows = await db.execute(select(SpaceRole, User).join(User, User.id == SpaceRole.user_id)
                            .where(SpaceRole.space_id == space_id).order_by(SpaceRole.role, User.username))
    return [(role, user) for role, user in rows.all()]


async def grant_space_role(db, space: Space, username: str, role: str) -> SpaceRole:
    """Give the user named `username` a role in this space; SpaceError keyed "username"/"role"."""
    if role not in SPACE_ROLES:
        raise SpaceError({"role": N_("Choose one of the roles offered.")})
    username = str(username or "").strip().lstrip("@").lower()
    if not username:
        raise SpaceError({"username": N_("Enter the username of a member of this node.")})
    user = await db.scalar(select(User).where(User.username == username))
    if user is None:
        raise SpaceError({"username": N_("No member of this node has this username.")})
    taken = N_("This member already has this role in this space.")
    if await db.scalar(select(SpaceRole.id).where(SpaceRole.space_id == space.id, SpaceRole.user_id == user.id,
                                                  SpaceRole.role == role)):
        raise SpaceError({"username": taken})
    granted = SpaceRole(space_id=space.id, user_id=user.id, role=role)
    db.add(granted)
    try:
        await db.flush()
    except IntegrityError:
        # Two administrators granted the same role at once; the constraint decided.
        raise SpaceError({"username": taken}) from None
    return granted


async def revoke_space_role(db, space: Space, role_id: int) -> None:
    """Remove a role of this space (a role of another space is "not found": nothing changes)."""
    role = await db.scalar(select(SpaceRole).where(SpaceRole.id == role_id, SpaceRole.space_id == space.id))
    if role is None:
        raise SpaceError({"role": N_("This role was already removed.")})
    await db.delete(role)
    await db.flush()
