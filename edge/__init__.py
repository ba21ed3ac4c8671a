"""The SafeGrid edge gateway: drivers, the pure safety core, the outbox, uplinks and provisioning.

Never imports ``cloud``; meets it only through ``protocols``.
"""
