"""What ``/metrics`` shows: one registry core owns, filled by the apps, rendered by
``prometheus-client`` in the Prometheus text format.

What a scrape returns must be the sum over every process that does the work — each gunicorn
worker, each Celery worker, on every host — so where each number lives is chosen for that:

* **Events are counted in Redis** (:class:`EventCounter`, :class:`EventHistogram`): one hash per
  metric, one field per label set, ``HINCRBY``. Every process on every host adds to the same
  hash, and a scrape of any web process reads the total. An event is added once its transaction
  has committed (a delivery rolled back never counts), and nothing ever subtracts: resolving an
  incident or deleting the rows an event produced leaves its counter where it is — a counter
  derived from row counts falls, and ``rate()`` reads that fall as a reset. A Redis flush or
  eviction restarts a counter from zero, which *is* a reset and Prometheus treats it as one.
  prometheus-client's own multiprocess mode (``PROMETHEUS_MULTIPROC_DIR``) was not used: its
  files are per host, so two web hosts would each report their half, and the Celery workers'
  events on other hosts would be reported by nobody.
* **The hot path pays no round trip**: HTTP requests and config reads (``count_soon``) are added
  up in process memory and sent to Redis in one pipeline at most every
  :data:`FLUSH_SECONDS` by a daemon thread, at exit, and by the scraping process before it
  reads. A process killed outright loses at most its last interval of those counts.
* **Gauges are read at scrape time** from the database and the broker by collectors that the
  apps register from their ``AppConfig.ready()`` (:func:`register_collector`; core imports no
  app): open incidents, pilot state, queue depth, the audit chain's head.
* Without Redis (the embedded default, one process under ``make run``) the hashes live in this
  process's memory.

A time that may never have happened is a ``*_timestamp_seconds`` gauge (Unix time) whose sample
is absent until it has: never a ``-1`` sentinel that graphs and alerts would read as a value.
"""

from __future__ import annotations

import atexit
import bisect
import functools
import json
import logging
import os
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from django.db import transaction
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from prometheus_client.registry import Collector

logger = logging.getLogger(__name__)

CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4
FLUSH_SECONDS = 1.0
# Seconds; Prometheus' defaults, with the fine end kept for the hot path's millisecond reads.
LATENCY_BUCKETS: tuple[float, ...] = (
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
)

_KEY = "metrics:{kind}:{name}"
_FLOAT_PREFIX = "metrics:hs:"  # histogram sums: the one kind of hash that holds fractions


@functools.lru_cache(maxsize=8192)
def _field(values: tuple[str, ...]) -> str:
    # Cached: the hot path names the same few label sets over and over.
    return json.dumps(list(values), separators=(",", ":"))


# --- where the hashes live ------------------------------------------------------------------


class _LocalStore:
    """The Redis hashes' stand-in for a process without Redis."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.hashes: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))

    def add(self, increments: dict[tuple[str, str], float]) -> None:
        with self.lock:
            for (key, field), n in increments.items():
                self.hashes[key][field] += n

    def read(self, keys: list[str]) -> list[dict[str, float]]:
        with self.lock:
            return [dict(self.hashes.get(k, {})) for k in keys]


_local = _LocalStore()


def _redis() -> tuple[Any, Callable[[str], str]] | None:
    backend: Any = caches["default"]
    if isinstance(backend, RedisCache):
        # The cache's own client and key prefix: one connection pool, and each test worker's
        # prefix keeps its counters apart.
        client: Any = backend._cache  # type: ignore[attr-defined]  # django's RedisCacheClient
        return client.get_client(write=True), backend.make_key
    return None


def _add(increments: dict[tuple[str, str], float]) -> None:
    """Add to the hashes: ``{(key, field): n}``; whole numbers with HINCRBY, sums by float."""
    if not increments:
        return
    redis = _redis()
    if redis is None:
        _local.add(increments)
        return
    client, make_key = redis
    pipe = client.pipeline(transaction=False)
    for (key, field), n in increments.items():
        if key.startswith(_FLOAT_PREFIX):
            pipe.hincrbyfloat(make_key(key), field, n)
        else:
            pipe.hincrby(make_key(key), field, int(n))
    pipe.execute()


def _read(keys: list[str]) -> list[dict[str, float]]:
    redis = _redis()
    if redis is None:
        return _local.read(keys)
    client, make_key = redis
    pipe = client.pipeline(transaction=False)
    for key in keys:
        pipe.hgetall(make_key(key))
    return [
        {(f.decode() if isinstance(f, bytes) else f): float(v) for f, v in (reply or {}).items()}
        for reply in pipe.execute()
    ]


def _add_after_commit(increments: dict[tuple[str, str], float]) -> None:
    def send() -> None:
        try:
            _add(increments)
        except Exception as exc:  # the cache client's errors vary; an event must not fail
            logger.warning("metrics not counted: %s", exc.__class__.__name__)

    if transaction.get_connection().in_atomic_block:
        transaction.on_commit(send, robust=True)
    else:
        send()  # no transaction to wait for (and no database connection needed)


class _Buffer:
    """The hot path's counts, added up here and flushed by one daemon thread per process."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.pending: dict[tuple[str, str], float] = defaultdict(float)
        self.flushing = False  # whether this process has its flush thread yet

    def forked(self) -> None:
        """In a child after fork (gunicorn workers): the parent's counts are the parent's to
        send, and its flush thread did not come along."""
        self.lock = threading.Lock()
        self.pending = defaultdict(float)
        self.flushing = False

    def add(self, increments: Iterable[tuple[tuple[str, str], float]]) -> None:
        with self.lock:
            for item, n in increments:
                self.pending[item] += n
            if not self.flushing:
                self.flushing = True
                threading.Thread(target=self._run, name="metrics-flush", daemon=True).start()

    def flush(self) -> None:
        with self.lock:
            taken, self.pending = self.pending, defaultdict(float)
        try:
            _add(dict(taken))
        except Exception as exc:
            # Dropped, not retried: part of the pipeline may have been applied, and adding it
            # again would count twice. A counter may miss an interval; it never overcounts.
            logger.warning("metrics flush failed: %s", exc.__class__.__name__)

    def _run(self) -> None:
        while True:
            time.sleep(FLUSH_SECONDS)
            self.flush()


