# -*- coding: utf-8 -*-
# Copyright: cachewarden contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fleet report data -> what the Markdown and HTML templates show: human sizes, table rows, chart geometry.

Chart geometry is in fractions of the plot width (0..1) on an axis with round ticks; the templates only
turn fractions into pixels. Rows keep the order of the report (largest host first, failed hosts last).
"""

from __future__ import annotations

import math
from typing import Any, Dict, List, Mapping, Optional

from ansible_collections.cachewarden.docker.plugins.plugin_utils.report_data import TYPES, readable

TYPE_LABELS = {'images': 'Images', 'containers': 'Containers', 'volumes': 'Volumes', 'build_cache': 'Build cache'}
_STEPS = (1.0, 2.0, 2.5, 5.0, 10.0)
TICKS = 4


def axis(max_value: float) -> Dict[str, Any]:
    """A byte axis from 0 to a round value at or above ``max_value``, with at most TICKS steps."""
    if max_value <= 0:
        return {'max_bytes': 0, 'ticks': [{'at': 0.0, 'label': readable(0)}]}
    raw = max_value / TICKS
    power = 10 ** math.floor(math.log10(raw))
    step = next(power * factor for factor in _STEPS if power * factor >= raw * (1 - 1e-9))
    count = max(int(math.ceil(max_value / step - 1e-9)), 1)
    top = step * count
    return {'max_bytes': top,
            'ticks': [{'at': round(index / count, 4), 'label': readable(step * index)} for index in range(count + 1)]}


def _fraction(value: Optional[float], top: float) -> float:
    return round(min(max(float(value or 0) / top, 0.0), 1.0), 4) if top > 0 else 0.0


def _bar(lane: int, start: float, size: float, top: float, css: str, title: str) -> Dict[str, Any]:
    return {'lane': lane, 'start': _fraction(start, top), 'width': _fraction(size, top), 'css': css, 'title': title}


def _usage_chart(hosts: List[Mapping[str, Any]]) -> Dict[str, Any]:
    """Cache and other usage per host, stacked by type, with each host's budget as a marker.

    A budget far above every host's usage would squash the bars: the axis takes in budgets up to twice
    the largest usage; the others are only named next to the bar.
    """
    largest = max([host['size_bytes'] for host in hosts] + [0])
    scale = axis(max([largest] + [host['budget']['limit_bytes'] or 0 for host in hosts
                                  if (host['budget']['limit_bytes'] or 0) <= 2 * largest]))
    rows = []
    for host in hosts:
        bars, start = [], 0
        for kind in TYPES:
            size = host['usage'][kind]['size_bytes']
            bars.append(_bar(0, start, size, scale['max_bytes'], 't-' + kind,
                             '%s %s: %s' % (host['name'], TYPE_LABELS[kind], readable(size))))
            start += size
        limit = host['budget']['limit_bytes']
        shown = limit is not None and limit <= scale['max_bytes']
        rows.append({'label': host['name'], 'over': host['budget']['over'], 'bars': bars,
                     'value': readable(host['size_bytes']) + ('' if limit is None else ' (budget %s)' % readable(limit)),
                     'marker': _fraction(limit, scale['max_bytes']) if shown else None,
                     'marker_title': 'budget %s' % readable(limit) if shown else None})
    legend = [{'css': 't-' + kind, 'label': TYPE_LABELS[kind]} for kind in TYPES]
    if any(row['marker'] is not None for row in rows):
        legend.append({'css': 'marker', 'label': 'Budget'})
    return {'id': 'usage-by-host', 'kind': 'usage', 'title': 'Usage per host, by type', 'lanes': 1,
            'axis': scale, 'rows': rows, 'x_label': 'Size on disk (decimal units)', 'y_label': 'Host',
            'legend': legend}


def _type_chart(kind: str, hosts: List[Mapping[str, Any]]) -> Dict[str, Any]:
    """One type across hosts: the whole bar is the size, its striped end the reclaimable part."""
    scale = axis(max([host['usage'][kind]['size_bytes'] for host in hosts] + [0]))
    rows = []
    for host in hosts:
        size = host['usage'][kind]['size_bytes']
        reclaimable = min(host['usage'][kind]['reclaimable_bytes'], size)
        rows.append({'label': host['name'], 'over': host['budget']['over'], 'marker': None, 'marker_title': None,
                     'value': '%s (%s reclaimable)' % (readable(size), readable(reclaimable)),
                     'bars': [_bar(0, 0, size - reclaimable, scale['max_bytes'], 't-' + kind,
                                   '%s %s in use: %s' % (host['name'], TYPE_LABELS[kind], readable(size - reclaimable))),
                              _bar(0, size - reclaimable, reclaimable, scale['max_bytes'], 't-%s reclaimable' % kind,
                                   '%s %s reclaimable: %s' % (host['name'], TYPE_LABELS[kind], readable(reclaimable)))]})
    return {'id': 'type-' + kind.replace('_', '-'), 'kind': 'type', 'type': kind, 'title': TYPE_LABELS[kind],
            'lanes': 1, 'axis': scale, 'rows': rows, 'x_label': 'Size (decimal units)', 'y_label': 'Host',
            'legend': [{'css': 't-' + kind, 'label': 'Kept'}, {'css': 't-%s reclaimable' % kind,
                                                               'label': 'Reclaimable'}]}


def _before_after_chart(hosts: List[Mapping[str, Any]]) -> Optional[Dict[str, Any]]:
    """Usage before and after the last enforce run, for hosts whose run recorded both."""
    compared = [host for host in hosts if host['enforce'] and host['enforce']['before'] and host['enforce']['after']]
    if not compared:
        return None
    scale = axis(max(max(host['enforce']['before_bytes'], host['enforce']['after_bytes']) for host in compared))
    rows = []
    for host in compared:
        run = host['enforce']
        rows.append({'label': host['name'], 'over': host['budget']['over'], 'marker': None, 'marker_title': None,
                     'value': '%s \u2192 %s' % (readable(run['before_bytes']), readable(run['after_bytes'])),
                     'bars': [_bar(0, 0, run['before_bytes'], scale['max_bytes'], 'before',
                                   '%s before: %s' % (host['name'], readable(run['before_bytes']))),
                              _bar(1, 0, run['after_bytes'], scale['max_bytes'], 'after',
                                   '%s after: %s' % (host['name'], readable(run['after_bytes'])))]})
    return {'id': 'before-after', 'kind': 'before_after', 'title': 'Before and after the last enforce run',
            'lanes': 2, 'axis': scale, 'rows': rows, 'x_label': 'Size on disk (decimal units)', 'y_label': 'Host',
            'legend': [{'css': 'before', 'label': 'Before'}, {'css': 'after', 'label': 'After'}]}


def _budget_text(host: Mapping[str, Any]) -> str:
    budget = host['budget']
    parts = []
    if budget['limit_bytes'] is not None:
        parts.append(readable(budget['limit_bytes']))
    if budget['high_watermark_percent'] is not None:
        parts.append('disk %g%%' % budget['high_watermark_percent'])
    text = ', '.join(parts) or '\u2013'
    return ('OVER ' + text) if budget['over'] else text


def _enforce_text(run: Optional[Mapping[str, Any]]) -> str:
    if not run:
        return '\u2013'
    if run['failed']:
        return 'failed: %s' % '; '.join(run['errors'] or ['unknown error'])
    if run['check_mode']:
        if not run['planned']:
            return 'check: nothing to remove'
        return 'check: %d items, %s' % (run['planned'], readable(run['predicted_bytes']))
    if not run['removed']:
        return 'nothing removed'
    return 'removed %d, freed %s' % (run['removed'], readable(run['reclaimed_bytes']))


def _row(host: Mapping[str, Any]) -> Dict[str, Any]:
    filesystem = host['filesystem']
    return {
        'name': host['name'],
        'status': host['status'],
        'over': host['budget']['over'],
        'error': host['error'],
        'engine': host['engine_version'] or '\u2013',
        'store': host['image_store'] or '\u2013',
        'disk': '\u2013' if not filesystem or filesystem['used_percent'] is None
        else '%.1f%%' % filesystem['used_percent'],
        'types': {kind: readable(host['usage'][kind]['size_bytes']) for kind in TYPES},
        'reclaimable_types': {kind: readable(host['usage'][kind]['reclaimable_bytes']) for kind in TYPES},
        'total': readable(host['size_bytes']),
        'reclaimable': readable(host['reclaimable_bytes']),
        'cache': readable(host['cache_bytes']),
        'budget': _budget_text(host),
        'enforce': _enforce_text(host['enforce']),
        'advice': list(host['advice']),
    }


def _cards(totals: Mapping[str, Any]) -> List[Dict[str, Any]]:
    cards = [
        {'label': 'Hosts', 'value': str(totals['hosts']),
         'note': '%d failed' % totals['hosts_failed'] if totals['hosts_failed'] else 'all answered',
         'alert': totals['hosts_failed'] > 0},
        {'label': 'Docker usage', 'value': readable(totals['size_bytes']),
         'note': 'images and build cache: %s' % readable(totals['cache_bytes']), 'alert': False},
        {'label': 'Reclaimable', 'value': readable(totals['reclaimable_bytes']),
         'note': 'what docker system df calls reclaimable', 'alert': False},
        {'label': 'Over budget', 'value': str(totals['hosts_over_budget']),
         'note': 'of %d hosts' % totals['hosts'], 'alert': totals['hosts_over_budget'] > 0},
    ]
    run = totals['enforce']
    if run:
        if run['check_mode']:
            cards.append({'label': 'Last enforce (check)', 'value': readable(run['predicted_bytes']),
                          'note': 'would be freed on %d hosts' % run['hosts'], 'alert': run['failed'] > 0})
        else:
            cards.append({'label': 'Last enforce', 'value': readable(run['reclaimed_bytes']),
                          'note': 'freed, %d items removed on %d hosts' % (run['removed'], run['changed']),
                          'alert': run['failed'] > 0})
    return cards


def report_view(report: Mapping[str, Any]) -> Dict[str, Any]:
    """Everything the templates print, already formatted; charts only for hosts with facts."""
    hosts = [host for host in report['hosts'] if host['status'] == 'ok']
    charts = []
    if hosts:
        charts.append(_usage_chart(hosts))
        charts.extend(_type_chart(kind, hosts) for kind in TYPES)
        before_after = _before_after_chart(hosts)
        if before_after:
            charts.append(before_after)
    totals = report['totals']
    return {
        'title': report['title'],
        'generated_at': report['generated_at'] or '',
        'cards': _cards(totals),
        'type_labels': [{'key': kind, 'label': TYPE_LABELS[kind]} for kind in TYPES],
        'totals_by_type': [{'label': TYPE_LABELS[kind], 'size': readable(totals['by_type'][kind]['size_bytes']),
                            'reclaimable': readable(totals['by_type'][kind]['reclaimable_bytes'])} for kind in TYPES],
        'total': readable(totals['size_bytes']),
        'reclaimable': readable(totals['reclaimable_bytes']),
        'charts': charts,
        'rows': [_row(host) for host in report['hosts']],
        'over_budget': [_row(host) for host in report['hosts'] if host['budget']['over']],
        'failed': [{'name': host['name'], 'error': host['error']} for host in report['hosts']
                   if host['status'] != 'ok'],
    }
