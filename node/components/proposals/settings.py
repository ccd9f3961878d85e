"""Per-component settings of proposals, the admin form parser, and the two policies every
surface asks about: are supports open now, and may this visitor see the counts."""
from __future__ import annotations

from node.i18n import N_

VISIBILITIES = ("always", "after_supports", "admins")
ORDERS = ("recent", "random", "most_supported", "most_commented")

DEFAULT_SETTINGS = {
    "creation_enabled": True,
    "supports_enabled": True,
    # Decidim's "supports blocked": the counts and buttons stay, nobody can add or remove one.
    "supports_blocked": False,
    # Phase ids in which supports are open; empty means every phase (and spaces without phases).
    "support_phases": [],
    "max_supports_per_user": 0,
    "minimum_supports_per_user": 0,
    "support_threshold": 0,
    "results_visibility": "always",
    "edit_window_minutes": 15,
    "amendments_enabled": True,
    # One category per line; empty lets authors type their own.
    "categories": [],
    "default_order": "recent",
}

INT_LIMITS = {"max_supports_per_user": 10_000, "minimum_supports_per_user": 10_000,
              "support_threshold": 10_000_000, "edit_window_minutes": 60 * 24 * 365}
BOOLEANS = ("creation_enabled", "supports_enabled", "supports_blocked", "amendments_enabled")


def settings_of(component) -> dict:
    return {**DEFAULT_SETTINGS, **(component.settings or {})}


def supports_open(settings: dict, active_phase_id: int | None) -> bool:
    if not settings["supports_enabled"] or settings["supports_blocked"]:
        return False
    phases = settings["support_phases"]
    return not phases or active_phase_id in phases


def counts_visible(settings: dict, active_phase_id: int | None, user) -> bool:
    """Whether support counts may be shown to `user` (None: anonymous, and the public API).

    Knowing a count before supporting changes behaviour, so "after_supports" hides counts from
    everyone, administrators included, for as long as supports are open."""
    policy = settings["results_visibility"]
    if policy == "admins":
        return bool(user and user.is_admin)
    if policy == "after_supports":
        return not supports_open(settings, active_phase_id)
    return True


def parse_settings(form, settings: dict) -> tuple[dict, dict]:
    errors: dict = {}
    new: dict = {}
    for name in BOOLEANS:
        new[name] = form.get(name) == "1"
    for name, limit in INT_LIMITS.items():
        raw = str(form.get(name, "") or "0").strip()
        try:
            value = int(raw)
        except ValueError:
            errors[name] = N_("Enter a whole number.")
            continue
        if not 0 <= value <= limit:
            errors[name] = (N_("Enter a number between 0 and %(n)s."), {"n": limit})
        new[name] = value
    # Phases are chosen on a page of their own (admin.py), which can list the space's phases.
    new["support_phases"] = list(settings.get("support_phases") or [])
    visibility = form.get("results_visibility", "always")
    if visibility not in VISIBILITIES:
        errors["results_visibility"] = N_("Choose one of the options offered.")
    new["results_visibility"] = visibility
    order = form.get("default_order", "recent")
    if order not in ORDERS:
        errors["default_order"] = N_("Choose one of the options offered.")
    new["default_order"] = order
    categories = []
    for line in str(form.get("categories", "")).replace("\r\n", "\n").split("\n"):
        line = line.strip()
        if line and line not in categories:
            categories.append(line)
    if any(len(c) > 100 for c in categories) or len(categories) > 100:
        errors["categories"] = N_("Use at most 100 categories of at most 100 characters each.")
    new["categories"] = categories
    if (new.get("minimum_supports_per_user") and new.get("max_supports_per_user")
            and new["minimum_supports_per_user"] > new["max_supports_per_user"]):
        errors["minimum_supports_per_user"] = N_(
            "The minimum number of supports cannot be above the maximum number of supports.")
    return new, errors
