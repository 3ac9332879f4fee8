"""Incidents to the public: components, uptime, static site (not built yet)."""
