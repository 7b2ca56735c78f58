"""Cheap liveness checks: engine ``/_ping`` over its unix socket, TCP reachability, process existence."""
import os
import socket
from pathlib import Path


def engine_ping(sock_path: str, timeout: float = 2.0) -> bool:
    """Whether the engine at ``sock_path`` answers ``GET /_ping`` with OK."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
            conn.settimeout(timeout)
            conn.connect(sock_path)
            conn.sendall(b"GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n")
            reply = b""
            while chunk := conn.recv(4096):
                reply += chunk
    except OSError:
        return False
    return reply.startswith(b"HTTP/1.") and b" 200 " in reply.split(b"\r\n", 1)[0] and reply.endswith(b"OK")


def tcp_open(address: str, port: int = 22, timeout: float = 1.0) -> bool:
    """Whether a TCP connection to ``address:port`` succeeds."""
    try:
        with socket.create_connection((address, port), timeout=timeout):
            return True
    except OSError:
        return False


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` exists and is not a zombie."""
    if pid <= 0:
        return False
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8")
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def read_pid(pidfile: str) -> int:
    """Pid stored in ``pidfile`` (0 when missing or unreadable)."""
    try:
        return int(Path(pidfile).read_text(encoding="utf-8").strip())
    except (OSError, ValueError):
        return 0


def children_map() -> dict[int, list[int]]:
    """Parent pid -> child pids of every process on the machine."""
    result: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text(encoding="utf-8")
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        result.setdefault(parent, []).append(int(entry))
    return result


def with_descendants(pids: list[int]) -> list[int]:
    """``pids`` plus all their descendants (container processes live in other namespaces)."""
    children = children_map()
    seen: list[int] = []
    todo = list(pids)
    while todo:
        pid = todo.pop()
        if pid not in seen:
            seen.append(pid)
            todo.extend(children.get(pid, []))
    return seen
