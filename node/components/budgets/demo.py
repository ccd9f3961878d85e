"""Demo budget for `civicnode demo`: the city's participatory budget gets a budgets component
with a district budget of €200,000 and six projects, one of them found unfeasible. Voting is open in
every phase so that the demo's residents can fill a basket and cast a ballot. Called by
node.demo's seeder, inside its transaction."""
from __future__ import annotations

from node.components.budgets.service import create_budget, create_project
from node.spaces.service import add_component

NAME = {"fr": "Vote du budget", "en": "Budget vote", "es": "Votación del presupuesto", "ca": "Votació del pressupost"}
BUDGET = {
    "title": {"fr": "Quartier Centre", "en": "Town Centre district", "es": "Barrio Centro", "ca": "Barri Centre"},
    "description": {"fr": "Choisissez les projets que vous voulez voir réalisés au centre-ville, dans la limite "
                          "de 200 000 €.",
                    "en": "Choose the projects you want carried out in the town centre, within €200,000.",
                    "es": "Elige los proyectos que quieres ver realizados en el centro, dentro de 200.000 €.",
                    "ca": "Tria els projectes que vols veure fets al centre, dins de 200.000 €."},
    "total": "200000", "currency": "EUR",
}
# (title per language, cost, category, address, feasibility, reason)
PROJECTS = [
    ({"fr": "Jardin partagé du quartier Nord", "en": "Community garden in the North district",
      "es": "Huerto compartido del barrio Norte", "ca": "Hort compartit del barri Nord"},
     "65000", "Nature en ville", "Rue des Lilas", "feasible", ""),
    ({"fr": "Piste cyclable rue de la République", "en": "Cycle lane on Rue de la République",
      "es": "Carril bici en la calle de la República", "ca": "Carril bici al carrer de la República"},
     "80000", "Mobilité", "Rue de la République", "feasible", ""),
    ({"fr": "Aire de jeux inclusive au parc Jean-Moulin", "en": "Inclusive playground in Jean-Moulin park",
      "es": "Parque infantil inclusivo en el parque Jean-Moulin", "ca": "Parc infantil inclusiu al parc Jean-Moulin"},
     "72000", "Cadre de vie", "Parc Jean-Moulin", "feasible", ""),
    ({"fr": "Arceaux vélos devant la médiathèque", "en": "Bike racks outside the library",
      "es": "Aparcabicis delante de la mediateca", "ca": "Aparcaments de bicicletes davant la mediateca"},
     "15000", "Mobilité", "Place de la Médiathèque", "feasible", ""),
    ({"fr": "Panneaux solaires sur le gymnase", "en": "Solar panels on the sports hall",
      "es": "Placas solares en el polideportivo", "ca": "Plaques solars al poliesportiu"},
     "78000", "Climat", "Gymnase municipal", "pending", ""),
    ({"fr": "Téléphérique vers la colline", "en": "Cable car up the hill",
      "es": "Teleférico a la colina", "ca": "Telefèric cap al turó"},
     "2500000", "Mobilité", "", "unfeasible",
     "Son coût dépasse l'enveloppe du budget participatif (80 000 € au plus par projet)."),
]


async def seed_budgets(db, space):
    """Add a budgets component to `space` and fill it (inside the caller's transaction)."""
    component = await add_component(db, space, "budgets", {"name": NAME, "settings": {"rule": "equalshares/add1"}})
    budget = await create_budget(db, component, BUDGET, language="fr")
    for title, cost, category, address, feasibility, reason in PROJECTS:
        await create_project(db, budget, {"title": title, "cost": cost, "category": category, "address": address,
                                          "feasibility": feasibility, "feasibility_reason": reason}, language="fr")
    return component
