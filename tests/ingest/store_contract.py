"""The contract every ``TelemetryStore`` passes, whatever keeps the data.

Subclass ``StoreContract`` in a ``Test...`` class and provide two fixtures:
``store`` (an empty store) and ``down_store`` (one whose back end cannot take
a write right now).
"""

from __future__ import annotations

import math
from typing import Any

import pytest

from ingest.store.base import Point, Row, StoreError, StoreUnavailable, TelemetryStore
from ingest.wire import FIELD_TYPES

__all__ = ["StoreContract", "T0", "ALL_FIELDS", "point"]

T0 = 1_764_331_200_000  # 2025-11-28T12:00:00Z, a multiple of one minute
MIN = 60_000

ALL_FIELDS: dict[str, Any] = {
    "lat": 48.0,  # integral floats must come back as floats
    "lon": 11.25,
    "alt_m": 512.5,
    "speed_kmh": 0.0,
    "heading_deg": 359.9,
    "gnss_fix": 3,
    "hdop": 0.8,
    "sats": 12,
    "ignition": True,
    "engine_rpm": 1800.0,
    "power_kw": -3.5,
    "vibration_mm_s": 2.25,
    "temp_c": -12.5,
    "fuel_pct": 100.0,
    "battery_v": 12.6,
    "ext_power": False,
    "tamper": False,
}


def point(
    ts_ms: int, asset_id: str = "a1", device_id: str = "d1", seq: int = 1, **fields: Any
) -> Point:
    return Point(asset_id=asset_id, device_id=device_id, ts_ms=ts_ms, seq=seq, fields=fields)


def times(rows: list[Row]) -> list[int]:
    return [row.ts_ms for row in rows]


