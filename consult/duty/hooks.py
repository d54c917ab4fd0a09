"""How the on-duty chat takes part in the socket room (registered by
:mod:`consult.wiring`): a page joining the room gets its messages, marks and place in
line; a doctor on shift who connects hears of new patients in their queues."""

from __future__ import annotations

from consult import events, hooks
from consult.duty import sockets


def register() -> None:
    hooks.on_join(sockets.joined)
    events.on_connect(sockets.join_queues)
