// The vulnerability drawer (one host+package row, or a group by advisory or package) and what
// it shares with the list: levels, the ignore-reason dialog, Verify, the handle call.

import { h, badge, kv, notice, hostLink } from '../lib/dom.js';
import { capitalize, enc, fmtAgo, fmtNum, fmtTime, timeEl } from '../lib/format.js';
import { get, post } from '../lib/api.js';
import { clearError, errorMessage, showError } from '../lib/errors.js';
import { hashWith } from '../lib/router.js';
import { copyText, submit } from '../lib/form.js';
import { drawerBody, drawerData, drawerTitle, drawerToken } from '../lib/drawer.js';

/** After a Verify, the page looks again this long later (the agent re-sends its inventory). */
const VERIFY_REFRESH_MS = 5000;

/** Host id → host name, as last loaded by the Vulnerabilities page. */
export const vulnHostNames = new Map();

export const vulnKeyOf = (v) => ({ host_id: v.host_id, package: v.package, advisory: v.advisory });
export const vulnKeyStr = (v) => `${v.host_id}\u0001${v.package}\u0001${v.advisory}`;

export function vulnLevel(level, rce, testid) {
  return h('span', { class: 'pills' }, badge(level, { cls: `vl-${level}`, testid }), rce ? badge('rce', { cls: 'vl-rce', text: 'RCE' }) : null);
}

export const vulnStatusBadge = (s, testid) => badge(s, { cls: `vs-${s}`, testid });

/** The advisory database line: what is loaded, or how to build it. */
export function vulnDbLine(db) {
  if (!db || !db.loaded) {
    return h('div', { class: 'notice n-warn vuln-db', 'data-testid': 'vulns-db', 'data-loaded': '0' },
      h('strong', null, 'No advisory database is loaded: vulnerability scanning is off. '),
      h('span', { 'data-testid': 'vulns-db-hint' }, db && db.hint ? db.hint : 'Build one with `vigil vulndb update`.'));
  }
  const sources = db.sources || [];
  return h('div', { class: 'notice n-info vuln-db', 'data-testid': 'vulns-db', 'data-loaded': '1' },
    h('strong', null, `Advisory database: ${fmtNum(db.advisories)} advisories`),
    sources.length ? [' from ', sources.map((s, i) => [i ? ', ' : '',
      h('span', { class: 'vuln-source', 'data-testid': 'vulns-db-source', title: `imported ${fmtTime(s.imported_at)}` },
        s.name, ' ', h('span', { class: 'muted' }, `(${fmtAgo(s.imported_at)})`))])] : null,
    '.');
}

/** `POST /api/v1/vulns/handle`; the per-key results. */
export async function handleVulns(keys, action, reason = '') {
  const res = await post('/api/v1/vulns/handle', { keys, action, reason });
  return res.results || [];
}

export function vulnResultsNotice(results) {
  const changed = results.filter((r) => r.outcome === 'changed');
  const others = results.filter((r) => r.outcome !== 'changed');
  const line = (r) => h('li', { 'data-testid': 'vuln-handle-message', 'data-outcome': r.outcome }, `${capitalize(r.message)}.`);
  return h('div', { class: `notice n-${others.length ? 'warn' : 'ok'}`, 'data-testid': 'vuln-handle-notice', 'data-changed': changed.length },
    results.length > 1 ? h('strong', null, `${fmtNum(changed.length)} of ${fmtNum(results.length)} changed.`) : null,
    h('ul', { class: 'plain' }, (results.length > 1 ? others : results).slice(0, 20).map(line)));
}

/**
 * A modal dialog asking for the reason of an ignore. `act(reason)` runs on submit; what it
 * throws (the API's message, e.g. for an empty reason) shows in the dialog, which stays open.
 */
export function reasonDialog({ title, text, submit: submitText = 'Ignore', act }) {
  const ta = h('textarea', { class: 'vuln-reason', 'data-testid': 'vuln-reason', rows: '4', maxlength: '1000', spellcheck: 'true',
    placeholder: 'Why this does not matter here (required)', 'aria-label': 'Reason' });
  const err = h('div', { class: 'notice n-error', 'data-testid': 'vuln-reason-error', hidden: true });
  const ok = h('button', { type: 'button', class: 'btn primary', 'data-testid': 'vuln-reason-submit' }, submitText);
  const cancel = h('button', { type: 'button', class: 'btn', 'data-testid': 'vuln-reason-cancel' }, 'Cancel');
  const dlg = h('dialog', { class: 'dialog', 'data-testid': 'vuln-reason-dialog', 'aria-label': title },
    h('h3', null, title), text ? h('p', { class: 'muted small' }, text) : null, ta, err,
    h('div', { class: 'dialog-actions' }, cancel, ok));
  dlg.addEventListener('close', () => dlg.remove());
  cancel.addEventListener('click', () => dlg.close());
  ok.addEventListener('click', () => {
    err.hidden = true;
    submit(ok, {
      onError: (e) => {
        if (e.handled) {
          dlg.close();
          return;
        }
        err.textContent = errorMessage(e);
        err.hidden = false;
      },
    }, async () => {
      await act(ta.value);
      dlg.close();
    });
  });
  document.body.appendChild(dlg);
  dlg.showModal();
  ta.focus();
  return dlg;
}

