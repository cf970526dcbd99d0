"""Bolt listeners, one module per surface, each with ``register(app, deps)``.

``build_app`` calls :func:`register_all`, which runs every module's ``register`` in
:func:`registrars` order: ``errors`` (the one ``@app.error`` handler), ``events`` (App Home
opened), ``cards`` (a card's buttons and modals), ``suggestions`` (a card's "Do it…" menu),
``summary`` (summary buttons),
``opportunities`` (the summary's Create opportunity and its modal), ``checkin`` (a
check-in email draft's Mark sent), ``approvals`` (an approval request's Approve / Reject and the
reject modal), ``escalations`` (an escalation's Acknowledge, Reassign and Nudge CSM), ``home``
(App Home filters and settings), ``commands``
(slash commands). A new module adds its ``register`` there; ``tests/test_listeners.py`` fails
on an id with no listener or with two. A listener opens its own database connections from
``deps.engine`` (lazy listeners copy the context, and a session put there would be dropped) and
takes "now" from ``deps.clock``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from slack_bolt import App
from sqlalchemy import Engine

from bot.settings import Settings


@dataclass(frozen=True, slots=True)
class Deps:
    settings: Settings
    engine: Engine
    clock: Callable[[], datetime]


Registrar = Callable[[App, Deps], None]


def registrars() -> list[Registrar]:
    from bot.handlers import (
        approvals,
        cards,
        checkin,
        commands,
        errors,
        escalations,
        events,
        home,
        opportunities,
        suggestions,
        summary,
    )

    return [
        errors.register,
        events.register,
        cards.register,
        suggestions.register,
        summary.register,
        opportunities.register,
        checkin.register,
        approvals.register,
        escalations.register,
        home.register,
        commands.register,
    ]


def register_all(app: App, deps: Deps) -> None:
    for register in registrars():
        register(app, deps)


__all__ = ["Deps", "Registrar", "register_all", "registrars"]
