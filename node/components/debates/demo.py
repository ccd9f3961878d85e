"""Demo debates for `civicnode demo`: one open debate with a lively thread, one closed with its
conclusion. Called at the end of node.demo.seed_demo, inside its transaction."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from node.accounts.models import User
from node.components.comments.service import create_comment, vote
from node.components.debates.service import close_debate, comment_target, create_debate
from node.db.base import utcnow
from node.spaces.service import add_component

NAME = {"fr": "Débats", "en": "Debates", "es": "Debates", "ca": "Debats"}

CYCLING = {
    "title": {"fr": "Quelle place pour le vélo dans le centre-ville ?",
              "en": "How much room for cycling in the town centre?",
              "es": "¿Qué espacio para la bici en el centro?",
              "ca": "Quin espai per a la bicicleta al centre?"},
    "description": {
        "fr": "Plusieurs projets du budget participatif touchent aux rues du centre. Avant de les "
              "étudier, la Ville veut connaître vos usages : pistes cyclables, stationnement, "
              "zones partagées avec les piétons.",
        "en": "Several participatory budget projects concern the streets of the centre. Before "
              "reviewing them, the town wants to hear how you get around: cycle lanes, parking, "
              "areas shared with pedestrians.",
        "es": "Varios proyectos de los presupuestos participativos afectan a las calles del centro. "
              "Antes de estudiarlos, el Ayuntamiento quiere conocer vuestros usos.",
        "ca": "Diversos projectes dels pressupostos participatius afecten els carrers del centre. "
              "Abans d'estudiar-los, l'Ajuntament vol conèixer els vostres usos.",
    },
    "instructions": {"fr": "Restez courtois et appuyez-vous sur des exemples concrets.",
                     "en": "Stay courteous and give concrete examples."},
}
MARKET = {
    "title": {"fr": "Horaires du marché du samedi", "en": "Opening hours of the Saturday market",
              "es": "Horario del mercado del sábado", "ca": "Horari del mercat del dissabte"},
    "description": {"fr": "Faut-il prolonger le marché du samedi jusqu'à 14 h ?",
                    "en": "Should the Saturday market stay open until 2 pm?",
                    "es": "¿Hay que alargar el mercado del sábado hasta las 14 h?",
                    "ca": "Cal allargar el mercat del dissabte fins a les 14 h?"},
}
MARKET_CONCLUSION = {
    "fr": "Merci pour vos 4 contributions. Le marché fermera à 14 h à titre d'essai de mai à "
          "septembre 2027 ; un bilan sera présenté au conseil de quartier en octobre.",
    "en": "Thank you for your contributions. The market will close at 2 pm on a trial basis from "
          "May to September 2027; a review will be presented to the neighbourhood council in October.",
    "es": "Gracias por vuestras aportaciones. El mercado cerrará a las 14 h de prueba de mayo a "
          "septiembre de 2027.",
    "ca": "Gràcies per les vostres aportacions. El mercat tancarà a les 14 h de prova de maig a "
          "setembre de 2027.",
}
# (key, author, parent key, hours ago, text)
CYCLING_THREAD = [
    ("a", "amelie", None, 70, "Je vais au travail à vélo tous les jours : la rue de la République est "
                              "dangereuse aux heures de pointe. Une piste séparée changerait tout."),
    ("b", "jordi", "a", 66, "Same experience here. A painted line is not enough, we need a **physical "
                            "separation**, like on the bridge."),
    ("c", "amelie", "b", 60, "Oui, et des arceaux devant la médiathèque : on ne sait jamais où "
                             "s'attacher."),
    ("d", "moderation", "a", 52, "Merci pour ces retours. Pour rappel, les services présenteront les "
                                 "comptages vélo de 2026 lors de la réunion publique du 12 mars."),
    ("e", "jordi", None, 40, "What about the shopkeepers? Some of them fear losing parking spaces. "
                             "Could we keep delivery bays and remove only a few spots?"),
    ("f", "amelie", "e", 30, "Une étude à Strasbourg montre que les cyclistes dépensent autant que les "
                             "automobilistes sur un mois : [lien](https://example.org/etude-commerces-velo)."),
]
MARKET_THREAD = [
    ("a", "amelie", None, 400, "Oui ! Le samedi matin, beaucoup de gens travaillent ou ont les enfants "
                               "au sport."),
    ("b", "jordi", "a", 380, "Agreed, but the stallholders should be asked first; 2 pm is a long day "
                             "for them."),
    ("c", "moderation", "b", 370, "Les commerçants du marché ont été consultés : 18 sur 25 sont "
                                  "favorables à un essai."),
    ("d", "jordi", None, 360, "Please also think about cleaning the square afterwards."),
]


async def _thread(db, debate, component, space, people: dict, thread: list) -> None:
    target = comment_target(debate, component, space)
    made = {}
    for key, author, parent, hours, text in thread:
        row = await create_comment(db, target, commentable_type="debate", commentable_id=debate.id,
                                   author=people[author], body=text,
                                   parent_id=made[parent].id if parent else None)
        row.created_at = utcnow() - timedelta(hours=hours)
        made[key] = row
    await db.flush()
    # A few agreements, so that "best rated" differs from "older".
    for key, voter, value in (("e", "amelie", 1), ("e", "moderation", 1), ("b", "amelie", 1),
                              ("a", "jordi", 1), ("f", "jordi", -1)):
        if key in made and made[key].author_id != people[voter].id:
            await vote(db, target, made[key], people[voter], value)


async def seed_debates(db, space) -> None:
    people = {u.username: u for u in await db.scalars(select(User))}
    component = await add_component(db, space, "debates", {"name": NAME})
    cycling = await create_debate(db, component, CYCLING, language="fr")
    market = await create_debate(db, component, MARKET, language="fr")
    market.created_at = utcnow() - timedelta(days=20)
    cycling.created_at = utcnow() - timedelta(days=3)
    await _thread(db, cycling, component, space, people, CYCLING_THREAD)
    await _thread(db, market, component, space, people, MARKET_THREAD)
    await close_debate(db, market, MARKET_CONCLUSION, actor_id=people["admin"].id, language="fr")
    market.closed_at = utcnow() - timedelta(days=2)
