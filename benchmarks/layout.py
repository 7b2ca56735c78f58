"""Which sandbox host of the bench slot does what, and bringing the hosts a part needs up.

h1 holds the main population on Docker 28.5, h2 the same population on the machine's own engine
(Debian's Docker 20.10, sandbox engine "stable") for the facts, h3 the cost curve's single host, and
h4 onwards are the fleet hosts (FLEET_HOST scale) of the fleet comparison and of the fleet curve.
"""
from sandbox.lifecycle import up
from sandbox.model import Fleet, Host
from sandbox.proc import SandboxError

ENGINE, STABLE, STORE = "28.5", "stable", "overlay2"
MAIN, STABLE_HOST, CURVE_HOST = "h1", "h2", "h3"
SINGLE_HOSTS = (MAIN, STABLE_HOST, CURVE_HOST)
FIRST_MEMBER = len(SINGLE_HOSTS) + 1


def _engines(count: int) -> list[str]:
    """The engine of each of hosts h1..h<count> (``up`` cycles this list over the hosts)."""
    return [STABLE if f"h{index}" == STABLE_HOST else ENGINE for index in range(1, count + 1)]


def _bring_up(count: int) -> Fleet:
    """Hosts h1..h<count> up (running ones left alone), each on its engine; refuses a kept sandbox laid out otherwise."""
    fleet = up(count, _engines(count), [STORE], scenario="none")
    wrong = [f"{host.name} runs {host.engine}, not {engine}" for host, engine in zip(fleet.sorted_hosts(), _engines(count))
             if host.engine != engine or host.store != STORE]
    if wrong:
        raise SandboxError(f"the kept bench sandbox has another layout ({'; '.join(wrong)}): take it down first")
    return fleet


def with_members(count: int) -> Fleet:
    """h1..h3 and the first ``count`` fleet hosts (none: only h1..h3) up."""
    return _bring_up(FIRST_MEMBER - 1 + count)


def member_names(count: int) -> list[str]:
    """The names of the first ``count`` fleet hosts."""
    return [f"h{index}" for index in range(FIRST_MEMBER, FIRST_MEMBER + count)]


def members(fleet: Fleet, count: int) -> list[Host]:
    """The first ``count`` fleet hosts of ``fleet`` (see :func:`with_members`)."""
    return [fleet.host(name) for name in member_names(count)]
