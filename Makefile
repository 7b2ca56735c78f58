# Developer and CI entry points for the cachewarden.docker collection.
#
#   make test     sanity lint build doc unit integration, in that order (what CI runs)
#   make venv     the tool virtualenv in .venv (from requirements-test.txt)
#
# Every recipe runs the tools from .venv and finds this collection through a symlink farm
# in .cache/collections, so nothing has to be installed into ~/.ansible.

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := test
.DELETE_ON_ERROR:

PYTHON ?= python3
# ansible-test runs on the interpreter of .venv (3.11 on this project's machines).
SANITY_PYTHON ?= $(shell test -x .venv/bin/python && .venv/bin/python -c 'import sys; print("%d.%d" % sys.version_info[:2])' || echo 3.11)

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

MODULES := $(sort $(basename $(notdir $(filter-out %/__init__.py,$(wildcard plugins/modules/*.py)))))
ROLES := $(sort $(patsubst roles/%/meta/argument_specs.yml,%,$(wildcard roles/*/meta/argument_specs.yml)))

.PHONY: test venv collection sanity lint build doc unit integration changelog clean demo sandbox-down system-packages

test: sanity lint build doc unit integration

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
	pip_version=$$(python -c 'import types; from ansible_test._internal.python_requirements import get_venv_packages; \
	  print(get_venv_packages(types.SimpleNamespace(version="$(SANITY_PYTHON)"))["pip"])'); \
	  mkdir -p $(HOME)/.ansible/test/cache; \
	  cp .ci/get_pip_offline.py $(HOME)/.ansible/test/cache/get_pip_$${pip_version//./_}.py
	rm -rf $(CACHE)/sanity
	mkdir -p $(SANITY_TREE)
	git ls-files -z --cached --others --exclude-standard \
	  | while IFS= read -r -d '' f; do if [ -e "$$f" ] || [ -L "$$f" ]; then printf '%s\0' "$$f"; fi; done \
	  | tar -c --null -T - -f - | tar -x -f - -C $(SANITY_TREE)
	cd $(SANITY_TREE) && git init -q && git add -A
	cd $(SANITY_TREE) && ansible-test sanity --local --python $(SANITY_PYTHON) --color no

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

# The integration tests start their own sandbox of Docker test hosts through a fixture.
integration: system-packages venv collection
	python -m pytest tests/integration -p no:cacheprovider

# ---------------------------------------------------------------------------------------------
# The main job on the embedded default: a 3-host sandbox fleet (Debian's engine with overlay2 on h1
# and h3, Docker 28.5 with the containerd image store on h2), facts over SSH, the
# fleet table, then what a nightly policy would remove (check mode: nothing changes).
SANDBOX_INVENTORY := $(CACHE)/sandbox.ini
DEMO_POLICY := {"cachewarden_policy": {"containers": true, "images": "unused", "build_cache": "unused", \
  "networks": true, "older_than": "1d", "keep_images": ["registry.example.com/base/*"], "keep_latest": 1}}

system-packages:
	.ci/system-packages.sh

demo: system-packages venv collection
	python -m sandbox up --hosts 3 --engine stable,28.5 --store overlay2,containerd
	python -m sandbox inventory --output $(SANDBOX_INVENTORY)
	ansible-playbook -i $(SANDBOX_INVENTORY) playbooks/gather.yml
	ansible-playbook -i $(SANDBOX_INVENTORY) playbooks/enforce.yml --check -e '$(DEMO_POLICY)'
	@echo "Sandbox fleet is up: inventory $(SANDBOX_INVENTORY); remove it with 'make sandbox-down'."

sandbox-down: venv
	python -m sandbox down

# ---------------------------------------------------------------------------------------------
changelog: venv
	antsibull-changelog lint

clean:
	rm -rf $(CACHE) tests/output .pytest_cache .hypothesis
	find . -path ./.venv -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +

# ---------------------------------------------------------------------------------------------
# Benchmarks side by side with the peers (not part of `make test`; see docs/benchmarks.md). Brings up
# a sandbox (Docker 28.5, overlay2) in the slot CW_SANDBOX_SLOT, populates it at scale, runs every
# comparison alternating, writes docs/benchmarks.md and brings the sandbox down.
#   make bench                     full scale: 2,000 images, 5 repetitions, 25 fleet hosts
#   make bench BENCH_QUICK=1       a tenth of the scale, 2 repetitions, 3 fleet hosts (a few minutes)
#   make bench BENCH_REPS=3 BENCH_HOSTS=10 BENCH_ARGS="--keep --reuse"
BENCH_REPS ?=
BENCH_HOSTS ?=
BENCH_QUICK ?=
BENCH_ARGS ?=
.PHONY: bench
bench: system-packages venv collection
	python -m benchmarks $(if $(BENCH_QUICK),--quick) $(if $(BENCH_REPS),--reps $(BENCH_REPS)) \
	  $(if $(BENCH_HOSTS),--hosts $(BENCH_HOSTS)) $(BENCH_ARGS)
