"""What the incident workflow says when it refuses, in words an officer reads: each message
an English msgid with named placeholders (marked ``N_`` so the console's catalogs carry
it), rendered in English here and in the officer's language by the web layer
(:meth:`Words.render` with its ``gettext``)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from edge.core.errors import EdgeError


def N_(message: str) -> str:
    """Mark *message* for the catalogs (translated where it is shown)."""
    return message


OUTCOME_NAMES: Mapping[str, str] = {
    "false_alarm": N_("False alarm"),
    "patrol_sent": N_("Patrol sent"),
    "police_report": N_("Police report"),
    "test": N_("Test"),
    "other": N_("Other"),
}
"""How an incident was closed, in words."""


def _same(message: str) -> str:
    return message


@dataclass(frozen=True, slots=True)
class Words:
    """A message: a msgid with ``%(name)s`` placeholders and its values (a value may be
    :class:`Words` itself, translated with it)."""

    template: str
    params: Mapping[str, object] = field(default_factory=dict)

    def render(self, translate: Callable[[str], str] = _same) -> str:
        """The message, each msgid through *translate* (default: English)."""
        values = {
            k: v.render(translate) if isinstance(v, Words) else v for k, v in self.params.items()
        }
        return translate(self.template) % values if values else translate(self.template)


def words(template: str, **params: object) -> Words:
    """:class:`Words` of *template* with *params*."""
    return Words(template, params)


def outcome_words(outcome: object) -> Words:
    """An outcome's name (one not known: as stored)."""
    name = OUTCOME_NAMES.get(str(outcome))
    return words(name) if name else words("%(outcome)s", outcome=str(outcome))


def state_words(row: Mapping[str, object]) -> Words:
    """The incident's state for a refusal: ``closed by budi (False alarm)``."""
    status = str(row["status"])
    if status == "new":
        return words(N_("new"))
    if status == "acknowledged":
        return words(N_("acknowledged by %(user)s"), user=row.get("acked_by") or "?")
    if status == "in_progress":
        return words(N_("in progress, assigned to %(user)s"), user=row.get("assignee") or "?")
    if status == "closed":
        return words(N_("closed by %(user)s (%(outcome)s)"), user=row.get("closed_by") or "?",
                     outcome=outcome_words(row.get("outcome")))  # fmt: skip
    return words("%(status)s", status=status)


class WorkflowError(EdgeError):
    """An action refused: *status* is the HTTP answer (400 bad input, 404 no such incident,
    409 not in this state); *said* names the incident and its current state."""

    def __init__(self, status: int, said: Words, ref: str = "", current: str | None = None):
        super().__init__(said.render())
        self.status, self.said, self.ref, self.current = status, said, ref, current
        self.message = said.render()
        """In English."""

    def translated(self, translate: Callable[[str], str]) -> str:
        """The message through *translate* (a ``gettext``)."""
        return self.said.render(translate)
