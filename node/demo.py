"""Demo data for `civicnode demo`: three federated nodes on 127.0.0.1.

- the city, Ville de Démo: a participatory budget, a neighbourhood council, an administrator,
  a moderator and two residents;
- a neighbouring town on the Catalan-French border, Sant Martí de la Marenda: a process with
  proposals, supports, comments and a debate;
- a citizen collective, Collectif Vélo Quartiers: an assembly with proposals and a debate.

The passwords are printed by the command, so they are fixed and public: a demo node must never
hold real data."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, Awaitable, Callable

from node.accounts.service import create_user
from node.components.budgets.demo import seed_budgets
from node.components.debates.demo import COLLECTIVE_DEBATES, TOWN_DEBATES, seed_debates
from node.components.proposals.demo import (
    COLLECTIVE_PROPOSALS, DEMO_ORIGIN, TOWN_PROPOSALS, seed_proposals,
)
from node.site import save_node_info
from node.spaces.service import activate_phase, add_component, add_phase, create_space

# (role label, username, password), printed by `civicnode demo` and used by the browser tests.
# Usernames differ across the three nodes, so that a login names one person of one node.
DEMO_LOGINS = [
    ("administrator", "admin", "demo-admin-2027"),
    ("moderator", "moderation", "demo-moderation-2027"),
    ("resident", "amelie", "demo-amelie-2027"),
    ("resident", "jordi", "demo-jordi-2027"),
]
TOWN_LOGINS = [
    ("administrator", "ajuntament", "demo-ajuntament-2027"),
    ("resident", "nuria", "demo-nuria-2027"),
    ("resident", "mathieu", "demo-mathieu-2027"),
]
COLLECTIVE_LOGINS = [
    ("administrator", "coordination", "demo-coordination-2027"),
    ("resident", "lucie", "demo-lucie-2027"),
    ("resident", "samir", "demo-samir-2027"),
]
# username: (nickname, role, email, language)
_PEOPLE = {
    "admin": ("Service participation", "admin", "participation@ville-demo.example", "fr"),
    "moderation": ("Karim Benali", "moderator", "karim.benali@ville-demo.example", "fr"),
    "amelie": ("Amélie Durand", "user", "amelie.durand@example.org", "fr"),
    "jordi": ("Jordi Puig", "user", "jordi.puig@example.org", "ca"),
    "ajuntament": ("Ajuntament de Sant Martí", "admin", "participacio@santmarti-marenda.example", "ca"),
    "nuria": ("Núria Vidal", "user", "nuria.vidal@example.org", "ca"),
    "mathieu": ("Mathieu Roig", "user", "mathieu.roig@example.org", "fr"),
    "coordination": ("Coordination du collectif", "admin", "contact@velo-quartiers.example", "fr"),
    "lucie": ("Lucie Martin", "user", "lucie.martin@example.org", "fr"),
    "samir": ("Samir Haddad", "user", "samir.haddad@example.org", "en"),
}

NODE_DESCRIPTION = {
    "fr": "La plateforme de participation citoyenne de la Ville de Démo : proposez, débattez et "
          "décidez ensemble de l'avenir de la commune.",
    "en": "The citizen participation platform of Ville de Démo: propose, discuss and decide "
          "together on the future of the town.",
    "es": "La plataforma de participación ciudadana de Ville de Démo: propón, debate y decide "
          "en común el futuro del municipio.",
    "ca": "La plataforma de participació ciutadana de Ville de Démo: proposa, debat i decideix "
          "conjuntament el futur del municipi.",
}

BUDGET = {
    "slug": "budget-participatif-2027",
    "kind": "process",
    "title": {"fr": "Budget participatif 2027", "en": "Participatory budget 2027",
              "es": "Presupuestos participativos 2027", "ca": "Pressupostos participatius 2027"},
    "subtitle": {
        "fr": "500 000 € pour des projets proposés et choisis par les habitants",
        "en": "€500,000 for projects proposed and chosen by residents",
        "es": "500.000 € para proyectos propuestos y elegidos por los vecinos",
        "ca": "500.000 € per a projectes proposats i escollits pels veïns",
    },
    "description": {
        "fr": "La Ville consacre 500 000 € de son budget d'investissement 2027 à des projets "
              "imaginés par les habitants : aménagements de rues, jardins partagés, équipements "
              "sportifs, actions pour le climat.\n\n"
              "Toute personne habitant la commune à partir de 16 ans peut déposer un projet et "
              "voter.\n\n"
              "- Un projet doit relever des compétences de la Ville et coûter au plus 80 000 €.\n"
              "- Les services municipaux étudient chaque projet et expliquent publiquement leurs avis.\n"
              "- Les projets les plus soutenus sont réalisés dans la limite de l'enveloppe.",
        "en": "The town sets aside €500,000 of its 2027 capital budget for projects imagined by "
              "residents: street improvements, community gardens, sports facilities, climate "
              "action.\n\n"
              "Anyone living in the town aged 16 or over can submit a project and vote.\n\n"
              "- A project must fall within the town's remit and cost at most €80,000.\n"
              "- Council services review every project and publish the reasons for their opinion.\n"
              "- The most supported projects are carried out within the budget.",
        "es": "El Ayuntamiento dedica 500.000 € de su presupuesto de inversión de 2027 a proyectos "
              "ideados por los vecinos: mejoras de calles, huertos compartidos, equipamientos "
              "deportivos, acciones por el clima.\n\n"
              "Cualquier persona empadronada a partir de 16 años puede presentar un proyecto y "
              "votar.\n\n"
              "- Un proyecto debe ser competencia municipal y costar como máximo 80.000 €.\n"
              "- Los servicios municipales estudian cada proyecto y publican los motivos de su informe.\n"
              "- Los proyectos más apoyados se realizan dentro del presupuesto.",
        "ca": "L'Ajuntament dedica 500.000 € del seu pressupost d'inversió de 2027 a projectes "
              "pensats pels veïns: millores de carrers, horts compartits, equipaments esportius, "
              "accions pel clima.\n\n"
              "Qualsevol persona empadronada a partir de 16 anys pot presentar un projecte i "
              "votar.\n\n"
              "- Un projecte ha de ser competència municipal i costar com a màxim 80.000 €.\n"
              "- Els serveis municipals estudien cada projecte i publiquen els motius del seu informe.\n"
              "- Els projectes amb més suports es fan dins del pressupost.",
    },
}

PHASES = [
    ({"fr": "Dépôt des projets", "en": "Project submission", "es": "Presentación de proyectos",
      "ca": "Presentació de projectes"},
     {"fr": "Déposez vos idées en ligne ou lors des permanences en mairie.",
      "en": "Submit your ideas online or at the town hall drop-in sessions.",
      "es": "Presenta tus ideas en línea o en las sesiones abiertas del Ayuntamiento.",
      "ca": "Presenta les teves idees en línia o a les sessions obertes de l'Ajuntament."},
     date(2026, 10, 1), date(2026, 12, 15)),
    ({"fr": "Analyse technique", "en": "Technical review", "es": "Análisis técnico",
      "ca": "Anàlisi tècnica"},
     {"fr": "Les services vérifient la faisabilité et le coût de chaque projet.",
      "en": "Council services check the feasibility and cost of each project.",
      "es": "Los servicios municipales comprueban la viabilidad y el coste de cada proyecto.",
      "ca": "Els serveis municipals comproven la viabilitat i el cost de cada projecte."},
     date(2027, 1, 5), date(2027, 3, 15)),
    ({"fr": "Vote", "en": "Vote", "es": "Votación", "ca": "Votació"},
     {"fr": "Choisissez les projets que vous voulez voir réalisés, dans la limite du budget.",
      "en": "Choose the projects you want carried out, within the budget.",
      "es": "Elige los proyectos que quieres ver realizados, dentro del presupuesto.",
      "ca": "Tria els projectes que vols veure fets, dins del pressupost."},
     date(2027, 4, 1), date(2027, 4, 30)),
]

HOW_IT_WORKS = {
    "name": {"fr": "Comment ça marche", "en": "How it works", "es": "Cómo funciona",
             "ca": "Com funciona"},
    "body": {
        "fr": "## Qui peut participer ?\n\nToute personne habitant la commune, dès 16 ans.\n\n"
              "## Comment déposer un projet ?\n\n"
              "1. Créez un compte sur cette plateforme.\n"
              "2. Décrivez votre projet : le lieu, ce qu'il change, une estimation du coût.\n"
              "3. Suivez son analyse et répondez aux questions des services.\n\n"
              "Besoin d'aide ? Écrivez à participation@ville-demo.example.",
        "en": "## Who can take part?\n\nAnyone living in the town, from the age of 16.\n\n"
              "## How do I submit a project?\n\n"
              "1. Create an account on this platform.\n"
              "2. Describe your project: the place, what it changes, an estimate of its cost.\n"
              "3. Follow its review and answer the council services' questions.\n\n"
              "Need help? Write to participation@ville-demo.example.",
        "es": "## ¿Quién puede participar?\n\nCualquier persona que viva en el municipio, desde los 16 años.\n\n"
              "## ¿Cómo presento un proyecto?\n\n"
              "1. Crea una cuenta en esta plataforma.\n"
              "2. Describe tu proyecto: el lugar, qué cambia, una estimación del coste.\n"
              "3. Sigue su análisis y responde a las preguntas de los servicios.\n\n"
              "¿Necesitas ayuda? Escribe a participation@ville-demo.example.",
        "ca": "## Qui hi pot participar?\n\nQualsevol persona que visqui al municipi, a partir de 16 anys.\n\n"
              "## Com presento un projecte?\n\n"
              "1. Crea un compte en aquesta plataforma.\n"
              "2. Descriu el teu projecte: el lloc, què canvia, una estimació del cost.\n"
              "3. Segueix-ne l'anàlisi i respon a les preguntes dels serveis.\n\n"
              "Necessites ajuda? Escriu a participation@ville-demo.example.",
    },
}

COUNCIL = {
    "slug": "conseil-de-quartier",
    "kind": "assembly",
    "title": {"fr": "Conseil de quartier Centre-Ville", "en": "Town Centre neighbourhood council",
              "es": "Consejo de barrio del Centro", "ca": "Consell de barri del Centre"},
    "subtitle": {
        "fr": "Habitants, commerçants et associations du centre, réunis chaque trimestre",
        "en": "Residents, shopkeepers and associations of the centre, meeting every quarter",
        "es": "Vecinos, comerciantes y asociaciones del centro, reunidos cada trimestre",
        "ca": "Veïns, comerciants i associacions del centre, reunits cada trimestre",
    },
    "description": {
        "fr": "Le conseil de quartier donne son avis sur les projets qui touchent le centre-ville "
              "(circulation, marché, espaces verts) et peut proposer ses propres projets au budget "
              "participatif.\n\nSes 24 membres sont tirés au sort pour deux ans parmi les "
              "volontaires. Les séances sont publiques.",
        "en": "The neighbourhood council gives its opinion on projects affecting the town centre "
              "(traffic, market, green spaces) and may put forward its own projects to the "
              "participatory budget.\n\nIts 24 members are drawn by lot for two years from among "
              "volunteers. Meetings are open to the public.",
        "es": "El consejo de barrio opina sobre los proyectos que afectan al centro (tráfico, "
              "mercado, zonas verdes) y puede proponer sus propios proyectos a los presupuestos "
              "participativos.\n\nSus 24 miembros se eligen por sorteo entre los voluntarios para "
              "dos años. Las sesiones son públicas.",
        "ca": "El consell de barri opina sobre els projectes que afecten el centre (trànsit, "
              "mercat, zones verdes) i pot proposar els seus propis projectes als pressupostos "
              "participatius.\n\nEls seus 24 membres s'escullen per sorteig entre els voluntaris "
              "per a dos anys. Les sessions són públiques.",
    },
}


TOWN_DESCRIPTION = {
    "ca": "La plataforma de participació de Sant Martí de la Marenda, poble de mar a tocar de la "
          "frontera: proposa, debat i decideix amb els teus veïns.",
    "fr": "La plateforme de participation de Saint-Martin-de-la-Marenda, village de mer au bord de "
          "la frontière : proposez, débattez et décidez avec vos voisins.",
    "es": "La plataforma de participación de Sant Martí de la Marenda, pueblo de mar junto a la "
          "frontera: propón, debate y decide con tus vecinos.",
    "en": "The participation platform of Sant Martí de la Marenda, a seaside town on the border: "
          "propose, discuss and decide with your neighbours.",
}
SEAFRONT = {
    "slug": "passeig-maritim",
    "kind": "process",
    "title": {"ca": "Reviure el passeig marítim", "fr": "Faire revivre la promenade du bord de mer",
              "es": "Revivir el paseo marítimo", "en": "Bringing the seafront back to life"},
    "subtitle": {"ca": "Idees dels veïns per al passeig, la platja i el port",
                 "fr": "Les idées des habitants pour la promenade, la plage et le port",
                 "es": "Ideas de los vecinos para el paseo, la playa y el puerto",
                 "en": "Residents' ideas for the promenade, the beach and the harbour"},
    "description": {
        "ca": "L'Ajuntament renova el passeig marítim el 2027. Abans de fer el projecte, demana als "
              "veïns, i als estiuejants d'un costat i l'altre de la frontera, què hi volen trobar.",
        "fr": "La commune rénove la promenade du bord de mer en 2027. Avant d'en dessiner le projet, "
              "elle demande aux habitants, et aux estivants des deux côtés de la frontière, ce qu'ils "
              "veulent y trouver.",
        "es": "El Ayuntamiento renueva el paseo marítimo en 2027. Antes de hacer el proyecto, pregunta "
              "a los vecinos, y a los veraneantes de ambos lados de la frontera, qué quieren encontrar.",
        "en": "The town renews its seafront promenade in 2027. Before drawing up the plans it asks "
              "residents, and summer visitors from both sides of the border, what they want there.",
    },
}
SEAFRONT_PHASES = [
    ({"ca": "Propostes", "fr": "Propositions", "es": "Propuestas", "en": "Proposals"},
     {"ca": "Feu les vostres propostes i doneu suport a les dels altres.",
      "fr": "Faites vos propositions et soutenez celles des autres.",
      "es": "Haced vuestras propuestas y apoyad las de los demás.",
      "en": "Make your proposals and support other people's."},
     date(2027, 1, 15), date(2027, 3, 31)),
    ({"ca": "Projecte", "fr": "Projet", "es": "Proyecto", "en": "Design"},
     {"ca": "Els arquitectes integren les propostes amb més suports al projecte.",
      "fr": "Les architectes intègrent au projet les propositions les plus soutenues.",
      "es": "Los arquitectos integran en el proyecto las propuestas más apoyadas.",
      "en": "The architects build the most supported proposals into the plans."},
     date(2027, 4, 1), date(2027, 6, 30)),
]

COLLECTIVE_DESCRIPTION = {
    "fr": "Le Collectif Vélo Quartiers rassemble des cyclistes de la Ville de Démo et des communes "
          "voisines : ateliers, balades et propositions pour des rues plus sûres.",
    "en": "Collectif Vélo Quartiers brings together cyclists from Ville de Démo and the towns around "
          "it: workshops, rides and proposals for safer streets.",
    "es": "El Collectif Vélo Quartiers reúne a ciclistas de Ville de Démo y de los municipios "
          "vecinos: talleres, paseos y propuestas para calles más seguras.",
    "ca": "El Collectif Vélo Quartiers aplega ciclistes de Ville de Démo i dels municipis veïns: "
          "tallers, passejades i propostes per a carrers més segurs.",
}
ASSEMBLY = {
    "slug": "assemblee-velo",
    "kind": "assembly",
    "title": {"fr": "Assemblée du collectif", "en": "The collective's assembly",
              "es": "Asamblea del colectivo", "ca": "Assemblea del col·lectiu"},
    "subtitle": {"fr": "Tous les membres, une fois par mois, au local de la rue Pasteur",
                 "en": "All members, once a month, at the Rue Pasteur premises",
                 "es": "Todos los miembros, una vez al mes, en el local de la calle Pasteur",
                 "ca": "Tots els membres, un cop al mes, al local del carrer Pasteur"},
    "description": {
        "fr": "L'assemblée décide des actions du collectif. Chaque membre peut proposer une action ; "
              "celles qui recueillent cinq soutiens sont mises au vote.",
        "en": "The assembly decides what the collective does. Any member may propose an action; "
              "those with five supports are put to the vote.",
        "es": "La asamblea decide las acciones del colectivo. Cada miembro puede proponer una; las que "
              "reúnen cinco apoyos se votan.",
        "ca": "L'assemblea decideix les accions del col·lectiu. Cada membre pot proposar-ne una; les que "
              "reuneixen cinc suports es voten.",
    },
}


async def _create_people(db, logins: list) -> None:
    for _role_label, username, password in logins:
        nickname, role, email, locale = _PEOPLE[username]
        reserved = username == "admin"
        # "admin" is reserved so that no resident can pass for the node's staff; the demo's own
        # staff account is exactly what the reservation is for, so it is renamed after creation.
        user = await create_user(db, username="demo_admin" if reserved else username, email=email,
                                 password=password, nickname=nickname, role=role, locale=locale)
        if reserved:
            user.username = username
    await db.flush()


async def _node(db, name: str, description: dict, locale: str, contact: str, logins: list) -> None:
    await save_node_info(db, {"node_name": name, "description": description, "default_locale": locale,
                              "registration_open": True, "contact_email": contact})
    await _create_people(db, logins)


async def _process(db, values: dict, phases: list, locale: str):
    """A published participatory process whose first phase is the active one."""
    space = await create_space(db, {**values, "published": True}, default_locale=locale)
    rows = [await add_phase(db, space, {"title": title, "description": description,
                                        "start_date": start, "end_date": end})
            for title, description, start, end in phases]
    await activate_phase(db, space.id, rows[0].id)
    return space


async def seed_demo(db, base_url: str = DEMO_ORIGIN) -> None:
    """Fill the city's freshly migrated database (inside the caller's transaction). `base_url` is
    the address the node will be served at, named in its proposals' fingerprints."""
    await _node(db, "Ville de Démo", NODE_DESCRIPTION, "fr", "participation@ville-demo.example", DEMO_LOGINS)
    budget = await _process(db, BUDGET, PHASES, "fr")
    await add_component(db, budget, "pages", {"name": HOW_IT_WORKS["name"],
                                              "settings": {"body": HOW_IT_WORKS["body"]}})
    await seed_proposals(db, budget, base_url=base_url)

    await create_space(db, {**COUNCIL, "published": True}, default_locale="fr")
    await seed_debates(db, budget)
    await seed_budgets(db, budget)
    await _seed_group(db)


