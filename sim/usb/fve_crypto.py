"""The cryptography of a BitLocker volume: key wrapping and sector encryption.

- A passphrase becomes a 256-bit key: SHA-256 twice over its UTF-16LE form,
  then "stretched" by 2^20 chained SHA-256 rounds with a 16-byte salt. A
  48-digit recovery password: each 6-digit block divided by 11, as 16-bit
  numbers, SHA-256 once, then the same stretching.
- Keys are boxed as FVE datums and wrapped with AES-CCM (12-byte nonce of
  FILETIME and counter, 16-byte MAC stored before the ciphertext): the VMK
  under the stretched key, the FVEK under the VMK.
- Sectors are AES-CBC-128 with the "encrypted byte offset" IV: the sector's
  byte offset, as a 16-byte little-endian number, encrypted with the FVEK.

Constants and layouts follow libyal libbde's format notes (usb.md 5.1).
"""

from __future__ import annotations

import functools
import hashlib
import struct

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESCCM

__all__ = [
    "encrypt_sectors",
    "fve_datum",
    "key_datum",
    "passphrase_hash",
    "recovery_hash",
    "stretched_key",
    "wrap",
]

STRETCH_ROUNDS = 0x100000
MAC_SIZE = 16
DATUM_HEADER = struct.Struct("<HHHH")  # size, role, value type, version
DATUM_VERSION = 1
VALUE_KEY = 0x0001
VALUE_AES_CCM_ENCRYPTED_KEY = 0x0005
ROLE_PROPERTY = 0x0000


def fve_datum(role: int, value_type: int, body: bytes) -> bytes:
    return (
        DATUM_HEADER.pack(
            DATUM_HEADER.size + len(body), role, value_type, DATUM_VERSION
        )
        + body
    )


def key_datum(key_type: int, key: bytes) -> bytes:
    """A key in its box: the plaintext that AES-CCM wraps."""
    return fve_datum(ROLE_PROPERTY, VALUE_KEY, struct.pack("<HH", key_type, 0) + key)


def wrap(role: int, wrapping_key: bytes, nonce: bytes, plaintext: bytes) -> bytes:
    """An AES-CCM encrypted-key datum: nonce, MAC, ciphertext."""
    sealed = AESCCM(wrapping_key, tag_length=MAC_SIZE).encrypt(nonce, plaintext, None)
    ciphertext, mac = sealed[:-MAC_SIZE], sealed[-MAC_SIZE:]
    return fve_datum(role, VALUE_AES_CCM_ENCRYPTED_KEY, nonce + mac + ciphertext)


def passphrase_hash(passphrase: str) -> bytes:
    """What a passphrase protector stretches: SHA-256 twice over UTF-16LE."""
    once = hashlib.sha256(passphrase.encode("utf-16-le")).digest()
    return hashlib.sha256(once).digest()


def recovery_hash(recovery_password: str) -> bytes:
    """What a recovery-password protector stretches: SHA-256 of the 16-bit blocks."""
    blocks = [int(block) // 11 for block in recovery_password.split("-")]
    return hashlib.sha256(struct.pack(f"<{len(blocks)}H", *blocks)).digest()


@functools.lru_cache(maxsize=8)
def stretched_key(user_hash: bytes, salt: bytes) -> bytes:
    """The key a protector's VMK is wrapped with (about half a second)."""
    state = bytearray(32) + user_hash + salt + bytes(8)
    view = memoryview(state)
    for count in range(STRETCH_ROUNDS):
        view[80:88] = count.to_bytes(8, "little")
        view[0:32] = hashlib.sha256(view).digest()
    return bytes(view[0:32])


def encrypt_sectors(
    fvek: bytes, plaintext: bytes, first_sector: int, sector_size: int = 512
) -> bytes:
    """AES-CBC with the encrypted-byte-offset IV, sector by sector."""
    count = len(plaintext) // sector_size
    offsets = b"".join(
        ((first_sector + index) * sector_size).to_bytes(16, "little")
        for index in range(count)
    )
    # One ECB block per sector is BitLocker's IV derivation, not a data mode.
    ecb = modes.ECB()  # noqa: S305
    ivs = Cipher(algorithms.AES(fvek), ecb).encryptor().update(offsets)
    sectors = []
    for index in range(count):
        iv = ivs[index * 16 : index * 16 + 16]
        encryptor = Cipher(algorithms.AES(fvek), modes.CBC(iv)).encryptor()
        start = index * sector_size
        sectors.append(encryptor.update(plaintext[start : start + sector_size]))
    return b"".join(sectors)
