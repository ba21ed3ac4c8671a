"""Hazards (隐患): one domain for every source — grid patrols, public reports, IoT alerts, inspections."""