/** Asks the host's agent for a fresh inventory; the message goes to `out`, `reload` runs a few seconds later. */
async function verifyHost(hostId, out, reload) {
  clearError();
  try {
    const r = await post(`/api/v1/hosts/${enc(hostId)}/vulns/verify`);
    out.replaceChildren(h('div', { class: `notice n-${r.database_loaded ? 'ok' : 'warn'}`, 'data-testid': 'vuln-verify-message' },
      `${capitalize(r.message)}. The list refreshes in ${VERIFY_REFRESH_MS / 1000} s.`));
    if (reload) setTimeout(reload, VERIFY_REFRESH_MS);
  } catch (e) {
    out.replaceChildren(h('div', { class: 'notice n-error', 'data-testid': 'vuln-verify-message' }, errorMessage(e)));
  }
}

export function verifyButton(hostId, out, reload, { small = true } = {}) {
  const b = h('button', { type: 'button', class: `btn${small ? ' small' : ''}`, 'data-testid': 'vuln-verify', title: 'Ask the agent to send its package inventory now' }, 'Verify');
  b.addEventListener('click', () => submit(b, {}, () => verifyHost(hostId, out, reload)));
  return b;
}

/** A copyable code block. */
function codeBlock(text, testid) {
  const ta = h('textarea', { class: 'command vuln-fix', 'data-testid': testid, readOnly: true, rows: String(Math.min(6, Math.max(1, text.split('\n').length))), spellcheck: 'false', 'aria-label': 'Fix command' });
  ta.value = text;
  const b = h('button', { type: 'button', class: 'btn small', 'data-testid': `${testid}-copy` }, 'Copy');
  b.addEventListener('click', async () => {
    const done = await copyText(text, ta);
    b.textContent = done ? 'Copied' : 'Select and copy';
    setTimeout(() => { if (b.isConnected) b.textContent = 'Copy'; }, 2000);
  });
  return h('div', { class: 'command-row' }, ta, h('div', { class: 'vuln-copy' }, b));
}

const idChips = (ids) => h('span', { class: 'chips', 'data-testid': 'vuln-ids' }, (ids || []).map((i) => h('span', { class: 'chip mono' }, i)));

/** The drawer's Fix section: the command, or why there is none, and the restart note. */
const fixSection = (command, restart, restartText) => [
  h('h3', { class: 'sub' }, 'Fix'),
  command ? codeBlock(command, 'vuln-fix-command') : h('p', { class: 'muted' }, 'No fix command: no fixed version is known yet.'),
  restart ? notice(restartText, { kind: 'warn', testid: 'vuln-restart' }) : null,
];

const drawerHead = (level, text) => drawerTitle(badge(level, { cls: `vl-${level}` }), ' ', h('span', null, text));

