"""Link faults the padlock simulator can inject, set by flags at start or changed at run time.

Faults of the lock itself (clock drift, low battery, forced open, mechanical-key open, tamper, power
cycle, a flat RTC battery) are methods of :class:`fwsim.lock.peripheral.PadlockPeripheral`.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class LinkFaults:
    response_delay_s: float = 0.0  # a slow lock: wait this long before handling each request
    drop_mid_request: int = 0  # cut the link after the first fragment of the next N multi-fragment requests
    drop_mid_response: int = 0  # cut the link after the first fragment of the next N multi-fragment responses

    def __post_init__(self) -> None:
        if self.response_delay_s < 0 or self.drop_mid_request < 0 or self.drop_mid_response < 0:
            raise ValueError("fault settings are not negative")

    def take_drop_request(self) -> bool:
        """True (and one fewer to go) when this request is to be cut."""
        if self.drop_mid_request > 0:
            self.drop_mid_request -= 1
            return True
        return False

    def take_drop_response(self) -> bool:
        if self.drop_mid_response > 0:
            self.drop_mid_response -= 1
            return True
        return False
