"""Run BlueZoo (the BlueZ D-Bus mock) with three corrections that make it behave as BlueZ does for bleak.

BlueZoo 1.0.2 declares ``ManufacturerData`` of ``org.bluez.Device1`` and ``org.bluez.LEAdvertisement1`` as
``a{sv}``; BlueZ's API (doc/org.bluez.Device.rst, org.bluez.LEAdvertisement.rst) and every client, bleak
included, use ``a{qv}`` (company id → bytes). With ``a{sv}`` BlueZoo cannot even export a device whose
advert carries manufacturer data (``TypeError: Message append error, expected str got 65535``), and the
padlock is found by exactly that.

BlueZoo also reports an advertising adapter once: later scan cycles change nothing on the device object, so
no signal follows, and a scanner that starts listening a moment after discovery began (bleak's
``find_device_by_filter``), or a second scan while the device is still known (a gateway's scan, then its
connect), hears nothing. BlueZ emits a ``PropertiesChanged`` (RSSI at least) for every advert it receives;
here every scan cycle that sees the advertiser moves the device's RSSI by one dBm, which is what bleak's
scanner reports as another advertisement.

And BlueZoo links the peripheral's GATT objects to the device at every connect but never unlinks them:
the second connection to the same device fails (``sd_bus_add_object_vtable`` … error 17, the paths are
taken), and the peripheral's notify characteristic stays ``Notifying``, so the next ``StartNotify`` is not
passed on. BlueZ, when an unbonded LE device disconnects, removes its GATT objects and stops the local
application's notify sessions; here a disconnect does the same.

This launcher applies these before BlueZoo builds its objects, then hands over to BlueZoo's own ``main`` (same
command line). It runs as a script in BlueZoo's process; the tests do not import it.
"""

from __future__ import annotations

import contextlib
import sys

MANUFACTURER_DATA_SIGNATURE = "a{qv}"
RSSI_DBM = (-60, -61)  # alternated, scan cycle by scan cycle: each cycle is a new advert heard


def fix_manufacturer_data_signature() -> list[str]:
    """Set ``a{qv}`` on every ``ManufacturerData`` property BlueZoo declares; the names of what was changed."""
    from bluezoo import device
    from bluezoo.adv import manager as adv_manager
    from bluezoo.interfaces import Device as device_interface
    from bluezoo.interfaces import LEAdvertisement as advertisement_interface

    changed = []
    for cls in (device_interface.DeviceInterface, device.Device,
                advertisement_interface.LEAdvertisementInterface, adv_manager.LEAdvertisementClient):
        prop = cls.__dict__.get("ManufacturerData")
        if prop is not None and getattr(prop, "property_signature", None) != MANUFACTURER_DATA_SIGNATURE:
            prop.property_signature = MANUFACTURER_DATA_SIGNATURE
            changed.append(cls.__qualname__)
    return changed


def report_every_advert() -> None:
    """Give ``Device1.RSSI`` a private setter and move it on every scan cycle that sees the device again."""
    from bluezoo import device

    rssi = device.Device.__dict__["RSSI"]

    def set_rssi(self: device.Device, value: int) -> None:
        self.rssi = value

    if rssi.property_setter is None:
        rssi.property_setter = set_rssi
        rssi.property_setter_is_public = False
    properties_sync = device.Device.properties_sync

    async def properties_sync_and_rssi(self: device.Device, seen: device.Device) -> None:
        await properties_sync(self, seen)
        await self.RSSI.set_async(RSSI_DBM[1] if self.rssi == RSSI_DBM[0] else RSSI_DBM[0])

    device.Device.properties_sync = properties_sync_and_rssi


def forget_gatt_on_disconnect() -> None:
    """On disconnect, stop the notify sessions and unexport the GATT objects linked at connect."""
    from bluezoo import device, events

    disconnect = device.Device.disconnect

    async def disconnect_and_forget(self: device.Device, uuid: str | None = None) -> None:
        await disconnect(self, uuid)
        links = list(self.services.values())
        self.services.clear()
        for link in reversed(links):  # characteristics before their service
            subscription = getattr(link, "client_props_changed_subscription", None)
            # A placeholder Subscription until a StartNotify was passed on; then pyventus' subscriber.
            if subscription is not None and not isinstance(subscription, events.Subscription):
                subscription.unsubscribe()
                with contextlib.suppress(Exception):  # the application may be gone already
                    await link.client.StopNotify()
            self.peer_adapter.mock.remove_object(link)
        for side in (self, self.peer):
            if side is not None and side.services_resolved:
                await side.ServicesResolved.set_async(False)

    device.Device.disconnect = disconnect_and_forget


def main() -> None:
    report_every_advert()
    forget_gatt_on_disconnect()
    changed = fix_manufacturer_data_signature()
    print(f"bluezoo_main: ManufacturerData typed {MANUFACTURER_DATA_SIGNATURE} on {changed or 'nothing'}",
          flush=True)
    from bluezoo.bluezoo import main as bluezoo_main

    sys.argv[0] = "bluezoo"
    bluezoo_main()


if __name__ == "__main__":
    main()
