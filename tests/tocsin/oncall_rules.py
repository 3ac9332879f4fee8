"""Rules with people, schedules, policies and calendar feeds for the on-call API and CLI tests."""

from __future__ import annotations

ONCALL_RULES = """
sources:
  - name: am
    kind: alertmanager
    auth: {bearer_token: {env: AM_TOKEN}}
api_keys:
  - {name: root, role: admin, key: {env: ADMIN_KEY}}
  - {name: wallboard, role: viewer, key: {env: VIEWER_KEY}}
channels:
  - name: hook
    webhook: {url: "http://127.0.0.1:1/hook"}
people:
  - {name: ana, display_name: Ana Lima, contacts: [{channel: hook, address: "@x"}]}
  - {name: ben, display_name: Ben Okafor, contacts: [{channel: hook, address: "@x"}]}
  - {name: cy, display_name: Cy Young, contacts: [{channel: hook, address: "@x"}]}
teams:
  - {name: web, display_name: Web, members: [ana, ben, cy], policy: web}
schedules:
  - name: web-weekly
    display_name: Web on-call
    time_zone: Europe/Berlin
    layers:
      - name: weekly
        members: [ana, ben]
        rotation: {every: 1w, handoff: "2026-01-05T09:00"}
    overrides:
      - {person: cy, start: "2026-03-04T12:00", end: "2026-03-05T12:00"}
escalation_policies:
  - name: web
    levels:
      - delay: 5m
        targets: [{schedule: web-weekly}, {person: cy}, {channel: hook}]
      - delay: 10m
        targets: [{team: web}]
calendar_feeds:
  secret: {env: FEED_SECRET}
  generations:
    people: {ben: 2}
"""

ONCALL_ENV = {
    "AM_TOKEN": "am-secret",
    "ADMIN_KEY": "admin-key",
    "VIEWER_KEY": "viewer-key",
    "FEED_SECRET": "feed-secret",
}
ADMIN = {"Authorization": "Bearer admin-key"}
VIEWER = {"Authorization": "Bearer viewer-key"}
