"""click parameter types built from ``service.fields``' table: an option or argument is
refused as the API refuses the same field, with click's usual "Invalid value for '--name'"
message (exit status 2), never a traceback.

- ``Text(rule)``: names, descriptions, host names, passwords, addresses, zones;
- ``Integer(rule)``: IDs and counts typed on the command line (digits only, in the rule's range);
- ``REF``: an argument naming an object by ID or by name (digits must be an ID in range);
- ``PERIOD``: ``--last`` (``7d``, ``24h``...), its count within the API's limit;
- ``OutputFile``: a file to write, in a directory that exists.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import click

from service.errors import InvalidInput
from service.fields import ID, MAX_ID, ListLength, RecurrenceCount, check


def _checked(kind: Any, value: Any, param: click.Parameter | None) -> Any:
    """``value`` by the rule ``kind``, or the problem in words (without a field name)."""
    try:
        return check(kind, value, "")
    except InvalidInput as error:
        raise click.BadParameter(str(error).removeprefix(": "), param=param) from None


class Text(click.ParamType[Any]):
    """Text checked (and normalised) by one of ``service.fields``' text types."""

    name = "text"

    def __init__(self, kind: Any) -> None:
        self.kind = kind

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if not isinstance(value, str):
            return value  # a default already checked
        return _checked(self.kind, value, param)


class Integer(click.ParamType[int]):
    """A whole number in decimal digits, in the range of one of ``service.fields``' rules."""

    name = "integer"

    def __init__(self, kind: Any = ID, name: str = "id") -> None:
        self.kind = kind
        self.name = name

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int) and not isinstance(value, bool):
            return int(_checked(self.kind, value, param))
        text = str(value).strip()
        if not (text.isascii() and text.isdigit()):
            self.fail(f"{value!r} is not a whole number", param, ctx)
        number = int(text) if len(text) <= 30 else 10**30  # beyond every rule; int() stays cheap
        return int(_checked(self.kind, number, param))


class Ref(click.ParamType[str]):
    """An object by ID or by name: digits must be an ID the tables can hold."""

    name = "id|name"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        text = str(value)
        if not text.strip():
            self.fail("empty: give an ID or a name", param, ctx)
        if "\x00" in text:
            self.fail("must not hold NUL", param, ctx)
        if text.isdigit() and not (text.isascii() and 1 <= int(text[:20]) <= MAX_ID):
            self.fail(f"{text[:24]!r} is not an ID (1 to {MAX_ID})", param, ctx)
        return text


class Period(click.ParamType[str]):
    """``--last N{h,d,w,m}``: the form and the count as the API checks ``timeRange``."""

    name = "period"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        from service.cli.report_options import parse_last  # the one parser of the form

        try:
            parse_last(str(value))
        except InvalidInput as error:
            self.fail(str(error).removeprefix("--last").lstrip(": "), param, ctx)
        return str(value)


class OutputFile(click.Path):
    """A file to write: not a directory, in a directory that exists and may be written."""

    def __init__(self) -> None:
        super().__init__(dir_okay=False, writable=True, path_type=Path)

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, str) and not value.strip():
            self.fail("a file name is needed", param, ctx)  # Path("") is ".", a directory
        path = Path(os.fsdecode(super().convert(value, param, ctx)))
        parent = path.parent if str(path.parent) else Path(".")
        if not parent.is_dir():
            self.fail(f"{str(parent)!r}: no such directory", param, ctx)
        if not os.access(parent, os.W_OK | os.X_OK):
            self.fail(f"{str(parent)!r}: directory not writable", param, ctx)
        return path


#: The types commands use.
ID_PARAM = Integer(ID, "id")
RECURRENCE_COUNT = Integer(RecurrenceCount, "integer")
LIST_LENGTH = Integer(ListLength, "integer")
REF = Ref()
PERIOD = Period()
