"""Database engine and sessions (SQLAlchemy 2 async)."""
from node.db.engine import make_engine, make_sessionmaker

__all__ = ["make_engine", "make_sessionmaker"]
