"""The permission rule itself, without a database: read a component's requirement for an action,
and judge a person's authorisations against it at a given moment."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime

from node.i18n import N_

LOGIN_URL = "/login"
# The resident's page of node.verification, where every missing or expired verification is fixed.
VERIFY_URL = "/account/verifications"

MSG_LOGIN = N_("Log in to %(action)s.")
MSG_ONE_HANDLER = N_("To %(action)s, you need this verification: %(handlers)s.")
MSG_ANY_HANDLER = N_("To %(action)s, you need one of these verifications: %(handlers)s.")
MSG_EXPIRED = N_("Your verification “%(handlers)s” expired on %(date)s; verify again to %(action)s.")
MSG_POSTAL = N_("Only residents of these postal codes may %(action)s: %(codes)s.")
MSG_AGE = N_("You must be at least %(age)s years old to %(action)s.")
MSG_AGE_UNKNOWN = N_("You must be at least %(age)s years old to %(action)s, and your verification does "
                     "not include your date of birth.")


@dataclass(frozen=True)
class Requirement:
    """What an action asks beyond an account.  No handlers: nothing more."""

    handlers: tuple[str, ...] = ()
    postal_codes: tuple[str, ...] = ()
    min_age: int = 0


@dataclass(frozen=True)
class Decision:
    """Whether a person may take an action now, and if not, what is missing.

    `message` is an English msgid; `values` fill its placeholders: "action" (a msgid), "handlers"
    (handler label msgids), "codes" (postal codes), "age", "date" (a date) — see `text`.
    `fix` names what repairs it: "login", "verify", or "" when the person can do nothing."""

    allowed: bool
    message: str = ""
    values: dict = field(default_factory=dict)
    fix: str = ""
    reason: str = ""  # "", "login", "verification", "expired", "postal_code", "age"

    @property
    def fix_url(self) -> str | None:
        return {"login": LOGIN_URL, "verify": VERIFY_URL}.get(self.fix)

    def text(self, translate=lambda s: s, format_date=lambda d: d.isoformat()) -> str:
        """The explanation in the language of `translate`, its values translated and formatted."""
        if not self.message:
            return ""
        values = dict(self.values)
        if "action" in values:
            values["action"] = translate(values["action"])
        if "handlers" in values:
            values["handlers"] = ", ".join(translate(label) for label in values["handlers"])
        if "codes" in values:
            values["codes"] = ", ".join(values["codes"])
        if isinstance(values.get("date"), date):
            values["date"] = format_date(values["date"])
        return translate(self.message) % values


ALLOWED = Decision(True)

POSTAL_CODE = re.compile(r"[A-Z0-9](?:[A-Z0-9 -]*[A-Z0-9])?")


def normal_postal_code(value) -> str:
    """Upper case, spaces collapsed: how a code the admin typed is kept and shown."""
    return " ".join(str(value or "").upper().split())


def postal_key(value) -> str:
    """What every writing of one code shares ("SW1A 1AA", "sw1a1aa"; "08-001", "08001"): the
    verification handlers store codes without spaces or dashes (node.verification.census)."""
    return re.sub(r"[\s\-]+", "", str(value or "")).upper()


def requirement_of(component, action: str) -> Requirement | None:
    """The component's requirement for `action`, or None when any account may act."""
    entry = ((getattr(component, "settings", None) or {}).get("permissions") or {}).get(action)
    if not isinstance(entry, dict) or not entry.get("handlers"):
        return None
    try:
        min_age = max(0, int(entry.get("min_age") or 0))
    except (TypeError, ValueError):
        min_age = 0
    return Requirement(handlers=tuple(str(h) for h in entry["handlers"]),
                       postal_codes=tuple(normal_postal_code(c) for c in entry.get("postal_codes") or ()),
                       min_age=min_age)


def age_on(birth_date, day: date) -> int | None:
    """Completed years on `day` of someone born on `birth_date` (ISO text); None if unknown."""
    try:
        born = date.fromisoformat(str(birth_date))
    except ValueError:
        return None
    if born > day:
        return None
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def evaluate(requirement: Requirement | None, user, authorisations, now: datetime, action_label: str,
             labels: dict[str, str]) -> Decision:
    """Judge `user`'s authorisations (every confirmed, unrevoked one, expired included, so that
    an expiry can be explained) against `requirement` at `now`.  `labels` names the handlers."""
    if user is None:
        return Decision(False, MSG_LOGIN, {"action": action_label}, "login", "login")
    if requirement is None:
        return ALLOWED
    names = tuple(labels.get(h, h) for h in requirement.handlers)
    relevant = [a for a in authorisations if a.handler in requirement.handlers and a.revoked_at is None
                and a.confirmed_at is not None]
    active = [a for a in relevant if a.active(now)]
    if not active:
        expired = [a for a in relevant if a.expires_at is not None and a.expires_at <= now]
        if expired:
            last = max(expired, key=lambda a: a.expires_at)
            values = {"action": action_label, "handlers": (labels.get(last.handler, last.handler),),
                      "date": last.expires_at.date()}
            return Decision(False, MSG_EXPIRED, values, "verify", "expired")
        message = MSG_ONE_HANDLER if len(names) == 1 else MSG_ANY_HANDLER
        return Decision(False, message, {"action": action_label, "handlers": names}, "verify", "verification")
    refusals = []
    for authorisation in active:
        details = authorisation.details or {}
        if requirement.postal_codes and postal_key(details.get("postal_code")) not in {
                postal_key(code) for code in requirement.postal_codes}:
            # A verification that says no postal code (e.g. an email domain) may be completed by
            # one that does; a postal code outside the list cannot be fixed by the person.
            fix = "" if details.get("postal_code") else "verify"
            refusals.append(Decision(False, MSG_POSTAL, {"action": action_label, "codes": requirement.postal_codes},
                                     fix, "postal_code"))
            continue
        if requirement.min_age:
            age = age_on(details.get("birth_date"), now.date())
            if age is None:
                refusals.append(Decision(False, MSG_AGE_UNKNOWN, {"action": action_label, "age": requirement.min_age},
                                         "verify", "age"))
                continue
            if age < requirement.min_age:
                refusals.append(Decision(False, MSG_AGE, {"action": action_label, "age": requirement.min_age},
                                         "", "age"))
                continue
        return ALLOWED
    # Several authorisations, none enough: the explanation of the one that came closest (the
    # postal code matched, the age did not).
    return min(refusals, key=lambda d: ("age", "postal_code").index(d.reason))
