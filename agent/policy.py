"""secRMM's properties, what they allow, and how a change to one is reported.

Property names and values follow the real rows: switches take ``on``, the
serial-number list ``secRMM_is_locked_down`` allows no device, and secrets in
``SendToAzureLog`` and ``RequireMDMEnrollment`` are shown as ``*****``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from .host import Account

__all__ = [
    "LOCKED_DOWN",
    "PROPERTIES",
    "Policy",
    "PropertyChange",
    "masked",
]

#: The AllowedSerialNumbers value that allows no device at all.
LOCKED_DOWN = "secRMM_is_locked_down"
PROPERTIES = (
    "AllowedSerialNumbers",
    "BlockOfficeMacrosOnDevice",
    "BlockProgramsOnDevice",
    "RequireMDMEnrollment",
    "ScanDevice",
    "SendToAzureLog",
)
#: Which space-separated word of a property's value is a secret.
_SECRET_WORD = {"SendToAzureLog": 1, "RequireMDMEnrollment": 7}
_LIST_SEPARATORS = re.compile(r"[\s,;]+")


def masked(name: str, value: str) -> str:
    """``value`` as secRMM shows it: the secret word replaced by ``*****``."""
    position = _SECRET_WORD.get(name)
    words = value.split(" ")
    if position is None or len(words) <= position:
        return value
    words[position] = "*****"
    return " ".join(words)


@dataclass(frozen=True, kw_only=True)
class PropertyChange:
    """One administrator change, ready to become a ``Property change`` event."""

    name: str
    action: str
    value: str
    previous: str
    account: Account
    program: str


@dataclass(frozen=True)
class Policy:
    """The properties in force on one computer."""

    properties: Mapping[str, str]

    def allowed_serials(self) -> list[tuple[str, str | None]] | None:
        """(serial, account or None) entries; None when the property is absent.

        An entry ``SERIAL:DOMAIN\\user`` allows that device for that user only
        (our choice of syntax; the vendor's is not public).
        """
        value = self.properties.get("AllowedSerialNumbers")
        if value is None:
            return None
        entries = []
        for word in _LIST_SEPARATORS.split(value.strip()):
            if not word or word == LOCKED_DOWN:
                continue
            serial, _, account = word.partition(":")
            entries.append((serial.upper(), account or None))
        return entries

    def may_write(self, serial: str, account: Account) -> bool:
        entries = self.allowed_serials()
        if entries is None:
            return True
        return any(
            serial.upper() == allowed
            and (user is None or user.lower() == account.name.lower())
            for allowed, user in entries
        )

    def switch(self, name: str) -> bool:
        value = self.properties.get(name, "")
        return value.split(" ", 1)[0].lower() == "on"

    def changed(
        self, name: str, value: str, account: Account, program: str
    ) -> PropertyChange:
        """The change setting ``name`` to ``value`` makes (``""`` clears it)."""
        previous = self.properties.get(name)
        if previous is None:
            action = "created" if value else "unchanged"
        elif not value:
            action = "cleared"
        else:
            action = "unchanged" if value == previous else "changed"
        # The real rows leave the previous value empty unless it changed.
        shown_previous = previous if action in ("changed", "cleared") else ""
        return PropertyChange(
            name=name,
            action=action,
            value=masked(name, value),
            previous=masked(name, shown_previous or ""),
            account=account,
            program=program,
        )

    def with_property(self, name: str, value: str) -> Policy:
        properties = dict(self.properties)
        if value:
            properties[name] = value
        else:
            properties.pop(name, None)
        return Policy(properties)
