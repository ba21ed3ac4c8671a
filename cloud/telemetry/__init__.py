"""Telemetry sinks: gas readings to SQL (default) or InfluxDB 2.x, and the latest reading per detector gas."""
