"""How several correlators share the log: partitions by group key, held under leases."""

from __future__ import annotations

import zlib

from core.model import Alert
from core.store import Store
from correlate.routes import RouteCache
from rules.model import Rules

GROUP = "correlate"


def partition_of(rules: Rules, routes: RouteCache, alert: Alert, partitions: int) -> int:
    """Returns the partition of an alert: the group of its first route, hashed stably.

    All entries of one alert (same labels) land in one partition, so they are correlated
    in log order even with several correlators (a resolve is never applied before the
    firing it ends); and a group's alerts share a partition, so members rarely compete
    for one incident (only through ``continue`` routes).
    """
    if partitions <= 1:
        return 0
    group_key = routes.groups(rules, alert.fingerprint, alert.labels)[0][1]
    return zlib.crc32(group_key.encode()) % partitions


def group_of(partition: int, partitions: int) -> str:
    """The consumer group that reads a partition of the log."""
    return GROUP if partitions == 1 else f"{GROUP}-p{partition}"


async def take_partitions(
    store: Store, member: str, partitions: int, lease_seconds: float
) -> list[int]:
    """Takes and keeps ``member``'s fair share of the partition leases; returns its partitions.

    Each live member aims at ceil(partitions / members), starting at a different
    partition, and gives up leases beyond its share when others join, so the work
    spreads over every replica; a dead member's leases expire and are taken over.
    """
    if partitions == 1:
        return [0]
    members = await store.live_members(GROUP, member, lease_seconds)
    share = -(-partitions // max(1, len(members)))
    start = members.index(member) * share if member in members else 0
    order = [(start + i) % partitions for i in range(partitions)]
    mine: list[int] = []
    for partition in order:
        name = f"{GROUP}-p{partition}"
        if len(mine) >= share:
            await store.release_lease(name, member)
        elif await store.hold_lease(name, member, lease_seconds):
            mine.append(partition)
    return mine