async def _seed_group(db) -> None:
    """A parents' association, verified by the administrator, that Amélie may speak for."""
    from sqlalchemy import select

    from node.accounts.models import User
    from node.groups.service import create_group, set_verified

    people = {u.username: u for u in await db.scalars(select(User).where(User.username.in_(("admin", "amelie"))))}
    group = await create_group(db, people["amelie"], name="Parents d'élèves de l'école du Centre",
                               nickname="parents_centre",
                               about="Association des parents d'élèves de l'école élémentaire du Centre.")
    await set_verified(db, group, people["admin"], True, "Statuts et récépissé de déclaration reçus en mairie.")


async def seed_town(db, base_url: str = DEMO_ORIGIN) -> None:
    await _node(db, "Sant Martí de la Marenda", TOWN_DESCRIPTION, "ca",
                "participacio@santmarti-marenda.example", TOWN_LOGINS)
    await _verify_in_person(db, "ajuntament", "nuria", "Padró comprovat a l'oficina d'atenció ciutadana.")
    seafront = await _process(db, SEAFRONT, SEAFRONT_PHASES, "ca")
    await seed_proposals(db, seafront, TOWN_PROPOSALS, base_url=base_url)
    await seed_debates(db, seafront, TOWN_DEBATES)


async def _verify_in_person(db, admin_name: str, username: str, reason: str) -> None:
    """A manual verification, as a town hall's desk grants after checking a resident's papers."""
    from sqlalchemy import select

    from node.accounts.models import User
    from pathlib import Path

    from node.config import Settings
    from node.verification.grants import grant

    people = {u.username: u for u in await db.scalars(select(User).where(User.username.in_((admin_name, username))))}
    # Default settings: a manual verification holds until revoked.
    await grant(db, user_id=people[username].id, handler="manual", details={}, settings=Settings(data_dir=Path(".")),
                granted_by=people[admin_name], reason=reason)


