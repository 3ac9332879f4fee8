"""One suite that every store backend must pass."""
