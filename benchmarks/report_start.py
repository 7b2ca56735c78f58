"""Section 5: the module's start (process start to its first engine call) and the imports it pays for."""
from typing import Any

from .compare import Samples
from .markdown import millis, seconds, spread, table
from .module_start import NO_ENGINE, OURS


def start_section(samples: dict[str, Samples], imports: dict[str, Any]) -> list[str]:
    """The start-cost table, then the module process alone and its imports."""
    lines = [f"Each module against `docker_host: {NO_ENGINE}`, which fails at its first engine call; its task time minus "
             "an `ansible.builtin.ping` task's in the same play is what it costs from its process start to that call "
             "(transfer, interpreter, imports, argument parsing) beyond Ansible's cost of any module.", ""]
    rows = [[name, seconds(item.median("task_s")), seconds(item.median("ping_s")), seconds(item.median("added_s")),
             spread(item, "added_s")] for name, item in samples.items()]
    lines += table(["task", "task time (median)", "ping (median)", "start cost: added over ping", "(min-max)"], rows)
    total = imports["imports_us"] / 1e6
    lines += [f"The {OURS} process alone (the AnsiballZ file Ansible sent, kept with `ANSIBLE_KEEP_REMOTE_FILES=1` and "
              f"run again on this machine with the same Python): {seconds(imports['process_s'])} from its start to the "
              f"failed engine call, where `ansible.builtin.ping`'s process, kept the same way, takes "
              f"{seconds(imports['ping_process_s'])} (medians). `python -X importtime` of it: {imports['import_count']} modules imported "
              f"in {millis(total)} (the own times added up; importtime itself adds to them). The largest imports by "
              "cumulative time (an import that is most of one listed above it is left out):", ""]
    lines += table(["import", "cumulative", "own", "imported by"],
                   [[f"`{item['name']}`", millis(item["cumulative_us"] / 1e6), millis(item["self_us"] / 1e6),
                     f"`{item['parent']}`" if item["parent"] else "(top level)"] for item in imports["top"]])
    lines += ["Own import time by top-level package:", ""]
    lines += table(["package", "own time", "share of the imports"],
                   [[package, millis(us / 1e6), f"{100 * us / imports['imports_us']:.0f} %"]
                    for package, us in imports["packages"].items()])
    return lines
