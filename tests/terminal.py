"""A command run with its stderr on a pseudo-terminal (24 rows, 100 columns): what it showed there."""

import fcntl
import os
import pty
import struct
import subprocess
import termios


def on_a_terminal(command: list[str], stdout=None, timeout: float = 120) -> tuple[int, str]:
    """Run `command` with stderr on a terminal; its exit status and everything it wrote there."""
    main, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))  # 24 rows, 100 columns
    proc = subprocess.Popen(command, stdout=stdout, stderr=follower)
    os.close(follower)
    shown = b""
    while True:
        try:
            chunk = os.read(main, 4096)
        except OSError:  # the terminal closed with the process
            break
        if not chunk:
            break
        shown += chunk
    os.close(main)
    return proc.wait(timeout=timeout), shown.decode("utf-8", "replace")
