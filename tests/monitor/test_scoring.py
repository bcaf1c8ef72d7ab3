from __future__ import annotations

import pytest

from monitor.scoring import Label, Scored, percentile, score
from tests.monitor.factories import HOUR, MIN

L = [Label("a1", "relocation_carried", "geofence_exit", False, 0, 10 * HOUR),
     Label("a2", "relocation_tow_night", "geofence_exit", False, 0, HOUR),
     Label("a3", "tracker_silenced", "tracker_dark", False, 0, 2 * HOUR),
     Label("a4", "dead_zone", None, True, 0, HOUR)]


def test_recall_precision_delay_and_false_alarms_per_kind() -> None:
    alerts = [Scored("a1", "geofence_exit", 12 * MIN),
              Scored("a1", "geofence_exit", 2 * HOUR),  # a second alert on the same incident
              Scored("a3", "tracker_dark", 31 * MIN),
              Scored("a4", "tracker_dark", 20 * MIN),  # the dead zone look-alike: false alarm
              Scored("a9", "geofence_exit", 0),  # no label at all: false alarm
              Scored("a1", "idle", 5 * HOUR)]  # the towed machine also stands idle: a side alert
    rows = score(alerts, L, asset_days=500.0, kinds=["tamper"])
    geo, dark, idle, tamper = (rows[k] for k in ("geofence_exit", "tracker_dark", "idle",
                                                  "tamper"))
    assert (geo.labels, geo.detected, geo.recall, geo.false_alarms) == (2, 1, 0.5, 1)
    assert geo.precision == pytest.approx(2 / 3)
    assert geo.median_delay_s == 720.0
    assert (dark.recall, dark.false_alarms, dark.false_alarms_per_1000_asset_days) == (1.0, 1, 2.0)
    assert (idle.side_alerts, idle.false_alarms, idle.recall) == (1, 0, None)
    assert (tamper.labels, tamper.alerts, tamper.precision) == (0, 0, None)


def test_an_alert_after_the_grace_does_not_match() -> None:
    late = [Scored("a2", "geofence_exit", 3 * HOUR + MIN)]  # end 1 h + 2 h grace
    row = score(late, L, asset_days=1.0)["geofence_exit"]
    assert (row.detected, row.false_alarms) == (0, 1)


def test_percentile_interpolates_like_numpy() -> None:
    assert percentile([1.0, 2.0, 3.0, 4.0], 0.95) == pytest.approx(3.85)
    assert percentile([7.0], 0.95) == 7.0
