// Handling alerts, shared by the drawer and the batch bar: the API call, what it did, the
// columns of an alert list, and the block-duration choice.

import { h, badge, humanize, hostLink } from '../lib/dom.js';
import { capitalize, fmtNum, timeEl } from '../lib/format.js';
import { post } from '../lib/api.js';
import { choiceSelect } from '../lib/form.js';
import { M } from '../lib/meta.js';

/** How long a host action (or a batch of blocks) is followed before the page stops polling. */
export const HOST_ACTION_WAIT_MS = 60000;

const ACTION_DONE = {
  ignore: 'ignored', handled: 'marked handled', whitelist: 'whitelisted', unwhitelist: 'taken off the whitelist',
  block_ip: 'queued to block their source IP',
};

export async function handleAlerts(ids, action, { note = '', scope = 'host', duration = M.alerts.default_block_duration } = {}) {
  const body = { ids, action, note };
  if (action === 'whitelist') body.scope = scope;
  if (action === 'block_ip') body.duration = duration;
  const res = await post('/api/v1/alerts/handle', body);
  return res.results || [];
}

/** The result for alert `id` among `results` (the first when it is not named). */
export const resultFor = (results, id) => results.find((x) => x.id === id) || results[0];

/**
 * What an action did: for one alert, the server's message; for several, how many changed and
 * the message of every alert that did not.
 */
export function resultsNotice(action, results) {
  const changed = results.filter((r) => r.outcome === 'changed');
  const others = results.filter((r) => r.outcome !== 'changed');
  const kind = others.length ? 'warn' : 'ok';
  const line = (r) => h('li', { 'data-testid': 'handle-message', 'data-outcome': r.outcome, 'data-alert-id': r.id }, `${capitalize(r.message)}.`);
  if (results.length === 1) {
    return h('div', { class: `notice n-${kind}`, 'data-testid': 'handle-notice', 'data-outcome': results[0].outcome },
      h('ul', { class: 'plain' }, line(results[0])));
  }
  const CAP = 20;
  const n = changed.length;
  return h('div', { class: `notice n-${kind}`, 'data-testid': 'handle-notice', 'data-changed': n },
    h('strong', null, `${fmtNum(n)} of ${fmtNum(results.length)} alerts ${ACTION_DONE[action]}.`),
    others.length ? h('ul', { class: 'plain' }, others.slice(0, CAP).map(line),
      others.length > CAP ? h('li', { class: 'muted' }, `…and ${fmtNum(others.length - CAP)} more not changed.`) : null) : null);
}

export function alertColumns({ host = true } = {}) {
  const cols = [
    { key: 'level', label: 'Level', width: '96px', value: (a) => M.alerts.levels.indexOf(a.level), render: (a) => badge(a.level) },
    { key: 'name', label: 'Alert', render: (a) => h('span', { class: 'strong' }, a.name) },
    { key: 'kind', label: 'Type', value: (a) => humanize(a.kind) },
  ];
  if (host) {
    cols.push({
      key: 'hostname', label: 'Host',
      value: (a) => a.hostname || a.host_id,
      render: (a) => hostLink(a.host_id, a.hostname),
    });
  }
  cols.push(
    { key: 'status', label: 'Status', width: '110px', render: (a) => badge(a.status) },
    { key: 'first_seen', label: 'First seen', width: '110px', render: (a) => timeEl(a.first_seen), nofilter: true },
    { key: 'last_seen', label: 'Last seen', width: '110px', render: (a) => timeEl(a.last_seen), nofilter: true },
    { key: 'count', label: 'Count', width: '64px', cls: 'num', nofilter: true },
  );
  return cols;
}

/** A select of the block durations the server offers, its default chosen. */
export function durationSelect(attrs) {
  return choiceSelect({ 'aria-label': 'Block for', ...attrs }, M.alerts.block_durations, M.alerts.default_block_duration);
}
