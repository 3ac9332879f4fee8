"""The e-mail notifier: sends a page's message (``email_message``) over SMTP with aiosmtplib.

The channel's ``security`` picks the connection: ``tls`` (TLS from the first byte, port
465), ``starttls`` (a plain connection upgraded with STARTTLS, which the server must
offer, port 587) or ``none`` (plain, for a relay on the same host). Certificates are
verified against the system's trust store (a test passes its own TLS context).

How a failure is classified for delivery's retries (``escalation.delivery``):

- transient (retried with backoff): no connection, a timeout, a dropped connection, and
  any 4xx reply (RFC 5321: "try again later", e.g. 421 busy, 450 greylisted);
- permanent (given up): any 5xx reply (550 no such mailbox, 535 bad credentials), a
  server without STARTTLS when the channel asks for it (or without AUTH when it has a
  login), a certificate that does not
  verify, and a page with no address to send to.

``Attempt.status`` carries the SMTP reply code when the server gave one. Error texts
name the reply, never the password.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any

import aiosmtplib

from core.clock import Clock
from escalation.action_links import ActionLinks
from escalation.delivery import Attempt, Notifier, NotifierContext
from escalation.email_message import compose
from rules.channels import Channel, SmtpConfig, SmtpSecurity
from rules.model import Rules

DEFAULT_TIMEOUT = timedelta(seconds=30)
# The longest server reply quoted in a delivery result.
_REPLY = 200


def make_email_notifier(context: NotifierContext) -> Notifier:
    """The e-mail notifier of a process (its clock, public URL, action links and rules)."""
    return EmailNotifier(
        context.clock,
        context.public_url,
        links=context.links,
        rules=context.rules,
    )


class EmailNotifier:
    """Delivers outbox entries to e-mail channels."""

    def __init__(
        self,
        clock: Clock,
        public_url: str,
        *,
        links: ActionLinks | None = None,
        rules: Callable[[], Rules | None] | None = None,
        tls_context: ssl.SSLContext | None = None,
        timeout: timedelta = DEFAULT_TIMEOUT,
    ) -> None:
        """``rules`` returns the rules in force (or None); ``tls_context`` verifies servers."""
        self._clock = clock
        self._public_url = public_url
        self._links = links
        self._rules: Callable[[], Rules | None] = rules or (lambda: None)
        self._tls = tls_context
        self._timeout = timeout

    async def __call__(self, channel: Channel, entry: Mapping[str, Any]) -> Attempt:
        """Sends the entry's message to its address; says how it went."""
        config = channel.config
        if not isinstance(config, SmtpConfig):
            return Attempt(False, None, f"channel {channel.name} is not an e-mail channel", False)
        if not entry.get("address"):
            return Attempt(False, None, "no e-mail address to send to", False)
        try:
            message = compose(
                channel,
                entry,
                rules=self._rules(),
                links=self._links,
                public_url=self._public_url,
                now=self._clock.now(),
            )
        except ValueError as exc:
            # E.g. an address with a line break: retrying builds the same message.
            return Attempt(False, None, f"the message cannot be built: {exc}", False)
        password = None if config.password is None else config.password.value
        try:
            await aiosmtplib.send(
                message,
                hostname=config.host,
                port=config.port,
                username=config.username,
                password=password,
                use_tls=config.security is SmtpSecurity.TLS,
                start_tls=config.security is SmtpSecurity.STARTTLS,
                tls_context=self._tls,
                timeout=self._timeout.total_seconds(),
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = [r.code for r in exc.recipients]
            return _reply(min(codes, default=550), "; ".join(r.message for r in exc.recipients))
        except aiosmtplib.SMTPResponseException as exc:
            return _reply(exc.code, exc.message)
        except aiosmtplib.SMTPNotSupported as exc:
            return Attempt(False, None, f"SMTP server: {exc}", False)
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            if type(exc) is aiosmtplib.SMTPException:
                # aiosmtplib's own refusal, e.g. no STARTTLS offered: the setup is at fault.
                return Attempt(False, None, f"SMTP: {exc}", False)
            if _caused_by_certificate(exc):
                return Attempt(False, None, "the SMTP server's certificate does not verify", False)
            # No connection, a timeout, a dropped connection: the server may come back.
            return Attempt(False, None, type(exc).__name__, True)
        return Attempt(True, 250, None, False)


def _reply(code: int, text: str) -> Attempt:
    """A failed attempt from an SMTP reply: 4xx is transient, anything else permanent."""
    quoted = " ".join(text.split())[:_REPLY]
    return Attempt(False, code, f"SMTP {code} {quoted}".rstrip(), 400 <= code < 500)


def _caused_by_certificate(exc: BaseException) -> bool:
    """Whether a certificate that does not verify is behind ``exc`` (aiosmtplib wraps it)."""
    seen: BaseException | None = exc
    for _ in range(5):
        if seen is None:
            return False
        if isinstance(seen, ssl.SSLCertVerificationError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False