_buffer = _Buffer()


def add_soon(increments: Iterable[tuple[tuple[str, str], float]]) -> None:
    """Several hot-path counts at once (``EventCounter.item``/``EventHistogram.observation``)."""
    _buffer.add(increments)


# A fork hook rather than an os.getpid() check per count: getpid is a system call, and the hot
# path would pay it on every request.
os.register_at_fork(after_in_child=_buffer.forked)
atexit.register(_buffer.flush)


# --- the metric kinds -----------------------------------------------------------------------

_EVENT_METRICS: dict[str, EventCounter | EventHistogram] = {}


class EventCounter:
    """A counter of events, summed over every process and host (see the module docstring)."""

    def __init__(self, name: str, documentation: str, labelnames: Sequence[str] = ()) -> None:
        if not name.endswith("_total"):
            raise ValueError(f"a counter's name ends in _total: {name}")
        self.name = name
        self.documentation = documentation
        self.labelnames = tuple(labelnames)
        self.key = _KEY.format(kind="c", name=name)
        _EVENT_METRICS[name] = self

    def item(self, **labels: str) -> tuple[str, str]:
        """Where one label set is counted (for :func:`add_soon`; the hot path caches it)."""
        return self._item(labels)

    def _item(self, labels: dict[str, str]) -> tuple[str, str]:
        if set(labels) != set(self.labelnames):
            raise ValueError(f"{self.name} takes labels {self.labelnames}, got {sorted(labels)}")
        return self.key, _field(tuple([str(labels[n]) for n in self.labelnames]))

    def count(self, n: int = 1, **labels: str) -> None:
        """Count ``n`` events once the current transaction commits (now, outside one)."""
        if n > 0:
            _add_after_commit({self._item(labels): n})

    def count_soon(self, n: int = 1, **labels: str) -> None:
        """Count now in this process; Redis has it within :data:`FLUSH_SECONDS` (hot path)."""
        if n > 0:
            _buffer.add([(self._item(labels), n)])

    def collect(self, stored: dict[str, float]) -> Metric:
        family = CounterMetricFamily(self.name, self.documentation, labels=self.labelnames)
        for field, value in sorted(stored.items()):
            family.add_metric(json.loads(field), value)
        return family


