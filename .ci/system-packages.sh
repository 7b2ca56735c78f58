#!/usr/bin/env bash
# Debian packages the sandbox fleet and the tests need; a no-op when they are all installed.
# docker.io: the engine each test host runs (no systemd here: the sandbox starts dockerd itself);
# busybox-static: image content without a registry; openssh-server/-client: real SSH to the test
# hosts; iproute2: their network namespaces; shellcheck: ansible-test's shellcheck sanity test
# (it skips itself without it); time: /usr/bin/time -v in make bench; chromium and a font: the
# fleet report's HTML rendered headless
# (tests/integration/test_report.py); docker-registry: a local registry the sandbox hosts push to and pull from
# (sandbox/registry.py, scenario random); the rest: build and test tooling.
set -euo pipefail
packages=(docker.io busybox-static openssh-server openssh-client iproute2 rsync git make
          ca-certificates tar xz-utils procps util-linux shellcheck python3-venv
          chromium fonts-dejavu-core time docker-registry)
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || missing+=("$package")
done
if [ "${#missing[@]}" -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}" </dev/null
fi
