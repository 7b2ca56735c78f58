"""Ansible INI inventory of the fleet."""
from .model import Fleet

SSH_ARGS = "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null"


def render(fleet: Fleet, group: str = "sandbox") -> str:
    """The inventory text: one group holding every host with its connection and sandbox variables."""
    lines = [f"[{group}]"]
    for host in fleet.sorted_hosts():
        lines.append(" ".join([
            host.name,
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
