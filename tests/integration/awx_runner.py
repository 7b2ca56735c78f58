# -*- coding: utf-8 -*-
# Copyright: cachewarden contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run the collection's playbooks the way AWX runs a job, without AWX.

AWX hands each job to ansible-runner: a private data directory, the project as the working directory, the
inventory, the extra variables (template extra vars, survey answers and defaults, workflow artifacts) in
env/extravars, ``--check`` for job type check, and the jsonfile fact cache in artifacts/<ident>/fact_cache,
which it fills from fact storage before the run and reads back after it. The job's artifacts are the
``set_stats`` data of the playbook_on_stats event. This module does the same; the survey rules (what AWX
sends for a survey, what it refuses) follow AWX's survey validation for the question types we use.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import ansible_runner
import yaml
from ansible_cli import BIN, COLLECTIONS, REPO, cached_hosts, read_cached_facts

SURVEY = yaml.safe_load((REPO / 'playbooks' / 'vars' / 'awx_survey.yml').read_text(encoding='utf-8'))[
    'cachewarden_awx_enforce_survey']['spec']


def survey_extra_vars(answers: Dict[str, Any]) -> Tuple[Dict[str, Any], List[str]]:
    """The extra vars AWX builds from survey ``answers`` (defaults for the rest), and its refusals."""
    sent: Dict[str, Any] = {}
    errors: List[str] = []
    for question in SURVEY:
        name = question['variable']
        if name in answers:
            value = answers[name]
        elif question.get('default') is not None:
            value = question['default']
        else:
            if question['required']:
                errors.append('%s: value missing' % name)
            continue
        kind = question['type']
        if kind == 'multiplechoice' and value not in question['choices']:
            errors.append('%s: %r not one of %s' % (name, value, question['choices']))
        elif kind == 'integer' and (isinstance(value, bool) or not isinstance(value, int)):
            errors.append('%s: %r is not an integer' % (name, value))
        elif kind == 'integer' and question.get('min') is not None and value < question['min']:
            errors.append('%s: %r is too small (at least %s)' % (name, value, question['min']))
        elif kind == 'integer' and question.get('max') is not None and value > question['max']:
            errors.append('%s: %r is too large (at most %s)' % (name, value, question['max']))
        elif kind == 'text' and not question['min'] <= len(value) <= question['max']:
            errors.append('%s: %r length outside %s..%s' % (name, value, question['min'], question['max']))
        sent[name] = value
    return sent, errors


@dataclass
class Job:
    """A finished job: its status, events, artifacts and fact cache."""

    runner: Any
    artifact_dir: Path

    @property
    def status(self) -> str:
        return self.runner.status

    @property
    def events(self) -> List[Dict[str, Any]]:
        return list(self.runner.events)

    def stats(self) -> Dict[str, Any]:
        """The playbook_on_stats event data: per-host counters and the artifacts (set_stats)."""
        found = [e['event_data'] for e in self.events if e['event'] == 'playbook_on_stats']
        assert len(found) == 1, 'expected one playbook_on_stats event, got %d' % len(found)
        return found[0]

    def artifacts(self) -> Dict[str, Any]:
        """What AWX stores as the job's artifacts and passes to the next workflow node as extra vars."""
        return self.stats()['artifact_data']

    def host_events(self, event: str, task: Optional[str] = None) -> Dict[str, List[Dict[str, Any]]]:
        """Host name -> the events of this kind (runner_on_ok, runner_on_failed, ...), optionally of one task."""
        result: Dict[str, List[Dict[str, Any]]] = {}
        for item in self.events:
            data = item.get('event_data') or {}
            if item['event'] == event and (task is None or data.get('task') == task):
                result.setdefault(data['host'], []).append(data)
        return result

    def fact_cache(self) -> Dict[str, Dict[str, Any]]:
        """Host name -> the facts in the jsonfile cache, what AWX saves into its fact storage."""
        cache = self.artifact_dir / 'fact_cache'
        return {host: read_cached_facts(cache, host) for host in cached_hosts(cache)}

    def stdout(self) -> str:
        return self.runner.stdout.read()


def run_job(root: Path, ident: str, playbook: str, inventory: str, extra_vars: Dict[str, Any], check: bool = False,
            limit: Optional[str] = None, facts_from: Optional[Job] = None) -> Job:
    """Run one job like AWX: a fresh private data dir under ``root``, the project is this repository, the fact
    cache starts with what ``facts_from`` left (AWX restores it from fact storage)."""
    private_data_dir = root / ident
    artifact_dir = private_data_dir / 'artifacts' / ident
    if facts_from is not None:
        shutil.copytree(facts_from.artifact_dir / 'fact_cache', artifact_dir / 'fact_cache')
    (private_data_dir / 'inventory').mkdir(parents=True)
    shutil.copy(inventory, private_data_dir / 'inventory' / 'hosts')
    cmdline = (['--check'] if check else []) + (['--limit', limit] if limit else [])
    runner = ansible_runner.run(
        private_data_dir=str(private_data_dir),
        project_dir=str(REPO),
        playbook=playbook,
        ident=ident,
        extravars=extra_vars,
        cmdline=' '.join(cmdline) or None,
        fact_cache_type='jsonfile',
        envvars={
            'PATH': '%s%s%s' % (BIN, os.pathsep, os.environ.get('PATH', '')),
            'ANSIBLE_COLLECTIONS_PATH': str(COLLECTIONS),
            'ANSIBLE_HOST_KEY_CHECKING': 'False',
            'ANSIBLE_RETRY_FILES_ENABLED': 'False',
            'ANSIBLE_PIPELINING': 'True',
            'ANSIBLE_NOCOLOR': '1',
        },
        quiet=True,
        timeout=900,
    )
    return Job(runner=runner, artifact_dir=artifact_dir)
