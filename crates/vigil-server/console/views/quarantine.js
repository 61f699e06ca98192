// The Quarantine box: files quarantined on their hosts, and restores followed until the
// host's agent reports (a refused restore offers Restore and overwrite).

import { h, aside, badge, dash, hostLink, panel, setTitle, setView } from '../lib/dom.js';
import { capitalize, enc, fmtBytes, fmtExpires, fmtTime, timeEl } from '../lib/format.js';
import { get, post } from '../lib/api.js';
import { clearError, reportTo, showError } from '../lib/errors.js';
import { confirmButton, hostFilterChip, refreshButton } from '../lib/form.js';
import { dataTable } from '../lib/table.js';
import { COMMAND_OPEN } from './host.js';

/** How long a restore is followed on the page before it says the host has not run it yet. */
const RESTORE_WAIT_MS = 60000;

export async function viewQuarantine(ctx) {
  setTitle('Quarantine box');
  const hostF = ctx.params.get('host') || '';
  const results = h('div', { class: 'q-results', 'data-testid': 'restore-results', 'aria-live': 'polite' });
  // `host qid` → the restore command that runs for the file right now.
  const pending = new Map();
  const keyOf = (f) => `${f.host_id}\u0000${f.qid}`;
  // One notice per file: a new restore of the file replaces the last one.
  const notices = new Map();

  const tools = [
    hostF ? hostFilterChip(hostF, '#/quarantine') : null,
    refreshButton(ctx, 'quarantine-refresh', 'Loading the quarantine box', () => load()),
  ];

  const table = dataTable({
    testid: 'quarantine-table',
    placeholder: 'Filter by host, path, hash, state…',
    sort: { key: 'quarantined_at', dir: -1 },
    emptyText: "No quarantined file. Files land here when an alert is handled with Quarantine file or Kill and quarantine.",
    tools,
    rowAttrs: (f) => ({ 'data-testid': 'quarantine-row', 'data-qid': f.qid, 'data-host-id': f.host_id, 'data-state': f.state, 'data-path': f.path }),
    columns: [
      {
        key: 'hostname', label: 'Host', value: (f) => f.hostname || f.host_id,
        render: (f) => hostLink(f.host_id, f.hostname, { class: 'strong' }),
      },
      { key: 'path', label: 'Original path', width: '34%', cls: 'mono small wrap', render: (f) => h('span', { 'data-testid': 'q-path' }, f.path) },
      { key: 'size', label: 'Size', width: '80px', cls: 'num nowrap', nofilter: true, render: (f) => fmtBytes(f.size) },
      {
        key: 'sha256', label: 'SHA-256', width: '120px', value: (f) => `${f.sha256} ${f.md5}`,
        render: (f) => h('span', { class: 'mono small hash', title: `SHA-256 ${f.sha256}\nMD5 ${f.md5}`, 'data-testid': 'q-hash' }, f.sha256 ? `${f.sha256.slice(0, 12)}…` : '—'),
      },
      { key: 'quarantined_at', label: 'Quarantined', width: '100px', nofilter: true, render: (f) => timeEl(f.quarantined_at) },
      {
        key: 'expires_at', label: 'Expires', width: '96px', nofilter: true,
        render: (f) => (f.state === 'restored'
          ? dash()
          : h('span', { title: `Restorable until ${fmtTime(f.expires_at)}; purged from the host after`, 'data-testid': 'q-expires' }, fmtExpires(f.expires_at))),
      },
      {
        key: 'state', label: 'State', width: '104px',
        render: (f) => h('span', { title: f.restored_at ? `restored ${fmtTime(f.restored_at)}` : null }, badge(f.state, { cls: `q-${f.state}`, testid: 'q-state' })),
      },
      { key: 'actions', label: '', width: '150px', cls: 'nowrap', nofilter: true, nosort: true, value: () => '', render: (f) => restoreCell(f) },
    ],
  });

  /** Two clicks: Restore, then Confirm restore. */
  function restoreButton(f, { overwrite = false } = {}) {
    return confirmButton({
      label: overwrite ? 'Restore and overwrite' : 'Restore',
      confirm: overwrite ? 'Confirm overwrite' : 'Confirm restore',
      busy: 'Restoring…',
      armedClass: overwrite ? 'danger' : 'primary',
      attrs: {
        class: `btn small ${overwrite ? 'danger-outline' : ''}`,
        'data-testid': overwrite ? 'restore-overwrite' : 'restore', 'data-qid': f.qid,
      },
      act: () => restore(f, overwrite),
    });
  }

  function restoreCell(f) {
    const cmd = pending.get(keyOf(f));
    if (cmd !== undefined) {
      return h('span', { class: 'muted small nowrap', 'data-testid': 'restore-pending' },
        h('span', { class: 'spinner inline', 'aria-hidden': 'true' }), ` restoring (command ${cmd})`);
    }
    if (f.restorable) return restoreButton(f);
    const why = f.state === 'restored' ? 'already restored' : 'older than 30 days: purged on the host';
    return h('span', { class: 'muted small', title: why }, '—');
  }

  function showNotice(f, el) {
    const old = notices.get(keyOf(f));
    if (old && old.isConnected) old.replaceWith(el);
    else results.prepend(el);
    notices.set(keyOf(f), el);
  }

  /** Polls the host's commands every second until `id` finishes; null when it has not yet. */
  async function waitCommand(hostId, id, deadline) {
    for (;;) {
      const res = await get(`/api/v1/commands?host=${enc(hostId)}`);
      if (!ctx.alive()) return null;
      const c = (res.commands || []).find((x) => x.id === id);
      if (c && !COMMAND_OPEN.includes(c.state)) return c;
      if (Date.now() >= deadline) return null;
      await new Promise((r) => { setTimeout(r, 1000); });
      if (!ctx.alive()) return null;
    }
  }

  /** The notice of how restore command `id` ended (`c`: null when it has not run yet). */
  function outcomeNotice(f, id, c, overwrite, host) {
    const attrs = (state) => ({ 'data-testid': 'restore-notice', 'data-state': state, 'data-qid': f.qid, 'data-command-id': id });
    if (!c) {
      return h('div', { class: 'notice n-warn', ...attrs('waiting') },
        `Restore command ${id} for ${f.path} has not run after ${RESTORE_WAIT_MS / 1000} s: it stays queued until ${host} checks in (it times out after 60 min). `,
        h('a', { href: `#/hosts/${enc(f.host_id)}?tab=commands` }, 'Follow it on the host\'s Commands tab →'));
    }
    if (c.state === 'succeeded') {
      return h('div', { class: 'notice n-ok', ...attrs('succeeded') },
        h('strong', null, 'Restored. '), `${capitalize(c.message || `${f.path} restored`)} on ${host}.`);
    }
    const what = c.state === 'timed_out' ? 'timed out' : 'failed';
    return h('div', { class: 'notice n-error restore-failed', ...attrs(c.state) },
      h('div', null, h('strong', null, `Restoring ${f.path} ${what} on ${host}: `), h('span', { 'data-testid': 'restore-error' }, c.message || 'no reason given')),
      // Refused because something is at the path again: the operator may replace it.
      !overwrite && c.state === 'failed'
        ? h('div', { class: 'restore-again' }, restoreButton(f, { overwrite: true }),
          h('span', { class: 'small' }, `Replaces whatever is at ${f.path} now with the quarantined file.`))
        : null);
  }

  async function restore(f, overwrite) {
    clearError();
    const host = f.hostname || f.host_id;
    let res;
    try {
      res = await post('/api/v1/quarantine/restore', { host_id: f.host_id, qid: f.qid, overwrite });
    } catch (e) {
      if (!ctx.alive()) return;
      showError(e, `Restoring ${f.path}`);
      // The file may have changed state meanwhile (restored elsewhere, purged): show it.
      await load().catch(() => {});
      return;
    }
    if (!ctx.alive()) return;
    const id = res.command_id;
    pending.set(keyOf(f), id);
    table.render();
    showNotice(f, h('div', { class: 'notice n-info progress-line', 'data-testid': 'restore-notice', 'data-state': 'pending', 'data-qid': f.qid, 'data-command-id': id },
      h('span', { class: 'spinner', 'aria-hidden': 'true' }),
      h('span', null, `${capitalize(res.message)}${overwrite ? ' (overwriting what is there now)' : ''}: waiting for `, h('b', null, host), ' to run it…')));
    let c = null;
    try {
      c = await waitCommand(f.host_id, id, Date.now() + RESTORE_WAIT_MS);
    } catch (e) {
      if (!ctx.alive() || e.handled) return;
      showError(e, `Following restore command ${id}`);
    } finally {
      pending.delete(keyOf(f));
    }
    if (!ctx.alive()) return;
    showNotice(f, outcomeNotice(f, id, c, overwrite, host));
    await load().catch(reportTo(ctx, 'Loading the quarantine box'));
  }

  setView(panel('Quarantine box', [results, table.el], {
    testid: 'quarantine-panel',
    extra: aside('Files are kept on their host, unreadable and not executable, for 30 days; a restore puts them back byte for byte with owner, mode and time.'),
  }));

  async function load() {
    const res = await get(`/api/v1/quarantine${hostF ? `?host=${enc(hostF)}` : ''}`);
    if (!ctx.alive()) return;
    table.setRows(res.files || []);
  }
  await load();
}
