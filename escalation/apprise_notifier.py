"""The ``apprise`` notifier: the long tail of services (Teams, Telegram, Discord, ntfy, ...).

One channel kind sends to every service the Apprise library knows, by Apprise URL,
instead of a hand-written client per service. The title and text are the rules'
notification templates (``escalation.email_message``), the text followed by the
recipient's action links (no link to the incident's API URL, which a person's browser
cannot use).

Apprise is blocking: each send runs in one of the notifier's own :data:`WORKERS` threads
(so a hanging service never takes the event loop's default executor), bounded by the
channel's ``timeout`` (the thread may outlive a timeout; Apprise's socket timeouts end it).
A failure is classified for delivery's retries (``escalation.delivery``):

- permanent: a URL that Apprise does not understand (an unknown service, a malformed
  token);
- transient: the service refused or could not be reached (Apprise does not say which,
  so it is retried), or the timeout passed.

A channel with several URLs succeeds only if every one does; its retry sends to all of
them again. Apprise's log lines carry the URLs, whose tokens are secrets: its logger is
kept quiet (:func:`quiet_apprise_logs`), and errors name a URL by its position only.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import apprise

from core.clock import Clock
from escalation.action_links import ActionLinks
from escalation.delivery import Attempt, Notifier, NotifierContext
from escalation.email_message import (
    action_urls,
    bundle_text,
    channel_templates,
    subject_of,
    template_values,
    update_line,
)
from rules.channels import AppriseConfig, Channel
from rules.model import Rules

# Worker threads the notifier sends in, its own: a service that hangs holds these, not
# the event loop's default executor (which renders API answers).
WORKERS = 4
_LABELS = {"acknowledge": "Acknowledge", "resolve": "Resolve"}
_RESOLVED_STATES = frozenset({"resolved", "closed"})


def make_apprise_notifier(context: NotifierContext) -> Notifier:
    """The Apprise notifier of a process (its public URL, action links and rules)."""
    quiet_apprise_logs()
    return AppriseNotifier(
        context.clock, context.public_url, links=context.links, rules=context.rules
    )


def quiet_apprise_logs() -> None:
    """Stops Apprise's log lines (they quote URLs, and with them their tokens)."""
    logger = logging.getLogger("apprise")
    logger.setLevel(logging.CRITICAL + 1)
    logger.propagate = False


class AppriseNotifier:
    """Delivers outbox entries to Apprise channels."""

    def __init__(
        self,
        clock: Clock,
        public_url: str,
        *,
        links: ActionLinks | None = None,
        rules: Callable[[], Rules | None] | None = None,
    ) -> None:
        """``rules`` returns the rules in force (or None: the built-in text)."""
        self._clock = clock
        self._public_url = public_url
        self._links = links
        self._rules: Callable[[], Rules | None] = rules or (lambda: None)
        self._executor = ThreadPoolExecutor(WORKERS, thread_name_prefix="apprise")
        # No redirect is followed (escalation.redirects): a 3xx fails the send.
        self._asset = apprise.AppriseAsset(
            storage_mode=apprise.PersistentStoreMode.MEMORY,
            secure_logging=True,
            http_redirects=False,
        )

    async def __call__(self, channel: Channel, entry: Mapping[str, Any]) -> Attempt:
        """Sends the entry's message to each of the channel's URLs; says how it went."""
        config = channel.config
        if not isinstance(config, AppriseConfig):
            return Attempt(False, None, f"channel {channel.name} is not an apprise channel", False)
        sender = apprise.Apprise(asset=self._asset)
        for number, url in enumerate(config.urls, 1):
            if not sender.add(url.value):
                problem = f"URL {number} of channel {channel.name} is not one Apprise understands"
                return Attempt(False, None, problem, False)
        title, body = self.message(channel, entry)
        kind = (
            apprise.NotifyType.SUCCESS
            if entry.get("state") in _RESOLVED_STATES
            else apprise.NotifyType.FAILURE
        )
        notify = functools.partial(sender.notify, body=body, title=title, notify_type=kind)
        send = asyncio.get_running_loop().run_in_executor(self._executor, notify)
        try:
            delivered = await asyncio.wait_for(send, config.timeout.total_seconds())
        except TimeoutError:
            return Attempt(False, None, f"no answer within {config.timeout}", True)
        except Exception as exc:  # a plugin's bug must not stop delivery
            # The class only: a plugin's message may quote its URL, a secret.
            return Attempt(False, None, f"Apprise failed: {type(exc).__name__}", True)
        if not delivered:
            return Attempt(False, None, "a service refused or could not be reached", True)
        return Attempt(True, None, None, False)

    def message(self, channel: Channel, entry: Mapping[str, Any]) -> tuple[str, str]:
        """The title and text of an entry: the notification templates, links appended."""
        rules = self._rules()
        person = entry.get("person")
        found = rules.people.get(person) if rules is not None and person else None
        recipient = found.display_name if found is not None else (person or channel.name)
        incident = str(entry["incident"])
        url = f"{self._public_url.rstrip('/')}/api/v1/incidents/{incident}"
        values = template_values(entry, url, recipient)
        templates = channel_templates(channel, rules)
        fallback = f"[{entry.get('priority') or '-'}] {entry['title']}"
        title = subject_of(entry, templates.subject.render(values, fallback) or fallback)
        body = templates.body.render(values, str(entry["title"]))
        if (update := update_line(entry)) is not None:
            body = f"{update}\n\n{body}"
        if (listed := bundle_text(entry, recipient)) is not None:
            title, body = str(entry["title"]), listed
        actions = action_urls(self._links, self._public_url, entry)
        # No "Open" line: the incident's URL is the API's, a 401 in a browser (review 11).
        lines = [f"{_LABELS[a.value]}: {u}" for a, u in actions.items()]
        return title, body + ("\n\n" + "\n".join(lines) if lines else "")
