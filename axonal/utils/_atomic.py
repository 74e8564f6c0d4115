"""`atomic_write(path, write)`: replace a file so that no reader ever sees half of it.

Layer 5 (used by `axonal.save` for checkpoints). A crash or a kill mid-write may leave a temp file
beside the target, never a half-written target.
"""
import contextlib
import os


def atomic_write(path, write):
    """The bytes go to `.NAME.<hex>.tmp` beside the target, are flushed and fsynced, `os.replace`d
    onto it, and the directory is fsynced; on an exception the temp file is removed."""
    path = os.fsdecode(path)
    path = os.path.realpath(path) if os.path.islink(path) else path  # write through a symlink
    directory, base = os.path.split(os.path.abspath(path))
    mode = os.stat(path).st_mode & 0o7777 if os.path.exists(path) else None  # kept on overwrite
    # a fresh random name opened with O_EXCL; 0o666 lets the umask decide, as a plain open() does
    tmp = os.path.join(directory, f".{base[:100]}.{os.urandom(8).hex()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        with os.fdopen(fd, "wb") as fh:
            if mode is not None and hasattr(os, "fchmod"):
                os.fchmod(fh.fileno(), mode)
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())  # the data is on disk before the new name can point at it
        os.replace(tmp, path)
    except BaseException:  # KeyboardInterrupt too: never leave the temp file behind
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    with contextlib.suppress(OSError):  # make the rename durable; some systems cannot open a dir
        dfd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
