"""Full-text search across published spaces, proposals, debates and comments.

One portable table, ``search_documents``, holds the text of every searchable item; it is written
by ORM hooks in the transaction that changes the item (``node.search.indexer``). Each engine adds
its own index over it in migration 0002: an FTS5 table on SQLite, a generated ``tsvector`` column
with a GIN index on PostgreSQL. Text is folded (case and accents) in Python before indexing and
querying, so that both engines answer "velo" with "Vélo" without the ``unaccent`` extension.
"""

# Importing anything of node.search (node.models imports its model) turns the hooks on.
from node.search import indexer, sources  # noqa: E402,F401
