"""What the paging bench configures: Tocsin's rules and Alertmanager's config, the same way.

Both page a local webhook receiver (bench/paging_receiver.py) for every new alert on
its own: one group (Alertmanager) or incident (Tocsin) per alert (``group_by: ['...']``),
``group_wait: 0s`` on the root route. Alerts labelled ``bench_phase="bulk"`` go to a
child route whose ``group_wait`` is an hour (they stay open with a pending timer:
Tocsin's escalation step, Alertmanager's aggregation group timer); alerts labelled
``bench_phase="probe"`` go to one whose ``group_wait`` is ``probe_wait_s`` (timers that
come due while the others wait). Tocsin's incidents are titled with the alert's
``bench_id`` label, which its webhook body carries as ``incident.title``; Alertmanager's
body carries the alert's labels.

Tocsin's policy pages the channel itself (``{channel: bench-receiver}``), as
Alertmanager's receiver is a channel. Pages are bundled past ``notifications.bundle.max``
(5 by default) a minute per recipient (a person, or a channel paged as itself) and
channel, which would turn all but 5 of the bench's pages a minute into one bundled
message (a feature Alertmanager lacks, not what is measured here): the bench's rules set
``bundle: {max: 100000, window: 1s}``, more than any rate it sends. Every other setting
is Tocsin's default (e.g. 4 deliveries in flight per channel).
"""

from __future__ import annotations

_TOCSIN_RULES = """\
# Written by bench/paging_config.py.
sources:
  - name: bench
    kind: alertmanager_api
    auth:
      bearer_token: {{env: TOCSIN_BENCH_TOKEN}}
api_keys:
  - {{name: bench, role: viewer, key: {{env: TOCSIN_BENCH_TOKEN}}}}
templates:
  title: "{{{{ labels.bench_id }}}}"
channels:
  - name: bench-receiver
    send_resolved: false
    webhook: {{url: "{receiver}/tocsin", timeout: 10s}}
escalation_policies:
  - name: bench
    levels:
      - {{delay: 1h, targets: [{{channel: bench-receiver}}]}}
notifications:
  bundle: {{max: 100000, window: 1s}}
route:
  policy: bench
  group_by: ["..."]
  group_wait: 0s
  routes:
    - name: bulk
      matchers: ['bench_phase="bulk"']
      group_wait: 1h
    - name: probe
      matchers: ['bench_phase="probe"']
      group_wait: {probe_wait_s}s
"""

_ALERTMANAGER_CONFIG = """\
# Written by bench/paging_config.py.
route:
  receiver: bench
  group_by: ['...']
  group_wait: 0s
  group_interval: 5m
  repeat_interval: 4h
  routes:
    - matchers: ['bench_phase="bulk"']
      group_wait: 1h
    - matchers: ['bench_phase="probe"']
      group_wait: {probe_wait_s}s
receivers:
  - name: bench
    webhook_configs:
      - url: "{receiver}/alertmanager"
        send_resolved: false
"""


def tocsin_rules(receiver: str, probe_wait_s: int) -> str:
    """Tocsin's rules paging the receiver at base URL ``receiver``."""
    return _TOCSIN_RULES.format(receiver=receiver, probe_wait_s=probe_wait_s)


def alertmanager_config(receiver: str, probe_wait_s: int) -> str:
    """Alertmanager's configuration paging the receiver at base URL ``receiver``."""
    return _ALERTMANAGER_CONFIG.format(receiver=receiver, probe_wait_s=probe_wait_s)
