"""Generations of the index: one file each, and the live link that names one.

``EMBEDDED_SEARCH_PATH`` is a symbolic link to the live generation's file,
``<live>.<generation>`` beside it. Publishing a generation points the link at
its file in one atomic rename and deletes the older files. Each file keeps its
WAL beside it under its own name (SQLite follows the link), so the WAL of one
generation can never be applied to another, as it could if files were renamed
over one another. Readers with a file open keep it until their next request.

A file written by an earlier release lies at the live path itself; the first
write moves it behind the link.
"""

import contextlib
import fcntl
import os
import re
from pathlib import Path

from catalogue.search import SearchError, SearchUnavailable
from catalogue.search.embedded.layout import NOT_BUILT

# A generation names a file beside the live one: no separators, no "..".
GENERATION_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")
# The generation of a live file made by a write before any full load.
INITIAL_GENERATION = "initial"
# Files SQLite keeps beside a database file.
SIDECARS = ("-wal", "-shm", "-journal")


class IndexFiles:
    """The live link of an index, and the generation files beside it."""

    def __init__(self, path):
        self.path = Path(path)

    def generation_path(self, generation):
        """Return the file of ``generation``; refuse names that are not plain."""
        if not GENERATION_NAME.fullmatch(generation) or ".." in generation:
            raise ValueError(f"invalid generation name {generation!r}")
        return self.path.with_name(f"{self.path.name}.{generation}")

    def live_file(self):
        """Return the file the live link names; SearchUnavailable before any load."""
        if not self.path.is_symlink():
            if self.path.exists():
                return self.path
            raise SearchUnavailable(NOT_BUILT)
        target = self.path.with_name(os.readlink(self.path))
        if not target.exists():
            raise SearchUnavailable(NOT_BUILT)
        return target

    def identity(self, path):
        """Return what tells one file from its successor at the same name."""
        try:
            stat = os.stat(path)
        except FileNotFoundError:
            raise SearchUnavailable(NOT_BUILT) from None
        return stat.st_dev, stat.st_ino

    def writable(self, generation):
        """Return the file a write to ``generation`` (None: the live one) goes to.

        Before any load, a write to the live index makes an initial generation
        live; a file of an earlier release at the live path is moved behind the
        link first.
        """
        if generation is not None:
            return self.generation_path(generation)
        with self._exclusive():
            if self.path.is_symlink():
                return self.live_file()
            if self.path.exists():
                return self._adopt()
            initial = self.generation_path(INITIAL_GENERATION)
            self._link(initial)
            return initial

    def publish(self, generation):
        """Point the live link at ``generation``'s file; delete every other file."""
        path = self.generation_path(generation)
        if not path.exists():
            raise SearchError(f"generation {generation!r} was never prepared")
        with self._exclusive():
            self._link(path)
            kept = {path.name + suffix for suffix in ("", *SIDECARS)}
            for leftover in self._generation_files():
                if leftover.name not in kept:
                    leftover.unlink(missing_ok=True)

    def discard(self, generation):
        """Delete the files of ``generation``."""
        path = self.generation_path(generation)
        for suffix in ("", *SIDECARS):
            path.with_name(path.name + suffix).unlink(missing_ok=True)

    def _link(self, target):
        """Make the live link name ``target``, in one atomic rename."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        staging = self.path.with_name(f".{self.path.name}.{os.getpid()}.link")
        staging.unlink(missing_ok=True)
        os.symlink(target.name, staging)
        os.replace(staging, self.path)

    def _adopt(self):
        """Move a file at the live path (an earlier release's) behind the link."""
        moved = self.generation_path(INITIAL_GENERATION)
        for suffix in SIDECARS:
            side = self.path.with_name(self.path.name + suffix)
            if side.exists():
                os.replace(side, moved.with_name(moved.name + suffix))
        os.replace(self.path, moved)
        self._link(moved)
        return moved

    def _generation_files(self):
        prefix = self.path.name + "."
        return [p for p in self.path.parent.iterdir() if p.name.startswith(prefix)]

    @contextlib.contextmanager
    def _exclusive(self):
        """Hold a lock beside the index while the link changes."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        lock = self.path.with_name(f".{self.path.name}.lock")
        with lock.open("w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
