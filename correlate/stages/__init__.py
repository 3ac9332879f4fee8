"""The correlation stages in order: silence, inhibit, dedup, flap, group, categorise."""
