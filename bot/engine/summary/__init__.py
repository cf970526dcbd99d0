"""The account summary (issue 20): ten sections built from one account's data.

``data`` gathers the account (``gather``), ``budget`` shares its most recent activities out
between the sections, ``rules`` is the deterministic writer, ``model`` the result (the
``summary --format json`` document), ``visibility`` the sections an admin hid.
"""

from bot.engine.overview import UnknownAccount
from bot.engine.summary.data import AccountData, gather
from bot.engine.summary.model import Bullet, Generator, Period, Section, Summary
from bot.engine.summary.rules import write_rules
from bot.engine.summary.sections import SECTION_ORDER, SectionId

__all__ = [
    "SECTION_ORDER",
    "AccountData",
    "Bullet",
    "Generator",
    "Period",
    "Section",
    "SectionId",
    "Summary",
    "UnknownAccount",
    "gather",
    "write_rules",
]
