"""Download packages of another Debian suite without touching the machine's apt state."""
import glob
import re
from pathlib import Path

from .proc import SandboxError, log, run

KEYRING = "/usr/share/keyrings/debian-archive-keyring.gpg"


def _deb822_uris(text: str) -> list[str]:
    """Main-archive URIs of deb822 ``.sources`` text (security archives skipped)."""
    uris = []
    for stanza in re.split(r"\n\s*\n", text):
        fields = dict(re.findall(r"^(\w[\w-]*):\s*(.*)$", stanza, re.MULTILINE))
        if "deb" in fields.get("Types", "").split():
            uris += [uri for uri in fields.get("URIs", "").split() if "security" not in uri]
    return uris


def _one_line_uris(text: str) -> list[str]:
    """Main-archive URIs of one-line ``sources.list`` text."""
    uris = []
    for line in text.splitlines():
        match = re.match(r"^deb\s+(?:\[[^]]*\]\s+)?(\S+)", line.strip())
        if match and "security" not in match.group(1):
            uris.append(match.group(1))
    return uris


def mirror_uri() -> str:
    """The Debian mirror this machine is configured with."""
    for path in sorted(glob.glob("/etc/apt/sources.list.d/*.sources")):
        uris = _deb822_uris(Path(path).read_text(encoding="utf-8"))
        if uris:
            return uris[0]
    for path in ["/etc/apt/sources.list", *sorted(glob.glob("/etc/apt/sources.list.d/*.list"))]:
        if Path(path).is_file():
            uris = _one_line_uris(Path(path).read_text(encoding="utf-8"))
            if uris:
                return uris[0]
    raise SandboxError("no Debian mirror found in /etc/apt/sources.list.d/*.sources or sources.list")


class PrivateApt:
    """apt-get/apt-cache bound to a private sources list and private state under ``work``."""

    def __init__(self, suite: str, work: Path) -> None:
        self.suite = suite
        self.work = work

    def _options(self) -> list[str]:
        return [
            "-o", f"Dir::State::Lists={self.work / 'lists'}",
            "-o", f"Dir::Etc::SourceList={self.work / 'sources.list'}",
            "-o", "Dir::Etc::SourceParts=-",
            "-o", f"Dir::Cache={self.work / 'cache'}",
            "-o", "Dir::Cache::pkgcache=",
            "-o", "Dir::Cache::srcpkgcache=",
            "-o", "APT::Sandbox::User=root",
        ]

    def update(self) -> None:
        """Write the private sources list and fetch the suite's package lists."""
        for sub in ("lists/partial", "cache/archives/partial"):
            (self.work / sub).mkdir(parents=True, exist_ok=True)
        line = f"deb [signed-by={KEYRING}] {mirror_uri()} {self.suite} main\n"
        (self.work / "sources.list").write_text(line, encoding="utf-8")
        log(f"apt: fetching package lists of {self.suite}")
        run(["apt-get", "-q", *self._options(), "update"])

    def has(self, package: str) -> bool:
        """Whether the suite carries ``package``."""
        result = run(["apt-cache", *self._options(), "show", "--no-all-versions", package], check=False)
        return result.returncode == 0 and "Package:" in result.stdout

    def download(self, packages: list[str], dest: Path) -> list[Path]:
        """Download ``packages`` as .deb files into ``dest``."""
        dest.mkdir(parents=True, exist_ok=True)
        log(f"apt: downloading {' '.join(packages)} from {self.suite}")
        run(["apt-get", "-q", *self._options(), "download", *packages], cwd=str(dest))
        return sorted(dest.glob("*.deb"))
