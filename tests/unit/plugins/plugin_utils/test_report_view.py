# -*- coding: utf-8 -*-
# Copyright: cachewarden contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fleet report view (axes, bars, rows) and the role's templates rendered from it."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import jinja2
import pytest
from report_inputs import GB, MB, facts, run, usage

from ansible_collections.cachewarden.docker.plugins.plugin_utils.report_data import fleet_report
from ansible_collections.cachewarden.docker.plugins.plugin_utils.report_view import axis, report_view

TEMPLATES = Path(__file__).resolve().parents[4] / 'roles' / 'fleet_report' / 'templates'


def _report():
    return fleet_report({'big': {'facts': facts(images=3 * GB, images_reclaimable=GB, build_cache=GB,
                                                build_cache_reclaimable=GB), 'budget': '2GB'},
                         'small': {'facts': facts(images=500 * MB, containers=2 * MB, volumes=3 * MB)},
                         'down': {'facts': None, 'error': 'unreachable | ssh'}},
                        enforce={'big': run(reclaimed=GB, removed=3, before=usage(4 * GB, 2 * GB),
                                            after=usage(3 * GB, GB))},
                        generated_at='2026-11-29T03:00:00Z')


@pytest.mark.parametrize('top, max_bytes, labels', [
    (0, 0, ['0 B']),
    (3.6 * GB, 4 * GB, ['0 B', '1 GB', '2 GB', '3 GB', '4 GB']),
    (900 * MB, 1 * GB, ['0 B', '250 MB', '500 MB', '750 MB', '1 GB']),
    (1 * GB, 1 * GB, ['0 B', '250 MB', '500 MB', '750 MB', '1 GB']),
    (123, 150, ['0 B', '50 B', '100 B', '150 B']),
])
def test_axis_ends_on_a_round_value_with_round_ticks(top, max_bytes, labels):
    scale = axis(top)
    assert scale['max_bytes'] == pytest.approx(max_bytes)
    assert [tick['label'] for tick in scale['ticks']] == labels
    assert scale['ticks'][-1]['at'] in (0.0, 1.0)


def test_charts_one_per_type_plus_usage_and_before_after():
    view = report_view(_report())
    assert [chart['id'] for chart in view['charts']] == ['usage-by-host', 'type-images', 'type-containers',
                                                         'type-volumes', 'type-build-cache', 'before-after']
    for chart in view['charts']:
        # The failed host has no bars; every segment stays inside the plot.
        assert [row['label'] for row in chart['rows']] in (['big', 'small'], ['big'])
        for row in chart['rows']:
            for segment in row['bars']:
                assert 0 <= segment['start'] and segment['start'] + segment['width'] <= 1.0001


def test_usage_bars_stack_by_type_and_the_budget_marker_sits_at_the_limit():
    chart = report_view(_report())['charts'][0]
    big = chart['rows'][0]
    assert chart['axis']['max_bytes'] == 4 * GB
    assert [(segment['css'], segment['start'], segment['width']) for segment in big['bars']] == [
        ('t-images', 0.0, 0.75), ('t-containers', 0.75, 0.0), ('t-volumes', 0.75, 0.0), ('t-build_cache', 0.75, 0.25)]
    assert big['marker'] == 0.5 and big['over'] and big['marker_title'] == 'budget 2 GB'
    assert chart['rows'][1]['marker'] is None and not chart['rows'][1]['over']
    assert big['value'] == '4 GB (budget 2 GB)' and chart['rows'][1]['value'] == '505 MB'
    assert chart['legend'][-1] == {'css': 'marker', 'label': 'Budget'}
    without = report_view(fleet_report({'a': {'facts': facts(images=GB)}}))['charts'][0]
    assert [item['label'] for item in without['legend']] == ['Images', 'Containers', 'Volumes', 'Build cache']


def test_a_budget_far_above_the_usage_does_not_squash_the_bars():
    report = fleet_report({'a': {'facts': facts(images=GB), 'budget': '100GB'},
                           'b': {'facts': facts(images=GB), 'budget': '1.5GB'}})
    chart = report_view(report)['charts'][0]
    assert chart['axis']['max_bytes'] == 1.5 * GB
    assert [(row['marker'], row['value']) for row in chart['rows']] == [
        (None, '1 GB (budget 100 GB)'), (1.0, '1 GB (budget 1.5 GB)')]


