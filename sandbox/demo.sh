#!/usr/bin/env bash
# `make demo`: the main job of cachewarden.docker as a story, on the embedded sandbox fleet.
#
# Three freshly seeded Docker hosts (sandbox slot 0) named like the example inventory, so the
# per-host policies of examples/inventory apply: ci-runner-1 (Docker 20.10, overlay2) and
# ci-runner-2 (Docker 28.5, containerd image store) get the aggressive CI runner policy,
# app-1 (Docker 20.10) the conservative app server policy.
#   1. gather    facts into a fact cache, fleet table
#   2. report    before: JSON, Markdown and HTML
#   3. enforce   in check mode: what would go (nothing changes)
#   4. enforce   for real
#   5. enforce   again: every host must report unchanged (this script fails otherwise)
#   6. report    after, with before/after per host from step 4
# Run from the repository root with the tools of .venv on PATH (the Makefile does both).
set -euo pipefail

out=.cache/demo
hosts=ci-runner-1,ci-runner-2,app-1
export ANSIBLE_CACHE_PLUGIN=jsonfile
export ANSIBLE_CACHE_PLUGIN_CONNECTION="$PWD/$out/facts"
inventory=(-i "$out/sandbox.ini" -i examples/inventory)

step() {
  printf '\n=== %s\n' "$*"
}

step "Sandbox fleet: 3 freshly seeded hosts"
python -m sandbox down
python -m sandbox up --hosts 3 --engine stable,28.5 --store overlay2,containerd
rm -rf "$out"
mkdir -p "$out"
python -m sandbox inventory --names "$hosts" --group docker_hosts --output "$out/sandbox.ini"

step "1. gather: Docker cache facts of every host (into the fact cache $out/facts)"
ansible-playbook "${inventory[@]}" playbooks/gather.yml

step "2. report before: $out/report-before"
ansible-playbook "${inventory[@]}" playbooks/report.yml -e fleet_report_dir="$PWD/$out/report-before" \
  -e fleet_report_budget=10MB

step "3. enforce in check mode: what each host's policy would remove (nothing changes)"
ansible-playbook "${inventory[@]}" playbooks/enforce.yml --check --diff

step "4. enforce: remove it"
ansible-playbook "${inventory[@]}" playbooks/enforce.yml -e cache_policy_report_path="$PWD/$out/enforce"

step "5. enforce again: nothing left to do, every host unchanged"
ansible-playbook "${inventory[@]}" playbooks/enforce.yml | tee "$out/enforce-again.log"
if grep -E 'changed=[1-9]' "$out/enforce-again.log"; then
  echo "demo: the second enforce run changed something (see above)" >&2
  exit 1
fi

step "6. report after, with before/after from step 4: $out/report"
ansible-playbook "${inventory[@]}" playbooks/report.yml -e fleet_report_dir="$PWD/$out/report" \
  -e fleet_report_enforce_path="$PWD/$out/enforce" -e fleet_report_budget=10MB

step "Done"
echo "Report (open in a browser, no network needed): file://$PWD/$out/report/report.html"
echo "Before the run: file://$PWD/$out/report-before/report.html; Markdown and JSON next to them."
echo "The fleet stays up (inventory: $out/sandbox.ini -i examples/inventory); 'make sandbox-down' removes it."
