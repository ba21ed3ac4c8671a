"""The downlink: signed commands queued per gateway and channel, fetched by HTTP poll or published on MQTT."""
