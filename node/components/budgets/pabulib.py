"""Pabulib `.pb` files: parse and write participatory-budgeting elections.

A file has three sections, in this order: META (`key;value` rows), PROJECTS (a header with at
least `project_id` and `cost`) and VOTES (a header with at least `voter_id` and `vote`; `points`
too for cumulative and scoring ballots). Fields are ';'-separated with CSV quoting, lines end in
LF or CRLF, and a UTF-8 byte-order mark is allowed. The format is described at pabulib.org.

Money and points are kept exact (`fractions.Fraction`): "2158427.19" is 215842719/100, never a
float. Columns the rules do not use (names, categories, the published `votes`, `score` and
`selected` columns, voter ages...) are kept verbatim so that `write(parse(text))` reads back as
the same election.
"""
from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

VOTE_TYPES = ("approval", "choose-1", "cumulative", "scoring", "ordinal")
POINTS_VOTE_TYPES = ("cumulative", "scoring")
SECTIONS = ("META", "PROJECTS", "VOTES")
_NUMBER = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?")


class PabulibError(ValueError):
    """A malformed file; the message names the line (1-based) and the section."""

    def __init__(self, message: str, line: int | None = None, section: str | None = None):
        where = ", ".join(part for part in (f"line {line}" if line else "", section or "") if part)
        super().__init__(f"{where}: {message}" if where else message)
        self.line = line
        self.section = section


@dataclass
class Project:
    id: str
    cost: Fraction
    # The other PROJECTS columns as written in the file (name, votes, score, selected...).
    fields: dict[str, str] = field(default_factory=dict)


@dataclass
class Vote:
    voter_id: str
    # Project ids in the order of the `vote` column: for ordinal ballots, best first.
    projects: tuple[str, ...]
    # Cumulative and scoring ballots: the `points` column, one number per project.
    points: tuple[Fraction, ...] | None = None
    fields: dict[str, str] = field(default_factory=dict)


@dataclass
class Election:
    meta: dict[str, str]
    projects: dict[str, Project]
    votes: list[Vote]
    # Header order, kept for writing; empty means the standard order.
    project_columns: list[str] = field(default_factory=list)
    vote_columns: list[str] = field(default_factory=list)

    @property
    def budget(self) -> Fraction:
        return parse_number(self.meta.get("budget", ""), "budget", allow_comma=True)

    @property
    def vote_type(self) -> str:
        return self.meta.get("vote_type", "")

    @property
    def rule(self) -> str:
        return self.meta.get("rule", "")


def parse_number(text: str, what: str, *, allow_comma: bool = False) -> Fraction:
    """An exact decimal number ("40000", "40000.0", "2158427.19", "1e6"); ValueError otherwise."""
    text = text.strip()
    if text.isascii() and text.isdigit():
        return Fraction(int(text))
    if allow_comma and "," in text and "." not in text:
        text = text.replace(",", ".")  # "12,5": the decimal comma of some exports
    if not _NUMBER.fullmatch(text):
        raise ValueError(f"{what} must be a number, not {text!r}")
    return Fraction(text)


