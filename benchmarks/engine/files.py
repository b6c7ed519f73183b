"""What a path the command reads or writes must be: one check, run before anything starts.

A records file, a report or a tuned-configurations file is opened by name. If that name is a
folder, a device, a named pipe or a socket (or a symbolic link to one), opening it fails late
with a traceback, writes into the device, or blocks forever (a named pipe with no reader or no
writer). :func:`check_file_target` refuses such a path up front with one line that names it and
says what it is; :func:`file_kind` names a file's type for that message and for the records
writer, which checks the file it actually opened (a path can change after the check).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from tasks.errors import InvalidParameterError

_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a named pipe"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def file_kind(mode: int) -> str:
    """``st_mode`` in words: ``a regular file``, ``a named pipe``, ``a directory`` ..."""
    if stat.S_ISREG(mode):
        return "a regular file"
    for test, name in _KINDS:
        if test(mode):
            return name
    return "not a regular file"


def file_problem(path: Path, *, write: bool) -> str | None:
    """Why ``path`` cannot be used as a regular file to read (or write), or ``None``.

    A missing path is fine for writing (the caller created its folder, or checked that it can);
    for reading, the caller decides what a missing file means. Nothing is opened: a named pipe
    is recognised by its type, never by trying it.
    """
    path = Path(path)
    link = path.is_symlink()
    try:
        info = path.stat()
    except FileNotFoundError:
        if link:
            return f"It is a symbolic link to {str(os.readlink(path))!r}, which does not exist."
        return None
    except OSError as exc:
        return f"It cannot be inspected: {exc.strerror or exc}."
    kind = file_kind(info.st_mode)
    if link:
        kind = f"a symbolic link to {str(path.resolve())!r}, {kind}"
    if not stat.S_ISREG(info.st_mode):
        return f"It is {kind}."
    mode, verb = (os.W_OK, "write") if write else (os.R_OK, "read")
    if not os.access(path, mode):
        return f"It is {kind} this command may not {verb} (permission denied)."
    return None


def check_file_target(path: Path, what: str, *, source: str = "", write: bool = True) -> None:
    """Raise unless ``path`` is a regular file this command can write (or read), or can create.

    Args:
        path: the file.
        what: what the file is, for the message (``"records file"``, ``"report"``).
        source: the option(s) the path comes from (``"--out and --suite"``), if any.
        write: whether the command writes the file (otherwise it only reads it).

    Raises:
        InvalidParameterError: one line naming the path and what it is instead.
    """
    problem = file_problem(path, write=write)
    if problem is None:
        return
    need = (
        "a regular file this command can write, or a path where it can create one"
        if write
        else "a regular file this command can read"
    )
    origin = f" (from {source})" if source else ""
    raise InvalidParameterError(f"The {what} {str(path)!r}{origin} must be {need}. {problem}")
