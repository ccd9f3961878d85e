"""The pool of volunteers and the quotas, read from the two CSV files practitioners use
(the stratification app's and the Flanigan et al. replication package's format).

categories.csv: `category,feature,min,max`, one row per feature value.
respondents.csv: one row per volunteer, one column per category (named exactly as in
categories.csv); an `id` column names the volunteers, else they are their 0-based row numbers.
Other columns are ignored: they never leave this module.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path


class PanelError(ValueError):
    """Bad input or quotas that no panel can meet; the message says what to change."""


@dataclass(frozen=True)
class Quota:
    category: str
    feature: str
    min: int
    max: int


@dataclass
class Pool:
    """Volunteers grouped by profile (their tuple of feature values): volunteers with the same
    profile are interchangeable for the quotas, so the algorithms work on profile counts."""
    ids: list            # respondent ids in file order (str from an `id` column, else int row numbers)
    categories: list     # category names, in categories.csv order
    quotas: list         # Quota per feature, grouped by category, in categories.csv order
    profiles: list       # per profile, its tuple of indices into `quotas` (one per category)
    members: list        # per profile, the respondents' indices into `ids`, in file order

    @property
    def size(self) -> int:
        return len(self.ids)

    def counts(self) -> list[int]:
        return [len(m) for m in self.members]

    def describe(self, feature: int) -> str:
        quota = self.quotas[feature]
        return f"{quota.category}={quota.feature}"


def _open(path, what: str):
    try:
        # utf-8-sig: spreadsheets often save a byte-order mark in front of the header.
        return open(Path(path), newline="", encoding="utf-8-sig")
    except FileNotFoundError:
        raise PanelError(f"{what} file not found: {path}") from None
    except OSError as exc:
        raise PanelError(f"cannot read the {what} file {path}: {exc.strerror or exc}") from None


def _whole_number(value: str, name: str, where: str) -> int:
    try:
        number = int(value.strip())
    except (ValueError, AttributeError):
        raise PanelError(f"{where}: {name} {value!r} is not a whole number") from None
    if number < 0:
        raise PanelError(f"{where}: {name} {number} is negative")
    return number


def read_categories(path) -> list[Quota]:
    name = Path(path).name
    with _open(path, "categories") as handle:
        try:
            reader = csv.DictReader(handle)
            header = [h.strip() for h in (reader.fieldnames or [])]
            missing = [c for c in ("category", "feature", "min", "max") if c not in header]
            if missing:
                raise PanelError(f"{name} must have the columns category, feature, min, max "
                                 f"(missing: {', '.join(missing)})")
            reader.fieldnames = header
            quotas: list[Quota] = []
            seen: set = set()
            for row in reader:
                where = f"{name} line {reader.line_num}"
                if not any((v or "").strip() for v in row.values() if isinstance(v, str)):
                    continue
                category, feature = (row["category"] or "").strip(), (row["feature"] or "").strip()
                if not category or not feature:
                    raise PanelError(f"{where}: the category and the feature must not be empty")
                low = _whole_number(row["min"] or "", "min", where)
                high = _whole_number(row["max"] or "", "max", where)
                if low > high:
                    raise PanelError(f"{where}: {category}={feature} has min {low} greater than max {high}")
                if (category, feature) in seen:
                    raise PanelError(f"{where}: {category}={feature} is listed twice")
                seen.add((category, feature))
                quotas.append(Quota(category, feature, low, high))
        except csv.Error as exc:
            raise PanelError(f"{name} is not a readable CSV file: {exc}") from None
    if not quotas:
        raise PanelError(f"{name} lists no category")
    if "id" in {q.category for q in quotas}:
        raise PanelError(f"{name}: 'id' names the respondents' identifier column, not a category")
    # Group by category, keeping the order in which categories and features first appear.
    order = list(dict.fromkeys(q.category for q in quotas))
    return sorted(quotas, key=lambda q: order.index(q.category))


def read_pool(categories_path, respondents_path) -> Pool:
    quotas = read_categories(categories_path)
    categories = list(dict.fromkeys(q.category for q in quotas))
    index = {(q.category, q.feature): i for i, q in enumerate(quotas)}
    name = Path(respondents_path).name
    ids: list = []
    by_profile: dict[tuple, list[int]] = {}
    with _open(respondents_path, "respondents") as handle:
        try:
            reader = csv.DictReader(handle)
            header = [h.strip() for h in (reader.fieldnames or [])]
            missing = [c for c in categories if c not in header]
            if missing:
                raise PanelError(f"{name} has no column for the categor{'y' if len(missing) == 1 else 'ies'} "
                                 f"{', '.join(missing)} (its columns: {', '.join(header) or 'none'})")
            reader.fieldnames = header
            has_ids = "id" in header
            seen_ids: set = set()
            for row in reader:
                where = f"{name} line {reader.line_num}"
                if None in row:
                    raise PanelError(f"{where}: more values than columns")
                if not any((v or "").strip() for v in row.values()):
                    continue
                if has_ids:
                    ident = (row["id"] or "").strip()
                    if not ident:
                        raise PanelError(f"{where}: the id is empty")
                    if ident in seen_ids:
                        raise PanelError(f"{where}: the id {ident!r} is used twice")
                    seen_ids.add(ident)
                else:
                    ident = len(ids)
                profile = []
                for category in categories:
                    value = (row[category] or "").strip()
                    if (category, value) not in index:
                        known = ", ".join(q.feature for q in quotas if q.category == category)
                        shown = repr(value) if value else "an empty value"
                        raise PanelError(f"{where}: {category} has {shown}, which is not a feature "
                                         f"listed in the categories file ({known})")
                    profile.append(index[(category, value)])
                by_profile.setdefault(tuple(profile), []).append(len(ids))
                ids.append(ident)
        except csv.Error as exc:
            raise PanelError(f"{name} is not a readable CSV file: {exc}") from None
    if not ids:
        raise PanelError(f"{name} lists no respondent")
    # Canonical profile order: by feature indices (categories.csv order), not by file order.
    profiles = sorted(by_profile)
    return Pool(ids=ids, categories=categories, quotas=quotas, profiles=profiles,
                members=[by_profile[p] for p in profiles])