class StoreContract:
    """Checks shared by ``EmbeddedStore`` and ``InfluxStore``."""

    def test_round_trip_keeps_every_field_and_its_type(self, store: TelemetryStore) -> None:
        assert set(ALL_FIELDS) == set(FIELD_TYPES), "update ALL_FIELDS with the wire contract"
        store.write([point(T0, seq=7, **ALL_FIELDS)])
        for row in (store.query("a1", T0, T0 + 1)[0], store.last("a1")):
            assert row is not None
            assert row.ts_ms == T0
            assert dict(row.values) == {"seq": 7, **ALL_FIELDS}
            for name, value in row.values.items():
                assert type(value) is FIELD_TYPES.get(name, int), name

    def test_ints_given_for_float_fields_stay_floats(self, store: TelemetryStore) -> None:
        store.write([point(T0, speed_kmh=0, temp_c=21, sats=9.0)])
        store.write([point(T0 + 1, speed_kmh=2.5, temp_c=20.5, sats=8)])  # no type conflict
        rows = store.query("a1", T0, T0 + 2, fields=["speed_kmh", "temp_c", "sats"])
        assert [dict(row.values) for row in rows] == [
            {"speed_kmh": 0.0, "temp_c": 21.0, "sats": 9},
            {"speed_kmh": 2.5, "temp_c": 20.5, "sats": 8},
        ]
        assert type(rows[0].values["speed_kmh"]) is float
        assert type(rows[0].values["sats"]) is int

    def test_rewriting_a_key_keeps_one_point_with_the_latest_values(
        self, store: TelemetryStore
    ) -> None:
        store.write([point(T0, seq=1, speed_kmh=10.0, ignition=False)])
        store.write([point(T0, seq=1, speed_kmh=20.0, ignition=True)])
        store.write([point(T0, seq=1, speed_kmh=20.0, ignition=True)])  # a replay
        assert store.count("a1") == 1
        rows = store.query("a1", T0, T0 + 1)
        assert [dict(row.values) for row in rows] == [
            {"seq": 1, "speed_kmh": 20.0, "ignition": True}
        ]

    def test_rewriting_a_key_with_fewer_fields_keeps_the_others(
        self, store: TelemetryStore
    ) -> None:
        # InfluxDB merges the fields of a rewritten point; the embedded store does the same.
        store.write([point(T0, seq=1, speed_kmh=10.0, temp_c=5.0)])
        store.write([point(T0, seq=2, speed_kmh=11.0)])
        last = store.last("a1")
        assert last is not None
        assert dict(last.values) == {"seq": 2, "speed_kmh": 11.0, "temp_c": 5.0}

    def test_two_devices_at_one_time_are_two_points(self, store: TelemetryStore) -> None:
        store.write([point(T0, device_id="d1", temp_c=1.0), point(T0, device_id="d2", temp_c=2.0)])
        assert store.count("a1") == 2
        rows = store.query("a1", T0, T0 + 1, fields=["temp_c"])
        assert sorted(row.values["temp_c"] for row in rows) == [1.0, 2.0]  # type: ignore[type-var]

    def test_range_starts_inclusive_and_ends_exclusive(self, store: TelemetryStore) -> None:
        store.write([point(T0 + i * MIN, seq=i, temp_c=float(i)) for i in range(5)])
        rows = store.query("a1", T0 + MIN, T0 + 3 * MIN)
        assert times(rows) == [T0 + MIN, T0 + 2 * MIN]
        assert times(store.query("a1", T0 + MIN - 1, T0 + MIN)) == []
        assert times(store.query("a1", T0 + MIN, T0 + MIN + 1)) == [T0 + MIN]

    def test_rows_come_oldest_first_and_stop_at_limit(self, store: TelemetryStore) -> None:
        store.write([point(T0 + i * MIN, seq=i, temp_c=1.0) for i in reversed(range(6))])
        rows = store.query("a1", T0, T0 + 10 * MIN, limit=4)
        assert times(rows) == [T0 + i * MIN for i in range(4)]
        buckets = store.query("a1", T0, T0 + 10 * MIN, every_ms=2 * MIN, limit=2)
        assert times(buckets) == [T0, T0 + 2 * MIN]

    def test_downsampling_averages_per_aligned_bucket(self, store: TelemetryStore) -> None:
        every = 10 * MIN
        store.write(
            [
                point(T0 + 1 * MIN, seq=1, speed_kmh=10.0, sats=5, ignition=True),
                point(T0 + 4 * MIN, seq=2, speed_kmh=20.0, sats=6, ignition=False),
                point(T0 + 7 * MIN, seq=3, speed_kmh=30.0, sats=8, ignition=False),
                point(T0 + 9 * MIN, seq=4, speed_kmh=40.0, sats=8, ignition=False),
                # nothing in [T0+10min, T0+20min): that bucket is omitted
                point(T0 + 25 * MIN, seq=5, speed_kmh=5.0, ignition=True),
                point(T0 + 29 * MIN, seq=6, temp_c=-1.0),
            ]
        )
        rows = store.query("a1", T0, T0 + 30 * MIN, every_ms=every)
        assert times(rows) == [T0, T0 + 20 * MIN]
        assert all(row.ts_ms % every == 0 for row in rows)
        assert dict(rows[0].values) == {"speed_kmh": 25.0, "sats": 6.75, "ignition": 0.25}
        assert dict(rows[1].values) == {"speed_kmh": 5.0, "ignition": 1.0, "temp_c": -1.0}
        for row in rows:
            assert all(type(value) is float for value in row.values.values())

    def test_downsampled_buckets_align_to_the_epoch_not_the_start(
        self, store: TelemetryStore
    ) -> None:
        every = 7 * MIN  # T0 is not a multiple of 7 minutes
        store.write([point(T0 + i * MIN, seq=i, temp_c=float(i)) for i in range(10)])
        rows = store.query("a1", T0 + 2 * MIN, T0 + 10 * MIN, every_ms=every)
        assert all(row.ts_ms % every == 0 for row in rows)
        # The first bucket starts before start_ms but holds only readings from start_ms on.
        first = T0 + 2 * MIN - (T0 + 2 * MIN) % every
        assert rows[0].ts_ms == first
        in_first = [i for i in range(2, 10) if T0 + i * MIN < first + every]
        assert rows[0].values["temp_c"] == pytest.approx(sum(in_first) / len(in_first))
        assert len(rows) == len({(T0 + i * MIN) // every for i in range(2, 10)})

    def test_boolean_buckets_hold_the_fraction_of_true(self, store: TelemetryStore) -> None:
        flags = [True, True, False, True, False, False, False, False]
        store.write(
            [
                point(T0 + i * MIN, seq=i, tamper=flag, ext_power=True)
                for i, flag in enumerate(flags)
            ]
        )
        rows = store.query("a1", T0, T0 + 8 * MIN, every_ms=4 * MIN, fields=["tamper", "ext_power"])
        assert [dict(row.values) for row in rows] == [
            {"tamper": 0.75, "ext_power": 1.0},
            {"tamper": 0.0, "ext_power": 1.0},
        ]

    def test_fields_limit_the_columns_and_the_rows(self, store: TelemetryStore) -> None:
        store.write(
            [
                point(T0, seq=1, speed_kmh=1.0, temp_c=20.0, ignition=True),
                point(T0 + MIN, seq=2, speed_kmh=2.0),
            ]
        )
        rows = store.query("a1", T0, T0 + 2 * MIN, fields=["temp_c", "ignition"])
        assert [(row.ts_ms, dict(row.values)) for row in rows] == [
            (T0, {"temp_c": 20.0, "ignition": True})
        ]
        rows = store.query("a1", T0, T0 + 2 * MIN, fields=["speed_kmh", "seq"])
        assert [dict(row.values) for row in rows] == [
            {"speed_kmh": 1.0, "seq": 1},
            {"speed_kmh": 2.0, "seq": 2},
        ]
        buckets = store.query("a1", T0, T0 + 2 * MIN, every_ms=10 * MIN, fields=["speed_kmh"])
        assert [dict(row.values) for row in buckets] == [{"speed_kmh": 1.5}]
        assert store.query("a1", T0, T0 + 2 * MIN, every_ms=MIN, fields=["fuel_pct"]) == []

    def test_last_is_the_newest_point_of_the_asset(self, store: TelemetryStore) -> None:
        store.write(
            [
                point(T0 + 2 * MIN, seq=3, lat=1.5, lon=2.5),
                point(T0, seq=1, lat=1.0, lon=2.0, temp_c=3.0),
                point(T0 + 9 * MIN, asset_id="other", seq=9, lat=9.0),
            ]
        )
        last = store.last("a1")
        assert last == Row(T0 + 2 * MIN, {"seq": 3, "lat": 1.5, "lon": 2.5})
        assert store.last("nobody") is None

    def test_count_overall_and_per_asset(self, store: TelemetryStore) -> None:
        assert store.count() == 0
        store.write([point(T0 + i, asset_id=f"a{i % 3}", seq=i, temp_c=1.0) for i in range(10)])
        assert store.count() == 10
        assert [store.count(f"a{k}") for k in range(3)] == [4, 3, 3]
        assert store.count("nobody") == 0

    @pytest.mark.parametrize(
        "asset_id",
        [
            "it's",
            'say "hi"',
            "a b",
            "a,b",
            "a=b",
            "a\\b",
            "x' OR asset_id='a1",
            "Kran Nr. 7 / München",
        ],
    )
    def test_awkward_asset_ids_are_kept_apart(self, store: TelemetryStore, asset_id: str) -> None:
        store.write([point(T0, asset_id="a1", seq=1, temp_c=1.0)])
        store.write([point(T0 + MIN, asset_id=asset_id, device_id="dev 1,=x", seq=2, temp_c=2.0)])
        assert [dict(row.values) for row in store.query(asset_id, T0, T0 + 2 * MIN)] == [
            {"seq": 2, "temp_c": 2.0}
        ]
        assert store.query(asset_id, T0, T0 + 2 * MIN, every_ms=MIN)[0].values == {"temp_c": 2.0}
        assert store.last(asset_id) == Row(T0 + MIN, {"seq": 2, "temp_c": 2.0})
        assert (store.count(asset_id), store.count("a1"), store.count()) == (1, 1, 2)

    def test_empty_answers(self, store: TelemetryStore) -> None:
        assert store.query("nobody", T0, T0 + MIN) == []
        assert store.query("nobody", T0, T0 + MIN, every_ms=MIN) == []
        store.write([point(T0, temp_c=1.0)])
        assert store.query("a1", T0 + 1, T0) == []  # an empty range
        assert store.query("a1", T0, T0) == []
        assert store.last("nobody") is None
        assert store.count("nobody") == 0
        store.write([])  # nothing to do, no error

    @pytest.mark.parametrize(
        "fields",
        [
            {"colour": 1.0},  # not a wire field
            {"speed_kmh": True},  # a bool is not a number
            {"speed_kmh": "fast"},
            {"ignition": 1},  # nor a number a bool
            {"sats": 7.5},  # an int field takes only integral values
            {"temp_c": math.nan},
            {"temp_c": math.inf},
        ],
    )
    def test_bad_points_fail_the_batch_before_any_write(
        self, store: TelemetryStore, fields: dict[str, Any]
    ) -> None:
        good = point(T0, seq=1, temp_c=1.0)
        with pytest.raises(StoreError) as caught:
            store.write([good, point(T0 + 1, seq=2, **fields)])
        assert not isinstance(caught.value, StoreUnavailable)  # retrying will not help
        assert store.count() == 0

    def test_empty_ids_are_refused(self, store: TelemetryStore) -> None:
        with pytest.raises(StoreError):
            store.write([point(T0, asset_id="")])
        with pytest.raises(StoreError):
            store.write([point(T0, device_id="")])

    @pytest.mark.parametrize(
        "kwargs", [{"every_ms": 0}, {"every_ms": -MIN}, {"limit": 0}, {"fields": ["colour"]}]
    )
    def test_bad_queries_are_refused(self, store: TelemetryStore, kwargs: dict[str, Any]) -> None:
        with pytest.raises(StoreError):
            store.query("a1", T0, T0 + MIN, **kwargs)

    def test_large_batch(self, store: TelemetryStore) -> None:
        # More than one InfluxDB request, and more rows than a default 10,000 row cap.
        store.write([point(T0 + i, seq=i, temp_c=0.5) for i in range(12_000)])
        store.write([point(T0, asset_id="other", temp_c=0.5)])
        assert (store.count(), store.count("a1")) == (12_001, 12_000)
        rows = store.query("a1", T0, T0 + 12_000, limit=100_000)
        assert times(rows) == [T0 + i for i in range(12_000)]

    def test_ping(self, store: TelemetryStore) -> None:
        assert store.ping() is True

    def test_write_to_a_store_that_is_down_is_unavailable(self, down_store: TelemetryStore) -> None:
        with pytest.raises(StoreUnavailable):
            down_store.write([point(T0, temp_c=1.0)])
