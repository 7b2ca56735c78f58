"""The fleet description (``fleet.json``): hosts and where their parts live."""
import dataclasses
import json
import os
from pathlib import Path
from typing import Any

from . import paths
from .proc import SandboxError


@dataclasses.dataclass
class Host:  # pylint: disable=too-many-instance-attributes
    """One sandbox host; paths are on the root filesystem unless named ``*_inside``."""

    name: str
    index: int
    address: str
    netns: str
    veth: str
    engine: str
    store: str
    cli: str
    bin_dir: str
    root: str
    engine_version: str = ""
    api_version: str = ""
    sshd_pid: int = 0
    seed: dict[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def run_dir(self) -> Path:
        """Folder bound over /var/run inside the host."""
        return Path(self.root) / "run"

    @property
    def data_dir(self) -> Path:
        """Folder bound over /var/lib/docker inside the host."""
        return Path(self.root) / "data"

    @property
    def state_dir(self) -> Path:
        """Folder bound over /var/lib/cachewarden inside the host: the modules' state and lock files, as on a host
        of its own (else every sandbox host would share the machine's)."""
        return Path(self.root) / "cachewarden"

    @property
    def etc_dir(self) -> Path:
        """Configuration and scripts of the host."""
        return Path(self.root) / "etc"

    @property
    def log_dir(self) -> Path:
        """Logs of the host's dockerd and sshd."""
        return Path(self.root) / "log"

    @property
    def socket(self) -> str:
        """The engine's socket, reachable from outside the host."""
        return str(self.run_dir / "docker.sock")

    @property
    def docker_host(self) -> str:
        """``DOCKER_HOST`` value for the engine of this host."""
        return f"unix://{self.socket}"

    @property
    def pidfile(self) -> str:
        """dockerd's pid file (outside path)."""
        return str(self.run_dir / "docker.pid")

    def to_json(self) -> dict[str, Any]:
        """Serialisable form, with derived paths spelled out for other tools."""
        data = dataclasses.asdict(self)
        data.update(socket=self.socket, docker_host=self.docker_host, pidfile=self.pidfile,
                    run_dir=str(self.run_dir), data_dir=str(self.data_dir))
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Host":
        """Inverse of :meth:`to_json` (derived keys are ignored)."""
        names = {field.name for field in dataclasses.fields(cls)}
        return cls(**{key: value for key, value in data.items() if key in names})


@dataclasses.dataclass
class Fleet:
    """All hosts of the sandbox plus shared settings."""

    prefix: str = dataclasses.field(default_factory=paths.default_prefix)
    ssh_key: str = ""
    python: str = ""
    hosts: dict[str, Host] = dataclasses.field(default_factory=dict)

    @property
    def bridge(self) -> str:
        """Bridge joining the hosts."""
        return paths.bridge_name(self.prefix)

    def sorted_hosts(self) -> list[Host]:
        """Hosts in index order."""
        return sorted(self.hosts.values(), key=lambda host: host.index)

    def host(self, name: str) -> Host:
        """The host called ``name``; SandboxError when unknown."""
        try:
            return self.hosts[name]
        except KeyError:
            known = ", ".join(sorted(self.hosts)) or "none"
            raise SandboxError(f"unknown host {name!r} (hosts: {known})") from None

    @classmethod
    def exists(cls) -> bool:
        """Whether a fleet description is present."""
        return paths.fleet_file().is_file()

    @classmethod
    def load(cls) -> "Fleet":
        """Read ``fleet.json``; SandboxError when there is no fleet."""
        path = paths.fleet_file()
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise SandboxError(f"no sandbox fleet at {path} (run: python -m sandbox up)") from None
        hosts = {name: Host.from_json(item) for name, item in data.get("hosts", {}).items()}
        return cls(prefix=data["prefix"], ssh_key=data["ssh_key"], python=data["python"], hosts=hosts)

    def save(self) -> None:
        """Write ``fleet.json`` atomically."""
        path = paths.fleet_file()
        data = {
            "prefix": self.prefix,
            "bridge": self.bridge,
            "gateway": paths.gateway(),
            "subnet": f"{paths.subnet_prefix()}.0/{paths.NETMASK_BITS}",
            "ssh_key": self.ssh_key,
            "python": self.python,
            "hosts": {host.name: host.to_json() for host in self.sorted_hosts()},
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
        os.replace(tmp, path)
