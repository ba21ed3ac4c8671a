"""Runtime plumbing every SafeGrid component shares: TOML config loading and logging.

Not a wire format (that is ``protocols``) and not a component: edge, cloud and simulators
each import this and ``protocols`` but never each other.
"""

__version__ = "0.1.0"
