"""Checkpoint manifests: what a run wrote, so that only those exact files are unpickled.

RLlib checkpoints hold pickles, and unpickling runs code. When a trial saves a checkpoint it
writes `marl_ray_manifest.json` into it: the sha256 of every file, signed with an HMAC under
this user's key (`~/.marl_ray/manifest_key`, mode 0600, made on first use; the path can be
set with MARL_RAY_KEY_FILE). A checkpoint is trusted only if the signature holds under the
reader's key and every file matches: a file swapped or added after the run, or a manifest
rewritten without the key, is refused. Checkpoints written on another machine (a cluster
node with its own key) need `--trust` or the same key file.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import tempfile
from pathlib import Path

MANIFEST = "marl_ray_manifest.json"


def key_file() -> Path:
    return Path(os.environ.get("MARL_RAY_KEY_FILE", Path.home() / ".marl_ray" / "manifest_key"))


def user_key() -> bytes:
    """This user's signing key, created (atomically, mode 0600) when missing."""
    path = key_file()
    if not path.is_file():
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".key.")
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32))
        os.chmod(tmp, 0o600)
        try:
            os.link(tmp, path)  # fails if another process made it first: keep theirs
        except FileExistsError:
            pass
        finally:
            os.unlink(tmp)
    return path.read_text().strip().encode()


def file_digests(folder: Path) -> dict[str, str]:
    """sha256 of every file under `folder` (relative POSIX paths), the manifest excepted."""
    digests = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        rel = path.relative_to(folder).as_posix()
        if rel != MANIFEST:
            digests[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
    return digests


def _signature(digests: dict[str, str], key: bytes) -> str:
    payload = json.dumps(digests, sort_keys=True).encode()
    return hmac.new(key, payload, hashlib.sha256).hexdigest()


def write_manifest(folder: str | Path) -> Path:
    """Records and signs the files of `folder` (written through a rename: never half)."""
    folder = Path(folder)
    digests = file_digests(folder)
    body = {"files": digests, "hmac": _signature(digests, user_key())}
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{MANIFEST}.")
    with os.fdopen(fd, "w") as f:
        json.dump(body, f, indent=1)
    os.replace(tmp, folder / MANIFEST)
    return folder / MANIFEST


def manifest_problem(folder: str | Path) -> str | None:
    """None if `folder` is exactly what a run of this user wrote, else what is wrong."""
    folder = Path(folder)
    path = folder / MANIFEST
    if not path.is_file():
        return f"it has no {MANIFEST} (not written by a marl-ray run)"
    try:
        body = json.loads(path.read_text())
        recorded, signature = dict(body["files"]), str(body["hmac"])
    except (ValueError, KeyError, TypeError):
        return f"its {MANIFEST} is unreadable"
    if not hmac.compare_digest(signature, _signature(recorded, user_key())):
        return f"its {MANIFEST} is not signed with your key ({key_file()})"
    actual = file_digests(folder)
    changed = sorted(k for k in recorded.keys() | actual.keys() if recorded.get(k) != actual.get(k))
    if changed:
        return f"files differ from what the run wrote: {', '.join(changed[:5])}"
    return None
