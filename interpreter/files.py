"""Reading a named file: only a regular file, never a FIFO or a device (which would block or
never end), and text only as UTF-8 with the bad byte's position. One place for every command
and for the library, so they all refuse the same files with the same words.
Which kind of claims file a name says is here too."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from .ast import Span
from .errors import Diagnostic, MedLoadError

# Opening a FIFO for reading waits for a writer; O_NONBLOCK returns at once (it changes
# nothing for a regular file), so the file can be looked at before anything is read.
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)


# Claims files by name: Parquet and Arrow IPC (Feather v2 is the IPC file format) are the
# columnar engine's; asking needs no pyarrow.
ARROW_SUFFIXES = (".arrow", ".feather")
COLUMNAR_SUFFIXES = (".parquet", *ARROW_SUFFIXES)


class ClaimsUnreadable(Exception):
    """A Parquet or Arrow claims file's content could not be read (a corrupt page, a truncated
    file): the message names the row group (or record batch) and the reader's reason. (Here,
    not beside the reader, so a command can catch it without loading pyarrow.)"""


def is_arrow(path: str) -> bool:
    """Whether a file's name says Arrow IPC (`.arrow`, `.feather`)."""
    return path.lower().endswith(ARROW_SUFFIXES)


def is_columnar(path: str) -> bool:
    """Whether a file's name says Parquet or Arrow IPC."""
    return path.lower().endswith(COLUMNAR_SUFFIXES)


def cache_root() -> "str | None":
    """Where built parsers and compiled policies are kept: `$MEDPOLICY_CACHE` (empty turns the
    cache off), else `$XDG_CACHE_HOME/medpolicy` or `~/.cache/medpolicy`. The package
    directory is never written to."""
    root = os.environ.get("MEDPOLICY_CACHE")
    if root is None:
        base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        root = os.path.join(base, "medpolicy")
    return root or None


class UnreadableFile(Exception):
    """A named file that cannot be read at all: missing, a folder, a FIFO or device, no
    permission. Its text is `cannot read PATH: reason`; the command line exits 2 on it."""

    def __init__(self, path: str | os.PathLike, reason: str):
        self.path, self.reason = str(path), reason
        super().__init__(f"cannot read {self.path}: {reason}")


def read_bytes(path: str | os.PathLike) -> bytes:
    """The bytes of a regular file, or UnreadableFile."""
    fd = _open_regular(path)
    try:
        with os.fdopen(fd, "rb") as f:
            return f.read()
    except OSError as e:
        raise UnreadableFile(path, e.strerror or str(e)) from None


def check_readable(path: str | os.PathLike) -> None:
    """Raise UnreadableFile unless `path` is a regular file this process may open."""
    os.close(_open_regular(path))


def _open_regular(path: str | os.PathLike) -> int:
    try:
        fd = os.open(path, _OPEN_FLAGS)
    except OSError as e:
        raise UnreadableFile(path, e.strerror or str(e)) from None
    try:
        mode = os.fstat(fd).st_mode
    except OSError as e:
        os.close(fd)
        raise UnreadableFile(path, e.strerror or str(e)) from None
    reason = "Is a directory" if stat.S_ISDIR(mode) else None if stat.S_ISREG(mode) else "not a regular file"
    if reason:
        os.close(fd)
        raise UnreadableFile(path, reason)
    return fd


def decode_utf8(raw: bytes, path: str | os.PathLike) -> str:
    """The text of a file's bytes; a byte that is not UTF-8 is a MedLoadError at its line and column."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw.count(b"\n", 0, e.start) + 1
        column = len(raw[raw.rfind(b"\n", 0, e.start) + 1:e.start].decode("utf-8", "replace")) + 1
        raise MedLoadError(Diagnostic(Span(str(path), line, column, line, column + 1),
                                      f"byte 0x{raw[e.start]:02x} is not UTF-8: save the file as UTF-8")) from None


def read_text(path: str | os.PathLike) -> str:
    """A regular file's UTF-8 text: UnreadableFile, or MedLoadError at a bad byte."""
    return decode_utf8(read_bytes(Path(path)), path)


def stdlib_text(name: str = "standard") -> "str | None":
    """The text of the standard library's module `name` (`stdlib/<name>.med`, shipped with the
    package), or None where there is no such module."""
    from importlib import resources

    try:
        f = resources.files("medpolicy.stdlib").joinpath(f"{name}.med")
        return f.read_text(encoding="utf-8") if f.is_file() else None
    except (FileNotFoundError, ModuleNotFoundError):
        return None
