"""The census: reading an uploaded CSV, storing it as keyed digests only, and matching a
resident's entry against it.

An identity is normalised before hashing so that the admin's file and the resident's typing
agree: document number upper-cased without spaces or dashes, birth date ISO, postal code
stripped. Nothing readable is stored (node.verification.keys)."""
from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import delete, insert, select

from node.db.base import utcnow
from node.i18n import N_
from node.nodemodels import NodeSetting
from node.verification.keys import keyed_digest, node_key
from node.verification.models import CensusEntry

COLUMNS = ("document_number", "birth_date", "postal_code")
META_SETTING = "census_meta"
SHOWN_ERRORS = 5
_SEPARATORS = re.compile(r"[\s\-]+")


class CensusFileError(Exception):
    """The file cannot be used; `message` is a msgid, `values` its %-parameters, `lines` the
    first bad rows as (line number, msgid) pairs."""

    def __init__(self, message: str, values: dict | None = None, lines: list | None = None):
        super().__init__(message)
        self.message, self.values, self.lines = message, values or {}, lines or []


@dataclass
class Census:
    identities: set = field(default_factory=set)
    rows: int = 0

    @property
    def duplicates(self) -> int:
        return self.rows - len(self.identities)


def normalise_document(value: str) -> str:
    return _SEPARATORS.sub("", value or "").upper()


def normalise_postal_code(value: str) -> str:
    return _SEPARATORS.sub("", value or "").upper()


def parse_date(value: str) -> date | None:
    """YYYY-MM-DD or DD/MM/YYYY (how spreadsheets in the node's languages write dates)."""
    value = (value or "").strip()
    for fmt in ("%Y-%m-%d", "%d/%m/%Y"):
        try:
            parsed = datetime.strptime(value, fmt).date()
        except ValueError:
            continue
        return parsed if date(1900, 1, 1) <= parsed <= date.today() else None
    return None


def identity(document: str, birth: date, postal_code: str) -> str:
    return f"{normalise_document(document)}|{birth.isoformat()}|{normalise_postal_code(postal_code)}"


def _decode(raw: bytes) -> str:
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise CensusFileError(N_("The file is not UTF-8 text: save the file as UTF-8 (in a spreadsheet, "
                                 "“CSV UTF-8”) and upload it again.")) from None
    if not text.strip():
        raise CensusFileError(N_("The file is empty: upload a CSV file with a header row and one line per resident."))
    return text


def _dialect(text: str) -> str:
    header = text.splitlines()[0]
    try:
        return csv.Sniffer().sniff(header, delimiters=",;").delimiter
    except csv.Error:
        return ";" if header.count(";") > header.count(",") else ","


def _row_problem(values: dict) -> tuple[str | None, date | None]:
    if not values["document_number"]:
        return N_("the document number is empty"), None
    birth = parse_date(values["birth_date"])
    if birth is None:
        return N_("the birth date is not a date (write YYYY-MM-DD or DD/MM/YYYY)"), None
    if not values["postal_code"]:
        return N_("the postal code is empty"), None
    return None, birth


def parse_census(raw: bytes) -> Census:
    """All rows or nothing: the first bad rows are reported and no row is kept."""
    text = _decode(raw)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_dialect(text))
    header = [name.strip().lower() for name in next(reader)]
    if any(column not in header for column in COLUMNS) or len(set(header)) != len(header):
        raise CensusFileError(N_("The header row must name the columns %(expected)s (found: %(found)s)."),
                              {"expected": ", ".join(COLUMNS), "found": ", ".join(header) or "—"})
    where = {column: header.index(column) for column in COLUMNS}
    census, bad, bad_count = Census(), [], 0
    for row in reader:
        if not any(cell.strip() for cell in row):
            continue
        values = {column: (row[i].strip() if i < len(row) else "") for column, i in where.items()}
        problem, birth = _row_problem(values)
        if problem:
            bad_count += 1
            if len(bad) < SHOWN_ERRORS:
                bad.append((reader.line_num, problem))
            continue
        census.rows += 1
        census.identities.add(identity(values["document_number"], birth, values["postal_code"]))
    if bad:
        raise CensusFileError(N_("%(count)s lines cannot be read; nothing was saved. Correct them and upload "
                                 "the file again."), {"count": bad_count}, bad)
    if not census.rows:
        raise CensusFileError(N_("The file has a header row but no residents."))
    return census


async def replace_census(db, census: Census) -> int:
    """Replace the stored census in the caller's transaction. Authorisations are left alone:
    they were verified against the census of their day."""
    key = await node_key(db)
    await db.execute(delete(CensusEntry))
    now = utcnow()
    digests = sorted(keyed_digest(key, "census", line) for line in census.identities)
    for start in range(0, len(digests), 5000):
        await db.execute(insert(CensusEntry), [{"digest": d, "created_at": now} for d in digests[start:start + 5000]])
    meta = await db.get(NodeSetting, META_SETTING)
    value = {"count": len(digests), "uploaded_at": now.isoformat()}
    if meta is None:
        db.add(NodeSetting(key=META_SETTING, value=value))
    else:
        meta.value = value
    return len(digests)


async def census_meta(db) -> dict | None:
    row = await db.get(NodeSetting, META_SETTING)
    if row is None:
        return None
    return {"count": row.value["count"], "uploaded_at": datetime.fromisoformat(row.value["uploaded_at"])}


async def match(db, document: str, birth: date, postal_code: str) -> str | None:
    """The census digest of this identity if it is in the census, else None."""
    digest = keyed_digest(await node_key(db), "census", identity(document, birth, postal_code))
    found = await db.scalar(select(CensusEntry.id).where(CensusEntry.digest == digest))
    return digest if found is not None else None
