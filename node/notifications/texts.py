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
    # User groups (node.groups.notify); the title is the group's name.
    "group_invite": N_("%(actor)s invited you to join the group “%(title)s”"),
    "group_request": N_("%(actor)s asked to join the group “%(title)s”"),
    "group_accepted": N_("Your request to join the group “%(title)s” was accepted"),
    "group_refused": N_("Your request to join the group “%(title)s” was refused"),
    "group_verified": N_("The group “%(title)s” is now verified"),
    "group_unverified": N_("The group “%(title)s” is no longer verified"),
    "group_renamed": N_("%(actor)s renamed the group “%(title)s”: a node administrator must verify it again"),
}
SOMEONE = N_("Someone")


def describe(gettext, kind: str, actor: str | None, title: dict, locale: str, default: str) -> str:
    """Plain text (for mails; templates use the same msgids with autoescaping)."""
    return gettext(TEXTS.get(kind, TEXTS["comment"])) % {
        "actor": actor or gettext(SOMEONE), "title": pick(title, locale, default)}
