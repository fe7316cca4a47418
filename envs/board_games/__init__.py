"""Turn-based two-player board games (tic-tac-toe, Connect Four) for AlphaZero.

`make_game(name, config)` builds one; `names()` lists them. Each game is one fast rules
object over immutable bitboard `State`s (`envs.board_games.game`); `make_aec` wraps it as a
PettingZoo AEC env with action masks.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from envs.board_games.connect_four import ConnectFour, ConnectFourConfig
from envs.board_games.game import NUM_PLANES, Game, IllegalMoveError, State
from envs.board_games.tictactoe import TicTacToe, TicTacToeConfig
from envs.schema import ConfigError, from_mapping

GAMES: dict[str, type[Game]] = {cls.name: cls for cls in (TicTacToe, ConnectFour)}


def names() -> list[str]:
    return sorted(GAMES)


def make_game_config(name: str, config: Mapping[str, Any] | None = None) -> Any:
    if name not in GAMES:
        raise ConfigError(f"unknown board game {name!r}; board games: {', '.join(names())}")
    try:
        return from_mapping(GAMES[name].config_class, dict(config or {}), where="env.config")
    except ConfigError as exc:
        raise ConfigError(f"{name}: {exc}") from None


def make_game(name: str, config: Mapping[str, Any] | None = None) -> Game:
    return GAMES[name](make_game_config(name, config))


def make_aec(name: str, config: Mapping[str, Any] | None = None, render_mode: str | None = None):
    from envs.board_games.aec import BoardGameAEC

    return BoardGameAEC(make_game(name, config), render_mode)


__all__ = [
    "GAMES",
    "NUM_PLANES",
    "ConnectFour",
    "ConnectFourConfig",
    "Game",
    "IllegalMoveError",
    "State",
    "TicTacToe",
    "TicTacToeConfig",
    "make_aec",
    "make_game",
    "make_game_config",
    "names",
]
