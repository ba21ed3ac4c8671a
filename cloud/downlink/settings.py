"""Settings of the downlink: how the cloud keeps the gateways' clocks (``[downlink]`` in the cloud's TOML)."""

from __future__ import annotations

from pydantic import Field, model_validator

from safegrid.config import StrictModel

#: The protocol's ceiling on a ``time`` command's lifetime (``protocols/uplink.md`` §5.4): a gateway without a
#: trusted clock takes the lifetime as the bound on the delivery delay, hence on its own clock error.
MAX_TIME_TTL_S = 60


class DownlinkSettings(StrictModel):
    time_interval_s: int = Field(600, ge=1, le=86_400,
                                 description="a gateway not sent a signed time command for this long gets one with "
                                             "its next HTTP poll or the MQTT publisher's next round")
    time_ttl_s: int = Field(MAX_TIME_TTL_S, ge=1, le=MAX_TIME_TTL_S,
                            description="lifetime of each time command; half of it is the gateway's clock error "
                                        "bound, so shorter is more precise but must outlast the delivery")

    @model_validator(mode="after")
    def _ttl_within_interval(self) -> DownlinkSettings:
        if self.time_ttl_s > self.time_interval_s:
            raise ValueError("time_ttl_s cannot exceed time_interval_s (two live time commands serve no purpose)")
        return self
