"""The ``api_keys`` section: who may use the operator API, with which role."""

from __future__ import annotations

import yaml

from rules.api_keys import ApiKey, Role
from rules.sections import values as read
from rules.sections.context import FileContext
from rules.sections.secrets import read_secret

_ROLES = [r.value for r in Role]


def read_api_keys(ctx: FileContext, node: yaml.Node, key: str) -> list[ApiKey]:
    """Reads the list under ``api_keys``; each key's secret comes from env or a file."""
    keys: list[ApiKey] = []
    reader = ctx.reader
    for item_key, item in reader.sequence(node, key):
        values = reader.mapping(item, item_key, {"name", "role", "key"}, {"name", "role", "key"})
        if values is None or len(values) != 3:
            continue
        before = len(reader.problems)
        name = read.name(reader, values["name"], f"{item_key}.name")
        role = reader.choice(values["role"], f"{item_key}.role", Role, _ROLES)
        secret = read_secret(reader, values["key"], f"{item_key}.key", ctx.env, ctx.base)
        if name is None or role is None or secret is None or len(reader.problems) > before:
            continue
        api_key = ApiKey(name, role, secret)
        ctx.define("api key", name, item, item_key, api_key)
        keys.append(api_key)
    return keys
