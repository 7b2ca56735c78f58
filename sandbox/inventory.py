"""Ansible INI inventory of the fleet."""
from typing import Sequence

from .model import Fleet
from .proc import SandboxError

SSH_ARGS = "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null"


def render(fleet: Fleet, group: str = "sandbox", names: Sequence[str] = ()) -> str:
    """The inventory text: one group holding every host with its connection and sandbox variables.

    ``names`` renames h1, h2, ... in order (say, to the host names of an inventory with group_vars);
    hosts beyond the list keep their sandbox names.
    """
    hosts = fleet.sorted_hosts()
    if len(names) > len(hosts):
        raise SandboxError(f"{len(names)} names given for a fleet of {len(hosts)} hosts")
    lines = [f"[{group}]"]
    for index, host in enumerate(hosts):
        lines.append(" ".join([
            names[index] if index < len(names) else host.name,
            f"ansible_host={host.address}",
            "ansible_user=root",
            f"ansible_ssh_private_key_file={fleet.ssh_key}",
            f"ansible_python_interpreter={fleet.python}",
            f"ansible_ssh_common_args='{SSH_ARGS}'",
            f"sandbox_engine={host.engine}",
            f"sandbox_store={host.store}",
            f"sandbox_socket={host.socket}",
        ]))
    return "\n".join(lines) + "\n"
