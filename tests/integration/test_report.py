# -*- coding: utf-8 -*-
# Copyright: cachewarden contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""cachewarden.docker.report over the sandbox fleet (SSH), read back, and the HTML page in headless Chromium.

One run for the module: `gather` fills a jsonfile fact cache, then the report reads h1-h4 from that cache
(its facts task is skipped for them) and fails to reach `ghost` (a port nobody listens on). Inventory
vars give h2 a budget of 1 MB (its cache is tens of MB), every other host 10 GB. The page is opened by
Chromium with every network request sent to a dead proxy and no name resolution: it must need none.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, Dict, List, Tuple

import pytest
from ansible_cli import run_playbook
from PIL import Image

from ansible_collections.cachewarden.docker.plugins.plugin_utils.report_data import TYPES, readable

SANDBOX = ('h1', 'h2', 'h3', 'h4')
EXTRA_INVENTORY = """\
[sandbox:vars]
fleet_report_budget=10GB

[sandbox]
h2 fleet_report_budget=1MB

[elsewhere]
ghost ansible_host=127.0.0.1 ansible_port=1 ansible_user=root ansible_ssh_common_args='-o ConnectTimeout=5'
"""
OKABE_ITO_BLUE = (0x00, 0x72, 0xb2)  # the images colour of the charts


def cached_facts(cache: Path, host: str) -> Dict[str, Any]:
    """A host's entry of the jsonfile fact cache (ansible-core 2.19 names it s1_HOST and wraps it)."""
    path = next(path for path in (cache / ('s1_' + host), cache / host) if path.exists())
    data = json.loads(path.read_text(encoding='utf-8'))
    return json.loads(data['__payload__']) if '__payload__' in data else data


@pytest.fixture(scope='module', name='report')
def report_fixture(inventory: str, tmp_path_factory: pytest.TempPathFactory) -> Dict[str, Any]:
    """Gather into a fact cache, then write the report from it; the files and what the runs printed."""
    root = tmp_path_factory.mktemp('report')
    (root / 'budgets.ini').write_text(EXTRA_INVENTORY, encoding='utf-8')
    cache = {'ANSIBLE_CACHE_PLUGIN': 'ansible.builtin.jsonfile', 'ANSIBLE_CACHE_PLUGIN_CONNECTION': str(root / 'facts'),
             'ANSIBLE_CACHE_PLUGIN_PREFIX': ''}
    gathered = run_playbook('cachewarden.docker.gather', [inventory], env=cache)
    assert gathered.returncode == 0, gathered.stdout + gathered.stderr
    written = run_playbook('cachewarden.docker.report', [inventory, str(root / 'budgets.ini')], env=cache,
                           extra_vars={'fleet_report_dir': str(root / 'out')})
    assert written.returncode == 0, written.stdout + written.stderr
    facts = {host: cached_facts(root / 'facts', host)['docker_cache'] for host in SANDBOX}
    return {'dir': root / 'out', 'root': root, 'facts': facts, 'output': written.stdout,
            'json': json.loads((root / 'out' / 'report.json').read_text(encoding='utf-8'))}


def test_facts_come_from_the_fact_cache_and_the_unreachable_host_is_reported(report: Dict[str, Any]) -> None:
    """The report's own facts task ran only for the host the cache did not hold, and that host failed."""
    task = report['output'].split('Read the Docker cache facts]', 1)[1].split('TASK [', 1)[0]
    assert sorted(line.split('[')[1].split(']')[0] for line in task.splitlines()
                  if line.startswith('skipping:')) == list(SANDBOX)
    ghost = report['json']['hosts'][-1]
    assert ghost['name'] == 'ghost' and ghost['status'] == 'failed'
    assert 'port 1' in ghost['error'] or 'refused' in ghost['error'], ghost['error']
    assert report['json']['totals']['hosts'] == 5 and report['json']['totals']['hosts_failed'] == 1


def test_json_matches_the_facts(report: Dict[str, Any]) -> None:
    """Per host and type the df numbers of the facts; totals add up; largest host first."""
    hosts = {host['name']: host for host in report['json']['hosts']}
    for name in SANDBOX:
        facts, host = report['facts'][name], hosts[name]
        assert host['status'] == 'ok' and host['error'] is None
        assert host['usage'] == {kind: facts['disk_usage'][kind] for kind in TYPES}
        assert host['cache_bytes'] == facts['cache_bytes'] > 0
        assert host['reclaimable_bytes'] == facts['reclaimable_bytes']
        assert host['engine_version'] == facts['engine']['version']
        assert host['image_store'] == facts['engine']['image_store']
        assert host['filesystem']['used_percent'] == facts['filesystem']['used_percent']
        assert host['enforce'] is None
    sizes = [host['size_bytes'] for host in report['json']['hosts'][:4]]
    assert sizes == sorted(sizes, reverse=True)
    totals = report['json']['totals']
    assert totals['size_bytes'] == sum(hosts[name]['size_bytes'] for name in SANDBOX)
    for kind in TYPES:
        assert totals['by_type'][kind]['size_bytes'] == sum(report['facts'][name]['disk_usage'][kind]['size_bytes']
                                                            for name in SANDBOX)


