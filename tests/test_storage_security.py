"""Checkpoint manifests and the private mirror of remote runs."""

from __future__ import annotations

import os
import stat

import pytest

from marl_ray import manifest
from marl_ray.storage import private_mirror_root


@pytest.fixture
def key(tmp_path, monkeypatch):
    monkeypatch.setenv("MARL_RAY_KEY_FILE", str(tmp_path / "keys" / "manifest_key"))
    return tmp_path / "keys" / "manifest_key"


def test_manifest_accepts_what_was_written_and_nothing_else(tmp_path, key):
    ckpt = tmp_path / "checkpoint_000001"
    (ckpt / "sub").mkdir(parents=True)
    (ckpt / "module.pkl").write_bytes(b"weights")
    (ckpt / "sub" / "state.pkl").write_bytes(b"state")
    assert "no marl_ray_manifest.json" in manifest.manifest_problem(ckpt)
    manifest.write_manifest(ckpt)
    assert manifest.manifest_problem(ckpt) is None
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    (ckpt / "sub" / "state.pkl").write_bytes(b"swapped")
    assert "sub/state.pkl" in manifest.manifest_problem(ckpt)
    (ckpt / "sub" / "state.pkl").write_bytes(b"state")
    (ckpt / "extra.pkl").write_bytes(b"planted")
    assert "extra.pkl" in manifest.manifest_problem(ckpt)
    (ckpt / "extra.pkl").unlink()
    # Rewriting the manifest without the key does not help.
    key.write_text("another user's key")
    assert "not signed with your key" in manifest.manifest_problem(ckpt)


def test_private_mirror_is_ours_and_closed():
    root = private_mirror_root()
    info = root.stat()
    assert info.st_uid == os.getuid() and stat.S_IMODE(info.st_mode) == 0o700
    assert str(os.getuid()) in root.name
