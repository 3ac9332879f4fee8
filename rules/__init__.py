"""The YAML rule language: a strict loader that turns rules files into frozen dataclasses."""
