// The security score: its card on the overview and its pieces on the host page.

import { h, panel, notice } from '../lib/dom.js';
import { enc, fmtNum } from '../lib/format.js';
import { errorMessage } from '../lib/errors.js';
import { M } from '../lib/meta.js';

const BAND_CLASS = { secure: 'secure', 'a few risks': 'few', 'many risks': 'many', 'high risk': 'high' };
/** What a presence cap stands for, by the module it caps. */
const CAP_REASON = { alerts: 'an unhandled alert', vulnerabilities: 'an unfixed vulnerability', baseline: 'a failed baseline check' };

export const bandCls = (band) => `band-${BAND_CLASS[band] || 'none'}`;

const capOf = (module) => (M.score.caps.find((c) => c.module === module) || {}).at;

export function bandBadge(band, testid) {
  return h('span', { class: `band-badge ${bandCls(band)}`, 'data-testid': testid }, band || '—');
}

/** A ring filled to `score` percent in the band's colour, the number inside. */
function scoreRing(s, { testid, small = false } = {}) {
  return h('div', { class: `score-ring ${bandCls(s.band)}${small ? ' small' : ''}`, style: `--p:${Math.max(0, Math.min(100, Number(s.score) || 0))}`, title: `${s.score} of 100 · ${s.band}` },
    h('span', { class: 'score-num', 'data-testid': testid }, String(s.score)));
}

/** `alerts −10 · capped at 60 (an unhandled alert)`, or that nothing costs points. */
export function scoreCosts(s) {
  const parts = (s.deductions || []).map(([module, pts]) => `${module} −${Number(pts).toLocaleString('en-US', { maximumFractionDigits: 1 })}`);
  if (s.capped_at !== null && s.capped_at !== undefined) {
    const cap = M.score.caps.find((c) => c.at === s.capped_at);
    const reason = cap && CAP_REASON[cap.module];
    parts.push(`capped at ${s.capped_at}${reason ? ` by ${reason}` : ''}`);
  }
  return parts.length ? parts.join(' · ') : 'nothing pending';
}

export function scorePanel(sc) {
  if (sc.error) {
    return panel('Security score', notice(errorMessage(sc.error), { kind: 'error', testid: 'ov-score-error' }), { testid: 'ov-score' });
  }
  const fleet = sc.fleet || { score: 100, band: 'secure' };
  const hosts = sc.hosts || [];
  const risky = hosts.filter((x) => x.score < 100).slice(0, 5);
  const lowest = risky.length
    ? h('table', { class: 'grid score-hosts', 'data-testid': 'score-hosts' },
      h('tbody', null, risky.map((x) => h('tr', { 'data-testid': 'score-host-row', 'data-host-id': x.host_id },
        h('td', { class: 'score-host-name' }, h('a', { href: `#/hosts/${enc(x.host_id)}`, class: 'strong' }, x.hostname || x.host_id)),
        h('td', { class: 'num', style: 'width:52px' }, h('span', { class: `score-inline ${bandCls(x.band)}` }, String(x.score))),
        h('td', { style: 'width:110px' }, bandBadge(x.band)),
        h('td', { class: 'muted small', 'data-testid': 'score-host-costs' }, scoreCosts(x))))))
    : notice(hosts.length ? 'Every host scores 100: nothing is pending.' : 'No installed host to score yet.', { kind: 'ok' });
  return panel('Security score', h('div', { class: 'score-card' },
    h('div', { class: 'score-main' },
      scoreRing(fleet, { testid: 'ov-score-value' }),
      h('div', { class: 'score-side' },
        bandBadge(fleet.band, 'ov-score-band'),
        h('div', { class: 'muted small' }, hosts.length ? `Mean of ${fmtNum(hosts.length)} installed host${hosts.length === 1 ? '' : 's'}` : 'No host yet'),
        h('div', { class: 'muted small score-help' }, `Unhandled alerts cost points (urgent 10, suspicious 5, reminder 1); any unhandled alert caps a host at ${capOf('alerts')}.`))),
    h('div', { class: 'score-list' },
      h('div', { class: 'score-list-head' }, risky.length ? 'Lowest-scoring hosts, and what costs them points' : 'Hosts'),
      lowest)),
  { testid: 'ov-score', extra: h('a', { href: '#/alerts' }, 'Handle alerts →') });
}
