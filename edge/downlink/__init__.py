"""The edge downlink: signed cloud commands verified (key, gateway, channel, counter, expiry), the last
accepted counters kept durably, accepted commands dispatched to handlers by kind."""

from edge.downlink.dispatch import (
    DOWN_KINDS,
    CommandDispatcher,
    Downlink,
    Handler,
    ResultReporter,
    outbox_reporter,
    readable_command,
    result_body,
)
from edge.downlink.gate import CommandGate, CommandRejected, TrustedClock
from edge.downlink.state import CounterStore

__all__ = ["DOWN_KINDS", "CommandDispatcher", "CommandGate", "CommandRejected", "CounterStore", "Downlink",
           "Handler", "ResultReporter", "TrustedClock", "outbox_reporter", "readable_command", "result_body"]
