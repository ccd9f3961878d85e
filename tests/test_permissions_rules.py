"""The permission rule: every path allowed or refused with the explanation saying what is missing,
judged at a given moment (no clock in the tests), and decide() on both databases."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from types import SimpleNamespace

from sqlalchemy import event

from node.appkeys import DB, ENGINE
from node.permissions import decide
from node.permissions.rules import Requirement, age_on, evaluate, normal_postal_code, requirement_of
from node.verification.census import normalise_postal_code
from node.verification.models import Authorisation
from node.verification.service import HANDLER_LABELS
from tests.permissions_support import grant, restrict
from tests.proposals_fixtures import space_with_component
from tests.spaces_support import make_user

NOW = datetime(2027, 5, 10, 12, 0, tzinfo=timezone.utc)
USER = SimpleNamespace(id=7)
ACTION = "support proposals"


def auth(handler="census", *, postal_code="08001", birth_date="1990-04-01", expires_at=None, revoked_at=None,
         confirmed=True) -> Authorisation:
    details = {k: v for k, v in (("postal_code", postal_code), ("birth_date", birth_date)) if v is not None}
    return Authorisation(user_id=7, handler=handler, details=details, expires_at=expires_at, revoked_at=revoked_at,
                         confirmed_at=NOW - timedelta(days=3) if confirmed else None)


def judge(requirement, *authorisations, user=USER, now=NOW):
    decision = evaluate(requirement, user, list(authorisations), now, ACTION, HANDLER_LABELS)
    return decision, decision.text()


def test_anonymous_visitors_are_asked_to_log_in_even_without_a_requirement():
    decision, text = judge(None, user=None)
    assert not decision.allowed and text == "Log in to support proposals."
    assert decision.fix == "login" and decision.fix_url == "/login"


def test_no_requirement_means_any_account():
    decision, text = judge(None)
    assert decision.allowed and text == ""
    assert requirement_of(SimpleNamespace(settings={}), "support") is None
    # An entry without handlers (or a malformed one) asks nothing more than an account.
    assert requirement_of(SimpleNamespace(settings={"permissions": {"support": {"handlers": []}}}), "support") is None
    assert requirement_of(SimpleNamespace(settings={"permissions": {"support": "census"}}), "support") is None


def test_missing_verification_names_it_and_links_to_the_verification_page():
    decision, text = judge(Requirement(("census",)))
    assert not decision.allowed and decision.reason == "verification"
    assert text == "To support proposals, you need this verification: Residence (municipal census)."
    assert decision.fix_url == "/account/verifications"


def test_an_authorisation_of_another_handler_does_not_count():
    decision, text = judge(Requirement(("census",)), auth("email_domain", postal_code=None, birth_date=None))
    assert not decision.allowed and "Residence (municipal census)" in text


def test_one_of_two_handlers_suffices_and_the_explanation_says_one_of():
    requirement = Requirement(("census", "manual"))
    assert judge(requirement, auth("manual"))[0].allowed
    assert judge(requirement, auth("census"))[0].allowed
    decision, text = judge(requirement)
    assert text == ("To support proposals, you need one of these verifications: Residence (municipal census), "
                    "Verified in person.")


def test_expired_authorisation_says_when_and_asks_to_verify_again():
    decision, text = judge(Requirement(("census",)), auth(expires_at=NOW - timedelta(days=2)))
    assert not decision.allowed and decision.reason == "expired" and decision.fix == "verify"
    assert text == ("Your verification “Residence (municipal census)” expired on 2027-05-08; "
                    "verify again to support proposals.")
    # The expiry is a moment: one second before it the authorisation still holds.
    assert judge(Requirement(("census",)), auth(expires_at=NOW + timedelta(seconds=1)))[0].allowed


def test_revoked_or_unconfirmed_authorisations_do_not_count():
    requirement = Requirement(("census",))
    decision, text = judge(requirement, auth(revoked_at=NOW - timedelta(hours=1)))
    assert not decision.allowed and decision.reason == "verification"
    assert not judge(requirement, auth(confirmed=False))[0].allowed


def test_postal_codes():
    requirement = Requirement(("census",), postal_codes=("08001", "08002"))
    assert judge(requirement, auth(postal_code="08002"))[0].allowed
    decision, text = judge(requirement, auth(postal_code="08003"))
    assert not decision.allowed and decision.reason == "postal_code" and decision.fix == ""
    assert text == "Only residents of these postal codes may support proposals: 08001, 08002."
    # Written differently, the same code.
    british = Requirement(("census",), postal_codes=(normal_postal_code("sw1a 1aa"),))
    assert judge(british, auth(postal_code="SW1A  1AA"))[0].allowed
    # As the census and manual handlers store it: no spaces, no dashes.
    assert judge(british, auth(postal_code=normalise_postal_code("SW1A 1AA")))[0].allowed
    assert judge(Requirement(("census",), postal_codes=("08-001",)), auth(postal_code="08001"))[0].allowed


def test_minimum_age_on_the_day_of_the_action():
    requirement = Requirement(("census",), min_age=16)
    assert judge(requirement, auth(birth_date="2011-05-10"))[0].allowed       # 16 today
    decision, text = judge(requirement, auth(birth_date="2011-05-11"))       # 16 tomorrow
    assert not decision.allowed and decision.reason == "age"
    assert text == "You must be at least 16 years old to support proposals."
    assert age_on("2011-05-11", date(2027, 5, 10)) == 15
    assert age_on("not a date", date(2027, 5, 10)) is None
    # A verification without a birth date cannot prove an age.
    decision, text = judge(Requirement(("manual",), min_age=16), auth("manual", birth_date=None))
    assert not decision.allowed and "does not include your date of birth" in text


def test_several_authorisations_any_one_satisfying_everything_is_enough():
    requirement = Requirement(("census", "manual"), postal_codes=("08001",), min_age=16)
    assert judge(requirement, auth("census", postal_code="08009"), auth("manual", postal_code="08001"))[0].allowed
    # None is enough: the explanation of the closest one (right postal code, too young).
    decision, _ = judge(requirement, auth("census", postal_code="08009"),
                        auth("manual", postal_code="08001", birth_date="2020-01-01"))
    assert decision.reason == "age"


def test_explanations_are_translated_with_their_values():
    catalogue = {"Log in to %(action)s.": "Connectez-vous pour %(action)s.", "support proposals": "soutenir des propositions"}
    decision, _ = judge(None, user=None)
    assert decision.text(lambda s: catalogue.get(s, s)) == "Connectez-vous pour soutenir des propositions."


async def test_decide_reads_the_authorisations_once_and_only_when_needed(app, server):
    space, component, _ = await space_with_component(app)
    user = await make_user(app, "resident")
    statements: list[str] = []

    def record(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(app[ENGINE].sync_engine, "before_cursor_execute", record)
    try:
        async with app[DB]() as db:
            assert (await decide(db, user, component, "support")).allowed
            assert not (await decide(db, None, component, "support")).allowed
        assert statements == []  # no requirement, or anonymous: nothing to read
    finally:
        event.remove(app[ENGINE].sync_engine, "before_cursor_execute", record)
    await restrict(app, component, support={"handlers": ["census"], "postal_codes": ["08001"], "min_age": 16})
    async with app[DB]() as db:
        from node.spaces.models import Component
        component = await db.get(Component, component.id)
        assert (await decide(db, user, component, "support")).reason == "verification"
        await grant(app, user, postal_code="08001")
        assert (await decide(db, user, component, "support")).allowed
        # Another user's authorisation is not this one's; an action without an entry is open.
        other = await make_user(app, "neighbour")
        assert not (await decide(db, other, component, "support")).allowed
        assert (await decide(db, other, component, "comment")).allowed
        # At a later moment the person is judged then.
        assert (await decide(db, user, component, "support", now=NOW)).allowed
