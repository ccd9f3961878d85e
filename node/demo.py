"""Demo data for `civicnode demo`: a town with a participatory budget, a neighbourhood council,
an administrator, a moderator and two residents. The passwords are printed by the command, so
they are fixed and public: a demo node must never hold real data."""
from __future__ import annotations

from datetime import date

from node.accounts.service import create_user
from node.components.debates.demo import seed_debates
from node.components.proposals.demo import seed_proposals
from node.site import save_node_info
from node.spaces.service import activate_phase, add_component, add_phase, create_space

# (role label, username, password), printed by `civicnode demo` and used by the browser tests.
DEMO_LOGINS = [
    ("administrator", "admin", "demo-admin-2027"),
    ("moderator", "moderation", "demo-moderation-2027"),
    ("resident", "amelie", "demo-amelie-2027"),
    ("resident", "jordi", "demo-jordi-2027"),
]
_PEOPLE = {
    "admin": ("Service participation", "admin", "participation@ville-demo.example", "fr"),
    "moderation": ("Karim Benali", "moderator", "karim.benali@ville-demo.example", "fr"),
    "amelie": ("Amélie Durand", "user", "amelie.durand@example.org", "fr"),
    "jordi": ("Jordi Puig", "user", "jordi.puig@example.org", "ca"),
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


async def _create_people(db) -> None:
    for role_label, username, password in DEMO_LOGINS:
        nickname, role, email, locale = _PEOPLE[username]
        reserved = username == "admin"
        # "admin" is reserved so that no resident can pass for the node's staff; the demo's own
        # staff account is exactly what the reservation is for, so it is renamed after creation.
        user = await create_user(db, username="demo_admin" if reserved else username, email=email,
                                 password=password, nickname=nickname, role=role, locale=locale)
        if reserved:
            user.username = username
    await db.flush()


async def seed_demo(db) -> None:
    """Fill a freshly migrated database (inside the caller's transaction)."""
    await save_node_info(db, {"node_name": "Ville de Démo", "description": NODE_DESCRIPTION,
                              "default_locale": "fr", "registration_open": True,
                              "contact_email": "participation@ville-demo.example"})
    await _create_people(db)

    budget = await create_space(db, {**BUDGET, "published": True}, default_locale="fr")
    phases = [await add_phase(db, budget, {"title": title, "description": description,
                                           "start_date": start, "end_date": end})
              for title, description, start, end in PHASES]
    await activate_phase(db, budget.id, phases[0].id)
    await add_component(db, budget, "pages", {"name": HOW_IT_WORKS["name"],
                                              "settings": {"body": HOW_IT_WORKS["body"]}})
    await seed_proposals(db, budget)

    await create_space(db, {**COUNCIL, "published": True}, default_locale="fr")
    await seed_debates(db, budget)
