#!/usr/bin/env bash
# The compatibility matrix beyond `make test` (README, section Compatibility). Run by `make matrix`:
#
#   controllers  for each ansible-core of MATRIX_CONTROLLERS (VERSION:PYTHON), in its own virtualenv under
#                .cache/matrix/core-VERSION: the collection builds and installs with that ansible-galaxy,
#                ansible-doc renders every module and role, and MATRIX_TESTS pass with that ansible-core
#                driving the sandbox fleet over SSH (managed hosts on the test run's own Python).
#   hosts        for each managed-host Python of MATRIX_HOSTS (NAME:PYTHON:REQUIREMENTS), a virtualenv under
#                .cache/matrix/host-NAME with the Docker SDK pip picks for REQUIREMENTS, used as every host's
#                ansible_python_interpreter while MATRIX_TESTS run with the default ansible-core.
#   sdk-6.1      a managed host with docker 6.1 and the requests pip picks (>= 2.32) fails with the module's
#                message naming both versions, not with "Not supported URL scheme http+docker".
#   engines      MATRIX_TESTS on a fleet of each engine of MATRIX_ENGINES (sandbox engine names), both image
#                stores (h1/h3 overlay2, h2/h4 containerd).
#
# MATRIX_PARTS picks parts (default: all four); MATRIX_SLOT is the sandbox slot of the fleet of the
# controllers and hosts parts, MATRIX_SLOT+1 that of the engines part. Timings go to .cache/matrix/timings.txt
# (MATRIX_TIMINGS).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$PWD
matrix=$root/.cache/matrix
bin=$root/.venv/bin
controllers=${MATRIX_CONTROLLERS:-2.17:3.11 2.18:3.11 2.19:3.11 2.20:3.13}
hosts=${MATRIX_HOSTS:-py3.8:3.8:docker>=7.1,<8 py3.13:3.13:docker>=7.1,<8 py3.8-sdk6.1:3.8:docker>=6.1,<7;requests<2.32}
engines=${MATRIX_ENGINES:-26.1}
parts=${MATRIX_PARTS:-controllers hosts sdk-6.1 engines}
slot=${MATRIX_SLOT:-8}
read -r -a tests <<<"${MATRIX_TESTS:-tests/integration/test_facts.py tests/integration/test_prune.py tests/integration/test_role_fleet.py}"
timings=${MATRIX_TIMINGS:-$matrix/timings.txt}

mkdir -p "$matrix"
: >"$timings"

down() {  # the matrix's fleets go down however it ends
  CW_SANDBOX_SLOT=$slot "$bin/python" -m sandbox down >/dev/null || true
  CW_SANDBOX_SLOT=$((slot + 1)) "$bin/python" -m sandbox down >/dev/null || true
}
trap down EXIT

step() {  # step NAME COMMAND...: run, time, record; stop the matrix at the first failure
  local name=$1 start
  shift
  start=$(date +%s)
  echo "== matrix: $name"
  if ! "$@"; then
    printf '%-44s FAILED after %ss\n' "$name" "$(($(date +%s) - start))" | tee -a "$timings"
    exit 1
  fi
  printf '%-44s %5ss\n' "$name" "$(($(date +%s) - start))" | tee -a "$timings"
}

integration() {  # integration SLOT: MATRIX_TESTS in this process (one fleet, sandbox slot SLOT)
  CW_SANDBOX_SLOT=$1 "$bin/python" -m pytest "${tests[@]}" -p no:cacheprovider -x -q
}

