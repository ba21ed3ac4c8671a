"""Run N >= 2 bumble virtual controllers on one LocalLink, each behind its own HCI transport.

``python -m fwsim.rig.radio_controllers tcp-server:127.0.0.1:PORT1 tcp-server:127.0.0.1:PORT2 ...``

The installed ``bumble.apps.controllers`` does the same but accepts exactly two transports; the
rig uses it for two and this module for three or more.
"""

from __future__ import annotations

import asyncio
import sys

from bumble.controller import Controller
from bumble.link import LocalLink
from bumble.transport import open_transport


async def serve(specs: list[str]) -> None:
    link = LocalLink()
    transports = [await open_transport(spec) for spec in specs]
    # Keep the controllers referenced for the life of the process: the link only holds them in a set.
    controllers = [
        Controller(f"C{index}", host_source=transport.source, host_sink=transport.sink, link=link)
        for index, transport in enumerate(transports)
    ]
    print(f"controllers ready: {len(controllers)}", flush=True)
    try:
        await asyncio.get_running_loop().create_future()
    finally:
        for transport in transports:
            await transport.close()


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print("usage: python -m fwsim.rig.radio_controllers <hci-transport> <hci-transport> [...]", file=sys.stderr)
        return 2
    asyncio.run(serve(argv))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
