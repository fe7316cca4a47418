"""Where a run lives: a local folder, or a cloud URI (s3://, gs://, abfs://, hdfs://, file://).

Tune writes trials and checkpoints straight to the storage path, so every node of a cluster
reaches them. marl_ray's own files (experiment.yaml, summary.json, plots, report) are made in
a local mirror of the run folder and copied up; for local storage the mirror is the folder.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

URI_SCHEMES = ("s3", "gs", "gcs", "abfs", "az", "hdfs", "file")


def is_uri(path: str) -> bool:
    return "://" in path


def uri_scheme(path: str) -> str:
    return path.split("://", 1)[0].lower()


@dataclass(frozen=True)
class RunStorage:
    """One run folder: `location` is what users see (a path or URI), `local` the mirror."""

    location: str
    local: Path

    @classmethod
    def at(cls, storage_path: str, run_name: str) -> RunStorage:
        if is_uri(storage_path):
            return cls.of(f"{storage_path.rstrip('/')}/{run_name}")
        return cls.of(str(Path(storage_path).expanduser().resolve() / run_name))

    @classmethod
    def of(cls, location: str) -> RunStorage:
        """The storage of an existing run folder given by path or URI."""
        if not is_uri(location):
            path = Path(location).expanduser().resolve()
            return cls(str(path), path)
        name = location.rstrip("/").rsplit("/", 1)[-1]
        mirror = private_mirror_root() / uri_scheme(location) / name
        return cls(location.rstrip("/"), mirror)

    @property
    def name(self) -> str:
        return self.location.rstrip("/").rsplit("/", 1)[-1]

    @property
    def remote(self) -> bool:
        return is_uri(self.location)

    @property
    def parent(self) -> str:
        """The storage path Tune writes under (its `RunConfig.storage_path`)."""
        return self.location.rsplit("/", 1)[0]

    def display(self, local_path: Path | str | None) -> str | None:
        """Where a file of the local mirror lives in the run folder (its URI when remote)."""
        if local_path is None:
            return None
        relative = Path(local_path).relative_to(self.local).as_posix()
        return f"{self.location}/{relative}" if self.remote else str(local_path)

    def uri_of(self, fs_path: str) -> str:
        """A path on the run's filesystem (as Tune reports checkpoints) as a location."""
        if not self.remote or is_uri(fs_path):
            return fs_path
        scheme = uri_scheme(self.location)
        return f"file://{fs_path}" if scheme == "file" else f"{scheme}://{fs_path.lstrip('/')}"

    def push(self, *relative: str) -> None:
        """Copies files of the local mirror up to the run folder (no-op for local storage)."""
        if not self.remote:
            return
        fs, base = _filesystem(self.location)
        for rel in relative:
            fs.create_dir(_join(base, rel).rsplit("/", 1)[0], recursive=True)
            with fs.open_output_stream(_join(base, rel)) as out:
                out.write((self.local / rel).read_bytes())

    def child(self, name: str) -> RunStorage:
        """A folder inside this one (a compare folder's variant runs)."""
        return RunStorage(f"{self.location}/{name}", self.local / name)

    def pull(self, skip_prefix: str | None = "checkpoint_") -> None:
        """Copies the run folder's files down to the mirror, without checkpoint folders
        (with them when `skip_prefix` is None)."""
        if not self.remote:
            return
        import pyarrow.fs as pafs

        fs, base = _filesystem(self.location)
        selector = pafs.FileSelector(base, recursive=True, allow_not_found=True)
        for info in fs.get_file_info(selector):
            if info.type != pafs.FileType.File:
                continue
            rel = info.path[len(base.rstrip("/")) + 1 :]
            if skip_prefix and any(part.startswith(skip_prefix) for part in rel.split("/")):
                continue
            target = self.local / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            with fs.open_input_stream(info.path) as src:
                target.write_bytes(src.read())

    def read_text(self, relative: str) -> str | None:
        """A small file of the run folder, or None when it does not exist."""
        if not self.remote:
            path = self.local / relative
            return path.read_text() if path.is_file() else None
        import pyarrow.fs as pafs

        fs, base = _filesystem(self.location)
        path = _join(base, relative)
        if fs.get_file_info(path).type != pafs.FileType.File:
            return None
        with fs.open_input_stream(path) as src:
            return src.read().decode()


def private_mirror_root() -> Path:
    """This user's folder for local copies of remote runs: mode 0700 and owned by us, so no
    other user can plant or swap files that would be loaded from it."""
    root = Path(tempfile.gettempdir()) / f"marl_ray_runs-{os.getuid()}"
    root.mkdir(mode=0o700, exist_ok=True)
    info = root.lstat()
    if root.is_symlink() or info.st_uid != os.getuid() or info.st_mode & 0o077:
        raise PermissionError(
            f"{root} must be a folder owned by you with mode 0700 (it holds copies of remote "
            "checkpoints); remove it and run again"
        )
    return root


def fetch_checkpoint(location: str) -> Path:
    """A local copy of a checkpoint folder given by URI (with its trial's params.json and the
    run's experiment.yaml, in the run folder's layout); local paths are returned as they are."""
    if not is_uri(location):
        return Path(location).expanduser().resolve()
    import pyarrow.fs as pafs

    location = location.rstrip("/")
    run_location, trial, checkpoint = location.rsplit("/", 2)
    storage = RunStorage.of(run_location)
    fs, base = _filesystem(location)
    target = storage.local / trial / checkpoint
    if target.exists():  # a fresh copy: nothing left over from an earlier fetch
        shutil.rmtree(target)
    target.mkdir(parents=True)
    pafs.copy_files(base, str(target), source_filesystem=fs)
    for rel in (f"{trial}/params.json", "experiment.yaml"):
        text = storage.read_text(rel)
        if text is not None:
            (storage.local / rel).write_text(text)
    return target


def check_storage_path(path: str) -> str | None:
    """An error message for a storage path pyarrow cannot open, else None."""
    if not is_uri(path):
        return None
    scheme = uri_scheme(path)
    if scheme not in URI_SCHEMES:
        return (
            f"storage_path={path!r}: unknown URI scheme {scheme!r}; use a local folder or a "
            f"URI with one of {', '.join(URI_SCHEMES)}"
        )
    return None


def _filesystem(uri: str):
    import pyarrow.fs as pafs

    return pafs.FileSystem.from_uri(uri)


def _join(base: str, rel: str) -> str:
    return f"{base.rstrip('/')}/{rel}"
