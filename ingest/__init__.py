"""Alerts in: one decoder per source format, source authentication, rate limits, HTTP handlers."""