def test_budget_from_inventory_puts_only_h2_over(report: Dict[str, Any]) -> None:
    """The host var beats the group var; advice is given for the host over budget only."""
    budgets = {host['name']: host['budget'] for host in report['json']['hosts']}
    assert budgets['h2']['over'] and budgets['h2']['limit_bytes'] == 1000 ** 2
    assert budgets['h2']['limit_source'] == 'fleet_report_budget'
    assert all(not budgets[name]['over'] and budgets[name]['limit_bytes'] == 10 * 1000 ** 3
               for name in ('h1', 'h3', 'h4'))
    assert report['json']['totals']['hosts_over_budget'] == 1
    assert [host['name'] for host in report['json']['hosts'] if host['advice']] == ['h2']


def test_markdown_has_one_row_per_host(report: Dict[str, Any]) -> None:
    """The table lists every host once, in report order, with the sizes of the facts."""
    lines = (report['dir'] / 'report.md').read_text(encoding='utf-8').splitlines()
    rows = [line for line in lines if line.startswith('| ') and not line.startswith(('| Host ', '| **Fleet**'))]
    assert [row.split(' | ')[0].lstrip('| ').split(' ')[0] for row in rows] == \
        [host['name'] for host in report['json']['hosts']]
    by_name = {row.split(' | ')[0].lstrip('| ').split(' ')[0]: row for row in rows}
    assert '**over budget**' in by_name['h2'] and '(no facts)' in by_name['ghost']
    for name in SANDBOX:
        cells = [cell.strip() for cell in by_name[name].strip('|').split('|')]
        usage = report['facts'][name]['disk_usage']
        assert cells[4:8] == [readable(usage[kind]['size_bytes']) for kind in TYPES]


class _Dom(HTMLParser):
    """Start tags with their attributes, as Chromium serialized the rendered page."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: List[Tuple[str, Dict[str, str]]] = []

    def handle_starttag(self, tag: str, attrs: List[Tuple[str, Any]]) -> None:
        self.tags.append((tag, {key: value or '' for key, value in attrs}))


def test_html_renders_offline_in_chromium(report: Dict[str, Any]) -> None:
    """A screenshot with real chart pixels, and the DOM holds the charts, host rows and the over-budget mark."""
    browser = shutil.which('chromium')
    assert browser, 'chromium is missing: .ci/system-packages.sh installs it'
    png = report['root'] / 'report.png'
    completed = subprocess.run(
        [browser, '--headless', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run',
         '--disable-extensions', '--disable-background-networking', '--disable-component-update',
         '--proxy-server=127.0.0.1:9', '--host-resolver-rules=MAP * ~NOTFOUND',
         '--user-data-dir=%s' % (report['root'] / 'chromium'), '--hide-scrollbars', '--window-size=1200,1800',
         '--screenshot=%s' % png, '--dump-dom', (report['dir'] / 'report.html').as_uri()],
        capture_output=True, text=True, timeout=300, check=False)
    assert completed.returncode == 0, completed.stderr
    with Image.open(png) as image:
        assert image.size == (1200, 1800)
        pixels = image.convert('RGB')
        colours = pixels.getcolors(maxcolors=1 << 20)
    assert colours, 'no pixels'
    counts = {colour: count for count, colour in colours}
    white = counts.get((255, 255, 255), 0)
    assert len(counts) > 50 and white < 0.97 * sum(counts.values()), 'the screenshot is blank'
    assert counts.get(OKABE_ITO_BLUE, 0) > 200, 'no image bars in the charts'

    dom = _Dom()
    dom.feed(completed.stdout)
    charts = [attrs['id'] for tag, attrs in dom.tags if tag == 'svg']
    assert charts == ['chart-usage-by-host'] + ['chart-type-%s' % kind.replace('_', '-') for kind in TYPES]
    rows = [(attrs['data-host'], attrs['class'].split()) for tag, attrs in dom.tags
            if tag == 'tr' and 'host-row' in attrs.get('class', '')]
    assert [row[0] for row in rows] == [host['name'] for host in report['json']['hosts']]
    assert [name for name, classes in rows if 'over-budget' in classes] == ['h2']
    assert [name for name, classes in rows if 'failed' in classes] == ['ghost']
    # Every chart has a bar row per host with facts, h2's marked over budget.
    bar_rows = [(attrs['data-host'], attrs['class']) for tag, attrs in dom.tags if tag == 'g' and 'bar-row' in
                attrs.get('class', '')]
    assert len(bar_rows) == len(charts) * 4
    assert {name for name, css in bar_rows if 'over' in css.split()} == {'h2'}
    assert [attrs['data-host'] for tag, attrs in dom.tags if tag == 'div' and 'advice' in attrs.get('class', '')] == \
        ['h2']
