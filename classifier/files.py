"""Finished files: written whole or not at all, into what their name really is.

A file is written beside its destination and renamed over it when complete, so that
an interrupted run leaves the old file or none, never half of one. A name that is a
symbolic link is written at the link's target (renaming over the link would replace
the link); a name that is a device or a pipe (``/dev/null``, a FIFO a reader waits
on) is written straight into, since it cannot be replaced by a file.
"""

from __future__ import annotations

import errno
import os
import shutil
import stat
import tempfile
from pathlib import Path

from classifier.errors import InputError


def target_of(destination: Path) -> Path:
    """Where writing ``destination`` lands: the file a symbolic link names, else itself."""
    return Path(os.path.realpath(destination)) if destination.is_symlink() else destination


def is_stream(path: Path) -> bool:
    """An existing name that is neither a regular file nor a folder: a device, a pipe."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    return not stat.S_ISREG(mode) and not stat.S_ISDIR(mode)


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
    if is_stream(target):
        if not os.access(target, os.W_OK):
            raise InputError(f"cannot write {destination}: no permission")
        return
    check_folder_takes_files(destination, target.parent)


def check_folder_takes_files(destination: Path, folder: Path) -> None:
    """Refuse ``destination`` when ``folder`` (or, where it is still to be made, the
    nearest folder above it that exists) may not take new files."""
    folder = folder.resolve()
    while not folder.exists():
        folder = folder.parent
    if not os.access(folder, os.W_OK | os.X_OK):
        raise InputError(f"cannot write {destination}: no permission to write in {folder}")


def write_file(data: str | bytes, destination: Path) -> None:
    """Write ``data`` (text as UTF-8, line ends as given) to ``destination``, whole."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    target = target_of(destination)
    if is_stream(target):
        try:
            with open(target, "wb") as stream:
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
        # mkstemp makes the file private (0600); give it the mode a plain open would.
        os.chmod(temporary, 0o666 & ~umask())
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
        with open(finished, "rb") as source, open(target, "wb") as sink:
            shutil.copyfileobj(source, sink, 1 << 20)
        finished.unlink()
        return
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
            os.chmod(temporary, 0o666 & ~umask())
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        finished.unlink()
