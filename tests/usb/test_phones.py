"""Phones: descriptors Windows binds by, and the MTP/PTP file listing a host does."""

from __future__ import annotations

import struct
import threading
from collections.abc import Iterator

import pytest
import usb.core
import usb.util

from sim.usb.bus import UsbBus
from sim.usb.catalogue import by_name
from sim.usb.phones import PhoneDevice, build_phone
from sim.usb.pyusb_backend import InProcessBackend
from sim.usb.usbip_client import UsbipClientBackend
from sim.usb.usbip_server import UsbipServer

OK = 0x2001


class PtpHost:
    """Just enough of a PTP initiator: command, optional data, response."""

    def __init__(self, device: usb.core.Device) -> None:
        device.set_configuration()
        self.device = device
        self.transaction = 0

    def run(
        self, code: int, *params: int, send: bytes | None = None
    ) -> tuple[int, bytes, tuple[int, ...]]:
        self.transaction += 1
        payload = struct.pack(f"<{len(params)}I", *params)
        command = struct.pack("<IHHI", 12 + len(payload), 1, code, self.transaction)
        self.device.write(0x01, command + payload)
        if send is not None:
            header = struct.pack("<IHHI", 12 + len(send), 2, code, self.transaction)
            self.device.write(0x01, header + send)
        data = b""
        while True:
            first = bytes(self.device.read(0x81, 512))
            length, kind, answer, _ = struct.unpack_from("<IHHI", first)
            while len(first) < length:
                first += bytes(self.device.read(0x81, length - len(first)))
            if kind == 3:
                count = (length - 12) // 4
                return answer, data, struct.unpack_from(f"<{count}I", first, 12)
            data = first[12:length]

    @staticmethod
    def string_at(data: bytes, at: int) -> tuple[str, int]:
        count = data[at]
        text = data[at + 1 : at + 1 + 2 * count].decode("utf-16-le").rstrip("\0")
        return text, at + 1 + 2 * count


def _listing(host: PtpHost) -> tuple[str, dict[str, bytes]]:
    assert host.run(0x1002, 1)[0] == OK  # OpenSession
    _, ids, _ = host.run(0x1004)
    storage = struct.unpack_from("<I", ids, 4)[0]
    _, info, _ = host.run(0x1005, storage)
    description, _ = PtpHost.string_at(info, 26)
    _, handles_data, _ = host.run(0x1007, 0xFFFFFFFF, 0, 0)
    count = struct.unpack_from("<I", handles_data)[0]
    names: dict[int, tuple[str, int]] = {}
    files: dict[str, bytes] = {}
    for handle in struct.unpack_from(f"<{count}I", handles_data, 4):
        _, object_info, _ = host.run(0x1008, handle)
        object_format, parent = (
            struct.unpack_from("<H", object_info, 4)[0],
            struct.unpack_from("<I", object_info, 38)[0],
        )
        name, _ = PtpHost.string_at(object_info, 52)
        names[handle] = (name, parent)
        if object_format != 0x3001:
            path = name
            while parent:
                path = f"{names[parent][0]}/{path}"
                parent = names[parent][1]
            files[path] = host.run(0x1009, handle)[1]
    return description, files


@pytest.fixture
def phones(bus: UsbBus) -> UsbBus:
    bus.plug(build_phone(by_name("android-phone")))
    bus.plug(build_phone(by_name("iphone")))
    return bus


def test_android_phone_lists_internal_shared_storage_and_its_files(
    phones: UsbBus,
) -> None:
    device = usb.core.find(backend=InProcessBackend(phones), idVendor=0x04E8)

    description, files = _listing(PtpHost(device))

    assert description == "Internal shared storage"
    assert files == {f.path: f.content for f in by_name("android-phone").files}


def test_android_interface_is_still_image_named_mtp(phones: UsbBus) -> None:
    device = usb.core.find(backend=InProcessBackend(phones), idVendor=0x04E8)
    device.set_configuration()
    interface = device.get_active_configuration()[(0, 0)]

    triple = (
        interface.bInterfaceClass,
        interface.bInterfaceSubClass,
        interface.bInterfaceProtocol,
    )
    kinds = sorted(usb.util.endpoint_type(e.bmAttributes) for e in interface)

    assert triple == (0x06, 0x01, 0x01)
    assert usb.util.get_string(device, interface.iInterface) == "MTP"
    assert kinds == [usb.util.ENDPOINT_TYPE_BULK] * 2 + [usb.util.ENDPOINT_TYPE_INTR]


