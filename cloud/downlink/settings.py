"""Settings of the downlink: how the cloud keeps the gateways' clocks (``[downlink]`` in the cloud's TOML)."""

from __future__ import annotations

from pydantic import Field, model_validator

from safegrid.config import StrictModel

#: The protocol's ceiling on a ``time`` command's lifetime (``protocols/uplink.md`` §5.5): a time command that
#: echoes no request of the gateway is bounded by its lifetime alone, hence the gateway's clock error by half of it.
MAX_TIME_TTL_S = 60


class DownlinkSettings(StrictModel):
    time_interval_s: int = Field(600, ge=1, le=86_400,
                                 description="a gateway not sent a signed time command for this long gets one with "
                                             "its next HTTP poll or the MQTT publisher's next round")
    time_ttl_s: int = Field(MAX_TIME_TTL_S, ge=1, le=MAX_TIME_TTL_S,
                            description="lifetime of each time command; must outlast the delivery. A gateway "
                                        "measures the delivery from its echoed time request; only for one that "
                                        "echoes none is half the lifetime its clock error bound")

    @model_validator(mode="after")
    def _ttl_within_interval(self) -> DownlinkSettings:
        if self.time_ttl_s > self.time_interval_s:
            raise ValueError("time_ttl_s cannot exceed time_interval_s (two live time commands serve no purpose)")
        return self
