"""Demo proposals for `civicnode demo` (called by node.demo.seed_demo)."""
from __future__ import annotations

from sqlalchemy import select

from node.accounts.models import User
from node.components.proposals.amendments import decide_amendment, propose_amendment
from node.components.proposals.service import answer_proposal, create_proposal, withdraw_proposal
from node.components.proposals.supports import add_support
from node.spaces.models import Phase
from node.spaces.service import add_component

# The demo is seeded before it knows the address it will be served at; its fingerprints name
# this fictitious origin, which the stored canonical JSON keeps verifiable anyway.
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


async def seed_proposals(db, space) -> None:
    people = {u.username: u for u in await db.scalars(select(User))}
    component = await add_component(db, space, "proposals", {"name": NAME, "settings": {
        "categories": CATEGORIES, "support_threshold": 50, "max_supports_per_user": 10}})
    proposals = [await create_proposal(db, space=space, component=component, author=people[username],
                                       values={"title": title, "body": body, "category": category,
                                               "address": address}, base_url=DEMO_ORIGIN)
                 for username, title, category, address, body in PROPOSALS]
    phase_id = await db.scalar(select(Phase.id).where(Phase.space_id == space.id, Phase.active.is_(True)))
    for index, usernames in SUPPORTS.items():
        for username in usernames:
            await add_support(db, proposals[index].id, people[username], phase_id)

    await answer_proposal(db, proposals[1], user=people["admin"], state="accepted",
                          answer="Le service voirie installera les arceaux pendant les vacances d'été 2027 "
                                 "(coût estimé : 18 000 €).")
    await answer_proposal(db, proposals[2], user=people["admin"], state="evaluating",
                          answer="Le service des sports chiffre l'éclairage ; réponse en février.")
    amendment = await propose_amendment(db, proposals[0], component=component, user=people["jordi"], values={
        "title": "Un jardin partagé et un verger rue des Tilleuls",
        "body": proposals[0].body + "\n\nAjoutons une dizaine d'arbres fruitiers en bordure, "
                                    "pour que les écoles voisines puissent venir cueillir."})
    await decide_amendment(db, amendment, proposals[0], space=space, user=people["amelie"], accept=True,
                           base_url=DEMO_ORIGIN)
    await withdraw_proposal(db, proposals[7], user=people["jordi"])
