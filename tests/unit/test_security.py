# -*- coding: utf-8 -*-
# Copyright: cachewarden contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Static checks of the collection's code: no module runs a shell or a program, no option carries a secret
that could end up in results or logs (docs/security.md)."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import List

import pytest

from ansible_collections.cachewarden.docker.plugins.module_utils.connection import ENGINE_ARGUMENT_SPEC
from ansible_collections.cachewarden.docker.plugins.module_utils.policy import POLICY_ARGUMENT_SPEC

PLUGINS = Path(__file__).resolve().parents[2] / 'plugins'
SOURCES = sorted(PLUGINS.rglob('*.py'))
FORBIDDEN_MODULES = {'subprocess', 'pty', 'commands', 'popen2'}
FORBIDDEN_CALLS = {'system', 'popen', 'spawnl', 'spawnlp', 'spawnv', 'spawnvp', 'execv', 'execvp', 'execve',
                   'run_command', 'Popen', 'check_output', 'check_call', 'getoutput', 'getstatusoutput'}


def _offences(path: Path) -> List[str]:
    tree = ast.parse(path.read_text(encoding='utf-8'), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += ['import %s' % alias.name for alias in node.names if alias.name.split('.')[0] in FORBIDDEN_MODULES]
        elif isinstance(node, ast.ImportFrom) and (node.module or '').split('.')[0] in FORBIDDEN_MODULES:
            found.append('from %s import' % node.module)
        elif isinstance(node, ast.Call):
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, 'id', '')
            if name in FORBIDDEN_CALLS:
                found.append('%s() at line %d' % (name, node.lineno))
            found += ['shell=True at line %d' % node.lineno for keyword in node.keywords
                      if keyword.arg == 'shell' and not (isinstance(keyword.value, ast.Constant) and not keyword.value.value)]
    return found


def test_there_is_code_to_check():
    assert len(SOURCES) >= 10 and any(path.parent.name == 'modules' for path in SOURCES)


@pytest.mark.parametrize('path', SOURCES, ids=[str(path.relative_to(PLUGINS)) for path in SOURCES])
def test_no_shell_and_no_programs(path):
    assert _offences(path) == []


def test_the_checker_sees_what_it_forbids(tmp_path):
    sample = tmp_path / 'sample.py'
    sample.write_text('import subprocess\nfrom os import system\nimport os\nos.system("x")\n'
                      'module.run_command(["x"])\nsubprocess.run("x", shell=True)\n', encoding='utf-8')
    assert len(_offences(sample)) == 4


@pytest.mark.parametrize('name, spec', sorted({**ENGINE_ARGUMENT_SPEC, **POLICY_ARGUMENT_SPEC}.items()))
def test_no_option_carries_a_secret(name, spec):
    """Key material is passed as a path, never as content; anything secret-looking would need no_log."""
    if any(word in name for word in ('password', 'token', 'secret', 'passphrase')):
        assert spec.get('no_log') is True, name
    if name.endswith('_key') or name.endswith('_cert') or name == 'ca_path':
        assert spec['type'] == 'path', name