controller() {  # controller VERSION: build, install, ansible-doc, integration with that ansible-core
  local version=$1 venv=$matrix/core-$1 collections=$matrix/core-$1/collections module role
  # Only the installed collection: ansible-core 2.20 warns about its own internal collections when it scans
  # sys.path (what the Makefile turns on for the peers of the default virtualenv).
  local -x ANSIBLE_COLLECTIONS_SCAN_SYS_PATH=false
  rm -rf "$venv/build" "$collections"
  "$venv/bin/ansible-galaxy" collection build --force --output-path "$venv/build" >/dev/null
  ANSIBLE_COLLECTIONS_PATH=$collections "$venv/bin/ansible-galaxy" collection install --offline --force -p "$collections" \
    "$venv"/build/cachewarden-docker-*.tar.gz >/dev/null
  for module in plugins/modules/*.py; do
    module=$(basename "$module" .py)
    [ "$module" = __init__ ] && continue
    ANSIBLE_COLLECTIONS_PATH=$collections "$venv/bin/ansible-doc" "cachewarden.docker.$module" >/dev/null 2>"$venv/doc.err"
    if [ -s "$venv/doc.err" ]; then cat "$venv/doc.err"; return 1; fi
  done
  for role in roles/*/meta/argument_specs.yml; do
    role=$(basename "$(dirname "$(dirname "$role")")")
    # ansible-core 2.20's role docs warn about its own internal collection ansible._protomatter, whatever
    # the collection; that one line is not ours, any other output fails.
    ANSIBLE_COLLECTIONS_PATH=$collections "$venv/bin/ansible-doc" -t role "cachewarden.docker.$role" 2>&1 >/dev/null \
      | grep -v "/ansible_collections/ansible/_protomatter' does not have a MANIFEST.json file" >"$venv/doc.err" || true
    if [ -s "$venv/doc.err" ]; then cat "$venv/doc.err"; return 1; fi
  done
  echo "ansible-core $version: built, installed in $collections, ansible-doc clean"
  CW_ANSIBLE_BIN=$venv/bin CW_COLLECTIONS_PATH=$collections integration "$slot"
}

sdk61_message() {  # docker 6.1 with today's requests: the module's own message, naming both versions
  local venv=$matrix/host-sdk6.1-requests-new inventory=$matrix/sdk61.ini output
  .ci/matrix-venv.sh "$venv" 3.8 'docker>=6.1,<7'
  CW_SANDBOX_SLOT=$slot "$bin/python" -m sandbox up --hosts 1 >/dev/null
  CW_SANDBOX_SLOT=$slot "$bin/python" -m sandbox inventory --output "$inventory" >/dev/null
  sed -i "s#ansible_python_interpreter=[^ ]*#ansible_python_interpreter=$venv/bin/python#" "$inventory"
  output=$(ANSIBLE_COLLECTIONS_PATH=$root/.cache/collections ANSIBLE_HOST_KEY_CHECKING=False \
    "$bin/ansible" h1 -i "$inventory" -m cachewarden.docker.docker_cache_facts 2>&1 || true)
  grep -q 'the Docker SDK for Python 6.1.[0-9]* on the managed host cannot reach the engine with requests 2.3[2-9]' <<<"$output" \
    || { echo "$output"; return 1; }
  echo "docker 6.1 with requests >= 2.32: the module's message"
}

for part in $parts; do
  case $part in
    controllers)
      for entry in $controllers; do
        version=${entry%%:*} python=${entry#*:}
        # cryptography 51 warns on stderr of every ansible command of ansible-core 2.19+ (DSA), and ansible-doc must be clean.
        step "venv ansible-core $version (Python $python)" .ci/matrix-venv.sh "$matrix/core-$version" "$python" "ansible-core>=$version,<${version%.*}.$((${version#*.} + 1))" 'cryptography<51'
        step "controller ansible-core $version" controller "$version"
      done ;;
    hosts)
      for entry in $hosts; do
        name=${entry%%:*} rest=${entry#*:}
        python=${rest%%:*} requirements=${rest#*:}
        IFS=';' read -r -a requirement_list <<<"$requirements"
        step "venv managed host $name" .ci/matrix-venv.sh "$matrix/host-$name" "$python" "${requirement_list[@]}"
        "$matrix/host-$name/bin/python" -c 'import sys, docker, requests, urllib3; print("host %s: Python %s, docker %s, requests %s, urllib3 %s" % (sys.argv[1], sys.version.split()[0], docker.__version__, requests.__version__, urllib3.__version__))' "$name" | tee -a "$timings"
        CW_MANAGED_PYTHON=$matrix/host-$name/bin/python step "managed host $name" integration "$slot"
      done ;;
    sdk-6.1)
      step "managed host docker 6.1, requests >= 2.32" sdk61_message ;;
    engines)
      for engine in $engines; do
        CW_TEST_ENGINES=$engine step "engine $engine (overlay2, containerd)" integration "$((slot + 1))"
      done ;;
    *) echo "matrix: unknown part $part (controllers, hosts, sdk-6.1, engines)" >&2; exit 2 ;;
  esac
done
echo "== matrix timings"
cat "$timings"
