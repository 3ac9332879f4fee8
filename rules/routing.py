"""The routing tree: which escalation policy an alert goes to, and how alerts are grouped.

It is Alertmanager's routing tree. Every alert enters at the root, which matches all.
A node's children are tried in order; the alert descends into the first child whose
matchers all match, and stops there unless that child says ``continue: true``, in which
case the next siblings are tried too. A node none of whose children match is itself the
match. One alert can so end in several routes; each opens or joins its own incident.
Children inherit their parent's policy, grouping and timings unless they set them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

from core.fingerprint import labels_fingerprint
from rules.correlation import NO_OVERRIDE, TuningOverride
from rules.matchers import Matcher, first_mismatch, matches_all

GROUP_BY_ALL = "..."


@dataclass(frozen=True, slots=True)
class Route:
    """One node of the tree, with its inherited settings already filled in.

    ``key`` names the route in group keys, so that a reload keeps incidents attached:
    the route's ``name`` if it has one, else the path of matchers from the root, as
    Alertmanager builds it (``{}/{team="db"}``). ``path`` says where it is in the rules.
    """

    key: str
    path: str
    name: str | None
    matchers: tuple[Matcher, ...]
    policy: str | None
    group_by: tuple[str, ...]  # label names; empty with group_by_all
    group_by_all: bool  # ``group_by: ['...']``: every label, i.e. one incident per alert
    group_wait: timedelta  # wait this long after a new incident opens before paging
    group_interval: timedelta  # at most one update notification per incident this often
    reopen_window: timedelta  # a resolved incident firing again within this reopens
    continue_matching: bool = False
    routes: tuple[Route, ...] = ()
    # Correlation timings of this route and its ancestors, over the ``correlation`` section.
    correlation: TuningOverride = NO_OVERRIDE
    # The path of the route that names ``policy``: this one or an ancestor (None: none).
    # The root's policy is the tree's default, which a service's or team's policy
    # overrides (see ``rules.assignment``); a policy named below the root is not.
    policy_from: str | None = None

    def group_labels(self, labels: Mapping[str, str]) -> dict[str, str]:
        """Returns the labels that decide the group, sorted by name (absent ones omitted)."""
        names = sorted(labels) if self.group_by_all else sorted(self.group_by)
        return {n: labels[n] for n in names if labels.get(n, "") != ""}

    def groups_by_identity(self, labels: Mapping[str, str]) -> bool:
        """Tells whether an alert with these labels is an incident of its own on this route.

        An alert with an ``alertname`` (every Prometheus alert has one) groups as in
        Alertmanager: a missing ``group_by`` label counts as empty. One without (a
        PagerDuty event, a webhook alert that sets none) says nothing about the labels
        it lacks, so it groups by them only if it carries all of them (and never under
        ``['...']``): alerts must never share an incident just because they lack the
        same labels.
        """
        if labels.get("alertname", "") != "":
            return False
        return self.group_by_all or any(labels.get(n, "") == "" for n in self.group_by)

    def group_key(self, labels: Mapping[str, str], fingerprint: str | None = None) -> str:
        """Returns the group key, as Alertmanager writes it: ``{route}:{label="value",...}``.

        An alert that :meth:`groups_by_identity` has ``{route}:fingerprint:<fingerprint>``
        (the hash of its dedup key, or of its labels when it has none); without
        ``fingerprint`` given, that of its labels is used.
        """
        if self.groups_by_identity(labels):
            return identity_group_key(self.key, fingerprint or labels_fingerprint(labels))
        pairs = ",".join(f'{n}="{_escape(v)}"' for n, v in self.group_labels(labels).items())
        return f"{self.key}:{{{pairs}}}"


def identity_group_key(route_key: str, fingerprint: str) -> str:
    """The group key of an alert that is an incident of its own on the route ``route_key``."""
    return f"{route_key}:fingerprint:{fingerprint}"


@dataclass(frozen=True, slots=True)
class RouteVisit:
    """One route tried while routing an alert, for ``tocsin check --explain``."""

    path: str
    key: str
    depth: int
    matched: bool
    mismatch: str | None  # the first matcher that failed
    continues: bool  # the route says ``continue: true``


def route_for(root: Route, labels: Mapping[str, str]) -> tuple[Route, ...]:
    """Returns the routes an alert ends in, in tree order (at least the root)."""
    # The same walk as trace_routes without recording visits: this runs for every new
    # alert, --explain only now and then.
    return tuple(_ends(root, labels) or (root,))


def find_route(root: Route, key: str) -> Route | None:
    """Returns the route whose key is ``key`` (incidents record it); None if a reload removed it."""
    if root.key == key:
        return root
    for child in root.routes:
        found = find_route(child, key)
        if found is not None:
            return found
    return None


def _ends(route: Route, labels: Mapping[str, str]) -> list[Route]:
    if not matches_all(route.matchers, labels):
        return []
    found: list[Route] = []
    for child in route.routes:
        matched = _ends(child, labels)
        found.extend(matched)
        if matched and not child.continue_matching:
            break
    return found or [route]


def trace_routes(
    root: Route, labels: Mapping[str, str]
) -> tuple[tuple[Route, ...], tuple[RouteVisit, ...]]:
    """Routes an alert and also returns every route tried, in the order tried."""
    visits: list[RouteVisit] = []
    found = _match(root, labels, 0, visits)
    return tuple(found or (root,)), tuple(visits)


def _match(
    route: Route, labels: Mapping[str, str], depth: int, visits: list[RouteVisit]
) -> list[Route]:
    miss = first_mismatch(route.matchers, labels)
    mismatch = None if miss is None else str(miss)
    visits.append(
        RouteVisit(route.path, route.key, depth, miss is None, mismatch, route.continue_matching)
    )
    if miss is not None:
        return []
    found: list[Route] = []
    for child in route.routes:
        matched = _match(child, labels, depth + 1, visits)
        found.extend(matched)
        if matched and not child.continue_matching:
            break
    return found or [route]


def walk(root: Route) -> list[Route]:
    """Returns every route of the tree, depth first, root first."""
    routes = [root]
    for child in root.routes:
        routes.extend(walk(child))
    return routes


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


DEFAULT_GROUP_WAIT = timedelta(seconds=30)
DEFAULT_GROUP_INTERVAL = timedelta(minutes=5)
DEFAULT_REOPEN_WINDOW = timedelta(hours=1)
DEFAULT_GROUP_BY = ("alertname",)


def default_route() -> Route:
    """The route used when the rules have none: group by alertname, page nobody."""
    return Route(
        key="{}",
        path="route",
        name=None,
        matchers=(),
        policy=None,
        group_by=DEFAULT_GROUP_BY,
        group_by_all=False,
        group_wait=DEFAULT_GROUP_WAIT,
        group_interval=DEFAULT_GROUP_INTERVAL,
        reopen_window=DEFAULT_REOPEN_WINDOW,
    )
