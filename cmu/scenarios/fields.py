"""Typed field readers for scenario files: each checks one TOML value and names the field when it is
wrong (``agents[1].deposit: expected a positive number of tokens, got -5``).

Units: durations are seconds (an integer) or a string with a unit: "90s", "10m", "6h", "1d", "1.5d".
Token amounts are whole tokens (10**12 smallest units, runtime.genesis.TOKEN), integers or decimals.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from runtime.genesis import TOKEN

_DURATION = re.compile(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([smhd])\s*\Z")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86_400}


class ScenarioError(ValueError):
    """A scenario file (or a Python scenario's config) that cannot run; the message names the field."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}" if field else problem)
        self.field = field
        self.problem = problem


def _shown(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    return repr(value) if isinstance(value, str) else str(value)


@dataclasses.dataclass(frozen=True)
class Field:
    """One field of a table: its name, its kind of value and its default (REQUIRED: none)."""

    name: str
    kind: str
    default: Any = None
    required: bool = False
    choices: tuple[str, ...] = ()
    doc: str = ""

    def read(self, table: Mapping[str, Any], path: str) -> Any:
        """The checked value of this field in `table` (its default when absent)."""
        where = f"{path}.{self.name}" if path else self.name
        if self.name not in table:
            if self.required:
                raise ScenarioError(where, "missing (required)")
            return self.default
        return READERS[self.kind](table[self.name], where, self)


def read_duration(value: Any, where: str, field: Field | None = None) -> int:
    """Seconds from an int or a "10m"-style string; must be positive."""
    if isinstance(value, bool):
        value = None
    if isinstance(value, int) and value > 0:
        return value
    if isinstance(value, str):
        match = _DURATION.match(value)
        if match:
            seconds = int(Decimal(match.group(1)) * _UNIT_SECONDS[match.group(2)])
            if seconds > 0:
                return seconds
    raise ScenarioError(where, f'expected a positive duration (seconds, or "30s", "10m", "6h", "1d"), '
                               f"got {_shown(value)}")


def read_tokens(value: Any, where: str, field: Field | None = None) -> int:
    """Smallest units from a positive number of whole tokens (decimals allowed down to one unit)."""
    if not isinstance(value, bool) and isinstance(value, int | float) and value > 0:
        try:
            units = int(Decimal(str(value)) * TOKEN)
        except InvalidOperation:
            units = 0
        if units > 0:
            return units
    raise ScenarioError(where, f"expected a positive number of tokens, got {_shown(value)}")


def read_positive_int(value: Any, where: str, field: Field | None = None) -> int:
    """A positive integer."""
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    raise ScenarioError(where, f"expected a positive integer, got {_shown(value)}")


def read_count(value: Any, where: str, field: Field | None = None) -> int:
    """A non-negative integer."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    raise ScenarioError(where, f"expected a non-negative integer, got {_shown(value)}")


def read_fraction(value: Any, where: str, field: Field | None = None) -> float:
    """A number in [0, 1]."""
    if not isinstance(value, bool) and isinstance(value, int | float) and 0 <= value <= 1:
        return float(value)
    raise ScenarioError(where, f"expected a number between 0 and 1, got {_shown(value)}")


def read_positive_number(value: Any, where: str, field: Field | None = None) -> float:
    """A positive number."""
    if not isinstance(value, bool) and isinstance(value, int | float) and value > 0:
        return float(value)
    raise ScenarioError(where, f"expected a positive number, got {_shown(value)}")


def read_bool(value: Any, where: str, field: Field | None = None) -> bool:
    """true or false."""
    if isinstance(value, bool):
        return value
    raise ScenarioError(where, f"expected true or false, got {_shown(value)}")


def read_text(value: Any, where: str, field: Field | None = None) -> str:
    """A non-empty string (one of `field.choices` when it has any)."""
    if isinstance(value, str) and value:
        if field is not None and field.choices and value not in field.choices:
            raise ScenarioError(where, f"expected one of {', '.join(field.choices)}, got {value!r}")
        return value
    raise ScenarioError(where, f"expected a non-empty string, got {_shown(value)}")


def read_name(value: Any, where: str, field: Field | None = None) -> str:
    """A name usable in column names: letters, digits and underscores, starting with a letter."""
    if isinstance(value, str) and re.fullmatch(r"[A-Za-z][A-Za-z0-9_]{0,31}", value):
        return value
    raise ScenarioError(where, f"expected a name of letters, digits and underscores, got {_shown(value)}")


def read_names(value: Any, where: str, field: Field | None = None) -> tuple[str, ...]:
    """A list of agent names."""
    if isinstance(value, list):
        for index, item in enumerate(value):
            read_name(item, f"{where}[{index}]")
        return tuple(value)
    raise ScenarioError(where, f"expected a list of names, got {_shown(value)}")


def read_seconds_or_zero(value: Any, where: str, field: Field | None = None) -> int:
    """A duration that may also be 0."""
    if value == 0 and not isinstance(value, bool):
        return 0
    return read_duration(value, where, field)


READERS = {
    "duration": read_duration,
    "duration0": read_seconds_or_zero,
    "tokens": read_tokens,
    "positive_int": read_positive_int,
    "count": read_count,
    "fraction": read_fraction,
    "positive_number": read_positive_number,
    "bool": read_bool,
    "text": read_text,
    "name": read_name,
    "names": read_names,
}


def read_table(
    table: Any, path: str, fields: Sequence[Field], *, ignore: Sequence[str] = ()
) -> dict[str, Any]:
    """Every field of a table, checked; unknown keys are refused by name."""
    if not isinstance(table, Mapping):
        raise ScenarioError(path, f"expected a table, got {_shown(table)}")
    known = {f.name for f in fields} | set(ignore)
    for key in table:
        if key not in known:
            where = f"{path}.{key}" if path else key
            raise ScenarioError(where, f"unknown field (known: {', '.join(sorted(known))})")
    return {f.name: f.read(table, path) for f in fields}
