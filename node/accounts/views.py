"""Routes (to be written by the accounts work)."""
from aiohttp import web


async def todo(request):
    raise web.HTTPNotImplemented()


def setup_routes(app) -> None:
    app.router.add_get("/login", todo, name="login")
    app.router.add_get("/register", todo, name="register")
    app.router.add_post("/logout", todo, name="logout")
    app.router.add_get("/users/{username}", todo, name="profile")
