"""A broad inhibit rule over a release's warnings: what inhibition costs per alert.

Issue 9 item 10's case: a release fires 5,000 warnings across 100 alertnames, each with
its critical, under the common rule "a critical alert mutes the warning of the same
alertname" (``equal: [alertname]``). Two figures:

- ``lookup``: deciding whether each of the 5,000 warnings is inhibited, with the index
  (correlate/inhibit_index.py) and with the scan of every firing alert it replaced
  (which, before the criticals fire, reads all 5,000 to find nothing);
- ``drain``: the correlator (SQLite, in-process) draining the criticals, the warnings and
  two resends of every warning, with the criticals logged first or after the warnings:
  entries per second and CPU seconds.

``python -m bench.inhibition`` prints both. To compare the drain with another commit,
run this file with that commit's tree first on the path, e.g.
``git archive <commit> | tar -x -C /tmp/before`` then
``PYTHONPATH=/tmp/before .venv/bin/python bench/inhibition.py --drain-only``.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime

from bench.correlator_harness import RULES_YAML, fresh_store, new_correlator, opened
from core.clock import ManualClock
from core.fingerprint import labels_fingerprint
from core.model import Alert, AlertStatus
from correlate.firing import FiringIndex
from rules.loader import load_rules
from rules.matchers import parse_matcher
from rules.muting import InhibitRule

GROUPS = 100
WARNINGS_PER_GROUP = 50
RESENDS = 2
INHIBIT_RULE = """
inhibit_rules:
  - name: critical-mutes-warning
    source_matchers: ['severity="critical"']
    target_matchers: ['severity="warning"']
    equal: [alertname]
"""
T0 = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)


def _alert(**labels: str) -> Alert:
    return Alert(
        "bench",
        labels_fingerprint(labels),
        labels,
        {},
        AlertStatus.FIRING,
        T0,
        None,
        "",
        T0,
    )


def _workload() -> tuple[list[Alert], list[Alert]]:
    """The criticals (one per alertname) and the warnings."""
    criticals = [
        _alert(alertname=f"Release{g}", service="shop", severity="critical") for g in range(GROUPS)
    ]
    warnings = [
        _alert(alertname=f"Release{g}", service="shop", severity="warning", instance=f"i{i}")
        for g in range(GROUPS)
        for i in range(WARNINGS_PER_GROUP)
    ]
    return criticals, warnings


def lookup() -> dict[str, float]:
    """Inhibition decisions per second for the warnings: index and scan."""
    rule = InhibitRule(
        (parse_matcher('severity="critical"'),),
        (parse_matcher('severity="warning"'),),
        ("alertname",),
    )
    criticals, warnings = _workload()
    firing = FiringIndex((rule,))
    for a in [*criticals, *warnings]:
        firing.set(a.fingerprint, a.labels, True)
    started = time.perf_counter()
    found = sum(
        firing.inhibition.source_for(rule, w.fingerprint, w.labels) is not None for w in warnings
    )
    indexed = time.perf_counter() - started
    assert found == len(warnings)
    everything = [*criticals, *warnings]
    sample = warnings[:: len(warnings) // 200]  # the scan is slow: a sample of 200
    started = time.perf_counter()
    for w in sample:
        next(
            s.fingerprint
            for s in everything
            if s.fingerprint != w.fingerprint and rule.inhibits(s.labels, w.labels)
        )
    scanned = (time.perf_counter() - started) / len(sample)
    # Before their criticals fire (a release's warnings come first), the scan reads every
    # firing alert to find nothing; the index answers with one lookup either way.
    started = time.perf_counter()
    for w in sample:
        for s in warnings:
            if s.fingerprint != w.fingerprint and rule.inhibits(s.labels, w.labels):
                break
    unmuted = (time.perf_counter() - started) / len(sample)
    return {
        "index_us_per_alert": indexed / len(warnings) * 1e6,
        "scan_us_per_alert": scanned * 1e6,
        "scan_no_source_us_per_alert": unmuted * 1e6,
    }


async def drain(criticals_first: bool) -> dict[str, float]:
    """The correlator draining the release on a fresh SQLite store."""
    criticals, warnings = _workload()
    with fresh_store("sqlite") as (store, workdir):
        path = workdir / "rules.yml"
        path.write_text(RULES_YAML + INHIBIT_RULE)
        rules = load_rules(path, {})
        async with opened(store):
            if criticals_first:
                await store.append(criticals)
            await store.append(warnings)
            if not criticals_first:
                await store.append(criticals)
            for n in range(RESENDS):
                await store.append([replace(w, annotations={"resend": str(n)}) for w in warnings])
            correlator = new_correlator(store, rules, ManualClock(T0), "bench")
            wall, cpu = time.perf_counter(), time.process_time()
            entries = await correlator.drain()
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return {
        "entries": entries,
        "seconds": wall,
        "cpu_seconds": cpu,
        "entries_per_s": entries / wall,
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Prints the lookup and drain figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--drain-only", action="store_true", help="skip the lookup figures")
    args = parser.parse_args(argv)
    if not args.drain_only:
        figures = lookup()
        print(
            f"lookup: index {figures['index_us_per_alert']:.2f} us/alert, "
            f"scan {figures['scan_us_per_alert']:.1f} us/alert, "
            f"{figures['scan_no_source_us_per_alert']:.0f} us/alert before the criticals fire "
            f"({WARNINGS_PER_GROUP * GROUPS} warnings, {GROUPS} criticals)"
        )
    for criticals_first in (True, False):
        result = asyncio.run(drain(criticals_first))
        print(
            f"drain, criticals {'first' if criticals_first else 'after the warnings'}: "
            f"{result['entries']:.0f} entries in {result['seconds']:.2f} s "
            f"({result['entries_per_s']:.0f}/s, {result['cpu_seconds']:.2f} s CPU)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
