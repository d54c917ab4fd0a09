"""The URL converters of every route: ``<int:…>`` matches only a row id a column can
hold, so an id beyond it, negative or zero is a plain 404 before any view runs (never
an overflow in the database driver)."""

from __future__ import annotations

from flask import Flask
from werkzeug.routing import IntegerConverter, Map

ID_MAX = 2**31 - 1
"""The largest value of an ``Integer`` column (32 bits on PostgreSQL)."""


class IdConverter(IntegerConverter):
    """``<int:…>``: unsigned digits from 1 to :data:`ID_MAX` unless the rule says
    otherwise (``<int(min=0):index>``)."""

    def __init__(self, map: Map, fixed_digits: int = 0, min: int | None = 1,
                 max: int | None = ID_MAX, signed: bool = False) -> None:
        super().__init__(map, fixed_digits, min, max, signed)


def init_app(app: Flask) -> None:
    """Install the bounded converter as the app's ``int``: before any rule is added."""
    app.url_map.converters["int"] = IdConverter
