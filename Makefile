# Developer and CI entry points for the cachewarden.docker collection.
#
#   make test     sanity drift lint build doc unit integration molecule, in that order (what CI runs); the
#                 integration fleets are taken down at the end (KEEP_SANDBOX=1 keeps them), the demo fleet stays
#   make matrix   the compatibility matrix beyond make test (.ci/matrix.sh; README, section Compatibility)
#   make venv     the tool virtualenv in .venv (from requirements-test.txt)
#
# Every recipe runs the tools from .venv and finds this collection through a symlink farm
# in .cache/collections, so nothing has to be installed into ~/.ansible.

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := test
.DELETE_ON_ERROR:

PYTHON ?= python3
# ansible-test runs on the interpreter of .venv (3.11 on this project's machines): every sanity test there,
# then the tests that depend on the Python of module code (compile, import) on every other Python the
# modules claim (README: 3.8 or newer), with interpreters from .ci/find-python.sh (PATH, else pyenv).
SANITY_PYTHON ?= $(shell test -x .venv/bin/python && .venv/bin/python -c 'import sys; print("%d.%d" % sys.version_info[:2])' || echo 3.11)
SANITY_MODULE_PYTHONS ?= 3.8 3.9 3.10 3.12 3.13

ROOT := $(CURDIR)
VENV := $(ROOT)/.venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.requirements.stamp
CACHE := $(ROOT)/.cache
COLLECTIONS := $(CACHE)/collections
COLLECTION_LINK := $(COLLECTIONS)/ansible_collections/cachewarden/docker
SANITY_TREE := $(CACHE)/sanity/ansible_collections/cachewarden/docker
BUILD_DIR := $(CACHE)/build

export PATH := $(BIN):$(PATH)
export ANSIBLE_COLLECTIONS_PATH := $(COLLECTIONS)
# Collections shipped by the `ansible` package in .venv are still found through sys.path.
export ANSIBLE_COLLECTIONS_SCAN_SYS_PATH := true
export ANSIBLE_NOCOLOR := 1
export NO_COLOR := 1
export PIP_DISABLE_PIP_VERSION_CHECK := 1

# A slot of the sandbox slot table (sandbox/paths.py SLOTS), e.g. $(call slot,bench).
slot = $(shell $(PYTHON) -c 'from sandbox.paths import SLOTS; print(SLOTS["$(1)"])')