def format_number(value: Fraction | int) -> str:
    """The shortest exact decimal text of `value`; ValueError if it has no finite decimal form."""
    value = Fraction(value)
    if value.denominator == 1:
        return str(value.numerator)
    denominator, digits = value.denominator, 0
    for prime in (2, 5):
        power = 0
        while denominator % prime == 0:
            denominator //= prime
            power += 1
        digits = max(digits, power)
    if denominator != 1:
        raise ValueError(f"{value} has no exact decimal form")
    scaled = abs(value.numerator * 10**digits // value.denominator)
    text = str(scaled).rjust(digits + 1, "0")
    return ("-" if value < 0 else "") + text[:-digits] + "." + text[-digits:]


def load(path: str | Path) -> Election:
    return parse(Path(path).read_bytes())


def parse(source: str | bytes) -> Election:
    if isinstance(source, bytes):
        try:
            source = source.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise PabulibError(f"not UTF-8 text (byte {exc.start})") from None
    return _Parser(source.removeprefix("\ufeff")).parse()


class _Parser:
    def __init__(self, text: str):
        self.reader = csv.reader(io.StringIO(text, newline=""), delimiter=";", strict=True)
        self.meta: dict[str, str] = {}
        self.meta_lines: dict[str, int] = {}
        self.projects: dict[str, Project] = {}
        self.votes: list[Vote] = []
        self.columns: dict[str, list[str]] = {}
        self.section: str | None = None
        self.header: list[str] | None = None

    def error(self, message: str) -> PabulibError:
        return PabulibError(message, self.reader.line_num, self.section)

    def parse(self) -> Election:
        try:
            for row in self.reader:
                self.row([value.strip() for value in row])
        except csv.Error as exc:
            raise self.error(f"unreadable field ({exc})") from None
        for section in SECTIONS:
            if section not in self.columns:
                raise PabulibError(f"the {section} section is missing")
        self.check_counts()
        return Election(self.meta, self.projects, self.votes,
                        self.columns["PROJECTS"], self.columns["VOTES"])

    def row(self, row: list[str]) -> None:
        if not any(row):
            return
        if row[0].upper() in SECTIONS and not any(row[1:]):
            self.start(row[0].upper())
        elif self.section is None:
            raise self.error("the file must start with META")
        elif self.header is None:
            self.read_header(row)
        else:
            values = self.fit(row)
            {"META": self.meta_row, "PROJECTS": self.project_row, "VOTES": self.vote_row}[self.section](values)

    def start(self, section: str) -> None:
        expected = SECTIONS[len(self.columns)] if len(self.columns) < len(SECTIONS) else None
        if section != expected:
            self.section = section
            raise self.error(f"{section} where {expected or 'the end of the file'} was expected "
                             "(sections come once each, in the order META, PROJECTS, VOTES)")
        if section == "VOTES":
            self.check_meta()
        self.section, self.header = section, None
        self.columns[section] = []

    def read_header(self, row: list[str]) -> None:
        while row and not row[-1]:
            row = row[:-1]
        if len(set(row)) != len(row) or "" in row:
            raise self.error("the header has an empty or repeated column name")
        required = {"META": ("key", "value"), "PROJECTS": ("project_id", "cost"),
                    "VOTES": ("voter_id", "vote")}[self.section]
        if self.section == "VOTES" and self.meta["vote_type"] in POINTS_VOTE_TYPES:
            required += ("points",)
        if self.section == "META":
            row = [name.lower() for name in row]
            if row != ["key", "value"]:
                raise self.error("the META header must be key;value")
        missing = [name for name in required if name not in row]
        if missing:
            raise self.error(f"the header lacks the column {missing[0]!r}")
        self.header = row
        self.columns[self.section] = row

    def fit(self, row: list[str]) -> dict[str, str]:
        assert self.header is not None
        if len(row) > len(self.header) and not any(row[len(self.header):]):
            row = row[:len(self.header)]  # trailing empty fields, e.g. a final ';'
        if len(row) != len(self.header):
            raise self.error(f"{len(row)} fields where the header has {len(self.header)}")
        return dict(zip(self.header, row))

    def meta_row(self, values: dict[str, str]) -> None:
        key = values["key"]
        if not key:
            raise self.error("empty META key")
        if key in self.meta:
            raise self.error(f"META key {key!r} appears twice")
        self.meta[key] = values["value"]
        self.meta_lines[key] = self.reader.line_num

    def check_meta(self) -> None:
        """At the start of VOTES: the META entries the votes need."""
        for key in ("budget", "vote_type"):
            if key not in self.meta:
                raise PabulibError(f"META has no {key}", section="META")
        line = self.meta_lines["budget"]
        try:
            budget = parse_number(self.meta["budget"], "budget", allow_comma=True)
        except ValueError as exc:
            raise PabulibError(str(exc), line, "META") from None
        if budget < 0:
            raise PabulibError("the budget is negative", line, "META")
        if self.meta["vote_type"] not in VOTE_TYPES:
            raise PabulibError(f"unknown vote_type {self.meta['vote_type']!r} (known: {', '.join(VOTE_TYPES)})",
                               self.meta_lines["vote_type"], "META")

    def project_row(self, values: dict[str, str]) -> None:
        project_id = values.pop("project_id")
        if not project_id or "," in project_id:
            raise self.error(f"project id {project_id!r} is empty or contains a comma")
        if project_id in self.projects:
            raise self.error(f"project {project_id!r} appears twice")
        try:
            cost = parse_number(values.pop("cost"), f"the cost of project {project_id!r}", allow_comma=True)
        except ValueError as exc:
            raise self.error(str(exc)) from None
        if cost < 0:
            raise self.error(f"the cost of project {project_id!r} is negative")
        self.projects[project_id] = Project(project_id, cost, values)

    def vote_row(self, values: dict[str, str]) -> None:
        voter_id = values.pop("voter_id")
        if not voter_id:
            raise self.error("empty voter_id")
        ids = tuple(item.strip() for item in values.pop("vote").split(",") if item.strip())
        for project_id in ids:
            if project_id not in self.projects:
                raise self.error(f"voter {voter_id!r} votes for project {project_id!r}, which is not in PROJECTS")
        if len(set(ids)) != len(ids):
            raise self.error(f"voter {voter_id!r} names a project twice")
        vote_type = self.meta["vote_type"]
        if vote_type == "choose-1" and len(ids) > 1:
            raise self.error(f"voter {voter_id!r} chose {len(ids)} projects on a choose-1 ballot")
        points = None
        if vote_type in POINTS_VOTE_TYPES:
            texts = [item for item in values.pop("points").split(",") if item.strip()]
            if len(texts) != len(ids):
                raise self.error(f"voter {voter_id!r} has {len(ids)} projects but {len(texts)} points")
            try:
                points = tuple(parse_number(text, "points") for text in texts)
            except ValueError as exc:
                raise self.error(f"voter {voter_id!r}: {exc}") from None
            if vote_type == "cumulative" and any(value < 0 for value in points):
                raise self.error(f"voter {voter_id!r} gives negative points on a cumulative ballot")
        self.votes.append(Vote(voter_id, ids, points, values))

    def check_counts(self) -> None:
        for key, actual, section in (("num_projects", len(self.projects), "PROJECTS"),
                                     ("num_votes", len(self.votes), "VOTES")):
            if key in self.meta:
                declared = self.meta[key]
                if not declared.isdigit() or int(declared) != actual:
                    raise PabulibError(f"META {key} is {declared!r} but {section} has {actual} rows "
                                       "(a truncated or edited file?)", section="META")


def write(election: Election) -> str:
    """The election as .pb text (LF line endings, CSV quoting where a field needs it)."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\n")
    writer.writerow(["META"])
    writer.writerow(["key", "value"])
    writer.writerows(election.meta.items())

    columns = _columns(election.project_columns, ("project_id", "cost"),
                       (key for project in election.projects.values() for key in project.fields))
    writer.writerow(["PROJECTS"])
    writer.writerow(columns)
    for project in election.projects.values():
        if not project.id or "," in project.id:
            raise ValueError(f"project id {project.id!r} is empty or contains a comma")
        known = {"project_id": project.id, "cost": format_number(project.cost)}
        writer.writerow([known[name] if name in known else project.fields.get(name, "") for name in columns])

    points = election.vote_type in POINTS_VOTE_TYPES
    standard = ("voter_id", "vote", "points") if points else ("voter_id", "vote")
    columns = _columns(election.vote_columns, standard,
                       (key for vote in election.votes for key in vote.fields))
    writer.writerow(["VOTES"])
    writer.writerow(columns)
    for vote in election.votes:
        known = {"voter_id": vote.voter_id, "vote": ",".join(vote.projects)}
        if points:
            known["points"] = ",".join(format_number(value) for value in vote.points or ())
        writer.writerow([known[name] if name in known else vote.fields.get(name, "") for name in columns])
    return out.getvalue()


def _columns(declared, standard, extra) -> list[str]:
    columns = list(declared)
    for name in (*standard, *extra):
        if name not in columns:
            columns.append(name)
    return columns
