"""The workspace's shared keys: decoded once, never shown.

A key never appears in ``repr``, ``str``, logs or exception messages; code that
needs the bytes asks for them explicitly.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import os
from pathlib import Path

__all__ = ["ClientSecret", "KeyFileError", "SharedKey", "generate_key"]


class KeyFileError(ValueError):
    """A shared key file is missing, unreadable or does not hold a base64 key."""


def _read_secret_file(path: str | os.PathLike[str], what: str, holds: str) -> str:
    """A secret file's text; the error names the file, never its content."""
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise KeyFileError(
            f"cannot read the {what} {os.fspath(path)!r} ({type(err).__name__}); "
            f"it must hold {holds} on one line"
        ) from None


class SharedKey:
    """A workspace shared key (primary or secondary), kept decoded."""

    __slots__ = ("_secret",)

    def __init__(self, encoded: str) -> None:
        try:
            secret = base64.b64decode(encoded.strip(), validate=True)
        except (binascii.Error, ValueError):
            raise KeyFileError(
                "the shared key is not valid base64; copy the workspace's primary "
                "or secondary key exactly as the Azure portal shows it"
            ) from None
        if not secret:
            raise KeyFileError("the shared key is empty")
        self._secret = secret

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> SharedKey:
        return cls(_read_secret_file(path, "shared key file", "the base64 key"))

    @property
    def secret(self) -> bytes:
        """The decoded key bytes, the HMAC key of SharedKey signatures."""
        return self._secret

    def encoded(self) -> str:
        """The key in base64, as the portal shows it (for writing key files)."""
        return base64.b64encode(self._secret).decode("ascii")

    def __repr__(self) -> str:
        return "SharedKey(*****)"

    __str__ = __repr__


def generate_key() -> SharedKey:
    """A fresh random 64-byte key, the size Azure's workspace keys have."""
    return SharedKey(base64.b64encode(os.urandom(64)).decode("ascii"))


class ClientSecret:
    """An application's client secret for the token endpoint; never shown."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        value = value.strip()
        if not value:
            raise KeyFileError("the client secret is empty")
        self._value = value

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> ClientSecret:
        return cls(_read_secret_file(path, "client secret file", "the secret value"))

    def matches(self, offered: str) -> bool:
        return hmac.compare_digest(self._value.encode(), offered.encode())

    def __repr__(self) -> str:
        return "ClientSecret(*****)"

    __str__ = __repr__
