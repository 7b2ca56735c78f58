"""Running commands, progress messages and bounded waiting."""
import subprocess
import sys
import time
from typing import Callable, Sequence


class SandboxError(RuntimeError):
    """A sandbox operation failed; the message is meant for the user."""


def log(message: str) -> None:
    """Print one progress line on stderr."""
    print(f"[sandbox] {message}", file=sys.stderr, flush=True)


def run(cmd: Sequence[str], check: bool = True, timeout: float = 600, cwd: str | None = None) -> subprocess.CompletedProcess:
    """Run a command, capture its output, raise SandboxError when it fails and ``check`` is set."""
    try:
        result = subprocess.run(list(cmd), capture_output=True, text=True, timeout=timeout, check=False, cwd=cwd)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise SandboxError(f"{' '.join(cmd)}: {exc}") from exc
    if check and result.returncode != 0:
        detail = (result.stderr or result.stdout).strip()
        raise SandboxError(f"{' '.join(cmd)} failed ({result.returncode}): {detail}")
    return result


def wait_until(predicate: Callable[[], bool], timeout: float, what: str, interval: float = 0.2) -> None:
    """Poll ``predicate`` until it is true; raise SandboxError naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return
        if time.monotonic() > deadline:
            raise SandboxError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)
