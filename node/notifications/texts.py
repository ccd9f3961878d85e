"""What each kind of notification says (gettext msgids; %(actor)s and %(title)s filled in)."""
from __future__ import annotations

from node.i18n import N_, pick

TEXTS = {
    "comment": N_("%(actor)s commented on “%(title)s”"),
    "answer": N_("“%(title)s” has been answered"),
    "amendment": N_("%(actor)s proposed an amendment to “%(title)s”"),
    "mention": N_("%(actor)s mentioned you in “%(title)s”"),
    "phase": N_("A new phase has begun in “%(title)s”"),
    "new_item": N_("%(actor)s published “%(title)s”"),
}
SOMEONE = N_("Someone")


def describe(gettext, kind: str, actor: str | None, title: dict, locale: str, default: str) -> str:
    """Plain text (for mails; templates use the same msgids with autoescaping)."""
    return gettext(TEXTS.get(kind, TEXTS["comment"])) % {
        "actor": actor or gettext(SOMEONE), "title": pick(title, locale, default)}
