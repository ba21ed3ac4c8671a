"""Live operations: open confined-space sessions with their latest gas readings, timers and alarms."""
