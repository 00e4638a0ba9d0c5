"""Finished files: written whole or not at all, into what their name really is.

A file is written beside its destination and renamed over it when complete, so that
an interrupted run leaves the old file or none, never half of one; a file replaced
keeps its permissions (and, for root, its owner); a file this user may not write is
refused, as the shell's ``>`` would. A name that is a symbolic link is written at the
link's target (renaming over the link would replace the link). A device or a pipe
(``/dev/null``, a FIFO a reader waits on) and the names of the process's own streams
(``/dev/stdout``, ``/dev/fd/N``, ``/proc/self/fd/N``: whatever the shell gave it, a
pipe or a log opened for appending) are written straight into, appending: they
cannot be replaced by a file. Hard links are not followed: the other names of a
replaced file keep the old content.
"""

from __future__ import annotations

import errno
import os
import re
import shutil
import stat
import tempfile
from pathlib import Path

from classifier.errors import InputError

_OWN_STREAMS = re.compile(r"^/dev/(stdout|stderr|fd/\d+)$|^/proc/(self|thread-self|\d+)/fd/\d+$")


def target_of(destination: Path) -> Path:
    """Where writing ``destination`` lands: the file a symbolic link names (or the
    stream it names, followed link by link), else itself."""
    current = destination
    for _ in range(40):
        if is_stream(current) or not current.is_symlink():
            return current
        current = Path(os.path.join(os.path.dirname(current), os.readlink(current)))
    raise InputError(f"{destination} is a loop of symbolic links: give a real file")


def is_stream(path: Path) -> bool:
    """A name written straight into: a device, a pipe, or one of the process's own
    streams (``/dev/stdout``), whatever it leads to."""
    if _OWN_STREAMS.match(os.path.normpath(os.path.abspath(path))):
        return True
    try:
        mode = os.stat(path).st_mode
    except (OSError, RuntimeError):
        return False
    return not stat.S_ISREG(mode) and not stat.S_ISDIR(mode)


def same_file(first: str | os.PathLike[str], second: str | os.PathLike[str]) -> bool:
    """Whether two names lead to the same place (links followed; never raises)."""
    return os.path.realpath(first) == os.path.realpath(second)


def _keep_mode(temporary: str | Path, target: Path) -> None:
    """The mode ``target`` has, or where it is new the mode a plain open would give
    (mkstemp makes a file private)."""
    try:
        status = os.stat(target)
    except OSError:
        os.chmod(temporary, 0o666 & ~umask())
        return
    os.chmod(temporary, stat.S_IMODE(status.st_mode))
    if hasattr(os, "geteuid") and os.geteuid() == 0 and (status.st_uid, status.st_gid) != (0, 0):
        # Root replacing a user's file: the user keeps it.
        os.chown(temporary, status.st_uid, status.st_gid)


def umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def check_writable(destination: Path) -> None:
    """Refuse, before any work, a file that could not be written: a folder's name, or
    a place this user may not write in."""
    target = target_of(destination)
    if target.is_dir():
        raise InputError(f"{destination} is a folder: give a file name")
    if os.path.exists(target) and not os.access(target, os.W_OK):
        raise InputError(f"cannot write {destination}: it is read-only for this user")
    if is_stream(target):
        return
    check_folder_takes_files(destination, target.parent)


def check_folder_takes_files(destination: Path, folder: Path) -> None:
    """Refuse ``destination`` when ``folder`` (or, where it is still to be made, the
    nearest folder above it that exists) may not take new files."""
    folder = folder.resolve()
    while not folder.exists():
        folder = folder.parent
    if not folder.is_dir():
        raise InputError(f"cannot write {destination}: {folder} is a file, not a folder")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise InputError(f"cannot write {destination}: no permission to write in {folder}")


def write_file(data: str | bytes, destination: Path) -> None:
    """Write ``data`` (text as UTF-8, line ends as given) to ``destination``, whole."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    target = target_of(destination)
    if is_stream(target):
        try:
            with open(target, "ab") as stream:
                stream.write(raw)
        except OSError as error:
            raise InputError(f"cannot write {destination}: {error.strerror or error}") from None
        return
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    except OSError as error:
        raise InputError(f"cannot write {destination}: {error.strerror or error}") from None
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(raw)
        _keep_mode(temporary, target)
        os.replace(temporary, target)
    except OSError as error:
        Path(temporary).unlink(missing_ok=True)
        raise InputError(f"cannot write {destination}: {error.strerror or error}") from None
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def move_into_place(finished: Path, destination: Path) -> None:
    """Put the finished file ``finished`` (written beside ``destination``) in place."""
    target = target_of(destination)
    if is_stream(target):
        with open(finished, "rb") as source, open(target, "ab") as sink:
            shutil.copyfileobj(source, sink, 1 << 20)
        finished.unlink()
        return
    _keep_mode(finished, target)
    try:
        os.replace(finished, target)
    except OSError as error:
        if error.errno != errno.EXDEV:
            raise
        # A link to another file system: copy beside the target, then rename there.
        handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
        os.close(handle)
        try:
            shutil.copyfile(finished, temporary)
            _keep_mode(temporary, target)
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        finished.unlink()
