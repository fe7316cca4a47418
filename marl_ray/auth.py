"""Finds the Ray authentication token the way Ray's own clients do, for HTTP (headers) and
for joining a cluster (token mode switched on when a token exists).

Ray 2.60 clusters start with token authentication on: every dashboard HTTP request needs
`Authorization: Bearer <token>`. The token comes from, in order: `RAY_AUTH_TOKEN`, the file
named by `RAY_AUTH_TOKEN_PATH`, then `~/.ray/auth_token`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from envs.schema import ConfigError

AUTH_MODE_ENV = "RAY_AUTH_MODE"
TOKEN_ENV = "RAY_AUTH_TOKEN"
TOKEN_PATH_ENV = "RAY_AUTH_TOKEN_PATH"
DEFAULT_TOKEN_PATH = Path("~/.ray/auth_token")

HOW_TO_GET_A_TOKEN = (
    "The cluster uses Ray token authentication. Copy its token from the head node "
    "(`ray get-auth-token` there, or its ~/.ray/auth_token) and either set RAY_AUTH_TOKEN=<token>, "
    "set RAY_AUTH_TOKEN_PATH=<file holding it>, or save it as ~/.ray/auth_token on this machine. "
    "On KubeRay the token is in the cluster's auth Secret."
)


@dataclass(frozen=True)
class Token:
    value: str
    source: str  # where it was found, for messages (never the token itself)


def find_token() -> Token | None:
    """The first token found, or None when none is configured anywhere."""
    value = os.environ.get(TOKEN_ENV, "").strip()
    if value:
        return Token(value, f"${TOKEN_ENV}")
    named = os.environ.get(TOKEN_PATH_ENV, "").strip()
    if named:
        path = Path(named).expanduser()
        if not path.is_file():
            raise ConfigError(f"{TOKEN_PATH_ENV}={named} names no file. {HOW_TO_GET_A_TOKEN}")
        return _read(path, f"${TOKEN_PATH_ENV} ({path})")
    path = DEFAULT_TOKEN_PATH.expanduser()
    return _read(path, str(path)) if path.is_file() else None


def auth_headers(token: Token | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token.value}"} if token else {}


def _read(path: Path, source: str) -> Token:
    value = path.read_text().strip()
    if not value:
        raise ConfigError(f"the token file {path} is empty. {HOW_TO_GET_A_TOKEN}")
    return Token(value, source)


def enable_token_auth_if_found() -> Token | None:
    """Before joining a cluster: switches this process to token mode when a token exists and
    `RAY_AUTH_MODE` is unset (Ray reads the token from the same places `find_token` does)."""
    token = find_token()
    if token is None or os.environ.get(AUTH_MODE_ENV):
        return token
    from ray._private.authentication.authentication_token_setup import (
        maybe_enable_token_auth_if_token_available,
    )

    maybe_enable_token_auth_if_token_available(warn_if_disabled=False)
    return token


def is_auth_failure(exc: BaseException) -> bool:
    """True when `exc`, or an exception it was raised from, is Ray refusing our token."""
    from ray.exceptions import AuthenticationError

    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, AuthenticationError) or "InvalidAuthToken" in str(seen):
            return True
        seen = seen.__cause__ or seen.__context__
    return False
