"""The correlator's memory is bounded by alerts: the head cache forgets incidents past a budget.

Issue 9, item 23: the cache was bounded by incidents only (50,000), so a few storm
incidents kept every alert in memory. Now each cached head weighs its alerts; past the
budget the least recently used are forgotten and read back from the store when needed,
which changes no decision.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from prometheus_client import CollectorRegistry

from core.clock import ManualClock
from core.incident import Incident, IncidentAlert, IncidentState
from core.model import AlertStatus
from core.store.sqlite import SQLiteStore
from correlate.engine import Correlator
from correlate.heads import HeadCache
from correlate.metrics import CorrelatorMetrics
from rules.model import Rules
from tests.correlate.harness import IMMEDIATE, T0, Harness, alert, load_test_rules, make_harness

T = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)


def head(name: str, alerts: int) -> Incident:
    """An incident of group ``name`` holding ``alerts`` alerts."""
    members = {
        f"{name}-{n}": IncidentAlert(
            f"{name}-{n}", {"n": str(n)}, AlertStatus.FIRING, T, T, 1, str(n)
        )
        for n in range(alerts)
    }
    return Incident(name, name, name, IncidentState.TRIGGERED, T, members)


def steps(cache: HeadCache, count: int = 2) -> None:
    """Moves the cache on by ``count`` correlation steps."""
    for _ in range(count):
        cache.new_step()


def test_heads_past_the_alert_budget_are_forgotten_least_recently_used_first() -> None:
    cache = HeadCache(alert_budget=25)
    cache.remember("a", head("a", 9))  # each weighs its alerts + 1: 10
    cache.remember("b", head("b", 9))
    steps(cache)
    cache.lookup("a")  # a is now the most recently used
    cache.remember("c", head("c", 9))
    assert cache.lookup("b") == (False, None)
    assert cache.lookup("a")[0]
    assert cache.lookup("c")[0]
    assert cache.alerts == 20


def test_a_head_that_grew_is_weighed_again_when_remembered() -> None:
    cache = HeadCache(alert_budget=25)
    cache.remember("a", head("a", 4))
    cache.remember("b", head("b", 4))
    assert cache.alerts == 10
    steps(cache)
    cache.remember("b", head("b", 20))  # its commit brought 16 more alerts
    assert cache.alerts == 21
    assert cache.lookup("a") == (False, None)


def test_heads_the_last_two_steps_used_stay_even_over_the_budget() -> None:
    # A step holds the incidents it touches anyway: forgetting them would free nothing,
    # and a storm touching them all at every step would read them all again each time.
    cache = HeadCache(alert_budget=10)
    cache.remember("small", head("small", 2))
    cache.new_step()
    cache.remember("storm", head("storm", 100))
    assert cache.lookup("small")[0]
    assert cache.lookup("storm")[0]
    steps(cache)
    cache.remember("storm", head("storm", 101))
    assert cache.lookup("small") == (False, None)
    assert cache.lookup("storm")[0]
    assert len(cache) == 1


def test_the_group_capacity_still_holds_and_zero_remembers_nothing() -> None:
    cache = HeadCache(capacity=2)
    for name in "abc":
        cache.remember(name, None)
    assert [cache.lookup(n)[0] for n in "abc"] == [False, True, True]
    nothing = HeadCache(capacity=0)
    nothing.remember("a", head("a", 1))
    assert nothing.lookup("a") == (False, None)
    assert nothing.alerts == 0


def test_clear_forgets_the_weight_too() -> None:
    cache = HeadCache()
    cache.remember("a", head("a", 3))
    cache.clear()
    assert cache.alerts == 0
    assert len(cache) == 0


def bounded_harness(store: SQLiteStore, rules: Rules, cache_alerts: int) -> Harness:
    """A harness whose correlator keeps at most ``cache_alerts`` alerts cached, in small steps."""
    clock, registry = ManualClock(T0), CollectorRegistry()
    correlator = Correlator(
        store,
        lambda: rules,
        IMMEDIATE,
        clock,
        CorrelatorMetrics(registry),
        batch_size=3,
        cache_alerts=cache_alerts,
    )
    return Harness(store, clock, correlator, registry)


async def _storm(harness: Harness) -> None:
    """Five groups of six alerts, in rounds that touch every group; then resends and resolves."""
    for host in range(6):
        await harness.send(
            *(alert(T, alertname=f"Down{g}", service="web", instance=f"h{host}") for g in range(5))
        )
        harness.advance(seconds=10)
    await harness.send(
        *(alert(T, alertname=f"Down{g}", service="web", instance="h0") for g in range(5))
    )
    harness.advance(seconds=10)
    for host in range(6):
        await harness.send(
            alert(T, AlertStatus.RESOLVED, alertname="Down3", service="web", instance=f"h{host}")
        )


def _summary(incidents: list[Incident]) -> list[tuple[object, ...]]:
    return sorted(
        (
            i.group_key,
            i.state,
            i.version,
            tuple(sorted((a.fingerprint, a.status, a.count) for a in i.alerts.values())),
        )
        for i in incidents
    )


async def test_a_small_budget_bounds_the_cache_and_decides_the_same(tmp_path: Path) -> None:
    rules = load_test_rules(tmp_path)
    results = []
    for budget, name in ((1_000_000, "unbounded"), (10, "bounded")):
        store = SQLiteStore(tmp_path / f"{name}.db")
        await store.open()
        try:
            harness = bounded_harness(store, rules, budget)
            await _storm(harness)
            if name == "bounded":
                # One head of 7 (6 alerts + 1) fits; two do not.
                assert harness.correlator.cached_alerts <= 10
                gauge = harness.registry.get_sample_value("tocsin_correlator_cached_alerts")
                assert gauge == harness.correlator.cached_alerts
            results.append(_summary(await harness.incidents()))
        finally:
            await store.close()
    unbounded, bounded = results
    assert len(unbounded) == 5
    assert bounded == unbounded


async def test_label_values_and_generator_urls_the_correlator_keeps_are_held_once(
    tmp_path: Path,
) -> None:
    # A storm's alerts differ in one label; the rest, read back from the log for each
    # entry, would otherwise be a copy per alert in every cached incident. They are
    # interned where an alert joins its incident (not for every entry read: most are
    # resends of alerts already kept).
    url = "http://prometheus:9090/graph?g0.expr=latency"
    store = SQLiteStore(tmp_path / "held.db")
    await store.open()
    try:
        harness = make_harness(store, load_test_rules(tmp_path))
        await harness.send(
            *(
                replace(
                    alert(T, alertname="HighLatency", service="checkout", instance=host),
                    generator_url=url,
                )
                for host in ("web-1:9100", "web-2:9100")
            )
        )
        group_key = (await harness.only_incident()).group_key
        # The correlator's head cache: what it holds in memory between steps.
        known, cached = harness.correlator._heads.lookup(group_key)
        assert known
        assert cached is not None
        first, second = cached.alerts.values()
        assert first.labels["alertname"] is second.labels["alertname"]
        assert first.labels["service"] is second.labels["service"]
        assert first.generator_url is second.generator_url
        assert first.labels["instance"] != second.labels["instance"]
        # A resend keeps the URL the alert holds, not the new copy read from the log.
        await harness.send(
            replace(
                alert(T, alertname="HighLatency", service="checkout", instance="web-1:9100"),
                generator_url=url,
            )
        )
        _, resent = harness.correlator._heads.lookup(group_key)
        assert resent is not None
        assert all(a.generator_url is first.generator_url for a in resent.alerts.values())
    finally:
        await store.close()
