"""Self-play: the per-episode assignment, the pool growing on wins, win-rate evaluation."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from types import SimpleNamespace

from marl_ray.cli import main
from marl_ray.evaluate import evaluate_checkpoint
from marl_ray.rllib.self_play import MAIN, WIN_RATE, LogMainWins, PoolMapping, pool_of

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "tune_configs" / "grid_world_selfplay.yaml"


def test_one_episode_maps_main_to_one_side_and_one_snapshot_to_the_others():
    mapping = PoolMapping(("agent_0", "agent_1", "agent_2"), ("main_v0", "main_v1", "main_v2"))
    sides, opponents = set(), set()
    for k in range(200):
        episode = SimpleNamespace(id_=f"episode-{k}")
        assigned = [mapping(a, episode) for a in ("agent_0", "agent_1", "agent_2")]
        assert assigned == [mapping(a, episode) for a in ("agent_0", "agent_1", "agent_2")]
        assert assigned.count(MAIN) == 1
        others = {m for m in assigned if m != MAIN}
        assert len(others) == 1
        sides.add(assigned.index(MAIN))
        opponents |= others
    assert sides == {0, 1, 2} and opponents == {"main_v0", "main_v1", "main_v2"}


class _Logger:
    def __init__(self):
        self.logged = []

    def log_value(self, key, value, reduce):
        self.logged.append((key, value))


def test_main_scores_half_a_draw_on_either_side():
    """A simultaneous arrival is a draw for main on side 0 as on side 1, never a win."""
    agents = ("agent_0", "agent_1")
    draw = {a: {"win_share": 0.5, "winner": -1, "draw": True} for a in agents}
    loss = {"agent_0": {"win_share": 0.0, "winner": 1}, "agent_1": {"win_share": 1.0}}
    for main_side in (0, 1):
        for infos, score in ((draw, 0.5), (loss, float(main_side == 1))):
            episode = SimpleNamespace(
                module_for=lambda a, s=main_side: MAIN if agents.index(a) == s else "main_v0",
                get_infos=lambda t, i=infos: i,
            )
            logger = _Logger()
            LogMainWins(agents)(episode=episode, metrics_logger=logger)
            assert logger.logged[0] == (WIN_RATE, score)


def test_pool_ids_in_age_order():
    assert pool_of(["main", "main_v10", "main_v2", "main_v0"]) == ["main_v0", "main_v2", "main_v10"]


def test_pool_grows_when_main_wins_and_evaluation_reports_win_rates(ray_session, tmp_path, capsys):
    sets = [
        "stop.training_iteration=3",
        "stop.timesteps_total=null",
        "training.train_batch_size=400",
        "training.minibatch_size=200",
        "training.num_epochs=1",
        "multi_agent.self_play.win_rate_threshold=0.01",  # every iteration adds a snapshot
        "multi_agent.self_play.min_episodes=1",
        "resources.num_env_runners=0",
        f"storage_path={tmp_path}",
    ]
    argv = ["train", str(CONFIG), *[a for s in sets for a in ("--set", s)], "--json"]
    assert main(argv) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    progress = Path(summary["checkpoint"]).parent / "progress.csv"
    rows = list(csv.DictReader(progress.open()))
    assert [int(float(r["self_play_pool_size"])) for r in rows] == [2, 3, 4]
    assert all(0 <= float(r["env_runners/self_play_win_rate"]) <= 1 for r in rows)
    assert main(["evaluate", summary["checkpoint"], "--episodes", "20", "--json"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    rates = result["self_play"]
    assert list(rates["win_rates"]) == ["main_v0", "main_v1", "main_v2", "main_v3"]
    assert 0 <= rates["win_rate_vs_first"] <= 1 and 0 <= rates["win_rate_vs_pool"] <= 1
    scripted = evaluate_checkpoint(summary["checkpoint"], 20, scripted_opponent="shortest_path")
    assert 0 <= scripted.self_play["win_rate_vs_scripted"] <= 1
