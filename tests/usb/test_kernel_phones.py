"""Real MTP and PTP hosts use the simulated phones through a real kernel.

The guest attaches a phone over USB/IP (vhci-hcd); libmtp's ``mtp-files``
(Debian ``mtp-tools``) or libgphoto2's ``gphoto2`` (Debian ``gphoto2``),
copied into the guest with their libraries, talk to it through libusb and
the kernel's usbfs. Neither host is ours.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from sim.usb.bus import UsbBus
from sim.usb.catalogue import by_name
from sim.usb.phones import PhoneDevice, build_phone
from sim.usb.usbip_server import UsbipServer

pytestmark = pytest.mark.kernel

GuestRunner = Callable[..., dict[str, str]]  # the run_guest fixture (conftest.py)
LIBDIR = "/usr/lib/x86_64-linux-gnu"
GCONV = f"{LIBDIR}/gconv"  # libmtp and libgphoto2 convert names with iconv
# libgphoto2 loads its camera and port drivers from versioned directories.
GPHOTO_DRIVERS = sorted(
    str(path)
    for pattern in ("libgphoto2/*", "libgphoto2_port/*")
    for path in Path(LIBDIR).glob(pattern)
)
ATTACH = """
usbip --tcp-port {port} attach -r 10.0.2.2 -b 1-1 >/dev/null 2>&1
i=0
while [ $i -lt 30 ] && ! ls /dev/bus/usb/001/002 >/dev/null 2>&1; do sleep 1; i=$((i+1)); done
sleep 1
echo  # end any console line a kernel message left open
"""

MTP_SCRIPT = """
mtp-files > /tmp/listing 2>&1
sed -n 's/^Device 0 /E2E device /p; s/^ *Filename: /E2E file-/p' /tmp/listing
sed -n 's/^Listing File Information on Device with name: /E2E name /p' /tmp/listing
printf '{written}' > /tmp/FROMLNX.TXT
mtp-sendfile /tmp/FROMLNX.TXT FROMLNX.TXT > /tmp/sent 2>&1 && echo "E2E sent"
echo "E2E done"
"""
WRITTEN_BY_LINUX = "copied to the phone by libmtp\n"


PTP_SCRIPT = """
gphoto2 --auto-detect 2>&1 | sed -n 's/^\\(Apple.*\\)  *usb:.*/E2E camera \\1/p'
gphoto2 --list-files 2>&1 | sed -n 's/^#[0-9]* *\\([^ ]*\\) .*/E2E file-\\1/p'
echo "E2E done"
"""


def _serve(phone: PhoneDevice) -> Iterator[tuple[UsbipServer, PhoneDevice]]:
    bus = UsbBus()
    bus.plug(phone)
    with UsbipServer(bus, host="127.0.0.1", port=0) as server:
        yield server, phone


@pytest.fixture
def served_phone() -> Iterator[tuple[UsbipServer, PhoneDevice]]:
    yield from _serve(build_phone(by_name("android-phone")))


@pytest.fixture
def served_iphone() -> Iterator[tuple[UsbipServer, PhoneDevice]]:
    yield from _serve(build_phone(by_name("iphone")))


def _listed(facts: dict[str, str]) -> set[str]:
    return {key.removeprefix("file-") for key in facts if key.startswith("file-")}


def test_libmtp_lists_the_android_phone_files_and_copies_one_onto_it(
    served_phone: tuple[UsbipServer, PhoneDevice], run_guest: GuestRunner
) -> None:
    server, phone = served_phone
    script = ATTACH.format(port=server.port) + MTP_SCRIPT.format(
        written=WRITTEN_BY_LINUX
    )

    facts = run_guest(script, programs=["mtp-files", "mtp-sendfile"], trees=[GCONV])

    expected = {f.path.rsplit("/", 1)[-1] for f in by_name("android-phone").files}
    assert "(VID=04e8 and PID=6860)" in facts["device"]
    assert facts["name"] == "SAMSUNG_Android"  # GetDevicePropValue(FriendlyName)
    assert _listed(facts) == expected
    assert "sent" in facts
    assert phone.files()["FROMLNX.TXT"] == WRITTEN_BY_LINUX.encode()


def test_gphoto2_sees_the_iphone_as_a_ptp_camera_and_lists_its_photos(
    served_iphone: tuple[UsbipServer, PhoneDevice], run_guest: GuestRunner
) -> None:
    script = ATTACH.format(port=served_iphone[0].port) + PTP_SCRIPT
    drivers = [str(p) for d in GPHOTO_DRIVERS for p in Path(d).glob("*.so")]

    facts = run_guest(
        script, programs=["gphoto2", *drivers], trees=[GCONV, *GPHOTO_DRIVERS]
    )

    expected = {f.path.rsplit("/", 1)[-1] for f in by_name("iphone").files}
    assert facts["camera"].startswith("Apple iPhone")
    assert "(PTP mode)" in facts["camera"]
    assert _listed(facts) == expected
