"""Dashboard metrics: every algorithm's figures under the `marl_ray_` prefix, tagged with
algorithm, experiment and trial. Ray exports them on the metrics port (as `ray_marl_ray_...`)."""

from __future__ import annotations

from ray.util import metrics

PREFIX = "marl_ray_"
TAG_KEYS = ("algorithm", "experiment", "trial")


class AlgorithmMetrics:
    """Counters and gauges of one trial; `counter(name).inc(n)`, `gauge(name).set(v)`."""

    def __init__(self, algorithm: str, experiment: str, trial: str):
        self.tags = {"algorithm": algorithm, "experiment": experiment, "trial": trial}
        self._counters: dict[str, metrics.Counter] = {}
        self._gauges: dict[str, metrics.Gauge] = {}

    def counter(self, name: str, description: str = "") -> metrics.Counter:
        if name not in self._counters:
            c = metrics.Counter(PREFIX + name, description=description, tag_keys=TAG_KEYS)
            c.set_default_tags(self.tags)
            self._counters[name] = c
        return self._counters[name]

    def gauge(self, name: str, description: str = "") -> metrics.Gauge:
        if name not in self._gauges:
            g = metrics.Gauge(PREFIX + name, description=description, tag_keys=TAG_KEYS)
            g.set_default_tags(self.tags)
            self._gauges[name] = g
        return self._gauges[name]
