"""The ``apprise`` channel's settings: ``{urls: [URL or secret, ...], timeout: duration}``.

Each URL is an Apprise URL (``tgram://TOKEN/CHAT``, ``ntfy://topic``, ``msteams://...``,
``json://host/path``, ...). One that carries a token goes in the environment or a file
like any secret (``{env: NAME}``, ``{file: PATH}``); a message about a secret's value
names only where it came from. The load checks each URL's form (``scheme://...``); the
notifier checks it against the Apprise services when it first sends.
"""

from __future__ import annotations

import re
from datetime import timedelta

import yaml

from rules.channels import AppriseConfig
from rules.credentials import Secret
from rules.sections import values as read
from rules.sections.context import FileContext
from rules.sections.secrets import read_secret
from rules.yamlread import join

DEFAULT_TIMEOUT = timedelta(seconds=10)
MAX_URLS = 20
_FORM = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://\S+")


def read_apprise(ctx: FileContext, node: yaml.Node, key: str) -> AppriseConfig | None:
    """Reads an ``apprise`` channel's settings; None after reporting each problem."""
    reader = ctx.reader
    values = reader.mapping(node, key, {"urls", "timeout"}, {"urls"})
    if values is None or "urls" not in values:
        return None
    before = len(reader.problems)
    urls_key = join(key, "urls")
    urls = [
        url
        for item_key, item in reader.sequence(values["urls"], urls_key)
        if (url := _url(ctx, item, item_key)) is not None
    ]
    timeout = read.optional(
        values, "timeout", key, lambda n, k: read.duration(reader, n, k, timedelta(seconds=1))
    )
    if len(reader.problems) > before:
        return None
    if not 1 <= len(urls) <= MAX_URLS:
        reader.problem(values["urls"], urls_key, f"give 1 to {MAX_URLS} Apprise URLs")
        return None
    return AppriseConfig(tuple(urls), timeout or DEFAULT_TIMEOUT)


def _url(ctx: FileContext, node: yaml.Node, key: str) -> Secret | None:
    """One URL: a secret (mapping) or inline text, of the form ``scheme://...``."""
    if isinstance(node, yaml.MappingNode):
        secret = read_secret(ctx.reader, node, key, ctx.env, ctx.base)
        if secret is None or not secret.resolved:
            return secret
        if not _FORM.fullmatch(secret.value):
            ctx.reader.problem(
                node, key, f"the value read from {secret.origin} is not an Apprise URL"
            )
            return None
        return secret
    text = ctx.reader.string(node, key)
    if text is None:
        return None
    if not _FORM.fullmatch(text):
        ctx.reader.problem(node, key, f"{text!r} is not an Apprise URL (scheme://...)")
        return None
    return Secret(text, "inline")
