# -*- coding: utf-8 -*-
# Copyright: cachewarden contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Facts + last enforce run + budgets -> the fleet report data (the JSON report, stable keys).

Pure: the report playbook gathers the inputs, this module only shapes them. The budget of a host is
the smaller of the report's budget and the host's policy ``max_cache_size``, measured on the cache
(images + build cache, as docker_cache_prune counts it); the host's high watermark, when set, is
checked against the Docker filesystem.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Mapping, Optional

from ansible_collections.cachewarden.docker.plugins.module_utils.units import (
    UnitError, human_size, parse_percent, parse_size)

SCHEMA_VERSION = 1
TYPES = ('images', 'containers', 'volumes', 'build_cache')
CACHE_TYPES = ('images', 'build_cache')
# The role variable that lets each type's reclaimable bytes go, for the "what to do" hints.
_TYPE_KNOB = {
    'images': 'cache_policy_images: unused',
    'containers': 'cache_policy_containers: true',
    'volumes': 'cache_policy_volumes: anonymous (volumes hold data: check them first)',
    'build_cache': 'cache_policy_build_cache: unused (or cache_policy_build_cache_reserve)',
}
_TYPE_NAME = {'images': 'images', 'containers': 'stopped containers', 'volumes': 'unused volumes',
              'build_cache': 'build cache'}


def readable(size: Optional[float]) -> str:
    """Bytes for people: three significant digits and a space (``1.23 GB``); an en dash for unknown."""
    return '\u2013' if size is None else human_size(size, digits=3, sep=' ')


class ReportError(ValueError):
    """An input the report cannot use; the message names the option, the host and the value."""


def _option(value: Any, parse: Callable[[Any], Any], option: str, host: str) -> Any:
    """``parse(value)``, None when unset; a bad value names the option, the host and the value."""
    if value is None or value == '':
        return None
    try:
        return parse(value)
    except UnitError as exc:
        raise ReportError('%s=%r (host %s): %s' % (option, value, host, exc)) from None


def _usage(facts: Mapping[str, Any]) -> Dict[str, Dict[str, int]]:
    disk_usage = facts.get('disk_usage') or {}
    usage = {}
    for kind in TYPES:
        row = disk_usage.get(kind) or {}
        usage[kind] = {key: int(row.get(key) or 0) for key in ('total', 'active', 'size_bytes', 'reclaimable_bytes')}
    return usage


def _budget(name: str, entry: Mapping[str, Any], usage: Mapping[str, Mapping[str, int]],
            filesystem: Optional[Mapping[str, Any]]) -> Dict[str, Any]:
    """Limits of one host and whether its cache (or disk) is over them."""
    limits = []
    report_limit = _option(entry.get('budget'), parse_size, 'fleet_report_budget', name)
    policy_limit = _option(entry.get('max_cache_size'), parse_size, 'cache_policy_max_cache_size', name)
    if report_limit is not None:
        limits.append((report_limit, 'fleet_report_budget'))
    if policy_limit is not None:
        limits.append((policy_limit, 'cache_policy_max_cache_size'))
    watermark = _option(entry.get('high_watermark_percent'), parse_percent, 'high_watermark_percent', name)
    cache = sum(usage[kind]['size_bytes'] for kind in CACHE_TYPES)
    limit, source = min(limits) if limits else (None, None)
    used_percent = filesystem.get('used_percent') if filesystem else None
    over_size = limit is not None and cache > limit
    over_disk = watermark is not None and used_percent is not None and float(used_percent) > watermark
    return {
        'limit_bytes': limit,
        'limit_source': source,
        'high_watermark_percent': watermark,
        'over_size': over_size,
        'over_watermark': over_disk,
        'over': over_size or over_disk,
        'excess_bytes': max(cache - limit, 0) if limit is not None else 0,
    }


def _kept_hint(enforce: Optional[Mapping[str, Any]]) -> Optional[str]:
    """After a real enforce run, the policy rules that keep bytes (largest first), or None."""
    if not enforce or enforce['check_mode'] or enforce['failed']:
        return None
    kept = sorted(((rule, row) for rule, row in (enforce.get('kept_by_rule') or {}).items() if row.get('bytes')),
                  key=lambda pair: (-pair[1]['bytes'], pair[0]))
    if not kept:
        return None
    return ('The last enforce removed all the policy allows; its own rules keep the rest: %s. Running enforce '
            'again would remove nothing more: relax those rules or raise the budget.'
            % ', '.join('%s keeps %s (%s)' % (rule, readable(row['bytes']), _objects(row['count'])) for rule, row in kept[:4]))


