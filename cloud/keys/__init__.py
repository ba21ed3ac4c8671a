"""The cloud's own keys: permit-token issuer keys (rotated by kid), the command-signing key, the device CA."""
