"""Declarative base shared by every model, with stable constraint names for migrations."""
from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal, localcontext
from fractions import Fraction

from sqlalchemy import JSON, DateTime, MetaData, String, TypeDecorator
from sqlalchemy.orm import DeclarativeBase

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class UTCDateTime(TypeDecorator):
    """Timezone-aware datetimes on both SQLite (which drops tzinfo) and PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        return value.astimezone(timezone.utc) if value is not None else None

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value


class ExactDecimal(TypeDecorator):
    """An exact decimal number (money, points) kept as its decimal text, read back as a Decimal.

    SQLite has no exact decimal type (its NUMERIC values become floats), and amounts such as
    2158427.19 must stay exact for the budgets' outcome rules. Accepts Decimal, int, str and
    Fraction values with a finite decimal form."""

    impl = String(40)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if isinstance(value, Fraction):
            with localcontext(prec=80):
                exact = Decimal(value.numerator) / Decimal(value.denominator)
            if Fraction(exact) != value:
                raise ValueError(f"{value} has no exact decimal form")
            value = exact
        text = format(Decimal(value).normalize(), "f")
        return "0" if text in ("-0", "0") else text

    def process_result_value(self, value, dialect):
        return None if value is None else Decimal(value)


# A translatable text: {"fr": "...", "en": "...", "es": "...", "ca": "..."}; missing languages
# fall back to the node's default locale, then to any language present (see node.i18n.pick).
Translated = JSON
