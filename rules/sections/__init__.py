"""One reader per top-level section of a rules file: YAML nodes in, dataclasses out."""
