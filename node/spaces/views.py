"""Routes (to be written by the spaces work)."""
from aiohttp import web


async def todo(request):
    raise web.HTTPNotImplemented()


def setup_routes(app) -> None:
    app.router.add_get("/spaces/{slug}", todo, name="space")
