"""Patrol records (巡查记录): what an officer checked, saw and found at an enterprise, synced from phones offline."""
