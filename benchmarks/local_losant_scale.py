"""The local Losant at IoT scale: 10,000 devices, 1,000,000 state points, one process.

Measures the memory (tracemalloc and RSS) and the time to create the devices
and store the points through the store (`State.iot`), then the time of a
`data.timeSeriesQuery` over all of them through real HTTP.

    python benchmarks/local_losant_scale.py [--devices N] [--points N]
"""

from __future__ import annotations

import argparse
import resource
import time
import tracemalloc

import httpx

from losant_async.testing import LocalLosant


def _rss_mb() -> float:
    # ru_maxrss is in KiB on Linux: the peak resident set of the process.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=10_000)
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument(
        "--tracemalloc", action="store_true", help="also trace allocations (slows seeding ~5x)"
    )
    parser.add_argument(
        "--no-check", action="store_true", help="LocalLosant(check_responses=False)"
    )
    args = parser.parse_args()
    per_device = max(args.points // args.devices, 1)
    with LocalLosant(check_responses=not args.no_check).run_in_thread() as server:
        app_id = server.create_application()
        iot = server._state.iot
        rss0 = _rss_mb()
        if args.tracemalloc:
            tracemalloc.start()
        began = time.perf_counter()
        attributes = [{"name": "temp", "dataType": "number"}]
        ids = [
            iot.create_device(
                app_id,
                {
                    "name": f"Sensor {n:05d}",
                    "attributes": attributes,
                    "tags": [{"key": "group", "value": str(n % 10)}],
                },
            )["id"]
            for n in range(args.devices)
        ]
        made = time.perf_counter()
        end = iot.now_ms()
        start = end - per_device * 60_000
        for number, device_id in enumerate(ids):
            states = [
                {"time": start + step * 60_000, "data": {"temp": (number + step) % 50}}
                for step in range(per_device)
            ]
            iot.send_state(app_id, device_id, states)
        stored = time.perf_counter()
        current = tracemalloc.get_traced_memory()[0] if args.tracemalloc else 0
        tracemalloc.stop()
        points = sum(len(iot.device(app_id, d).series) for d in ids)
        print(f"devices: {len(ids):,}  points: {points:,}")
        print(f"create devices: {made - began:.2f} s   store points: {stored - made:.2f} s")
        if current:
            print(
                f"tracemalloc (store): {current / 2**20:.1f} MiB  "
                f"({current / points:.1f} B per point incl. devices)"
            )
        print(f"peak RSS: {_rss_mb():.0f} MiB (before seeding: {rss0:.0f} MiB)")
        headers = {"Authorization": f"Bearer {server.token}"}
        url = f"{server.base_url}/applications/{app_id}/data/time-series-query"
        query = {
            "start": start,
            "end": end,
            "resolution": 3_600_000,
            "aggregation": "MEAN",
            "attributes": ["temp"],
            "deviceTags": [{"key": "group", "value": "3"}],
        }
        with httpx.Client(headers=headers, timeout=600) as client:
            for label, body in (
                ("1,000 devices (one tag)", query),
                ("all devices", {k: v for k, v in query.items() if k != "deviceTags"}),
            ):
                began = time.perf_counter()
                answer = client.post(url, json=body)
                answer.raise_for_status()
                took = time.perf_counter() - began
                devices = answer.json()["devices"]
                print(
                    f"timeSeriesQuery MEAN/1h over {label}: {took:.2f} s "
                    f"({len(devices):,} devices, {len(answer.content) / 2**20:.1f} MiB answer)"
                )


if __name__ == "__main__":
    main()
