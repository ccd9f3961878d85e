"""Demo proposals for `civicnode demo`: one `ProposalSet` per demo node (called by node.demo)."""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select

from node.cohosting.records import record_local
from node.accounts.models import User
from node.components.comments.service import create_comment
from node.components.proposals.amendments import decide_amendment, propose_amendment
from node.components.proposals.comments import comment_target
from node.components.proposals.service import answer_proposal, create_proposal, withdraw_proposal
from node.components.proposals.supports import add_support
from node.spaces.models import Phase
from node.spaces.service import add_component

# `civicnode demo` passes each node's real address; seeding without one (the in-process tests)
# names this fictitious origin in the fingerprints, which the stored canonical JSON keeps
# verifiable anyway.
DEMO_ORIGIN = "https://ville-demo.example"

NAME = {"fr": "Propositions", "en": "Proposals", "es": "Propuestas", "ca": "Propostes"}
CATEGORIES = ["Espaces verts", "Mobilité", "Sport et jeunesse", "Climat", "Culture"]

PROPOSALS = [
    ("amelie", "Un jardin partagé rue des Tilleuls", "Espaces verts", "Rue des Tilleuls",
     "La friche au bout de la rue des Tilleuls est inutilisée depuis des années.\n\n"
     "Nous proposons d'y créer un jardin partagé de 20 parcelles, avec un composteur collectif et "
     "un récupérateur d'eau de pluie. L'association de quartier se propose d'en assurer l'animation."),
    ("jordi", "Des arceaux vélo devant chaque école", "Mobilité", "",
     "Beaucoup d'enfants viendraient à vélo s'ils pouvaient le garer en sécurité.\n\n"
     "- 10 arceaux couverts devant chacune des 6 écoles\n- un marquage au sol pour les trottinettes"),
    ("amelie", "Rénover le terrain de basket du parc Jean-Moulin", "Sport et jeunesse", "Parc Jean-Moulin",
     "Le revêtement est fissuré et les paniers n'ont plus de filets. Les jeunes du quartier "
     "demandent un terrain refait, éclairé jusqu'à 22 h, avec deux bancs."),
    ("jordi", "Shade trees in the school playgrounds", "Climat", "",
     "Playgrounds reach 45 °C in June. Planting 30 trees across the town's school playgrounds would "
     "cool them down within a few years; the parks service could water them for the first two summers."),
    ("amelie", "Une boîte à livres dans chaque quartier", "Culture", "",
     "Des boîtes à livres en bois, fabriquées par le lycée professionnel, installées près des arrêts "
     "de bus : chacun dépose et emprunte des livres librement."),
    ("jordi", "Free drinking fountains along the river walk", "Climat", "Quai de la Rivière",
     "There is no drinking water along the 3 km river walk. Four fountains, one every 750 m, "
     "would help walkers, runners and families in summer."),
    ("amelie", "Un abri pour le marché du samedi", "Culture", "Place du Marché",
     "Les commerçants du marché du samedi n'ont aucun abri quand il pleut. Une halle légère et "
     "démontable permettrait aussi d'accueillir des concerts l'été."),
    ("jordi", "Une piste cyclable entre la gare et la zone d'activités", "Mobilité", "",
     "2 km séparent la gare de la zone d'activités, sans aménagement cyclable. Une piste séparée "
     "permettrait à de nombreux salariés de laisser leur voiture."),
]

SUPPORTS = {0: ("jordi", "moderation", "admin"), 1: ("amelie", "moderation"), 2: ("jordi",),
            3: ("amelie", "admin"), 5: ("amelie",), 6: ("jordi", "moderation")}


@dataclass(frozen=True)
class ProposalSet:
    """What one demo space's proposals component holds. Indexes refer to `proposals`."""

    proposals: list  # (author, title, category, address, body)
    categories: list
    supports: dict  # index -> usernames supporting it
    staff: str  # the administrator who answers
    answers: list = field(default_factory=list)  # (index, state, answer)
    # (index, proposer, new title, paragraph added), accepted by the proposal's author
    amendment: tuple | None = None
    withdrawn: tuple = ()
    comments: list = field(default_factory=list)  # (index, author, alignment, text)
    support_threshold: int = 50


CITY_PROPOSALS = ProposalSet(
    proposals=PROPOSALS, categories=CATEGORIES, supports=SUPPORTS, staff="admin",
    answers=[(1, "accepted", "Le service voirie installera les arceaux pendant les vacances d'été 2027 "
                             "(coût estimé : 18 000 €)."),
             (2, "evaluating", "Le service des sports chiffre l'éclairage ; réponse en février.")],
    amendment=(0, "jordi", "Un jardin partagé et un verger rue des Tilleuls",
               "Ajoutons une dizaine d'arbres fruitiers en bordure, pour que les écoles voisines "
               "puissent venir cueillir."),
    withdrawn=(7,))

