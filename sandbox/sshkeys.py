"""SSH material: the sandbox keypair, host keys and sshd configuration."""
from pathlib import Path

from . import paths
from .proc import run


def ensure_keypair() -> Path:
    """Create the sandbox's ed25519 keypair once; return the private key path."""
    key = paths.ssh_key()
    if not key.exists():
        key.parent.mkdir(parents=True, exist_ok=True)
        key.parent.chmod(0o700)
        run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "cachewarden-sandbox", "-f", str(key)])
    return key


def ensure_host_key(etc: Path) -> Path:
    """Create a host's own ed25519 host key; return its path."""
    key = etc / "ssh_host_ed25519_key"
    if not key.exists():
        run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "cachewarden-sandbox-host", "-f", str(key)])
    return key


def sshd_config(address: str, etc: Path, run_dir: Path, path_env: str) -> str:
    """sshd configuration of one host: its address only, root login by key only."""
    return "\n".join([
        "Port 22",
        f"ListenAddress {address}",
        f"HostKey {etc / 'ssh_host_ed25519_key'}",
        f"PidFile {run_dir / 'sshd.pid'}",
        f"AuthorizedKeysFile {etc / 'authorized_keys'}",
        "PermitRootLogin prohibit-password",
        "PubkeyAuthentication yes",
        "PasswordAuthentication no",
        "KbdInteractiveAuthentication no",
        "UsePAM no",
        "StrictModes no",
        "UseDNS no",
        "PrintMotd no",
        "MaxStartups 100:30:200",
        "MaxSessions 100",
        f"SetEnv PATH={path_env}",
        "Subsystem sftp /usr/lib/openssh/sftp-server",
        "",
    ])