def test_type_bars_end_with_the_reclaimable_part():
    images = report_view(_report())['charts'][1]
    big = images['rows'][0]
    assert [(segment['css'], segment['start'], segment['width']) for segment in big['bars']] == [
        ('t-images', 0.0, 0.6667), ('t-images reclaimable', 0.6667, 0.3333)]
    assert big['value'] == '3 GB (1 GB reclaimable)'


def test_before_after_has_two_lanes_per_host():
    chart = report_view(_report())['charts'][-1]
    assert chart['lanes'] == 2
    assert [(segment['lane'], segment['css'], segment['width']) for segment in chart['rows'][0]['bars']] == [
        (0, 'before', 1.0), (1, 'after', 0.6667)]
    assert chart['rows'][0]['value'] == '6 GB \u2192 4 GB'


def test_rows_cards_and_lists_are_formatted_for_people():
    view = report_view(_report())
    assert [row['name'] for row in view['rows']] == ['big', 'small', 'down']
    big = view['rows'][0]
    assert big['total'] == '4 GB' and big['reclaimable'] == '2 GB' and big['budget'] == 'OVER 2 GB'
    assert big['enforce'] == 'removed 3, freed 1 GB' and big['disk'] == '40.0%'
    assert [row['name'] for row in view['over_budget']] == ['big']
    assert view['failed'] == [{'name': 'down', 'error': 'unreachable | ssh'}]
    cards = {card['label']: card for card in view['cards']}
    assert cards['Over budget']['value'] == '1' and cards['Over budget']['alert']
    assert cards['Hosts']['note'] == '1 failed' and cards['Last enforce']['value'] == '1 GB'


@pytest.mark.parametrize('entry, text', [
    (run(check_mode=True), 'check: nothing to remove'),
    (run(check_mode=True, reclaimed=5 * MB, removed=2), 'check: 2 items, 5 MB'),
    (run(), 'nothing removed'),
    (run(failed=True), 'failed: engine went away'),
])
def test_last_enforce_column_says_what_the_run_did(entry, text):
    view = report_view(fleet_report({'a': {'facts': facts()}}, enforce={'a': entry}))
    assert view['rows'][0]['enforce'] == text


def test_an_empty_fleet_has_no_charts():
    view = report_view(fleet_report({}))
    assert view['charts'] == [] and view['rows'] == [] and view['cards'][0]['value'] == '0'


def _render(name, view):
    environment = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)), trim_blocks=True,
                                     undefined=jinja2.StrictUndefined)
    return environment.get_template(name).render(view=view)


class _Elements(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def test_html_page_is_self_contained_and_has_the_charts_and_rows():
    page = _render('report.html.j2', report_view(_report()))
    parser = _Elements()
    parser.feed(page)
    # Nothing fetched: no script, no link, no src, no url() but the inline patterns; xmlns is a name.
    assert not [tag for tag, attrs in parser.tags if tag in ('script', 'link', 'img', 'iframe') or 'src' in attrs]
    assert re.findall(r'https?://[^"\s]*', page) == ['http://www.w3.org/2000/svg'] * 6
    stripes = ['#stripes-type-images', '#stripes-type-containers', '#stripes-type-build-cache']
    assert re.findall(r'url\(([^)]*)\)', page) == stripes
    charts = [attrs['id'] for tag, attrs in parser.tags if tag == 'svg']
    assert charts == ['chart-usage-by-host', 'chart-type-images', 'chart-type-containers', 'chart-type-volumes',
                      'chart-type-build-cache', 'chart-before-after']
    rows = [(attrs['data-host'], attrs['class']) for tag, attrs in parser.tags
            if tag == 'tr' and 'host-row' in attrs.get('class', '')]
    assert rows == [('big', 'host-row over-budget'), ('small', 'host-row'), ('down', 'host-row failed')]


def test_markdown_table_has_one_row_per_host_and_escapes_pipes():
    text = _render('report.md.j2', report_view(_report()))
    lines = [line for line in text.splitlines() if line.startswith('| ')]
    assert lines[0].startswith('| Host | Engine | Store | Disk used | Images | Containers | Volumes | Build cache |')
    first_cells = ['| big **over budget**', '| small', '| down (no facts)', '| **Fleet**']
    assert [line.split(' | ')[0] for line in lines[1:]] == first_cells
    assert 'unreachable \\| ssh' in text.split('## Hosts without facts')[1]
    assert '| 3 GB | 0 B | 0 B | 1 GB | 4 GB | 2 GB | OVER 2 GB | removed 3, freed 1 GB |' in lines[1]
    assert '## Over budget' in text and 'cover the 2 GB over budget' in text
