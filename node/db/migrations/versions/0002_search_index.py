"""search index: FTS5 on SQLite, tsvector + GIN on PostgreSQL

Revision ID: 0002
Revises: 0001

Hand-written, not generated: neither engine's index can be described by the models, and 0001 is
regenerated from the models until the first release (scripts/regen-initial-migration keeps
this file). Both indexes cover the folded title_text and body_text of search_documents.
"""
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

# An external-content FTS5 table: the text is stored once, in search_documents, and triggers keep
# the index in step, including rows removed by foreign-key cascades (a deleted space).
# remove_diacritics 2 repeats what node.search.text.fold already did, for safety.
SQLITE_UP = [
    """CREATE VIRTUAL TABLE search_index USING fts5(
           title_text, body_text, content='search_documents', content_rowid='id',
           tokenize='unicode61 remove_diacritics 2')""",
    """CREATE TRIGGER search_documents_ai AFTER INSERT ON search_documents BEGIN
           INSERT INTO search_index(rowid, title_text, body_text)
           VALUES (new.id, new.title_text, new.body_text);
       END""",
    """CREATE TRIGGER search_documents_ad AFTER DELETE ON search_documents BEGIN
           INSERT INTO search_index(search_index, rowid, title_text, body_text)
           VALUES ('delete', old.id, old.title_text, old.body_text);
       END""",
    """CREATE TRIGGER search_documents_au AFTER UPDATE ON search_documents BEGIN
           INSERT INTO search_index(search_index, rowid, title_text, body_text)
           VALUES ('delete', old.id, old.title_text, old.body_text);
           INSERT INTO search_index(rowid, title_text, body_text)
           VALUES (new.id, new.title_text, new.body_text);
       END""",
    "INSERT INTO search_index(search_index) VALUES ('rebuild')",
]
SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS search_documents_au",
    "DROP TRIGGER IF EXISTS search_documents_ad",
    "DROP TRIGGER IF EXISTS search_documents_ai",
    "DROP TABLE IF EXISTS search_index",
]
# 'simple' (lower case, no stemming, no stop words): content is in four languages, often mixed
# in one space, and the language of a proposal or comment is not recorded; a language's stemmer
# would mangle the other three. Accents are already folded by the application (no unaccent
# extension needed, which would require a superuser and is not IMMUTABLE for a generated column).
POSTGRESQL_UP = [
    """ALTER TABLE search_documents ADD COLUMN search_vector tsvector GENERATED ALWAYS AS (
           setweight(to_tsvector('simple'::regconfig, title_text), 'A') ||
           setweight(to_tsvector('simple'::regconfig, body_text), 'B')) STORED""",
    "CREATE INDEX ix_search_documents_search_vector ON search_documents USING GIN (search_vector)",
]
POSTGRESQL_DOWN = [
    "DROP INDEX IF EXISTS ix_search_documents_search_vector",
    "ALTER TABLE search_documents DROP COLUMN IF EXISTS search_vector",
]


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    for statement in {"sqlite": SQLITE_UP, "postgresql": POSTGRESQL_UP}.get(dialect, []):
        op.execute(statement)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for statement in {"sqlite": SQLITE_DOWN, "postgresql": POSTGRESQL_DOWN}.get(dialect, []):
        op.execute(statement)