def _objects(count: int) -> str:
    """'1 object', '2 objects'."""
    return '1 object' if count == 1 else '%d objects' % count


def _advice(usage: Mapping[str, Mapping[str, int]], budget: Mapping[str, Any],
            used_percent: Optional[float], enforce: Optional[Mapping[str, Any]] = None) -> List[str]:
    """Short "what to do" lines for a host over budget; empty when it is within budget."""
    if not budget['over']:
        return []
    hints = []
    kept = _kept_hint(enforce)
    kept_bytes = sum(row.get('bytes', 0) for row in ((enforce or {}).get('kept_by_rule') or {}).values())
    if kept and budget['over_size'] and kept_bytes < budget['excess_bytes']:
        kept += (' They hold %s of the %s over budget; the rest is in what the policy does not target.'
                 % (readable(kept_bytes), readable(budget['excess_bytes'])))
    by_reclaimable = sorted(TYPES, key=lambda kind: (-usage[kind]['reclaimable_bytes'], TYPES.index(kind)))
    cache_reclaimable = sum(usage[kind]['reclaimable_bytes'] for kind in CACHE_TYPES)
    if kept:
        hints.append(kept)
    elif budget['over_size']:
        excess = budget['excess_bytes']
        if cache_reclaimable >= excess:
            hints.append('Reclaimable images and build cache (%s) cover the %s over budget: run '
                         'cachewarden.docker.enforce with --check to see the plan, then without.'
                         % (readable(cache_reclaimable), readable(excess)))
        else:
            hints.append('Only %s of the %s over budget is reclaimable: images that containers use hold '
                         'the rest; remove unused containers or raise the budget.'
                         % (readable(cache_reclaimable), readable(excess)))
    if budget['over_watermark']:
        hints.append('The Docker filesystem is %.1f%% full, over the %.1f%% high watermark: enforce removes '
                     'least recently used images until the low watermark.'
                     % (used_percent, budget['high_watermark_percent']))
    top = by_reclaimable[0]
    if usage[top]['reclaimable_bytes'] > 0:
        hints.append('Most reclaimable: %s (%s); the policy knob: %s.'
                     % (_TYPE_NAME[top], readable(usage[top]['reclaimable_bytes']), _TYPE_KNOB[top]))
    return hints


def _enforce(result: Optional[Mapping[str, Any]]) -> Optional[Dict[str, Any]]:
    """The host's last enforce run (the role's report file or its set_stats entry), normalized."""
    if not result:
        return None
    before = result.get('usage_before') or {}
    after = result.get('usage_after') or {}
    # Only types measured on both sides compare (the role leaves out sizes that were not walked).
    measured = [kind for kind in TYPES if kind in before and kind in after]

    def sizes(usage: Mapping[str, Any]) -> Optional[Dict[str, Optional[int]]]:
        if not usage or not measured:
            return None
        return {kind: int((usage.get(kind) or {}).get('size_bytes') or 0) if kind in measured else None
                for kind in TYPES}

    before_sizes, after_sizes = sizes(before), sizes(after)
    return {
        'finished_at': result.get('finished_at'),
        'check_mode': bool(result.get('check_mode')),
        'changed': bool(result.get('changed')),
        'failed': bool(result.get('failed')),
        'removed': int(result.get('removed') or 0),
        'planned': int(result.get('planned') or 0),
        'reclaimed_bytes': int(result.get('reclaimed_bytes') or 0),
        'predicted_bytes': int(result.get('predicted_bytes') or 0),
        'errors': [str(error) for error in result.get('errors') or []],
        'kept_by_rule': {str(rule): {'count': int(row.get('count') or 0), 'bytes': int(row.get('bytes') or 0)}
                         for rule, row in (result.get('kept_by_rule') or {}).items()},
        'before': before_sizes,
        'after': after_sizes,
        'before_bytes': sum(before_sizes[kind] for kind in measured) if before_sizes else None,
        'after_bytes': sum(after_sizes[kind] for kind in measured) if after_sizes else None,
    }