/** The drawer for one host+package row. `refresh` reloads the list; returns after rendering. */
export function renderVulnRow(v, { refresh, result = null } = {}) {
  const my = drawerToken();
  drawerData({ vulnStatus: v.status });
  drawerHead(v.level, `${v.advisory} · ${v.package}`);
  const verifyOut = h('div', { class: 'vuln-verify-out' });
  const actionOut = h('div', { class: 'vuln-action-out' }, result);
  const reopen = async (res) => {
    // The row as it is now: its status, reason and who changed it.
    const qs = new URLSearchParams({ host: v.host_id, package: v.package, q: v.advisory, limit: '100' });
    let next = v;
    try {
      const list = await get(`/api/v1/vulns?${qs}`);
      next = (list.items || []).find((x) => vulnKeyStr(x) === vulnKeyStr(v)) || v;
    } catch (e) {
      showError(e, 'Reloading the vulnerability');
    }
    if (my !== drawerToken()) return;
    renderVulnRow(next, { refresh, result: vulnResultsNotice(res) });
    if (refresh) refresh();
  };
  let actions;
  if (v.status === 'unfixed') {
    const b = h('button', { type: 'button', class: 'btn', 'data-testid': 'vuln-ignore' }, 'Ignore…');
    b.addEventListener('click', () => reasonDialog({
      title: `Ignore ${v.advisory} in ${v.package}`,
      text: `On ${v.hostname || v.host_id}. It stays listed under Ignored, with the reason, until you undo it.`,
      act: async (reason) => {
        const res = await handleVulns([vulnKeyOf(v)], 'ignore', reason);
        await reopen(res);
      },
    }));
    actions = b;
  } else if (v.status === 'ignored') {
    const b = h('button', { type: 'button', class: 'btn', 'data-testid': 'vuln-unignore' }, 'Undo ignore');
    b.addEventListener('click', () => {
      clearError();
      submit(b, {
        onError: (e) => actionOut.replaceChildren(notice(errorMessage(e), { kind: 'error', testid: 'vuln-action-error' })),
      }, async () => reopen(await handleVulns([vulnKeyOf(v)], 'unignore')));
    });
    actions = b;
  } else {
    actions = h('span', { class: 'muted small' }, 'Fixed: the last inventory no longer has this version. Only a scan changes that.');
  }
  drawerBody(
    h('div', { class: 'vuln-drawer', 'data-testid': 'vuln-drawer', 'data-status': v.status },
      actionOut,
      kv([
        ['Host', [hostLink(v.host_id, v.hostname), ' ', verifyButton(v.host_id, verifyOut, refresh)]],
        ['Package', h('span', { class: 'mono' }, v.package)],
        ['Ecosystem', v.ecosystem],
        ['Advisory', idChips(v.ids && v.ids.length ? v.ids : [v.advisory])],
        ['Level', vulnLevel(v.level, v.rce)],
        ['Version', h('span', { class: 'mono', 'data-testid': 'vuln-versions' }, v.installed, ' → ', v.fixed || 'no fix yet')],
        ['Status', [vulnStatusBadge(v.status, 'vuln-status'), v.reason ? [' ', h('span', { 'data-testid': 'vuln-reason-text' }, v.reason)] : null,
          v.handled_by ? h('div', { class: 'muted small' }, `by ${v.handled_by} `, timeEl(v.handled_at)) : null]],
        ['First seen', timeEl(v.first_seen, { full: true })],
        ['Last seen', timeEl(v.last_seen, { full: true })],
        v.fixed_at ? ['Fixed', timeEl(v.fixed_at, { full: true })] : null,
      ].filter(Boolean), { testid: 'vuln-kv' }),
      verifyOut,
      v.summary ? h('p', { class: 'vuln-summary', 'data-testid': 'vuln-summary' }, v.summary) : null,
      fixSection(v.fix_command, v.needs_restart, 'After the upgrade, restart the services that use this package (or reboot) for the fix to take effect.'),
      h('div', { class: 'drawer-actions' }, actions)));
}

/** The drawer for a group (by advisory or by package). */
export function renderVulnGroup(g, by, status) {
  drawerData({ vulnStatus: '' });
  drawerHead(g.level, g.key);
  const rowsLink = hashWith('/vulns', by === 'advisory' ? { q: g.key, status } : { package: g.key, status });
  drawerBody(
    h('div', { class: 'vuln-drawer', 'data-testid': 'vuln-drawer', 'data-group': by },
      kv([
        [by === 'advisory' ? 'Advisory' : 'Package', h('span', { class: 'mono' }, g.key)],
        ['IDs', idChips(g.ids)],
        ['Packages', h('span', { class: 'chips' }, (g.packages || []).map((p) => h('span', { class: 'chip mono' }, p)))],
        ['Level', vulnLevel(g.level, g.rce)],
        ['Version', h('span', { class: 'mono', 'data-testid': 'vuln-versions' }, (g.installed || []).join(', '), ' → ', (g.fixed || []).join(', ') || 'no fix yet')],
        ['Rows', `${fmtNum(g.unfixed)} unfixed · ${fmtNum(g.ignored)} ignored · ${fmtNum(g.fixed_count)} fixed`],
        ['First seen', timeEl(g.first_seen, { full: true })],
        ['Last seen', timeEl(g.last_seen, { full: true })],
      ], { testid: 'vuln-kv' }),
      g.summary ? h('p', { class: 'vuln-summary', 'data-testid': 'vuln-summary' }, g.summary) : null,
      h('h3', { class: 'sub' }, `Affected hosts (${fmtNum(g.hosts)})`),
      h('ul', { class: 'plain vuln-hosts', 'data-testid': 'vuln-hosts' }, (g.host_ids || []).map((id) => h('li', null,
        hostLink(id, vulnHostNames.get(id)), ' · ',
        h('a', { href: hashWith('/vulns', { host: id, [by === 'advisory' ? 'q' : 'package']: g.key, status }) }, 'rows')))),
      fixSection((g.fix_commands || []).length ? g.fix_commands.join('\n') : null, g.needs_restart, 'After the upgrade, restart the services that use it (or reboot) for the fix to take effect.'),
      h('div', { class: 'drawer-actions' },
        h('a', { class: 'btn', href: rowsLink, 'data-testid': 'vuln-group-rows' }, 'List the host rows to ignore or verify →'))));
}

