"""The edge downlink: signed cloud commands verified (key, gateway, channel, counter, expiry), the last
accepted counters kept durably, accepted commands dispatched to handlers by kind."""

from edge.downlink.dispatch import DOWN_KINDS, Downlink, Handler, ResultReporter, outbox_reporter
from edge.downlink.gate import CommandGate, CommandRejected, TrustedClock
from edge.downlink.state import CounterStore

__all__ = ["DOWN_KINDS", "CommandGate", "CommandRejected", "CounterStore", "Downlink", "Handler", "ResultReporter",
           "TrustedClock", "outbox_reporter"]
