"""Episode metrics reported by our envs' infos, logged as 100-episode means."""

from __future__ import annotations

from ray.rllib.callbacks.callbacks import RLlibCallback

SMOOTHING_WINDOW = 100
# Info keys that envs report per copy and that are worth a learning curve.
EPISODE_INFO_METRICS = {
    "success": "success_rate",
    # vehicles: the episode's running figures, final at its last step
    "collisions_per_100_vehicles": "collisions_per_100_vehicles",
    "throughput_per_min": "throughput_per_min",
    "mean_delay_s": "mean_delay_s",
}


class EpisodeInfoMetrics(RLlibCallback):
    """Logs `success_rate` (and other end-of-episode info metrics) under `env_runners/`."""

    def on_episode_end(self, *, episode, metrics_logger=None, **kwargs) -> None:
        if metrics_logger is None:
            return
        last_infos = episode.get_infos(-1)
        values = next((info for info in last_infos.values() if info), {})
        for info_key, metric in EPISODE_INFO_METRICS.items():
            if info_key in values:
                metrics_logger.log_value(
                    metric, float(values[info_key]), reduce="mean", window=SMOOTHING_WINDOW
                )
