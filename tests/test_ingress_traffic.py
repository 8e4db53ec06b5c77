"""The ingress worker stands aside for the inbox only while it is crowded
(`solo.federation.traffic`), and never stops for good."""

from __future__ import annotations

import pytest

from solo.federation import traffic
from solo.federation.traffic import InboxTraffic


def test_a_quiet_inbox_leaves_the_worker_alone() -> None:
    inbox = InboxTraffic()
    assert not inbox.busy()
    assert inbox.pause_after(0.01) == 0.0


def test_a_few_posts_make_batches_short_but_do_not_pause_the_worker() -> None:
    inbox = InboxTraffic()
    inbox.arrived()
    assert inbox.busy()
    assert inbox.pause_after(0.01) == 0.0
    inbox.answered()
    assert inbox.busy()  # one just came: more may follow


def test_a_crowd_leaves_the_worker_its_share_and_no_longer_pause() -> None:
    inbox = InboxTraffic()
    for _ in range(traffic.CROWD):
        inbox.arrived()
    worked = 0.004
    pause = inbox.pause_after(worked)
    assert worked / (worked + pause) == pytest.approx(traffic.CROWDED_SHARE)
    assert inbox.pause_after(10.0) == traffic.LONGEST_PAUSE
    for _ in range(traffic.CROWD):
        inbox.answered()
    assert inbox.pause_after(worked) == 0.0
