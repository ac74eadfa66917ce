"""Reading a nested mapping (parsed YAML or JSON) into typed values, collecting problems.

Each problem is a sentence led by its key path (``gold.count: must be an integer from 0 to
50, got -1``), so a whole document can be checked in one pass and every problem reported at
once rather than the first only.
"""

from __future__ import annotations

from typing import Any


class Fields:
    """Reads typed values out of one mapping, noting problems under their key path."""

    def __init__(self, data: Any, path: str, problems: list[str]) -> None:
        self.path, self.problems = path, problems
        if data is None:
            data = {}
        if not isinstance(data, dict):
            self.problem("", f"must be a mapping of keys to values, got {_kind(data)}")
            data = {}
        self.data: dict = data

    def key(self, name: str) -> str:
        return f"{self.path}.{name}" if self.path else name

    def problem(self, name: str, message: str) -> None:
        where = self.key(name) if name else (self.path or "spec")
        self.problems.append(f"{where}: {message}")

    def has(self, name: str) -> bool:
        """Whether ``name`` is given (an empty list counts as not given)."""
        return self.data.get(name) not in (None, [])

    def raw(self, name: str) -> Any:
        return self.data.get(name)

    def integer(self, name: str, default: int | None, low: int, high: int, *,
                nullable: bool = False) -> int | None:
        """The integer under ``name``; ``default`` when absent, None for an explicit null
        where ``nullable`` (turning a limit off)."""
        value = self.raw(name)
        if value is None:
            return None if nullable and name in self.data else default
        if isinstance(value, bool) or not isinstance(value, int):
            self.problem(name, f"must be an integer from {low} to {high}, got {value!r}")
            return default
        if not low <= value <= high:
            self.problem(name, f"must be an integer from {low} to {high}, got {value}")
            return default
        return value

    def number(self, name: str, default: float | None, low: float, high: float, *,
               nullable: bool = False) -> float | None:
        """Like :meth:`integer`, for any number."""
        value = self.raw(name)
        if value is None:
            return None if nullable and name in self.data else default
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not (
                low <= value <= high):
            self.problem(name, f"must be a number from {low:g} to {high:g}, got {value!r}")
            return default
        return float(value)

    def boolean(self, name: str, default: bool) -> bool:
        value = self.raw(name)
        if value is None:
            return default
        if not isinstance(value, bool):
            self.problem(name, f"must be true or false, got {value!r}")
            return default
        return value

    def text(self, name: str, default: str | None, max_length: int, *,
             choices: tuple[str, ...] | None = None, required: bool = False) -> str | None:
        value = self.raw(name)
        if value is None:
            if required:
                self.problem(name, "is required")
            return default
        if not isinstance(value, str) or not value.strip():
            self.problem(name, f"must be a non-empty text, got {value!r}")
            return default
        value = value.strip()
        if len(value) > max_length:
            self.problem(name, f"must be at most {max_length} characters long")
            return default
        if choices is not None and value not in choices:
            self.problem(name, f"must be one of {', '.join(choices)}, got {value!r}")
            return default
        return value

    def section(self, name: str) -> Fields:
        return Fields(self.raw(name), self.key(name), self.problems)

    def finish(self, known: tuple[str, ...]) -> None:
        for key in self.data:
            if key not in known:
                self.problem(str(key), f"unknown key (known keys here: {', '.join(known)})")


def _kind(value: Any) -> str:
    return {list: "a list", str: "a text", int: "a number", float: "a number",
            bool: "true/false"}.get(type(value), type(value).__name__)
