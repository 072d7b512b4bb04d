"""Microsoft Defender on a simulated computer: it scans what it can read.

Windows reads a stick through its storage stack; so does this: Bulk-Only
Transport and SCSI over pyusb, then the FAT volume, then every file. A file
holding the EICAR test string is reported under Defender's name for it. The
simulator knows no other malware, which is the point of a test file.
"""

from __future__ import annotations

import logging
from typing import Any

from agent.host import DefenderFinding
from sim.usb.bot_host import BotHost, ProtocolViolationError
from sim.usb.disk import first_partition
from sim.usb.fatread import read_fat32_files

__all__ = ["EICAR_THREAT", "eicar", "scan_device"]

logger = logging.getLogger(__name__)

EICAR_THREAT = "Virus:DOS/EICAR_Test_File"
#: Blocks read per SCSI READ(10), as Windows' class driver reads (64 KiB).
_CHUNK_BLOCKS = 128


def eicar() -> bytes:
    """The EICAR anti-malware test file: harmless, and every scanner's test."""
    # Assembled here so that this source file itself is no test file.
    return (
        b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$" + b"EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
    )


def scan_device(device: Any, drive: str) -> list[DefenderFinding]:
    """Read the volume of a pyusb mass-storage ``device`` and scan its files."""
    try:
        host = BotHost(device)
        host.clear_attention()
        partition = first_partition(host.read_blocks(0, 1))
        end = partition.start_sector + partition.sectors
        volume = bytearray()
        for lba in range(partition.start_sector, end, _CHUNK_BLOCKS):
            volume += host.read_blocks(lba, min(_CHUNK_BLOCKS, end - lba))
        files = read_fat32_files(bytes(volume))
    except (ProtocolViolationError, ValueError, KeyError) as err:
        # Not a FAT volume Windows can read (a locked BitLocker stick, a phone).
        logger.info("Defender cannot scan %s: %s", drive, err)
        return []
    marker = eicar()
    return [
        DefenderFinding(
            threat=EICAR_THREAT, path=f"{drive}\\{path.replace('/', chr(92))}"
        )
        for path, content in sorted(files.items())
        if marker in content
    ]