def test_android_answers_microsoft_os_descriptors_with_mtp(phones: UsbBus) -> None:
    device = usb.core.find(backend=InProcessBackend(phones), idVendor=0x04E8)

    os_string = bytes(device.ctrl_transfer(0x80, 0x06, 0x03EE, 0, 0x12))
    vendor_code = os_string[16]
    compat = bytes(device.ctrl_transfer(0xC0, vendor_code, 0, 0x0004, 0x28))

    assert os_string[2:16].decode("utf-16-le") == "MSFT100"
    assert struct.unpack_from("<IHH", compat) == (0x28, 0x0100, 0x0004)
    assert compat[18:26] == b"MTP\0\0\0\0\0"


def test_iphone_is_ptp_only_and_stalls_the_os_string(phones: UsbBus) -> None:
    device = usb.core.find(backend=InProcessBackend(phones), idVendor=0x05AC)

    with pytest.raises(usb.core.USBError) as raised:
        device.ctrl_transfer(0x80, 0x06, 0x03EE, 0, 0x12)
    device.set_configuration()
    config = device.get_active_configuration()
    names = [usb.util.get_string(device, i.iInterface) for i in config]
    description, files = _listing(PtpHost(device))

    assert raised.value.errno == 32
    assert [(i.bInterfaceClass, i.bInterfaceSubClass) for i in config] == [
        (0x06, 0x01),
        (0xFF, 0xFE),
    ]
    assert "MTP" not in names
    assert description == "Internal Storage"
    assert list(files) == ["DCIM/100APPLE/IMG_0001.HEIC"]


def test_commands_before_open_session_are_refused(phones: UsbBus) -> None:
    host = PtpHost(usb.core.find(backend=InProcessBackend(phones), idVendor=0x04E8))

    assert host.run(0x1004)[0] == 0x2003  # SessionNotOpen
    assert host.run(0x1001)[0] == OK  # GetDeviceInfo needs no session


@pytest.fixture
def usbip_phones(phones: UsbBus) -> Iterator[UsbipClientBackend]:
    with (
        UsbipServer(phones, port=0) as server,
        UsbipClientBackend(server.host, server.port) as client,
    ):
        yield client


def test_android_phone_lists_its_files_over_usbip(
    usbip_phones: UsbipClientBackend,
) -> None:
    device = usb.core.find(backend=usbip_phones, idVendor=0x04E8)

    description, files = _listing(PtpHost(device))

    assert device.serial_number == by_name("android-phone").serial
    assert description == "Internal shared storage"
    assert set(files) == {f.path for f in by_name("android-phone").files}


def _object_added(raw: bytes) -> tuple[int, int]:
    """(event code, object handle) of an event container."""
    _length, kind, code, _transaction, handle = struct.unpack("<IHHII", raw)
    assert kind == 4
    return code, handle


def test_file_added_from_code_raises_an_object_added_event(phones: UsbBus) -> None:
    phone = phones.attachments()[0].device
    assert isinstance(phone, PhoneDevice)
    host = PtpHost(usb.core.find(backend=InProcessBackend(phones), idVendor=0x04E8))
    assert host.run(0x1002, 1)[0] == OK

    phone.add_file("DCIM/Camera/20261203_120000.jpg", b"\xff\xd8new photo")
    code, handle = _object_added(bytes(host.device.read(0x82, 28, timeout=100)))
    _, info, _ = host.run(0x1008, handle)

    assert code == 0x4002
    assert PtpHost.string_at(info, 52)[0] == "20261203_120000.jpg"
    assert host.run(0x1009, handle)[1] == b"\xff\xd8new photo"


def test_event_reaches_a_usbip_importer_waiting_on_the_interrupt_pipe(
    phones: UsbBus, usbip_phones: UsbipClientBackend
) -> None:
    phone = phones.attachments()[0].device
    assert isinstance(phone, PhoneDevice)
    host = PtpHost(usb.core.find(backend=usbip_phones, idVendor=0x04E8))
    assert host.run(0x1002, 1)[0] == OK
    timer = threading.Timer(
        0.2,
        phone.add_file,
        args=("Download/late.pdf", b"%PDF-1.7"),
    )

    timer.start()
    try:
        event = bytes(host.device.read(0x82, 28, timeout=5000))
    finally:
        timer.join()

    assert _object_added(event)[0] == 0x4002


def test_legacy_android_phone_speaks_mtp_on_a_vendor_interface(bus: UsbBus) -> None:
    bus.plug(build_phone(by_name("legacy-android-phone")))
    device = usb.core.find(backend=InProcessBackend(bus))
    device.set_configuration()
    interface = device.get_active_configuration()[(0, 0)]
    os_string = bytes(device.ctrl_transfer(0x80, 0x06, 0x03EE, 0, 0x12))
    compat = bytes(device.ctrl_transfer(0xC0, os_string[16], 0, 0x0004, 0x28))

    description, files = _listing(PtpHost(device))

    triple = (
        interface.bInterfaceClass,
        interface.bInterfaceSubClass,
        interface.bInterfaceProtocol,
    )
    assert triple == (0xFF, 0xFF, 0x00)
    assert usb.util.get_string(device, interface.iInterface) == "MTP"
    assert compat[18:21] == b"MTP"
    assert description == "Internal shared storage"
    assert list(files) == ["DCIM/100ANDRO/DSC_0001.JPG"]


