# -*- coding: utf-8 -*-
# Copyright: cachewarden contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""execution-environment.yml gives a valid ansible-builder build context, holding this collection.

Building the image needs a container registry (the base image), which the project's machines lack, so the
build stages that matter are replayed offline instead: the galaxy stage (``ansible-galaxy collection install``
of the context's requirements.yml, from the context's own directory) and the builder stage's introspection,
which must find the collection's Python requirements through meta/execution-environment.yml.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
import yaml

from sandbox import paths

REPO = paths.repo_root()
BIN = Path(sys.executable).parent
GALAXY = yaml.safe_load((REPO / 'galaxy.yml').read_text(encoding='utf-8'))
TARBALL = '%s-%s-%s.tar.gz' % (GALAXY['namespace'], GALAXY['name'], GALAXY['version'])
EE = yaml.safe_load((REPO / 'execution-environment.yml').read_text(encoding='utf-8'))


def _run(*command: str, cwd: Path) -> str:
    result = subprocess.run(command, cwd=str(cwd), capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, '%s\n%s\n%s' % (' '.join(command), result.stdout, result.stderr)
    return result.stdout


@pytest.fixture(scope='module', name='context')
def context_fixture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`make build` and `ansible-builder create` in a scratch copy of the layout they expect."""
    work = tmp_path_factory.mktemp('ee')
    _run(str(BIN / 'ansible-galaxy'), 'collection', 'build', '--output-path', str(work / '.cache' / 'build'), str(REPO),
         cwd=REPO)
    shutil.copy(REPO / 'execution-environment.yml', work)
    _run(str(BIN / 'ansible-builder'), 'create', '--file', 'execution-environment.yml', '--context', 'context',
         '--output-filename', 'Containerfile', cwd=work)
    return work / 'context'


def test_definition_names_the_current_tarball() -> None:
    assert EE['version'] == 3
    assert [c['name'] for c in EE['dependencies']['galaxy']['collections']] == ['collections/' + TARBALL]
    assert [f['src'] for f in EE['additional_build_files']] == ['.cache/build/' + TARBALL]
    assert EE['options']['tags'] == ['cachewarden-ee:%s' % GALAXY['version']]


def test_context_is_complete(context: Path) -> None:
    containerfile = (context / 'Containerfile').read_text(encoding='utf-8')
    assert 'FROM $EE_BASE_IMAGE AS base' in containerfile
    assert EE['images']['base_image']['name'] in containerfile
    # The galaxy stage installs the context's requirements.yml; the builder stage introspects the result.
    assert 'ansible-galaxy collection install' in containerfile and '-r requirements.yml' in containerfile
    assert 'introspect' in containerfile
    requirements = yaml.safe_load((context / '_build' / 'requirements.yml').read_text(encoding='utf-8'))
    assert requirements == {'collections': [{'name': 'collections/' + TARBALL, 'type': 'file'}]}
    assert 'openssh-clients' in (context / '_build' / 'bindep.txt').read_text(encoding='utf-8')
    with tarfile.open(context / '_build' / 'collections' / TARBALL) as tarball:
        names = set(tarball.getnames())
    assert {'MANIFEST.json', 'meta/execution-environment.yml', 'requirements.txt', 'playbooks/enforce.yml',
            'playbooks/report.yml', 'playbooks/awx_configure.yml', 'roles/cache_policy/meta/argument_specs.yml'} <= names
    assert 'execution-environment.yml' not in names  # the definition builds from .cache/build, not from Galaxy


def test_galaxy_stage_and_introspection_find_the_requirements(context: Path, tmp_path: Path) -> None:
    """What the image build does with the context, minus the registry: install, then introspect."""
    _run(str(BIN / 'ansible-galaxy'), 'collection', 'install', '--offline', '--force', '-r', 'requirements.yml',
         '-p', str(tmp_path), cwd=context / '_build')
    installed = tmp_path / 'ansible_collections' / GALAXY['namespace'] / GALAXY['name']
    assert (installed / 'meta' / 'execution-environment.yml').is_file()
    report = yaml.safe_load(_run(str(BIN / 'ansible-builder'), 'introspect', '--sanitize', str(tmp_path), cwd=tmp_path)
                            .split('\n', 1)[1])
    wanted = [line.strip() for line in (REPO / 'requirements.txt').read_text(encoding='utf-8').splitlines()
              if line.strip() and not line.startswith('#')]
    assert any(req.startswith('docker') for req in wanted)
    assert [line.split('#')[0].strip() for line in report['python']] == wanted
    assert all(line.endswith('# from collection cachewarden.docker') for line in report['python'])
