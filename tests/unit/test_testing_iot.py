"""The local Losant's IoT store: compact series, aggregations, coercion, times, device queries."""

from __future__ import annotations

import math

import pytest

from losant_async.testing._iot_series import Series, aggregate
from losant_async.testing._iot_store import IotStore, StoreError, glob, iso_ms, parse_ms

APP = "575ec8687ae143cd83dc4a97"
NOW = 1_700_000_000_000


def _store() -> IotStore:
    return IotStore(lambda: NOW)


def test_series_keeps_time_order_and_sparse_columns() -> None:
    series = Series()
    series.add(30, {"a": 3.0})
    series.add(10, {"a": 1.0, "b": "x"})
    series.add(20, {"b": True})
    assert list(series.times) == [10, 20, 30]
    assert [row for _, row in series.states(0, 100, limit=9, descending=False)] == [
        {"a": 1, "b": "x"},
        {"b": True},
        {"a": 3},
    ]
    assert series.last_values(0, 25) == {"a": (10, 1), "b": (20, True)}
    assert series.points == 4
    assert series.remove(15, 30) == 2
    assert list(series.times) == [10]


def test_aggregations() -> None:
    points = [(0, 1.0), (1, 4.0), (2, 4.0), (3, 7.0)]
    assert aggregate("MEAN", points) == 4
    assert aggregate("MEDIAN", points) == 4
    assert aggregate("SUM", points) == 16
    assert aggregate("COUNT", points) == 4
    assert (aggregate("FIRST", points), aggregate("LAST", points)) == (1, 7)
    assert (aggregate("MIN", points), aggregate("MAX", points)) == (1, 7)
    assert math.isclose(aggregate("STD_DEV", points), math.sqrt(4.5))
    assert aggregate("TIMEATVALUE", points, 4.0) == 2
    assert aggregate("MEAN", [(0, "text")]) is None


def test_buckets_align_on_resolution() -> None:
    series = Series()
    for time in range(0, 120, 10):
        series.add(time, {"v": float(time)})
    assert series.buckets("v", 0, 119, 60, "COUNT") == {0: 6, 60: 6}
    assert series.buckets("v", 0, 119, 60, "MAX") == {0: 50, 60: 110}


def test_state_keeps_declared_attributes_converted() -> None:
    iot = _store()
    attrs = [
        {"name": "n", "dataType": "number"},
        {"name": "b", "dataType": "boolean"},
        {"name": "s", "dataType": "string"},
    ]
    device = iot.create_device(APP, {"name": "d", "attributes": attrs})["id"]
    sent = iot.send_state(
        APP, device, [{"data": {"n": "2.5", "b": "true", "s": 3, "other": 1}}, {"data": {"n": "x"}}]
    )
    assert sent == [{"time": iso_ms(NOW), "data": {"n": 2.5, "b": True, "s": "3"}}]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (NOW, NOW),
        ("1700000000000", NOW),
        ("2023-11-14T22:13:20.000Z", NOW),
        ({"$date": "2023-11-14T22:13:20Z"}, NOW),
    ],
)
def test_times(value: object, expected: int) -> None:
    assert parse_ms(value, "time") == expected


def test_bad_time_is_a_400() -> None:
    with pytest.raises(StoreError) as caught:
        parse_ms("yesterday", "time")
    assert caught.value.status == 400


def test_relative_query_times() -> None:
    iot = _store()
    assert iot.resolve(0, 0) == NOW
    assert iot.resolve(-1000, 0) == NOW - 1000
    assert iot.resolve(5, 0) == 5


def test_glob_and_device_selection() -> None:
    assert glob("my * device").fullmatch("My Big Device")
    assert not glob("dev").fullmatch("device")
    iot = _store()
    one = iot.create_device(APP, {"name": "one", "tags": [{"key": "k", "value": "1"}]})["id"]
    iot.create_device(APP, {"name": "two", "tags": [{"key": "k", "value": "2"}]})
    chosen = iot.select_devices(APP, tags=[{"key": "k", "value": "1"}])
    assert [device.record["id"] for device in chosen] == [one]
    query = {"$nor": [{"name": "two"}], "tags": {"$tagKey": "k"}}
    assert [d.record["name"] for d in iot.select_devices(APP, query=query)] == ["one"]
    iot.delete_device(APP, one)
    assert [d.record["name"] for d in iot.select_devices(APP)] == ["two"]
    iot.restore_device(APP, one)
    assert len(iot.select_devices(APP)) == 2


def test_table_constraints() -> None:
    iot = _store()
    columns = [
        {"name": "k", "dataType": "string", "constraint": "unique"},
        {"name": "n", "dataType": "number", "constraint": "required"},
    ]
    table = iot.create_table(APP, {"name": "t", "columns": columns})["id"]
    iot.insert_rows(APP, table, [{"k": "a", "n": 1}])
    for bad in ({"k": "a", "n": 2}, {"k": "b"}, {"k": "c", "n": "x"}, {"k": "d", "n": 1, "z": 1}):
        with pytest.raises(StoreError):
            iot.insert_rows(APP, table, [bad])
