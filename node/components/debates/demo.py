"""Demo debates for `civicnode demo`: the city has one open debate with a lively thread and one
closed with its conclusion; the town and the collective one open debate each. Called by
node.demo's seeders, inside their transaction."""
from __future__ import annotations

from dataclasses import dataclass, field
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




@dataclass(frozen=True)
class DemoDebate:
    values: dict  # title, description, instructions (per language)
    thread: list  # (key, author, parent key, hours ago, text)
    days_ago: int
    votes: list = field(default_factory=list)  # (comment key, voter, +1/-1): "best rated" differs from "older"
    conclusion: dict | None = None  # closed (two days ago) with this conclusion


@dataclass(frozen=True)
class DebateSet:
    debates: list
    staff: str  # the administrator who closes debates
    language: str  # the node's default language, in which organisers write


CITY_DEBATES = DebateSet(staff="admin", language="fr", debates=[
    DemoDebate(CYCLING, CYCLING_THREAD, days_ago=3,
               votes=[("e", "amelie", 1), ("e", "moderation", 1), ("b", "amelie", 1), ("a", "jordi", 1),
                      ("f", "jordi", -1)]),
    DemoDebate(MARKET, MARKET_THREAD, days_ago=20, votes=[("b", "amelie", 1), ("a", "jordi", 1)],
               conclusion=MARKET_CONCLUSION),
])

SHUTTLE = {
    "title": {"ca": "Com arribem al passeig a l'estiu?", "fr": "Comment venir sur la promenade l'été ?",
              "es": "¿Cómo llegamos al paseo en verano?", "en": "How do we get to the seafront in summer?"},
    "description": {
        "ca": "A l'agost, el port i el passeig s'omplen de cotxes. L'Ajuntament vol saber com hi veniu "
              "i què us faria deixar el cotxe: llançadora, aparcament a l'entrada del poble, carril bici.",
        "fr": "En août, le port et la promenade se remplissent de voitures. La mairie veut savoir comment "
              "vous venez et ce qui vous ferait laisser la voiture : navette, parking à l'entrée du village, "
              "piste cyclable.",
        "es": "En agosto, el puerto y el paseo se llenan de coches. El Ayuntamiento quiere saber cómo venís "
              "y qué os haría dejar el coche.",
        "en": "In August the harbour and the seafront fill with cars. The town hall wants to know how you "
              "get there and what would make you leave the car behind.",
    },
    "instructions": {"ca": "Parleu en la llengua que vulgueu: català, francès o castellà.",
                     "fr": "Écrivez dans la langue de votre choix : catalan, français ou espagnol."},
}
SHUTTLE_THREAD = [
    ("a", "nuria", None, 50, "Visc a dalt del poble: baixo a peu, però pujar amb la calor és impossible "
                             "per a la gent gran. Una llançadora m'aniria molt bé."),
    ("b", "mathieu", "a", 44, "Pareil pour nous depuis Cerbère : on viendrait en train si une navette "
                              "attendait à la gare."),
    ("c", "ajuntament", "b", 30, "Gràcies. La Regió ens presta un minibus elèctric a l'agost; en "
                                 "publicarem els horaris aquí."),
    ("d", "mathieu", None, 20, "Et un parking vélo surveillé près du port ? Beaucoup de vélos ont été "
                               "volés l'été dernier."),
]

TOWN_DEBATES = DebateSet(staff="ajuntament", language="ca", debates=[
    DemoDebate(SHUTTLE, SHUTTLE_THREAD, days_ago=4, votes=[("a", "mathieu", 1), ("d", "nuria", 1)]),
])

GATHERING = {
    "title": {"fr": "Quelle action pour la fête du vélo en juin ?", "en": "What should we do for Bike Day in June?",
              "es": "¿Qué acción para la fiesta de la bici en junio?",
              "ca": "Quina acció per a la festa de la bicicleta al juny?"},
    "description": {
        "fr": "Chaque année le collectif organise une action pour la fête du vélo. Balade, atelier géant "
              "ou piste cyclable éphémère : proposez et discutez avant l'assemblée de mai.",
        "en": "Every year the collective organises something for Bike Day. A ride, a giant repair workshop "
              "or a pop-up cycle lane: suggest and discuss before the May assembly.",
        "es": "Cada año el colectivo organiza una acción para la fiesta de la bici. Proponed y debatid antes "
              "de la asamblea de mayo.",
        "ca": "Cada any el col·lectiu organitza una acció per a la festa de la bicicleta. Proposeu i debateu "
              "abans de l'assemblea de maig.",
    },
}
GATHERING_THREAD = [
    ("a", "samir", None, 30, "Une piste cyclable éphémère sur le boulevard de la gare : ça montrerait à la "
                             "Ville que c'est possible."),
    ("b", "lucie", "a", 26, "D'accord, mais il faut l'accord de la mairie et des bénévoles pour sécuriser "
                            "les carrefours. Je peux demander à la Ville de Démo."),
    ("c", "coordination", None, 10, "Rappel : l'assemblée votera le 14 mai. Ajoutez vos idées avant."),
]

COLLECTIVE_DEBATES = DebateSet(staff="coordination", language="fr", debates=[
    DemoDebate(GATHERING, GATHERING_THREAD, days_ago=2, votes=[("a", "lucie", 1)]),
])


async def _thread(db, debate, component, space, people: dict, thread: list, votes: list) -> None:
    target = comment_target(debate, component, space)
    made = {}
    for key, author, parent, hours, text in thread:
        row = await create_comment(db, target, commentable_type="debate", commentable_id=debate.id,
                                   author=people[author], body=text,
                                   parent_id=made[parent].id if parent else None)
        row.created_at = utcnow() - timedelta(hours=hours)
        made[key] = row
    await db.flush()
    for key, voter, value in votes:
        await vote(db, target, made[key], people[voter], value)


async def seed_debates(db, space, content: DebateSet = CITY_DEBATES):
    """Add a debates component to `space` and fill it (inside the caller's transaction)."""
    people = {u.username: u for u in await db.scalars(select(User))}
    component = await add_component(db, space, "debates", {"name": NAME})
    for demo in content.debates:
        debate = await create_debate(db, component, demo.values, language=content.language)
        debate.created_at = utcnow() - timedelta(days=demo.days_ago)
        await _thread(db, debate, component, space, people, demo.thread, demo.votes)
        if demo.conclusion:
            await close_debate(db, debate, demo.conclusion, actor_id=people[content.staff].id,
                               language=content.language)
            debate.closed_at = utcnow() - timedelta(days=2)
    return component