def test_mtp_phone_names_itself_and_the_ptp_camera_does_not(phones: UsbBus) -> None:
    backend = InProcessBackend(phones)
    android = PtpHost(usb.core.find(backend=backend, idVendor=0x04E8))
    iphone = PtpHost(usb.core.find(backend=backend, idVendor=0x05AC))
    android.run(0x1002, 1)
    iphone.run(0x1002, 1)

    status, name, _ = android.run(0x1015, 0xD402)  # GetDevicePropValue(FriendlyName)
    refused = iphone.run(0x1015, 0xD402)[0]

    assert status == OK
    assert PtpHost.string_at(name, 0)[0] == "SAMSUNG_Android"
    assert refused == 0x200A  # DevicePropNotSupported


def _object_info(name: str, size: int, *, folder: bool = False) -> bytes:
    """An ObjectInfo dataset as a host sends it, built here by hand."""
    encoded = (name + "\0").encode("utf-16-le")
    return (
        struct.pack("<IHHI", 0, 0x3001 if folder else 0x3000, 0, size)
        + bytes(26)
        + struct.pack("<IHII", 0, 1 if folder else 0, 0, 0)
        + bytes([len(encoded) // 2])
        + encoded
        + b"\0\0\0"
    )


def test_host_copies_a_file_into_a_new_folder_and_deletes_it(phones: UsbBus) -> None:
    phone = phones.attachments()[0].device
    assert isinstance(phone, PhoneDevice)
    host = PtpHost(usb.core.find(backend=InProcessBackend(phones), idVendor=0x04E8))
    host.run(0x1002, 1)
    report = b"%PDF-1.7 quarterly figures"

    created = host.run(
        0x100C, 0x00010001, 0xFFFFFFFF, send=_object_info("Work", 0, folder=True)
    )
    folder = created[2][2]
    sent_info = host.run(
        0x100C, 0x00010001, folder, send=_object_info("q3.pdf", len(report))
    )
    sent = host.run(0x100D, send=report)
    copied = phone.files()
    deleted = host.run(0x100B, sent_info[2][2])

    assert created[0] == sent_info[0] == sent[0] == deleted[0] == OK
    assert copied["Work/q3.pdf"] == report
    assert "Work/q3.pdf" not in phone.files()


def test_send_object_without_object_info_is_refused(phones: UsbBus) -> None:
    host = PtpHost(usb.core.find(backend=InProcessBackend(phones), idVendor=0x04E8))
    host.run(0x1002, 1)

    assert host.run(0x100D, send=b"orphan")[0] == 0x2015  # NoValidObjectInfo


def _prop_list_names(data: bytes) -> dict[int, str]:
    """ObjectFileName values of an ObjectPropList, parsed here by hand."""
    count, at, names = struct.unpack_from("<I", data)[0], 4, {}
    for _ in range(count):
        handle, code, datatype = struct.unpack_from("<IHH", data, at)
        at += 8
        if datatype == 0xFFFF:
            text, at = PtpHost.string_at(data, at)
            if code == 0xDC07:
                names[handle] = text
        else:
            at += {0x0004: 2, 0x0006: 4, 0x0008: 8, 0x000A: 16}[datatype]
    return names


def test_mtp_phone_answers_object_property_operations(phones: UsbBus) -> None:
    host = PtpHost(usb.core.find(backend=InProcessBackend(phones), idVendor=0x04E8))
    host.run(0x1002, 1)

    _, supported, _ = host.run(0x9801, 0x3000)  # GetObjectPropsSupported
    _, size, _ = host.run(0x9803, 3, 0xDC04)  # GetObjectPropValue(3, ObjectSize)
    _, listing, _ = host.run(0x9805, 0xFFFFFFFF, 0, 0xFFFFFFFF, 0, 0xFFFFFFFF)

    codes = struct.unpack_from(
        f"<{struct.unpack_from('<I', supported)[0]}H", supported, 4
    )
    assert {0xDC01, 0xDC02, 0xDC04, 0xDC07, 0xDC0B, 0xDC41} <= set(codes)
    assert struct.unpack("<Q", size)[0] == len(
        by_name("android-phone").files[0].content
    )
    assert set(_prop_list_names(listing).values()) == {
        "DCIM",
        "Camera",
        "20261201_101500.jpg",
        "Download",
        "contract.pdf",
    }


def test_ptp_camera_refuses_mtp_operations(phones: UsbBus) -> None:
    host = PtpHost(usb.core.find(backend=InProcessBackend(phones), idVendor=0x05AC))
    host.run(0x1002, 1)

    assert host.run(0x9801, 0x3000)[0] == 0x2005  # OperationNotSupported
