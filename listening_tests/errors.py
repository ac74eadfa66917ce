"""The one exception family of the listening-test services.

Each error carries an HTTP-like status so the API layer can answer without knowing the
service (``{"error": message}`` with ``status``); messages are sentences meant for the person
who sees them (a rater or the researcher). ``details`` holds structured extras, such as the
unanswered items of a session or every problem of a spec.
"""

from __future__ import annotations

from typing import Any


class RatingError(Exception):
    """A request the listening-test services refuse; nothing was stored."""

    status: int = 400

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class NotFound(RatingError):
    """No such test, session, item or check (404)."""

    status = 404


class Conflict(RatingError):
    """The request contradicts the state: a closed test, a finished session, a different
    answer to an answered question (409)."""

    status = 409


class Invalid(RatingError):
    """The request is malformed: a score outside the scale, a bad spec (422)."""

    status = 422


class SpecError(Invalid):
    """A test spec with problems; ``problems`` lists every one, each led by its key path."""

    def __init__(self, problems: list[str]) -> None:
        count = f"{len(problems)} problem{'s' if len(problems) != 1 else ''}"
        super().__init__(f"the test spec has {count}: " + "; ".join(problems),
                         problems=list(problems))
        self.problems = list(problems)
