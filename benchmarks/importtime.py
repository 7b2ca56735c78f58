"""Read ``python -X importtime`` output: each import with its own and cumulative time and who imported it."""
import dataclasses
import re
import sys

_LINE = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)")


@dataclasses.dataclass(frozen=True)
class Import:
    """One module import: microseconds in its own body, and with the imports it made."""

    name: str
    self_us: int
    cumulative_us: int
    parent: str  # the module whose import made this one ("" for the top level)


def parse(stderr: str) -> list[Import]:
    """The imports of one run. Python prints a module's line after those of the modules it imported, indented
    one level deeper (two spaces), so a line's parent is the next line less indented."""
    rows = [(int(match[1]), int(match[2]), len(match[3]) // 2, match[4]) for match in map(_LINE.match, stderr.splitlines())
            if match]
    parents: dict[int, str] = {}
    found = []
    for self_us, cumulative_us, depth, name in reversed(rows):
        parents[depth] = name
        found.append(Import(name, self_us, cumulative_us, parents.get(depth - 1, "") if depth else ""))
    return found[::-1]


def total_us(imports: list[Import]) -> int:
    """Every import's own time added up: the time the process spent importing."""
    return sum(item.self_us for item in imports)


def top(imports: list[Import], count: int, same_cost: float = 0.9) -> list[Import]:
    """The ``count`` imports of the largest cumulative time, leaving out one that is most (``same_cost``) of the import
    that made it (``docker.api`` under ``docker``: the same cost, listed once, at the top of such a chain)."""
    by_name = {item.name: item for item in imports}

    def heads_chain(item: Import) -> bool:
        parent = by_name.get(item.parent)
        return parent is None or item.cumulative_us < same_cost * parent.cumulative_us

    return sorted(filter(heads_chain, imports), key=lambda item: item.cumulative_us, reverse=True)[:count]


def by_package(imports: list[Import]) -> dict[str, int]:
    """Own time per top-level package (the standard library's ones named as such), largest first."""
    totals: dict[str, int] = {}
    for item in imports:
        package = item.name.split(".")[0]
        if package in sys.stdlib_module_names or package.startswith("_"):
            package = "Python standard library"
        totals[package] = totals.get(package, 0) + item.self_us
    return dict(sorted(totals.items(), key=lambda entry: entry[1], reverse=True))
