"""Routes (to be written by the admin work)."""
from aiohttp import web


async def todo(request):
    raise web.HTTPNotImplemented()


def setup_routes(app) -> None:
    app.router.add_get("/admin", todo, name="admin_home")
