"""The composition root: application factory, CLI, operator API."""
