"""Alerts: raised from ingested alarms and from cloud rules; lifecycle raised → acknowledged → resolved;
notifications by webhook, MQTT topic and the in-app feed."""