async def seed_collective(db, base_url: str = DEMO_ORIGIN) -> None:
    await _node(db, "Collectif Vélo Quartiers", COLLECTIVE_DESCRIPTION, "fr",
                "contact@velo-quartiers.example", COLLECTIVE_LOGINS)
    assembly = await create_space(db, {**ASSEMBLY, "published": True}, default_locale="fr")
    await seed_proposals(db, assembly, COLLECTIVE_PROPOSALS, base_url=base_url)
    await seed_debates(db, assembly, COLLECTIVE_DEBATES)


@dataclass(frozen=True)
class DemoNode:
    key: str  # its sub-directory of the demo's data directory
    name: str
    locale: str
    logins: list
    seed: Callable[[Any, str], Awaitable[None]]  # (db session in a transaction, base_url)
    space: str  # the slug of its main space


# The city comes first: tests/bench/nodeproc.py and the browser tests read it as "the" demo node.
DEMO_NODES = (
    DemoNode("city", "Ville de Démo", "fr", DEMO_LOGINS, seed_demo, BUDGET["slug"]),
    DemoNode("town", "Sant Martí de la Marenda", "ca", TOWN_LOGINS, seed_town, SEAFRONT["slug"]),
    DemoNode("collective", "Collectif Vélo Quartiers", "fr", COLLECTIVE_LOGINS, seed_collective,
             ASSEMBLY["slug"]),
)
