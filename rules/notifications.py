"""The ``notifications`` rules: bundling storms, pausing failing channels, per-channel load.

- ``bundle``: a person who would get more than ``max`` messages on one channel within
  ``window`` gets the rest of that window's messages as one bundled message listing them
  (PagerDuty bundles too);
- ``pause``: a channel whose deliveries fail ``after_failures`` times in a row is paused:
  its entries wait (none is lost or counted as an attempt) and it is probed again with
  one entry after ``backoff``, doubling up to ``max_backoff`` while probes fail;
- ``concurrency``: how many deliveries one channel may have in flight at once, so a slow
  channel holds up only itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

DEFAULT_BUNDLE_MAX = 5
DEFAULT_BUNDLE_WINDOW = timedelta(minutes=1)
DEFAULT_PAUSE_AFTER = 5
DEFAULT_PAUSE_BACKOFF = timedelta(seconds=30)
DEFAULT_PAUSE_MAX_BACKOFF = timedelta(minutes=10)
DEFAULT_CONCURRENCY = 4


@dataclass(frozen=True, slots=True)
class Bundling:
    """More than ``max`` messages to one person on one channel within ``window``: bundled."""

    max: int = DEFAULT_BUNDLE_MAX
    window: timedelta = DEFAULT_BUNDLE_WINDOW


@dataclass(frozen=True, slots=True)
class Pausing:
    """A channel failing ``after_failures`` times in a row waits ``backoff`` (doubling)."""

    after_failures: int = DEFAULT_PAUSE_AFTER
    backoff: timedelta = DEFAULT_PAUSE_BACKOFF
    max_backoff: timedelta = DEFAULT_PAUSE_MAX_BACKOFF


@dataclass(frozen=True, slots=True)
class NotificationTuning:
    """The ``notifications`` section (see the module docstring); every key has a default."""

    bundle: Bundling = field(default_factory=Bundling)
    pause: Pausing = field(default_factory=Pausing)
    concurrency: int = DEFAULT_CONCURRENCY