MODULES := $(sort $(basename $(notdir $(filter-out %/__init__.py,$(wildcard plugins/modules/*.py)))))
ROLES := $(sort $(patsubst roles/%/meta/argument_specs.yml,%,$(wildcard roles/*/meta/argument_specs.yml)))

.PHONY: test venv collection sanity drift lint build doc unit integration molecule changelog clean demo sandbox-down system-packages matrix

test: sanity drift lint build doc unit integration molecule

# ---------------------------------------------------------------------------------------------
# .venv: recreated only when a requirements file changed (the stamp is newer otherwise).
venv: $(STAMP)

$(STAMP): requirements.txt requirements-test.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-test.txt
	$(BIN)/python -m pip check
	touch $@

# ---------------------------------------------------------------------------------------------
# ansible_collections/cachewarden/docker -> this checkout, for ansible, ansible-doc and pytest.
collection:
	mkdir -p $(dir $(COLLECTION_LINK))
	ln -sfn $(ROOT) $(COLLECTION_LINK)

# ---------------------------------------------------------------------------------------------
# ansible-test needs the collection at .../ansible_collections/NAMESPACE/NAME and a git repo to
# list its files. Copy what git tracks plus untracked files that are not ignored (so it also
# works before a commit), leaving out files deleted in the work tree. No sanity test is skipped:
# every test of ansible-test's list runs with --local (none needs the network beyond PyPI for
# its own pinned tools, nor docker). shellcheck must be installed (.ci/run does), or ansible-test
# skips that test with a warning; pslint has nothing to check (no PowerShell in the collection).
# ansible-test bootstraps pip in its test virtualenvs with a get-pip script that it downloads
# from a host outside PyPI; .ci/get_pip_offline.py takes that script's place in its cache.
sanity: venv
	for version in $(SANITY_PYTHON) $(SANITY_MODULE_PYTHONS); do \
	  pip_version=$$(python -c 'import types; from ansible_test._internal.python_requirements import get_venv_packages; \
	    print(get_venv_packages(types.SimpleNamespace(version="'$$version'"))["pip"])'); \
	  mkdir -p $(HOME)/.ansible/test/cache; \
	  cp .ci/get_pip_offline.py $(HOME)/.ansible/test/cache/get_pip_$${pip_version//./_}.py; \
	done
	rm -rf $(CACHE)/sanity
	mkdir -p $(SANITY_TREE)
	git ls-files -z --cached --others --exclude-standard \
	  | while IFS= read -r -d '' f; do if [ -e "$$f" ] || [ -L "$$f" ]; then printf '%s\0' "$$f"; fi; done \
	  | tar -c --null -T - -f - | tar -x -f - -C $(SANITY_TREE)
	cd $(SANITY_TREE) && git init -q && git add -A
	cd $(SANITY_TREE) && ansible-test sanity --local --python $(SANITY_PYTHON) --color no
	for version in $(SANITY_MODULE_PYTHONS); do \
	  python_dir=$$(dirname "$$(.ci/find-python.sh $$version)"); \
	  (cd $(SANITY_TREE) && PATH=$$python_dir:$$PATH ansible-test sanity --local --python $$version --test compile --test import --color no); \
	done

# ---------------------------------------------------------------------------------------------
# Checks that catch drift early: module code that needs a Python newer than 3.8 (vermin, with annotations
# read as code: `list[str]` and the like need 3.9), lint findings (ruff.toml: the checks the code passes;
# ruff is not the formatter), and changelog fragments that antsibull-changelog would reject.
drift: venv
	vermin --target=3.8- --violations --eval-annotations --no-tips plugins/
	ruff check plugins tests sandbox benchmarks
	antsibull-changelog lint

# ---------------------------------------------------------------------------------------------
# ansible-lint (profile from .ansible-lint) over every YAML file of the project that git lists,
# which takes in roles/, playbooks/ and molecule/ as they appear.
lint: venv collection
	ansible-lint

# ---------------------------------------------------------------------------------------------
build: venv
	mkdir -p $(BUILD_DIR)
	ansible-galaxy collection build --force --output-path $(BUILD_DIR)

# ---------------------------------------------------------------------------------------------
# Render the docs of every module and of every role with argument specs; any error or warning
# (ansible-doc prints them on stderr) fails the target.
doc: venv collection
	mkdir -p $(CACHE)/doc
	@status=0; \
	for module in $(MODULES); do \
	  echo "ansible-doc cachewarden.docker.$$module"; \
	  if ! ansible-doc cachewarden.docker.$$module >$(CACHE)/doc/$$module.txt 2>$(CACHE)/doc/$$module.err; then status=1; fi; \
	  if [ -s $(CACHE)/doc/$$module.err ]; then cat $(CACHE)/doc/$$module.err; status=1; fi; \
	done; \
	for role in $(ROLES); do \
	  echo "ansible-doc -t role cachewarden.docker.$$role"; \
	  if ! ansible-doc -t role cachewarden.docker.$$role >$(CACHE)/doc/role-$$role.txt 2>$(CACHE)/doc/role-$$role.err; then status=1; fi; \
	  if [ -s $(CACHE)/doc/role-$$role.err ]; then cat $(CACHE)/doc/role-$$role.err; status=1; fi; \
	done; \
	exit $$status

# ---------------------------------------------------------------------------------------------
unit: venv collection
	python -m pytest tests/unit

# The integration tests start their own sandbox of Docker test hosts through a fixture. They run in
# INTEGRATION_WORKERS pytest-xdist workers, each with a fleet of its own (the integration slot of
# sandbox/paths.py, 6, then 7, ...; from CW_SANDBOX_SLOT when set); a test file stays on one worker.
# INTEGRATION_WORKERS=0 runs them in this process. The fleets are taken down at the end, passed or
# failed, unless KEEP_SANDBOX=1 (to look at them, or to save the start-up of the next run).
INTEGRATION_WORKERS ?= 2
KEEP_SANDBOX ?=
integration: system-packages venv collection
	status=0; python -m pytest tests/integration -p no:cacheprovider -n $(INTEGRATION_WORKERS) --dist loadfile || status=$$?; \
	  if [ "$(KEEP_SANDBOX)" != 1 ]; then $(MAKE) --no-print-directory integration-down; fi; \
	  exit $$status

# The fleets of the integration workers, by the slots the tests take (sandbox.paths.test_run_slot).
.PHONY: integration-down
integration-down: venv
	for worker in $$(seq 0 $$(( $(INTEGRATION_WORKERS) > 1 ? $(INTEGRATION_WORKERS) - 1 : 0 ))); do \
	  slot=$$(PYTEST_XDIST_WORKER=gw$$worker python -c 'import os; from sandbox import paths; print(paths.test_run_slot(os.environ))'); \
	  CW_SANDBOX_SLOT=$$slot python -m sandbox down; \
	done

# ---------------------------------------------------------------------------------------------
# The randomized differential harness on many seeds (make test runs the default seed of
# tests/integration/random_differential.py): make soak SEEDS=20 runs seeds 1..20, or SEEDS=3,17,42 those seeds.
SEEDS ?= 10
.PHONY: soak
soak: system-packages venv collection
	CW_RANDOM_SEEDS=$$(case "$(SEEDS)" in *,*) echo "$(SEEDS)";; *) seq -s, 1 $(SEEDS);; esac) \
	  python -m pytest tests/integration/test_random_overlay2.py tests/integration/test_random_containerd.py \
	  -p no:cacheprovider -n $(INTEGRATION_WORKERS) --dist loadfile

# ---------------------------------------------------------------------------------------------
# The molecule scenario molecule/default: the cache_policy role with the per-host policies of
# examples/inventory over 3 sandbox hosts in the molecule slot of sandbox/paths.py, 2 (create/destroy bring
# them up and down); CW_MOLECULE_SLOT picks another.
# MOLECULE_GLOB names the top-level molecule/ folder: molecule would look in extensions/molecule
# because of galaxy.yml (see README, section Molecule).
molecule: system-packages venv collection
	MOLECULE_GLOB='molecule/*/molecule.yml' CW_MOLECULE_SLOT=$${CW_MOLECULE_SLOT:-$(call slot,molecule)} molecule test

# ---------------------------------------------------------------------------------------------
# The main job on the embedded default, as a story (sandbox/demo.sh): a 3-host sandbox fleet named
# like examples/inventory (its group_vars/host_vars are the policies), gather, report before, enforce
# in check mode, enforce, enforce again (must be unchanged), report after (HTML in .cache/demo/report).
system-packages:
	.ci/system-packages.sh

demo: system-packages venv collection
	sandbox/demo.sh

# Every fleet on this machine: the demo's (slot 0) and those of the test runs (see sandbox/paths.py).
sandbox-down: venv
	for dir in /var/tmp/cachewarden-sandbox /var/tmp/cachewarden-sandbox-*; do \
	  [ -d "$$dir" ] || continue; slot=$${dir#/var/tmp/cachewarden-sandbox}; \
	  CW_SANDBOX_SLOT=$${slot#-} python -m sandbox down; \
	done

# ---------------------------------------------------------------------------------------------
# The compatibility matrix beyond make test (.ci/matrix.sh says what each part runs): ansible-core 2.17,
# 2.18, 2.19 (Python 3.11) and 2.20 (Python 3.13) on the controller; managed hosts on Python 3.8 and 3.13;
# Docker SDK 6.1; Debian 13's Docker 26.1. Virtualenvs under .cache/matrix (from PyPI), interpreters from
# .ci/find-python.sh. MATRIX_PARTS="controllers hosts sdk-6.1 engines" (the default) picks parts; the
# fleets use sandbox slots MATRIX_SLOT and MATRIX_SLOT+1.
MATRIX_SLOT ?= 8
MATRIX_PARTS ?= controllers hosts sdk-6.1 engines
matrix: system-packages venv collection
	MATRIX_SLOT=$(MATRIX_SLOT) MATRIX_PARTS="$(MATRIX_PARTS)" .ci/matrix.sh

# ---------------------------------------------------------------------------------------------
changelog: venv
	antsibull-changelog lint

clean:
	rm -rf $(CACHE) tests/output .pytest_cache .hypothesis
	find . -path ./.venv -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +

# ---------------------------------------------------------------------------------------------
# The execution environment's build context (docs/awx.md); building the image needs a registry.
EE_CONTEXT := $(CACHE)/ee
.PHONY: ee-context
ee-context: build
	rm -rf $(EE_CONTEXT)
	ansible-builder create --file execution-environment.yml --context $(EE_CONTEXT) --output-filename Containerfile

# ---------------------------------------------------------------------------------------------
# Benchmarks side by side with the peers (not part of `make test`; see docs/benchmarks.md). Brings up sandbox hosts
# in sandbox slot BENCH_SLOT (the bench slot of sandbox/paths.py, 5; the hosts as benchmarks/layout.py lays them out:
# Docker 28.5 overlay2, and Debian's Docker 20.10 for the facts), populates them at scale, runs every part
# alternating, writes docs/benchmarks.md and brings the sandbox down. The parts: facts (on both engines), plan,
# prune (cold and warm state file), fleet, start (the module's start and imports), curves (cost per image count
# and per fleet size).
#   make bench                     full scale: 2,000 images, 5 repetitions, 25 fleet hosts, curves to 4,000 images and 50 hosts
#   make bench BENCH_QUICK=1       a tenth of the scale, 2 repetitions, 3 fleet hosts, small curves
#   make bench BENCH_ONLY=curves   one part (or a comma list) alone
#   make bench BENCH_REPS=3 BENCH_HOSTS=10 BENCH_ARGS="--keep --reuse"
BENCH_REPS ?=
BENCH_HOSTS ?=
BENCH_QUICK ?=
BENCH_ONLY ?=
BENCH_ARGS ?=
# Its own sandbox slot (see sandbox/paths.py): the demo fleet (slot 0) and the test fleets stay untouched.
BENCH_SLOT ?= $(call slot,bench)
.PHONY: bench
bench: system-packages venv collection
	CW_SANDBOX_SLOT=$(BENCH_SLOT) python -m benchmarks $(if $(BENCH_QUICK),--quick) $(if $(BENCH_REPS),--reps $(BENCH_REPS)) \
	  $(if $(BENCH_HOSTS),--hosts $(BENCH_HOSTS)) $(if $(BENCH_ONLY),--only $(BENCH_ONLY)) $(BENCH_ARGS)
