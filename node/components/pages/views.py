"""Routes of the pages component (filled in by the spaces work)."""


def setup_routes(app) -> None:
    pass
