"""Where the consultation features meet without importing each other.

The on-duty feature owns the room, the desk and closing; scheduling, calls and documents
add to them through these registries, filled by :mod:`consult.wiring` when the app is
built:

- **closing**: what else ends when a consultation closes (its appointment is completed,
  its calls end, their recordings are finished). Runs inside the closing transaction;
  work for after the commit goes through :func:`core.unit.after_commit`.
- **room context**: what a feature shows in the consultation room (appointment panel,
  documents, recordings), as template variables.
- **desk context**: what a feature shows on the doctor's desk.
- **arrival**: a side opens the room (a specialist room opens when its time has come).
- **join**: a side's page joins the consultation's socket room (also after a
  reconnect); inside the event's transaction. A feature may note it and add members to
  the join's answer (the chat's messages, the open call).
- **history context**: what a feature shows on the patient's history page.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from accounts.models import User
from consult.models import Consultation

Closing = Callable[[Consultation], None]
RoomContext = Callable[[Consultation, str, User], dict[str, Any]]
DeskContext = Callable[[User], dict[str, Any]]
Arrival = Callable[[Consultation, str], None]
Join = Callable[[Consultation, str, dict[str, Any]], dict[str, Any]]
HistoryContext = Callable[[list[Consultation]], dict[str, Any]]
H = TypeVar("H")

_closing: list[Closing] = []
_room: list[RoomContext] = []
_desk: list[DeskContext] = []
_arrival: list[Arrival] = []
_join: list[Join] = []
_history: list[HistoryContext] = []


def _add(registry: list[H], hook: H) -> H:
    if hook not in registry:
        registry.append(hook)
    return hook


def on_closing(hook: Closing) -> Closing:
    """Run ``hook(consultation)`` in the transaction that closes a consultation."""
    return _add(_closing, hook)


def add_room_context(provider: RoomContext) -> RoomContext:
    """Add ``provider(consultation, side, viewer)``'s variables to the room page."""
    return _add(_room, provider)


def add_desk_context(provider: DeskContext) -> DeskContext:
    """Add ``provider(doctor)``'s variables to the doctor's desk."""
    return _add(_desk, provider)


def on_arrival(hook: Arrival) -> Arrival:
    """Run ``hook(consultation, side)`` when a side opens the room, before it renders."""
    return _add(_arrival, hook)


def on_join(hook: Join) -> Join:
    """Run ``hook(consultation, side, data)`` when a side's page joins the consultation's
    socket room (``data``: the event's); its dict is added to the join's answer."""
    return _add(_join, hook)


def add_history_context(provider: HistoryContext) -> HistoryContext:
    """Add ``provider(consultations)``'s variables to the patient's history page (the
    consultations of the page shown)."""
    return _add(_history, provider)


def closing(consultation: Consultation) -> None:
    """Everything the features end with ``consultation``; call it from closing."""
    for hook in _closing:
        hook(consultation)


def arrived(consultation: Consultation, side: str) -> None:
    """Tell the features that ``side`` opened ``consultation``'s room."""
    for hook in _arrival:
        hook(consultation, side)


def room_context(consultation: Consultation, side: str, viewer: User) -> dict[str, Any]:
    """The room page's variables from every feature."""
    return _merged(_room, consultation, side, viewer)


def desk_context(doctor: User) -> dict[str, Any]:
    """The desk's variables from every feature."""
    return _merged(_desk, doctor)


def joined(consultation: Consultation, side: str, data: dict[str, Any]) -> dict[str, Any]:
    """What every feature adds to a socket join's answer (and notes of it)."""
    return _merged(_join, consultation, side, data)


def history_context(consultations: list[Consultation]) -> dict[str, Any]:
    """The history page's variables from every feature."""
    return _merged(_history, consultations)


def _merged(providers: Iterable[Callable[..., dict[str, Any]]], *args: Any) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for provider in providers:
        merged.update(provider(*args))
    return merged