def host_report(name: str, entry: Mapping[str, Any], enforce: Optional[Mapping[str, Any]] = None) -> Dict[str, Any]:
    """One host: its usage per type, budget, hints and last enforce run; status failed without facts."""
    facts = entry.get('facts')
    error = entry.get('error')
    if error or not isinstance(facts, Mapping) or 'disk_usage' not in facts:
        usage = {kind: {'total': 0, 'active': 0, 'size_bytes': 0, 'reclaimable_bytes': 0} for kind in TYPES}
        status, facts = 'failed', {}
        error = str(error or 'no docker_cache facts for this host')
    else:
        usage, status = _usage(facts), 'ok'
    filesystem = facts.get('filesystem') or None
    budget = _budget(name, entry, usage, filesystem)
    engine = facts.get('engine') or {}
    last_run = _enforce(enforce)
    used_percent = filesystem.get('used_percent') if filesystem else None
    return {
        'name': name,
        'status': status,
        'error': error if status == 'failed' else None,
        'collected_at': facts.get('collected_at'),
        'engine_version': engine.get('version'),
        'image_store': engine.get('image_store'),
        'filesystem': None if not filesystem else {
            'size_bytes': int(filesystem.get('size_bytes') or 0),
            'free_bytes': int(filesystem.get('free_bytes') or 0),
            'used_percent': used_percent,
        },
        'usage': usage,
        'size_bytes': sum(row['size_bytes'] for row in usage.values()),
        'reclaimable_bytes': sum(row['reclaimable_bytes'] for row in usage.values()),
        'cache_bytes': sum(usage[kind]['size_bytes'] for kind in CACHE_TYPES),
        'budget': budget,
        'advice': _advice(usage, budget, used_percent, last_run),
        'enforce': last_run,
    }


def _totals(hosts: List[Dict[str, Any]]) -> Dict[str, Any]:
    ok = [host for host in hosts if host['status'] == 'ok']
    enforced = [host['enforce'] for host in hosts if host['enforce']]
    compared = [run for run in enforced if run['before'] and run['after']]
    return {
        'hosts': len(hosts),
        'hosts_ok': len(ok),
        'hosts_failed': len(hosts) - len(ok),
        'hosts_over_budget': sum(1 for host in hosts if host['budget']['over']),
        'size_bytes': sum(host['size_bytes'] for host in ok),
        'reclaimable_bytes': sum(host['reclaimable_bytes'] for host in ok),
        'cache_bytes': sum(host['cache_bytes'] for host in ok),
        'by_type': {kind: {key: sum(host['usage'][kind][key] for host in ok)
                           for key in ('size_bytes', 'reclaimable_bytes')} for kind in TYPES},
        'enforce': None if not enforced else {
            'hosts': len(enforced),
            'check_mode': any(run['check_mode'] for run in enforced),
            'changed': sum(1 for run in enforced if run['changed']),
            'failed': sum(1 for run in enforced if run['failed']),
            'removed': sum(run['removed'] for run in enforced),
            'reclaimed_bytes': sum(run['reclaimed_bytes'] for run in enforced),
            'predicted_bytes': sum(run['predicted_bytes'] for run in enforced),
            'before_bytes': sum(run['before_bytes'] for run in compared) if compared else None,
            'after_bytes': sum(run['after_bytes'] for run in compared) if compared else None,
        },
    }


def fleet_report(hosts: Mapping[str, Mapping[str, Any]], enforce: Optional[Mapping[str, Any]] = None,
                 generated_at: Optional[str] = None, title: str = 'Docker cache report') -> Dict[str, Any]:
    """The whole report: hosts largest first (failed hosts last), fleet totals, schema version.

    ``hosts`` maps a host name to ``{facts, error, budget, max_cache_size, high_watermark_percent}``;
    ``enforce`` maps a host name to its entry of the last enforce run.
    """
    if not isinstance(hosts, Mapping):
        raise ReportError('hosts: expected a mapping of host name to facts, got %s' % type(hosts).__name__)
    enforce = enforce or {}
    rows = [host_report(str(name), entry or {}, enforce.get(name)) for name, entry in hosts.items()]
    rows.sort(key=lambda host: (host['status'] != 'ok', -host['size_bytes'], host['name']))
    return {
        'schema_version': SCHEMA_VERSION,
        'title': title,
        'generated_at': generated_at,
        'types': list(TYPES),
        'totals': _totals(rows),
        'hosts': rows,
    }