class EventHistogram:
    """A histogram of observations (seconds), summed over every process like the counters."""

    def __init__(
        self,
        name: str,
        documentation: str,
        labelnames: Sequence[str] = (),
        buckets: Sequence[float] = LATENCY_BUCKETS,
    ) -> None:
        self.name = name
        self.documentation = documentation
        self.labelnames = tuple(labelnames)
        self.buckets = tuple(sorted(buckets))
        self.key = _KEY.format(kind="h", name=name)  # per bucket: observations in it alone
        self.sum_key = _KEY.format(kind="hs", name=name)
        _EVENT_METRICS[name] = self

    def field(self, **labels: str) -> str:
        """One label set's field (for :meth:`observation`; the hot path caches it)."""
        if set(labels) != set(self.labelnames):
            raise ValueError(f"{self.name} takes labels {self.labelnames}, got {sorted(labels)}")
        return _field(tuple([str(labels[n]) for n in self.labelnames]))

    def observation(self, field: str, value: float) -> list[tuple[tuple[str, str], float]]:
        """The increments one observation makes: its bucket (``le`` is inclusive) and the sum."""
        index = bisect.bisect_left(self.buckets, value)
        return [((self.key, f"{field}|{index}"), 1), ((self.sum_key, field), value)]

    def observe_soon(self, value: float, **labels: str) -> None:
        _buffer.add(self.observation(self.field(**labels), value))

    def collect(self, counts: dict[str, float], sums: dict[str, float]) -> Metric:
        family = HistogramMetricFamily(self.name, self.documentation, labels=self.labelnames)
        per_labels: dict[str, list[float]] = defaultdict(lambda: [0.0] * (len(self.buckets) + 1))
        for field, n in counts.items():
            labels, _, index = field.rpartition("|")
            per_labels[labels][int(index)] += n
        for labels, in_bucket in sorted(per_labels.items()):
            cumulative, running = [], 0.0
            for bound, n in zip([*map(str, self.buckets), "+Inf"], in_bucket, strict=True):
                running += n
                cumulative.append((bound, running))
            family.add_metric(json.loads(labels), cumulative, sums.get(labels, 0.0))
        return family


# --- the registry the apps fill ---------------------------------------------------------------

# name → a function yielding prometheus-client metric families, read at every scrape.
COLLECTORS: dict[str, Callable[[], Iterable[Metric]]] = {}


def register_collector(name: str, collect: Callable[[], Iterable[Metric]]) -> None:
    COLLECTORS[name] = collect


class _Scrape(Collector):
    def collect(self) -> Iterator[Metric]:
        _buffer.flush()  # this process's hot-path counts, so a scrape includes its own request
        metrics = list(_EVENT_METRICS.values())
        keys: list[str] = []
        for metric in metrics:
            keys += (
                [metric.key] if isinstance(metric, EventCounter) else [metric.key, metric.sum_key]
            )
        stored = iter(_read(keys))
        for metric in metrics:
            if isinstance(metric, EventCounter):
                yield metric.collect(next(stored))
            else:
                counts = next(stored)
                yield metric.collect(counts, next(stored))
        for collect in COLLECTORS.values():
            yield from collect()


def render() -> bytes:
    """The text exposition of everything registered."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Scrape())
    return generate_latest(registry)


def gauge(
    name: str, documentation: str, samples: Iterable[tuple[dict[str, str], float]]
) -> GaugeMetricFamily:
    """A gauge family from ``({label: value}, number)`` pairs (labels: the first pair's)."""
    rows = list(samples)
    labelnames = sorted(rows[0][0]) if rows else []
    family = GaugeMetricFamily(name, documentation, labels=labelnames)
    for labels, value in rows:
        family.add_metric([labels[n] for n in labelnames], value)
    return family


def timestamp_gauge(name: str, documentation: str, at: Any) -> GaugeMetricFamily:
    """Unix time of ``at`` (a datetime); no sample at all while ``at`` is None (never)."""
    return gauge(name, documentation, [({}, at.timestamp())] if at is not None else [])


# --- core's own gauges: the broker's queues -------------------------------------------------


def _queue_depths() -> Iterator[Metric]:
    queues = list(getattr(settings, "METRICS_CELERY_QUEUES", ()) or ())
    broker = str(getattr(settings, "CELERY_BROKER_URL", "") or "")
    known = broker.startswith(("redis://", "rediss://", "unix://"))
    yield gauge(
        "pcp_celery_queue_depth_known",
        "1 when the broker's queue lengths can be read (Redis), 0 when not (the embedded "
        "filesystem broker): pcp_celery_queue_depth is then absent.",
        [({}, 1 if known else 0)],
    )
    depths: list[tuple[dict[str, str], float]] = []
    if known and queues:
        try:
            client = _broker_client(broker)
            pipe = client.pipeline(transaction=False)
            for queue in queues:
                pipe.llen(queue)
            depths = [({"queue": q}, n) for q, n in zip(queues, pipe.execute(), strict=True)]
        except Exception as exc:  # the broker down: no sample rather than a wrong zero
            logger.warning("queue depth unavailable: %s", exc.__class__.__name__)
    yield gauge(
        "pcp_celery_queue_depth", "Tasks waiting in each Celery queue on the broker.", depths
    )


_broker_clients: dict[str, Any] = {}


def _broker_client(url: str) -> Any:
    import redis

    if url not in _broker_clients:
        _broker_clients[url] = redis.Redis.from_url(url, socket_timeout=2)
    return _broker_clients[url]


register_collector("core.queues", _queue_depths)
