"""libmtp, a real MTP host, lists the simulated Android phone through a real kernel.

The guest attaches the phone over USB/IP (vhci-hcd), and libmtp's
``mtp-files`` (Debian ``mtp-tools``, copied into the guest with its
libraries) talks to it through libusb and the kernel's usbfs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from sim.usb.bus import UsbBus
from sim.usb.catalogue import by_name
from sim.usb.phones import build_phone
from sim.usb.usbip_server import UsbipServer

pytestmark = pytest.mark.kernel

GuestRunner = Callable[..., dict[str, str]]  # the run_guest fixture (conftest.py)
GCONV = "/usr/lib/x86_64-linux-gnu/gconv"  # libmtp converts names with iconv

GUEST_SCRIPT = """
usbip --tcp-port {port} attach -r 10.0.2.2 -b 1-1 >/dev/null 2>&1
i=0
while [ $i -lt 30 ] && ! ls /dev/bus/usb/001/002 >/dev/null 2>&1; do sleep 1; i=$((i+1)); done
sleep 1
echo  # end any console line a kernel message left open
mtp-files > /tmp/listing 2>&1
sed -n 's/^Device 0 /E2E device /p; s/^ *Filename: /E2E file-/p' /tmp/listing
sed -n 's/^Listing File Information on Device with name: /E2E name /p' /tmp/listing
echo "E2E done"
"""


@pytest.fixture
def served_phone() -> Iterator[UsbipServer]:
    bus = UsbBus()
    bus.plug(build_phone(by_name("android-phone")))
    with UsbipServer(bus, host="127.0.0.1", port=0) as server:
        yield server


def test_libmtp_lists_the_android_phone_files_over_usbip(
    served_phone: UsbipServer, run_guest: GuestRunner
) -> None:
    script = GUEST_SCRIPT.format(port=served_phone.port)

    facts = run_guest(script, programs=["mtp-files"], trees=[GCONV])

    expected = {f.path.rsplit("/", 1)[-1] for f in by_name("android-phone").files}
    assert "(VID=04e8 and PID=6860)" in facts["device"]
    assert facts["name"] == "SAMSUNG_Android"  # GetDevicePropValue(FriendlyName)
    assert {key.removeprefix("file-") for key in facts if key.startswith("file-")} == (
        expected
    )
