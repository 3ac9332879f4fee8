"""Incidents to people: schedules, policies, SLA clocks, notifiers (not built yet)."""
