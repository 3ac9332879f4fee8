"""Alerts to incidents: silences, inhibition, dedup, flap damping, grouping, categorisation."""
