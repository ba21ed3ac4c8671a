"""The audit log: every write, with who, what, when and the record before and after."""
