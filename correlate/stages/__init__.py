"""The correlation stages in pipeline order: mute, inhibit, dedup, group (flaps included)."""
