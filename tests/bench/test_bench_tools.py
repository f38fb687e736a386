"""The benchmark's own plumbing: its parsers read what the tools print, and the memory
snapshot sees the running stack. (The figures themselves are measured by `make bench`.)"""

from pathlib import Path

import pytest

from bench import footprint
from bench.figures import from_latencies, locust_row, parse_hey
from bench.limits import parse_producer_summary

HEY_OUTPUT = """
Summary:
  Total:	5.0091 secs
  Requests/sec:	966.8456

Latency distribution:
  10%% in 0.0099 secs
  50%% in 0.0119 secs
  95%% in 0.0743 secs
  99%% in 0.1531 secs

Status code distribution:
  [200]	4843 responses
  [503]	7 responses
"""


HEY_REFUSED = """
Summary:
  Total:	3.9348 secs
  Requests/sec:	11715.9836

Latency distribution:
  50%% in 1.5974 secs

Status code distribution:
  [200]	48 responses

Error distribution:
  [46052]	Get "http://127.0.0.1:5000/x": dial tcp 127.0.0.1:5000: connect: connection refused
  [2]	Get "http://127.0.0.1:5000/x": EOF
"""


def test_hey_transport_errors_are_errors_not_throughput() -> None:
    figure = parse_hey("read", HEY_REFUSED)
    assert figure.throughput == round(48 / 3.9348, 1)
    assert (figure.requests, figure.errors) == (48 + 46054, 46054)


def test_hey_summary_gives_rate_percentiles_and_errors() -> None:
    figure = parse_hey("read", HEY_OUTPUT)
    assert (figure.throughput, figure.p50_ms, figure.p95_ms, figure.p99_ms) == (
        966.8,
        11.9,
        74.3,
        153.1,
    )
    assert (figure.requests, figure.errors) == (4850, 7)


def test_producer_performance_summary() -> None:
    figure = parse_producer_summary(
        "100000 records sent, 47573.7 records/sec (23.23 MB/sec), 650.1 ms avg latency, "
        "812.0 ms max latency, 706 ms 50th, 766 ms 95th, 780 ms 99th, 801 ms 99.9th."
    )
    assert (figure.requests, figure.throughput) == (100000, 47573.7)
    assert (figure.p50_ms, figure.p95_ms, figure.p99_ms) == (706, 766, 780)
    with pytest.raises(ValueError, match="not a ProducerPerformance summary"):
        parse_producer_summary("ERROR Topic bench not present in metadata")


def test_locust_row_reads_the_named_row(tmp_path: Path) -> None:
    stats = tmp_path / "x_stats.csv"
    header = (
        "Type,Name,Request Count,Failure Count,Median Response Time,Average Response Time,"
        "Min Response Time,Max Response Time,Average Content Size,Requests/s,Failures/s,"
        "50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%"
    )
    stats.write_text(
        f"{header}\n"
        "POST,/api/orders,175,3,1300,1358,560,4672,300,4.43,0.1,"
        "1300,1500,1700,1800,2500,3300,3900,4200,4600,4600,4600\n"
        ",Aggregated,235,3,500,1000,10,4672,300,5.96,0.1,"
        "500,700,900,1000,2000,3000,3800,4100,4600,4600,4600\n"
    )
    orders = locust_row("checkout", stats, "/api/orders", "orders", 30, 40)
    assert (orders.throughput, orders.p50_ms, orders.p95_ms, orders.p99_ms) == (
        4.4,
        1300,
        3300,
        4200,
    )
    assert (orders.requests, orders.errors) == (175, 3)
    assert locust_row("x", stats, "/missing", "requests", 1, 1).throughput is None


def test_percentiles_from_latencies() -> None:
    figure = from_latencies("loop", "requests", [i / 1000 for i in range(1, 101)], 2.0)
    assert (figure.throughput, figure.p50_ms, figure.p99_ms) == (50.0, 51.0, 100.0)
    assert from_latencies("none", "requests", [], 1.0, errors=3).note == "nothing succeeded"


def test_memory_snapshot_covers_every_running_component() -> None:
    usages = {usage.component: usage for usage in footprint.snapshot()}
    for component in ("postgres", "kafka", "redis", "gateway", "orders", "supervisord"):
        assert usages[component].rss_mib > 1, component
    assert usages["postgres"].processes > 1  # the postmaster and its backends, summed
    assert sum(u.rss_mib for u in usages.values()) > sum(u.pss_mib for u in usages.values())
