"""Reading the administrators' permissions form: per action, the verifications accepted, the
postal codes and the minimum age.  Everything is checked before anything is stored."""
from __future__ import annotations

import re

from node.i18n import N_
from node.permissions.rules import POSTAL_CODE, normal_postal_code
from node.verification.service import HANDLER_LABELS

MAX_POSTAL_CODES = 200
MAX_POSTAL_CODE_LENGTH = 20
MAX_AGE = 120
SHOWN_INVALID = 5


def field(name: str, action: str) -> str:
    return f"{name}.{action}"


def _postal_codes(raw: str, errors: dict, name: str) -> list[str]:
    codes: list[str] = []
    for item in re.split(r"[\n,;]", str(raw or "")):
        code = normal_postal_code(item)
        if code and code not in codes:
            codes.append(code)
    invalid = [c for c in codes if len(c) > MAX_POSTAL_CODE_LENGTH or not POSTAL_CODE.fullmatch(c)]
    if invalid:
        errors[name] = (N_("A postal code has only letters, digits, spaces and dashes, and at most %(n)s "
                           "characters. Check: %(codes)s"),
                        {"n": MAX_POSTAL_CODE_LENGTH, "codes": ", ".join(invalid[:SHOWN_INVALID])})
    elif len(codes) > MAX_POSTAL_CODES:
        errors[name] = (N_("Enter at most %(n)s postal codes; there are %(count)s."),
                        {"n": MAX_POSTAL_CODES, "count": len(codes)})
    return codes


def _min_age(raw: str, errors: dict, name: str) -> int:
    raw = str(raw or "").strip()
    if not raw:
        return 0
    try:
        age = int(raw)
    except ValueError:
        age = -1
    if not 0 <= age <= MAX_AGE:
        errors[name] = (N_("Enter a whole number from 0 to %(n)s."), {"n": MAX_AGE})
        return 0
    return age


def parse_permissions(form, actions) -> tuple[dict, dict]:
    """(the new settings["permissions"], errors keyed by form field).  An action without any
    verification checked has no entry: any logged-in account may take it."""
    permissions: dict = {}
    errors: dict = {}
    for action, _label in actions:
        handlers_field = field("handlers", action)
        chosen = {str(v) for v in form.getall(handlers_field, [])}
        if chosen - set(HANDLER_LABELS):
            errors[handlers_field] = N_("Choose verifications from the list.")
        codes = _postal_codes(form.get(field("postal_codes", action), ""), errors, field("postal_codes", action))
        min_age = _min_age(form.get(field("min_age", action), ""), errors, field("min_age", action))
        if (codes or min_age) and not chosen and handlers_field not in errors:
            errors[handlers_field] = N_("Choose at least one verification: the postal code and the age are "
                                        "read from it.")
        if chosen:
            permissions[action] = {"handlers": [h for h in HANDLER_LABELS if h in chosen],
                                   "postal_codes": codes, "min_age": min_age}
    return permissions, errors


def form_values(permissions: dict, actions) -> dict:
    """The stored permissions as the form shows them."""
    values: dict = {}
    for action, _label in actions:
        entry = permissions.get(action) or {}
        values[field("handlers", action)] = list(entry.get("handlers") or [])
        values[field("postal_codes", action)] = "\n".join(entry.get("postal_codes") or [])
        values[field("min_age", action)] = str(entry.get("min_age") or "")
    return values


def posted_values(form, actions) -> dict:
    """What the administrator sent, to show it again next to the errors."""
    values: dict = {}
    for action, _label in actions:
        values[field("handlers", action)] = [str(v) for v in form.getall(field("handlers", action), [])]
        for name in ("postal_codes", "min_age"):
            values[field(name, action)] = str(form.get(field(name, action), ""))[:10_000]
    return values
