"""Incidents to people: schedules, policies, SLA clocks, notifiers, delivery."""