# Sant Martí de la Marenda: residents write in Catalan or French, as they would there.
TOWN_PROPOSALS = ProposalSet(
    categories=["Passeig", "Platja", "Mobilitat", "Cultura"],
    proposals=[
        ("nuria", "Ombra i bancs al llarg del passeig", "Passeig", "Passeig Marítim",
         "A l'estiu el passeig és un forn: no hi ha cap arbre entre el port i la platja del Racó.\n\n"
         "Proposem plantar tamarius cada 15 metres i posar-hi bancs de fusta, de cara al mar."),
        ("mathieu", "Des douches et un point d'eau à la plage du Racó", "Platja", "Platja del Racó",
         "La plage du Racó n'a ni douche ni fontaine. Deux douches à pédale et une fontaine "
         "suffiraient, avec l'eau coupée l'hiver."),
        ("nuria", "Un bus llançadora gratuït entre l'estació i el port", "Mobilitat", "",
         "De juny a setembre, els cotxes col·lapsen el port. Un minibus elèctric cada 20 minuts "
         "entre l'estació i el port, gratuït, deixaria el passeig als vianants."),
        ("mathieu", "Un après-midi de sardanes sur le port", "Cultura", "Moll del Port",
         "Chaque premier dimanche de juillet, un après-midi de sardanes avec les cobles des deux "
         "côtés de la frontière, ouvert à tous."),
    ],
    supports={0: ("mathieu", "ajuntament"), 1: ("nuria",), 2: ("mathieu",), 3: ("nuria", "ajuntament")},
    staff="ajuntament",
    answers=[(1, "evaluating", "Els serveis tècnics estudien la connexió a la xarxa d'aigua; "
                               "resposta abans de l'estiu.")],
    comments=[(0, "mathieu", "in_favor", "Oui, et des pins parasols plutôt que des palmiers : "
                                         "ils donnent une vraie ombre."),
              (2, "ajuntament", "neutral", "La Regió ens ha ofert un minibus elèctric de prova per "
                                           "a l'agost: en parlarem al debat.")],
    support_threshold=20)

COLLECTIVE_PROPOSALS = ProposalSet(
    categories=["Aménagements", "Ateliers", "Sorties"],
    proposals=[
        ("lucie", "Un atelier de réparation vélo chaque samedi", "Ateliers", "Local de la rue Pasteur",
         "Nous avons des outils et trois bénévoles formés. Un atelier ouvert le samedi matin "
         "aiderait les habitants à entretenir leur vélo eux-mêmes."),
        ("samir", "Cartographier les points noirs cyclables du quartier", "Aménagements", "",
         "Recensons ensemble les carrefours dangereux, avec photos, pour les présenter au "
         "budget participatif de la Ville."),
        ("lucie", "Une vélorution mensuelle vers la plage", "Sorties", "",
         "Une balade familiale le dernier dimanche du mois, jusqu'à la plage de Sant Martí, "
         "avec une pause goûter."),
    ],
    supports={0: ("samir", "coordination"), 1: ("lucie", "coordination"), 2: ("samir",)},
    staff="coordination",
    answers=[(0, "accepted", "Adopté en assemblée : premier atelier le 6 mars, local prêté par la "
                             "maison de quartier.")],
    comments=[(1, "lucie", "in_favor", "Je commence par le rond-point de la gare, c'est le pire.")],
    support_threshold=5)


async def seed_proposals(db, space, content: ProposalSet = CITY_PROPOSALS, *, base_url: str = DEMO_ORIGIN):
    """Add a proposals component to `space` and fill it (inside the caller's transaction)."""
    people = {u.username: u for u in await db.scalars(select(User))}
    component = await add_component(db, space, "proposals", {"name": NAME, "settings": {
        "categories": content.categories, "support_threshold": content.support_threshold,
        "max_supports_per_user": 10}})
    proposals = [await create_proposal(db, space=space, component=component, author=people[username],
                                       values={"title": title, "body": body, "category": category,
                                               "address": address}, base_url=base_url)
                 for username, title, category, address, body in content.proposals]
    phase_id = await db.scalar(select(Phase.id).where(Phase.space_id == space.id, Phase.active.is_(True)))
    for index, usernames in content.supports.items():
        for username in usernames:
            await add_support(db, proposals[index].id, people[username], phase_id)
            await record_local(db, base_url=base_url, space_id=space.id, space_slug=space.slug,
                               proposal_id=proposals[index].id, user=people[username], kind="support")

    for index, state, answer in content.answers:
        await answer_proposal(db, proposals[index], user=people[content.staff], state=state, answer=answer)
    if content.amendment:
        index, proposer, title, addition = content.amendment
        original = proposals[index]
        amendment = await propose_amendment(db, original, component=component, user=people[proposer],
                                            values={"title": title, "body": original.body + "\n\n" + addition})
        await decide_amendment(db, amendment, original, space=space, user=people[content.proposals[index][0]],
                               accept=True, base_url=base_url)
    for index, author, alignment, text in content.comments:
        await create_comment(db, comment_target(proposals[index], component, space), commentable_type="proposal",
                             commentable_id=proposals[index].id, author=people[author], body=text,
                             alignment=alignment)
    for index in content.withdrawn:
        await withdraw_proposal(db, proposals[index], user=people[content.proposals[index][0]])
    return component

