// Vigil web console: plain ES2020, no framework, hash routing.
//
// Every value that comes from the API is put into the page as a text node or an attribute set
// through the DOM (see `h`), never as HTML: host names, command lines and package names are
// chosen by whoever controls a host.
'use strict';

(() => {
  const TOKEN_KEY = 'vigil.token';
  const USER_KEY = 'vigil.user';
  const REFRESH_MS = 10000;
  const ROW_CAP = 500;
  const LEVELS = ['urgent', 'suspicious', 'reminder'];
  const STATUSES = ['unhandled', 'handled', 'ignored', 'whitelisted', 'blocked', 'in_progress', 'expired'];
  const KINDS = [
    'abnormal_login', 'brute_force', 'malicious_file', 'webshell', 'malicious_script',
    'suspicious_process', 'reverse_shell', 'persistence', 'sensitive_file_tampering',
    'malicious_network_access', 'suspicious_connection', 'network_attack', 'data_leak',
    'suspicious_account', 'suspicious_port', 'configuration_risk', 'web_threat',
    'application_intrusion',
  ];
  const HOST_STATES = ['online', 'offline', 'uninstalled'];
  /** The alert list's time presets: label and how far back, in seconds. */
  const TIME_PRESETS = { '24h': ['Last 24 hours', 86400], '7d': ['Last 7 days', 7 * 86400], '30d': ['Last 30 days', 30 * 86400] };
  const ALERT_SORTS = [['newest', 'Newest first'], ['oldest', 'Oldest first'], ['level', 'Level, then newest']];
  const SEARCH_DEBOUNCE_MS = 400;
  const DATE_RE = /^\d{4}-\d{2}-\d{2}$/;
  /** Block durations the API takes, for alerts and the IP policy library. */
  const BLOCK_DURATIONS = [['30m', '30 minutes'], ['1h', '1 hour'], ['12h', '12 hours'], ['24h', '24 hours'], ['7d', '7 days'], ['permanent', 'Permanent']];
  const DEFAULT_BLOCK_DURATION = '12h';

  // ---------------------------------------------------------------- DOM helpers

  const $ = (sel, root = document) => root.querySelector(sel);

  /** Creates an element. Strings among `children` become text nodes, never markup. */
  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    if (attrs) {
      for (const [k, v] of Object.entries(attrs)) {
        if (v === null || v === undefined || v === false) continue;
        if (k === 'class') el.className = v;
        else if (k === 'text') el.textContent = String(v);
        else if (k === 'dataset') Object.assign(el.dataset, v);
        // Through CSSOM, which a `style-src 'self'` content security policy allows.
        else if (k === 'style') el.style.cssText = String(v);
        else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
        else if (k === 'value') el.value = String(v);
        else if (k === 'checked' || k === 'disabled' || k === 'readOnly' || k === 'selected') el[k] = Boolean(v);
        else el.setAttribute(k, v === true ? '' : String(v));
      }
    }
    append(el, children);
    return el;
  }

  function append(el, children) {
    for (const c of children.flat(Infinity)) {
      if (c === null || c === undefined || c === false) continue;
      el.appendChild(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return el;
  }

  /** Replaces the children of `el`; null and undefined are skipped. */
  function fill(el, ...children) {
    el.replaceChildren();
    return append(el, children);
  }

  const enc = encodeURIComponent;

  function fmtNum(n) {
    return typeof n === 'number' ? n.toLocaleString('en-US') : String(n ?? '—');
  }

  const pad = (n) => String(n).padStart(2, '0');

  /** Unix seconds → local `YYYY-MM-DD HH:MM:SS`, or an em dash. */
  function fmtTime(ts) {
    if (ts === null || ts === undefined || ts === 0) return '—';
    const d = new Date(ts * 1000);
    if (Number.isNaN(d.getTime())) return '—';
    return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  }

  /** A local date as `YYYY-MM-DD` (what `<input type=date>` holds). */
  const isoDate = (d) => `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;

  /** `YYYY-MM-DD` → Unix seconds at local midnight of that day (`nextDay`: of the day after); null if not a date. */
  function dateToUnix(text, { nextDay = false } = {}) {
    if (!DATE_RE.test(text || '')) return null;
    const [y, m, d] = text.split('-').map(Number);
    const t = new Date(y, m - 1, d + (nextDay ? 1 : 0)).getTime();
    return Number.isNaN(t) ? null : Math.floor(t / 1000);
  }

  /** Unix seconds → `12 s ago`, `5 min ago`, `3 h ago`, `2 d ago`, or `in 23 h` for the future. */
  function fmtAgo(ts) {
    if (ts === null || ts === undefined || ts === 0) return '—';
    const diff = Math.round(Date.now() / 1000 - ts);
    const abs = Math.abs(diff);
    let s;
    if (abs < 60) s = `${abs} s`;
    else if (abs < 3600) s = `${Math.floor(abs / 60)} min`;
    else if (abs < 86400) s = `${Math.floor(abs / 3600)} h`;
    else s = `${Math.floor(abs / 86400)} d`;
    return diff >= 0 ? `${s} ago` : `in ${s}`;
  }

  /** A time cell: relative time, with the absolute local time beside it or in its tooltip. */
  function timeEl(ts, { full = false } = {}) {
    if (ts === null || ts === undefined || ts === 0) return h('span', { class: 'muted' }, '—');
    if (full) {
      return h('span', { class: 'time' }, fmtTime(ts), ' ', h('span', { class: 'muted' }, `(${fmtAgo(ts)})`));
    }
    return h('span', { class: 'time', title: fmtTime(ts) }, fmtAgo(ts));
  }

  function fmtBytesKb(kb) {
    if (!kb) return '—';
    const gib = kb / 1048576;
    return gib >= 1 ? `${gib.toFixed(1)} GiB` : `${(kb / 1024).toFixed(0)} MiB`;
  }

  function humanize(s) {
    return String(s ?? '').replace(/_/g, ' ');
  }

  function badge(value, { cls = value, text = humanize(value), testid } = {}) {
    return h('span', { class: `badge b-${String(cls).replace(/[^a-z0-9_-]/gi, '')}`, 'data-testid': testid }, text);
  }

  function alertCounts(counts) {
    const parts = LEVELS.filter((l) => (counts?.[l] ?? 0) > 0).map((l) =>
      h('span', { class: `count-pill b-${l}`, title: `${counts[l]} unhandled ${l}` }, fmtNum(counts[l])));
    return parts.length ? h('span', { class: 'pills' }, parts) : h('span', { class: 'muted' }, '0');
  }

  function labelChips(labels) {
    const entries = Object.entries(labels || {});
    if (!entries.length) return h('span', { class: 'muted' }, '—');
    return h('span', { class: 'chips' }, entries.map(([k, v]) => h('span', { class: 'chip' }, v === '' ? k : `${k}=${v}`)));
  }

  function setTitle(...parts) {
    const el = $('#page-title');
    el.replaceChildren();
    parts.forEach((p, i) => {
      if (i) el.appendChild(h('span', { class: 'crumb-sep' }, '›'));
      el.appendChild(typeof p === 'string' ? h('span', { class: i === parts.length - 1 ? 'crumb-cur' : 'crumb' }, p) : p);
    });
    document.title = `${parts.map((p) => (typeof p === 'string' ? p : p.textContent)).join(' › ')} · Vigil`;
  }

  function setView(...nodes) {
    const v = $('#view');
    fill(v, ...nodes);
    v.scrollTop = 0;
  }

  function panel(title, body, { extra, testid, cls = '' } = {}) {
    return h('section', { class: `panel ${cls}`, 'data-testid': testid },
      title ? h('div', { class: 'panel-head' }, h('h2', null, title), extra ? h('div', { class: 'panel-extra' }, extra) : null) : null,
      h('div', { class: 'panel-body' }, body));
  }

  function notice(text, { kind = 'info', testid } = {}) {
    return h('div', { class: `notice n-${kind}`, 'data-testid': testid }, text);
  }

  // ---------------------------------------------------------------- errors

  function errorMessage(err) {
    if (err instanceof ApiError) return err.message;
    if (err && err.message) return err.message;
    return String(err);
  }

  function showError(err, context) {
    if (err && err.handled) return;
    const msg = errorMessage(err);
    const text = context ? `${context}: ${msg}` : msg;
    $('#error-text').textContent = text;
    const b = $('#error-banner');
    b.title = err instanceof ApiError && err.status ? `HTTP ${err.status} ${err.code || ''}`.trim() : '';
    b.hidden = false;
  }

  function clearError() {
    $('#error-banner').hidden = true;
    $('#error-text').textContent = '';
  }

  // ---------------------------------------------------------------- API

  class ApiError extends Error {
    constructor(status, code, message) {
      super(message);
      this.name = 'ApiError';
      this.status = status;
      this.code = code;
      this.handled = false;
    }
  }

  /**
   * A button that acts only on a second click within 6 s (no browser dialogs), shows `busy`
   * while `act` runs, and hands a failure to `onError`.
   */
  function confirmButton({ label, confirm, busy, attrs = {}, armedClass = 'danger', act, onError }) {
    const b = h('button', { type: 'button', ...attrs }, label);
    let timer = null;
    const disarm = () => {
      clearTimeout(timer);
      b.dataset.armed = '';
      b.textContent = label;
      b.classList.remove(armedClass);
    };
    b.addEventListener('click', async () => {
      if (b.dataset.armed !== '1') {
        b.dataset.armed = '1';
        b.textContent = confirm;
        b.classList.add(armedClass);
        timer = setTimeout(disarm, 6000);
        return;
      }
      clearTimeout(timer);
      clearError();
      b.disabled = true;
      b.textContent = busy;
      try {
        await act();
      } catch (e) {
        if (onError) onError(e);
      } finally {
        if (b.isConnected) {
          b.disabled = false;
          disarm();
        }
      }
    });
    return b;
  }

  let pendingLoginMessage = null;

  const getToken = () => sessionStorage.getItem(TOKEN_KEY);

  async function api(method, path, body) {
    const headers = { Accept: 'application/json' };
    const token = getToken();
    if (token) headers.Authorization = `Bearer ${token}`;
    const init = { method, headers, cache: 'no-store', credentials: 'omit' };
    if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    let res;
    try {
      res = await fetch(path, init);
    } catch (e) {
      throw new ApiError(0, 'network', `cannot reach the Vigil server (${e.message || e})`);
    }
    const text = await res.text();
    let data = null;
    if (text) {
      try {
        data = JSON.parse(text);
      } catch (_) {
        data = null;
      }
    }
    if (!res.ok) {
      const message = (data && typeof data.message === 'string' && data.message) || `${res.status} ${res.statusText || 'error'}`;
      const err = new ApiError(res.status, data && data.error, message);
      if (res.status === 401 && token) {
        // The session is gone: back to the sign-in page, telling why.
        // Several calls may fail at once: only the first one navigates.
        sessionStorage.removeItem(TOKEN_KEY);
        err.handled = true;
        if (parseHash().path !== '/login') {
          pendingLoginMessage = `Signed out: ${message}`;
          location.hash = `#/login?next=${enc(location.hash.slice(1))}`;
        }
      }
      throw err;
    }
    if (data === null && text) throw new ApiError(res.status, 'bad_response', 'the server sent a response that is not JSON');
    return data;
  }

  const get = (path) => api('GET', path);
  const post = (path, body) => api('POST', path, body ?? {});

  // ---------------------------------------------------------------- routing

  let generation = 0;
  let timers = [];

  function parseHash() {
    const raw = location.hash.replace(/^#/, '') || '/overview';
    const q = raw.indexOf('?');
    const path = q < 0 ? raw : raw.slice(0, q);
    const params = new URLSearchParams(q < 0 ? '' : raw.slice(q + 1));
    const segs = path.split('/').filter(Boolean).map((s) => {
      try {
        return decodeURIComponent(s);
      } catch (_) {
        return s;
      }
    });
    return { path: `/${segs.join('/')}`, segs, params };
  }

  function hashWith(base, params) {
    const qs = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') qs.set(k, v);
    const s = qs.toString();
    return `#${base}${s ? `?${s}` : ''}`;
  }

  function stopTimers() {
    timers.forEach(clearInterval);
    timers = [];
    $('#refresh-note').textContent = '';
  }

  /** Runs `fn` every 10 s while the page is visible and the view is still the current one. */
  function autoRefresh(ctx, fn) {
    const note = () => {
      $('#refresh-note').textContent = `Auto-refresh 10 s · updated ${fmtTime(Date.now() / 1000).slice(11)}`;
    };
    note();
    let busy = false;
    const id = setInterval(async () => {
      if (!ctx.alive() || document.visibilityState !== 'visible' || busy) return;
      busy = true;
      try {
        await fn();
        if (ctx.alive()) note();
      } catch (e) {
        if (ctx.alive()) showError(e, 'Refresh failed');
      } finally {
        busy = false;
      }
    }, REFRESH_MS);
    timers.push(id);
  }

  function showLogin() {
    $('#app-view').hidden = true;
    $('#login-view').hidden = false;
    document.body.classList.remove('in-app');
    document.body.insertBefore($('#error-banner'), document.body.firstChild);
    document.title = 'Sign in · Vigil';
    const user = $('#login-username');
    const pw = $('#login-password');
    pw.value = '';
    (user.value ? pw : user).focus();
  }

  function showApp(section) {
    $('#login-view').hidden = true;
    $('#app-view').hidden = false;
    document.body.classList.add('in-app');
    // In the console the banner sits in the page flow, between the top bar and the content.
    if ($('#error-banner').parentElement !== $('.main')) $('.main').insertBefore($('#error-banner'), $('#view'));
    document.querySelectorAll('.nav-link').forEach((a) => a.classList.toggle('active', a.dataset.nav === section));
    $('#inbox-link').classList.toggle('active', section === 'inbox');
    const name = sessionStorage.getItem(USER_KEY);
    $('#current-user').textContent = name || '…';
    if (!name) {
      get('/api/v1/me')
        .then((me) => {
          sessionStorage.setItem(USER_KEY, me.username);
          $('#current-user').textContent = me.username;
        })
        .catch((e) => showError(e, 'Loading the signed-in user'));
    }
  }

  function router() {
    generation += 1;
    const myGen = generation;
    stopTimers();
    closeDrawer();
    clearError();
    const { path, segs, params } = parseHash();
    const ctx = { params, alive: () => generation === myGen };

    if (path === '/login') {
      if (getToken()) {
        location.replace(`#${params.get('next') || '/overview'}`);
        return;
      }
      showLogin();
      if (pendingLoginMessage) {
        showError(pendingLoginMessage);
        pendingLoginMessage = null;
      }
      return;
    }
    if (!getToken()) {
      location.replace(`#/login?next=${enc(location.hash.slice(1) || '/overview')}`);
      return;
    }

    let view;
    let section = segs[0];
    if (path === '/' || path === '/overview') {
      section = 'overview';
      view = () => viewOverview(ctx);
    } else if (path === '/hosts') view = () => viewHosts(ctx);
    else if (segs[0] === 'hosts' && segs.length === 2) view = () => viewHost(ctx, segs[1]);
    else if (path === '/alerts') view = () => viewAlerts(ctx);
    else if (path === '/vulns') view = () => viewVulns(ctx);
    else if (path === '/whitelist') view = () => viewWhitelist(ctx);
    else if (path === '/quarantine') view = () => viewQuarantine(ctx);
    else if (path === '/ip-policy') view = () => viewIpPolicy(ctx);
    else if (path === '/attacks') view = () => viewAttacks(ctx);
    else if (path === '/login-settings') view = () => viewLoginSettings(ctx);
    else if (path === '/install') view = () => viewInstall(ctx);
    else if (path === '/notifications') view = () => viewNotifications(ctx);
    else if (path === '/inbox') view = () => viewInbox(ctx);
    else view = () => viewNotFound(path);

    showApp(section);
    // The inbox page counts its own messages.
    if (section !== 'inbox') refreshInboxBadge();
    Promise.resolve()
      .then(view)
      .catch((e) => {
        if (!ctx.alive() || e.handled) return;
        showError(e);
        // Whatever was still loading will not come: say why in place.
        document.querySelectorAll('#view .loading').forEach((l) => l.replaceWith(notice(errorMessage(e), { kind: 'error', testid: 'view-error' })));
      });
  }

  function viewNotFound(path) {
    setTitle('Not found');
    setView(panel(null, notice(`There is no page at ${path}.`, { kind: 'warn' })));
  }

  function loading(text = 'Loading…') {
    return h('div', { class: 'loading' }, h('span', { class: 'spinner', 'aria-hidden': 'true' }), text);
  }

  // ---------------------------------------------------------------- data table

  /**
   * A table with a text filter, sortable headers and a row cap.
   * columns: [{ key, label, value(row) → string|number for filter and sort, render(row) → Node|string,
   *             cls, width, nofilter }]
   */
  function dataTable({ columns, testid, rows = [], cap = ROW_CAP, filter = true, placeholder = 'Filter…',
    sort = null, emptyText = 'Nothing to show.', onRowClick = null, rowAttrs = null, tools = null }) {
    let data = [];
    let sortKey = sort ? sort.key : null;
    let sortDir = sort ? sort.dir || 1 : 1;
    const colValue = (c, r) => {
      const v = c.value ? c.value(r) : r[c.key];
      return v === null || v === undefined ? '' : v;
    };

    const input = filter
      ? h('input', { type: 'search', class: 'filter', placeholder, 'data-testid': `${testid}-filter`, 'aria-label': 'Filter rows' })
      : null;
    const count = h('span', { class: 'muted small count-note', 'data-testid': `${testid}-count` });
    const thead = h('thead');
    const tbody = h('tbody');
    const table = h('table', { class: `grid${onRowClick ? ' clickable' : ''}`, 'data-testid': testid }, thead, tbody);
    const wrap = h('div', { class: 'table-block' },
      h('div', { class: 'table-tools' }, input, tools, h('span', { class: 'spacer' }), count),
      h('div', { class: 'table-scroll' }, table));

    const headRow = h('tr');
    for (const c of columns) {
      const th = h('th', { class: /\bnum\b/.test(c.cls || '') ? 'num' : (c.nosort ? 'nosort' : ''), style: c.width ? `width:${c.width}` : null, title: c.nosort ? null : 'Sort' }, c.label);
      if (!c.nosort) {
        th.addEventListener('click', () => {
          if (sortKey === c.key) sortDir = -sortDir;
          else {
            sortKey = c.key;
            sortDir = 1;
          }
          render();
        });
      }
      c.th = th;
      headRow.appendChild(th);
    }
    thead.appendChild(headRow);

    function setRows(newRows) {
      data = newRows.map((r) => ({
        r,
        text: columns.filter((c) => !c.nofilter).map((c) => String(colValue(c, r))).join('\u0001').toLowerCase(),
      }));
      render();
    }

    function render() {
      const terms = input ? input.value.trim().toLowerCase().split(/\s+/).filter(Boolean) : [];
      let list = terms.length ? data.filter((d) => terms.every((t) => d.text.includes(t))) : data.slice();
      if (sortKey) {
        const c = columns.find((x) => x.key === sortKey);
        list.sort((a, b) => {
          const va = colValue(c, a.r);
          const vb = colValue(c, b.r);
          if (typeof va === 'number' && typeof vb === 'number') return (va - vb) * sortDir;
          return String(va).localeCompare(String(vb), 'en', { numeric: true }) * sortDir;
        });
      }
      for (const c of columns) {
        c.th.classList.toggle('sorted', c.key === sortKey);
        c.th.dataset.dir = c.key === sortKey ? (sortDir > 0 ? 'asc' : 'desc') : '';
      }
      const shown = list.slice(0, cap);
      const frag = document.createDocumentFragment();
      for (const d of shown) {
        const tr = document.createElement('tr');
        if (rowAttrs) {
          for (const [k, v] of Object.entries(rowAttrs(d.r))) tr.setAttribute(k, String(v));
        }
        if (onRowClick) {
          tr.tabIndex = 0;
          tr.addEventListener('click', (ev) => {
            if (ev.target.closest('a,button,input,select,label')) return;
            onRowClick(d.r, ev);
          });
          tr.addEventListener('keydown', (ev) => {
            if (ev.key === 'Enter' && ev.target === tr) onRowClick(d.r, ev);
          });
        }
        for (const c of columns) {
          const td = document.createElement('td');
          if (c.cls) td.className = c.cls;
          const v = c.render ? c.render(d.r) : colValue(c, d.r);
          if (v instanceof Node) td.appendChild(v);
          else td.textContent = String(v);
          tr.appendChild(td);
        }
        frag.appendChild(tr);
      }
      if (!shown.length) {
        frag.appendChild(h('tr', { class: 'empty-row' },
          h('td', { colspan: columns.length }, data.length ? 'No row matches the filter.' : emptyText)));
      }
      tbody.replaceChildren(frag);
      const total = data.length;
      if (list.length > shown.length) {
        count.textContent = `showing ${fmtNum(shown.length)} of ${fmtNum(list.length)}${terms.length ? ` matching (${fmtNum(total)} in all)` : ''} — refine the filter to see the rest`;
      } else if (terms.length) {
        count.textContent = `${fmtNum(list.length)} of ${fmtNum(total)} rows`;
      } else {
        count.textContent = `${fmtNum(total)} row${total === 1 ? '' : 's'}`;
      }
    }

    if (input) {
      let t = null;
      input.addEventListener('input', () => {
        clearTimeout(t);
        t = setTimeout(render, 120);
      });
      input.addEventListener('keydown', (e) => {
        if (e.key === 'Enter') {
          clearTimeout(t);
          render();
        }
      });
    }
    setRows(rows);
    return { el: wrap, setRows, render, input, rows: () => data.map((d) => d.r) };
  }

  // ---------------------------------------------------------------- alert drawer

  let drawerToken = 0;
  /** Bumped by every render of the drawer: a poll started by an older render stops. */
  let renderSeq = 0;
  /** How long the drawer follows a host action before it stops polling. */
  const HOST_ACTION_WAIT_MS = 60000;

  function closeDrawer() {
    drawerToken += 1;
    $('#drawer').hidden = true;
    delete $('#drawer').dataset.alertId;
    delete $('#drawer').dataset.status;
    delete $('#drawer').dataset.vulnStatus;
    $('#drawer-body').replaceChildren();
  }

  function kv(pairs, { testid } = {}) {
    return h('dl', { class: 'kv', 'data-testid': testid }, pairs.map(([k, v]) => [h('dt', null, k), h('dd', null, v ?? '—')]));
  }

  async function openAlert(id, { onChange = null } = {}) {
    const my = ++drawerToken;
    $('#drawer-title').replaceChildren(`Alert #${id}`);
    $('#drawer-body').replaceChildren(loading());
    $('#drawer').hidden = false;
    let a;
    try {
      a = await get(`/api/v1/alerts/${enc(id)}`);
    } catch (e) {
      if (my === drawerToken) {
        $('#drawer-body').replaceChildren(notice(errorMessage(e), { kind: 'error' }));
        showError(e, `Loading alert ${id}`);
      }
      return;
    }
    if (my !== drawerToken) return;
    renderAlert(a, { onChange });
  }

  /**
   * Fills the open drawer with alert `a`; `result` (a notice) shows what the last action did.
   * An alert `in_progress` (a host action runs) is polled every second until it leaves that
   * status or `HOST_ACTION_WAIT_MS` after `startedAt`, unless `watch` is false.
   */
  function renderAlert(a, { onChange = null, result = null, note = '', watch = true, startedAt = Date.now() } = {}) {
    const my = drawerToken;
    const seq = ++renderSeq;
    const live = () => my === drawerToken && seq === renderSeq;
    const inProgress = a.status === 'in_progress';
    $('#drawer').dataset.alertId = String(a.id);
    $('#drawer').dataset.status = a.status;
    $('#drawer-title').replaceChildren(badge(a.level), ' ', h('span', null, a.name));
    const ev = (a.evidence || []).length
      ? h('table', { class: 'grid evidence', 'data-testid': 'alert-evidence' },
        h('thead', null, h('tr', null, h('th', { style: 'width:30%' }, 'Name'), h('th', null, 'Value'))),
        h('tbody', null, a.evidence.map((e) => h('tr', null, h('td', { class: 'ev-name' }, humanize(e.name)), h('td', null, h('code', { class: 'ev-value' }, e.value))))))
      : notice('This alert carries no evidence.');

    // ---- handling: server-side actions only (host actions need the agent command channel)
    const noteIn = h('input', { type: 'text', class: 'handle-note', 'data-testid': 'handle-note', maxlength: '1000', placeholder: 'Note (optional): why', 'aria-label': 'Note', value: note });
    const resultBox = h('div', { class: 'handle-result', 'data-testid': 'handle-result', 'aria-live': 'polite' }, result);
    const buttons = [];
    const button = (action, text, cls = '') => {
      const b = h('button', { type: 'button', class: `btn small ${cls}`, 'data-testid': `handle-${action}` }, text);
      buttons.push(b);
      return b;
    };
    const whitelisted = a.status === 'whitelisted';
    const bIgnore = button('ignore', 'Ignore');
    const bHandled = button('handled', 'Mark handled');
    const bWhitelist = whitelisted ? null : button('whitelist', 'Whitelist…');
    const bUnwhitelist = whitelisted ? button('unwhitelist', 'Remove whitelist', 'danger-outline') : null;

    // The whitelist form: where the rule applies, and the key it will match.
    let wlForm = null;
    let scopeOf = () => 'host';
    if (bWhitelist) {
      const scopes = [
        ['host', 'This host', a.hostname || a.host_id],
        ['group', "This host's group", 'every host of the group'],
        ['all', 'All hosts', 'every protected host'],
      ];
      const hints = {};
      const radios = scopes.map(([v, label, hint]) => h('label', { class: 'radio' },
        h('input', { type: 'radio', name: 'wl-scope', value: v, checked: v === 'host', 'data-testid': `wl-scope-${v}` }),
        h('span', null, label), hints[v] = h('span', { class: 'muted small' }, hint)));
      // The alert does not name the host's group: ask for it once the form is opened.
      let groupAsked = false;
      const askGroup = () => {
        if (groupAsked) return;
        groupAsked = true;
        get(`/api/v1/hosts/${enc(a.host_id)}`).then((host) => {
          if (my === drawerToken && host.group) hints.group.textContent = `every host of group ${host.group}`;
        }).catch(() => { /* the generic hint stays */ });
      };
      scopeOf = () => (radios.map((r) => r.querySelector('input')).find((i) => i.checked) || { value: 'host' }).value;
      const keys = KEY_FIELDS[a.kind] || [];
      const key = keys.map((k) => [k, (a.evidence || []).find((e) => e.name === k && e.value !== '')]).filter(([, e]) => e);
      const confirmB = button('whitelist-confirm', 'Whitelist', 'primary');
      const cancelB = h('button', { type: 'button', class: 'btn small', 'data-testid': 'handle-whitelist-cancel' }, 'Cancel');
      wlForm = h('div', { class: 'wl-form', 'data-testid': 'whitelist-form', hidden: true },
        h('div', { class: 'wl-scopes', role: 'radiogroup', 'aria-label': 'Whitelist scope' }, radios),
        key.length
          ? h('div', { class: 'small' }, h('span', { class: 'muted' }, `Matches ${humanize(a.kind)} alerts with `),
            h('span', { class: 'chips' }, key.map(([k, e]) => h('span', { class: 'chip' }, `${k}=${e.value}`))))
          : notice(`This alert carries none of the fields a ${humanize(a.kind)} whitelist is keyed by (${keys.join(', ') || 'none'}).`, { kind: 'warn' }),
        h('div', { class: 'handle-actions' }, confirmB, cancelB));
      bWhitelist.addEventListener('click', () => {
        askGroup();
        wlForm.hidden = !wlForm.hidden;
        bWhitelist.classList.toggle('active', !wlForm.hidden);
      });
      cancelB.addEventListener('click', () => {
        wlForm.hidden = true;
        bWhitelist.classList.remove('active');
      });
      confirmB.addEventListener('click', () => act('whitelist', confirmB));
    }

    async function act(action, btn) {
      clearError();
      const label = btn.textContent;
      buttons.forEach((b) => { b.disabled = true; });
      btn.textContent = `${label}…`.replace('……', '…');
      const noteText = noteIn.value.trim();
      try {
        const results = await handleAlerts([a.id], action, { note: noteText, scope: scopeOf() });
        if (my !== drawerToken) return;
        const r = results.find((x) => x.id === a.id) || results[0];
        let fresh = a;
        try {
          fresh = await get(`/api/v1/alerts/${enc(a.id)}`);
        } catch (e) {
          if (e.handled) return;
          fresh = { ...a, status: (r && r.status) || a.status };
        }
        if (my !== drawerToken) return;
        const changed = results.some((x) => x.outcome === 'changed');
        renderAlert(fresh, { onChange, result: resultsNotice(action, results), note: changed ? '' : noteText });
        if (changed && onChange) onChange();
      } catch (e) {
        if (my !== drawerToken) return;
        buttons.forEach((b) => { b.disabled = false; });
        btn.textContent = label;
        showError(e, `${ACTION_LABELS[action]} alert ${a.id}`);
      }
    }
    bIgnore.addEventListener('click', () => act('ignore', bIgnore));
    bHandled.addEventListener('click', () => act('handled', bHandled));
    if (bUnwhitelist) bUnwhitelist.addEventListener('click', () => act('unwhitelist', bUnwhitelist));

    // ---- host actions: run on the host by its agent as signed commands
    const hostBox = hostActions(a, {
      disableAll: (on) => buttons.forEach((b) => { b.disabled = on; }),
      noteText: () => noteIn.value.trim(),
      live,
      onQueued: (results, action) => {
        const r = results.find((x) => x.id === a.id) || results[0];
        const queued = hostQueuedNotice(action, r);
        // The server said where the alert stands: show that now, then follow it.
        renderAlert({ ...a, status: r.status || 'in_progress', note: noteIn.value.trim(), handled_by: sessionStorage.getItem(USER_KEY) || a.handled_by, handled_at: Date.now() / 1000 },
          { onChange, result: queued, startedAt: Date.now() });
        if (onChange) onChange();
      },
      onRefused: async (results, action) => {
        let fresh = a;
        try {
          fresh = await get(`/api/v1/alerts/${enc(a.id)}`);
        } catch (e) {
          if (e.handled) return;
        }
        if (!live()) return;
        renderAlert(fresh, { onChange, result: resultsNotice(action, results), note: noteIn.value.trim() });
      },
    });
    // In progress, the alert is the agent's until it reports: nothing else applies meanwhile.
    if (inProgress) {
      buttons.forEach((b) => { b.disabled = true; });
      noteIn.disabled = true;
    }

    const handle = h('div', { class: 'handle-box', 'data-testid': 'alert-handle' },
      h('div', { class: 'handle-actions' }, bIgnore, bHandled, bWhitelist, bUnwhitelist),
      noteIn,
      wlForm,
      whitelisted ? h('div', { class: 'muted small' }, 'Removing the whitelist deletes its rule: every alert it covered returns to the list.') : null,
      hostBox,
      resultBox,
      inProgress ? hostProgress(a, startedAt, watch) : null);

    $('#drawer-body').replaceChildren(
      kv([
        ['Host', h('a', { href: `#/hosts/${enc(a.host_id)}` }, a.hostname || a.host_id)],
        ['Type', humanize(a.kind)],
        ['Level', badge(a.level)],
        ['Status', badge(a.status, { testid: 'alert-status' })],
        ['First seen', timeEl(a.first_seen, { full: true })],
        ['Last seen', timeEl(a.last_seen, { full: true })],
        ['Occurrences', fmtNum(a.count)],
        ['Alert ID', String(a.id)],
        a.handled_by && a.handled_at ? ['Last change', h('span', null, `${a.handled_by} · `, timeEl(a.handled_at))] : null,
        a.note ? ['Note', h('span', { class: 'wrap', 'data-testid': 'alert-note' }, a.note)] : null,
      ].filter(Boolean)),
      h('h3', { class: 'sub' }, 'Handle'),
      handle,
      h('h3', { class: 'sub' }, 'Evidence'),
      ev,
    );

    if (inProgress && watch) {
      watchHostAction(a, { onChange, result, startedAt, live });
    } else if (inProgress) {
      // Not followed any more: offer to look again.
      const again = $('#drawer-body [data-testid=host-action-check]');
      if (again) again.addEventListener('click', () => renderAlert(a, { onChange, result, startedAt: Date.now() }));
    }
  }

  // ---------------------------------------------------------------- host actions (drawer)

  /** The first non-empty evidence value among `names`, as the server picks it. */
  function evidenceValue(a, names) {
    for (const n of names) {
      const e = (a.evidence || []).find((x) => x.name === n && x.value !== '');
      if (e) return e.value;
    }
    return null;
  }

  /** What a host action would act on: the pid (kill needs one above 1) and an absolute file. */
  function hostTargets(a) {
    const p = evidenceValue(a, ['pid']);
    const pid = p !== null && /^\d{1,10}$/.test(p) && Number(p) > 1 && Number(p) <= 4294967295 ? Number(p) : null;
    const f = evidenceValue(a, ['path', 'file']);
    const file = f !== null && f.startsWith('/') ? f : null;
    // Blocking needs the address the alert came from (the server checks it is one).
    const ip = evidenceValue(a, ['source_ip']);
    return { pid, file, ip, process: evidenceValue(a, ['process', 'name']) };
  }

  /** Statuses a host action may start from (the server refuses the others). */
  const HOST_ACTION_FROM = ['unhandled', 'expired', 'ignored'];

  /** A select of block durations, `value` chosen. */
  function durationSelect(attrs, value = DEFAULT_BLOCK_DURATION) {
    const s = h('select', { 'aria-label': 'Block for', ...attrs }, BLOCK_DURATIONS.map(([v, t]) => h('option', { value: v }, t)));
    s.value = value;
    return s;
  }

  /**
   * The drawer's "On the host" box: Kill process, Kill and quarantine (the alert names a pid),
   * Quarantine file (it names an absolute path), Block source IP for a chosen time (it names a
   * source_ip). Each asks for a second click.
   */
  function hostActions(a, { disableAll, noteText, live, onQueued, onRefused }) {
    const t = hostTargets(a);
    if (t.pid === null && t.file === null && t.ip === null) return null;
    if (!HOST_ACTION_FROM.includes(a.status)) return null;
    const list = [];
    if (t.pid !== null) {
      list.push(['kill_process', 'Kill process', 'Confirm kill']);
      list.push(['kill_and_quarantine', 'Kill and quarantine', 'Confirm kill and quarantine']);
    }
    if (t.file !== null) list.push(['quarantine', 'Quarantine file', 'Confirm quarantine']);
    const durationSel = t.ip !== null ? durationSelect({ class: 'block-duration', 'data-testid': 'handle-block-duration' }) : null;
    if (t.ip !== null) list.push(['block_ip', 'Block source IP', 'Confirm block']);
    const hostButtons = [];
    let timer = null;
    const disarm = () => {
      clearTimeout(timer);
      for (const b of hostButtons) {
        b.dataset.armed = '';
        b.textContent = b.dataset.label;
        b.classList.remove('danger');
      }
    };
    for (const [action, label, confirmText] of list) {
      const b = h('button', { type: 'button', class: 'btn small danger-outline', 'data-testid': `handle-${action}`, dataset: { label } }, label);
      b.addEventListener('click', () => {
        if (b.dataset.armed !== '1') {
          disarm();
          b.dataset.armed = '1';
          b.textContent = confirmText;
          b.classList.add('danger');
          timer = setTimeout(disarm, 6000);
          return;
        }
        clearTimeout(timer);
        run(action, b);
      });
      hostButtons.push(b);
    }

    async function run(action, btn) {
      clearError();
      const label = btn.dataset.label;
      hostButtons.forEach((b) => { b.disabled = true; });
      if (durationSel) durationSel.disabled = true;
      disableAll(true);
      btn.textContent = 'Sending…';
      try {
        const results = await handleAlerts([a.id], action, { note: noteText(), duration: durationSel ? durationSel.value : undefined });
        if (!live()) return;
        const r = results.find((x) => x.id === a.id) || results[0];
        if (r && r.outcome === 'changed') onQueued(results, action);
        else await onRefused(results, action);
      } catch (e) {
        if (!live()) return;
        hostButtons.forEach((b) => { b.disabled = false; });
        if (durationSel) durationSel.disabled = false;
        disableAll(false);
        btn.textContent = label;
        btn.dataset.armed = '';
        btn.classList.remove('danger');
        showError(e, `${ACTION_LABELS[action]} (alert ${a.id})`);
      }
    }

    const target = [];
    if (t.pid !== null) target.push(h('span', null, 'process ', h('b', null, t.process || 'unknown'), ` (pid ${t.pid})`));
    if (t.file !== null) target.push(h('span', null, 'file ', h('code', null, t.file)));
    if (t.ip !== null) target.push(h('span', { 'data-testid': 'host-action-ip' }, 'source IP ', h('code', null, t.ip)));
    const blockB = hostButtons.find((b) => b.dataset.testid === 'handle-block_ip');
    const others = hostButtons.filter((b) => b !== blockB);
    return h('div', { class: 'host-actions', 'data-testid': 'host-actions' },
      h('div', { class: 'host-target small', 'data-testid': 'host-action-target' },
        h('span', { class: 'muted' }, 'On the host: '), target.flatMap((x, i) => (i ? [' · ', x] : [x]))),
      others.length ? h('div', { class: 'handle-actions' }, others) : null,
      blockB ? h('div', { class: 'handle-actions block-row', 'data-testid': 'handle-block' },
        blockB, h('label', { class: 'inline' }, 'for ', durationSel)) : null,
      h('div', { class: 'muted small' }, 'Runs on the host as a signed command when its agent next checks in; the alert is in progress until the agent reports.',
        t.pid !== null || t.file !== null ? ' Quarantined files can be restored from the Quarantine box for 30 days.' : null,
        blockB ? [' Blocks go to the ', h('a', { href: '#/ip-policy', 'data-testid': 'host-action-ip-policy-link' }, 'IP policy'), ' library, where they can be disabled.'] : null));
  }

  /** What the server said when it queued a host action. */
  function hostQueuedNotice(action, r) {
    return h('div', { class: 'notice n-info', 'data-testid': 'handle-notice', 'data-outcome': r.outcome },
      h('ul', { class: 'plain' }, h('li', { 'data-testid': 'handle-message', 'data-outcome': r.outcome, 'data-alert-id': r.id },
        h('strong', null, `${ACTION_LABELS[action]}: `), `${r.message}.`)));
  }

  /** The "waiting for the host" line of an alert in progress. */
  function hostProgress(a, startedAt, watching) {
    const secs = Math.max(0, Math.round((Date.now() - startedAt) / 1000));
    return h('div', { class: 'notice n-info progress-line', 'data-testid': 'host-action-progress' },
      watching ? h('span', { class: 'spinner', 'aria-hidden': 'true' }) : null,
      h('span', { class: 'progress-text' },
        watching
          ? ['A host action is running: waiting for the agent on ', h('b', null, a.hostname || a.host_id), ' to report… ',
            h('span', { class: 'muted', 'data-testid': 'host-action-elapsed' }, `${secs} s`)]
          : [`No report from ${a.hostname || a.host_id} after ${Math.round(HOST_ACTION_WAIT_MS / 1000)} s: the command stays queued until the host checks in or the command times out. `,
            h('button', { type: 'button', class: 'btn small', 'data-testid': 'host-action-check' }, 'Check again')]));
  }

  /** How the host action ended, from the alert it left `in_progress` with. */
  function hostOutcomeNotice(a) {
    const quarantined = /quarantined as /.test(a.note || '');
    const blocked = /^block_ip\b/.test(a.note || '');
    if (a.status === 'handled') {
      return h('div', { class: 'notice n-ok', 'data-testid': 'host-action-outcome', 'data-outcome': 'handled' },
        h('strong', null, 'Done on the host. '), a.note || '',
        quarantined ? [' ', h('a', { href: hashWith('/quarantine', { host: a.host_id }) }, 'Open the quarantine box →')] : null,
        blocked ? [' ', h('a', { href: '#/ip-policy', 'data-testid': 'host-action-ip-policy' }, 'Open the IP policy →')] : null);
    }
    if (a.status === 'unhandled') {
      return h('div', { class: 'notice n-error', 'data-testid': 'host-action-outcome', 'data-outcome': 'failed' },
        h('strong', null, 'Failed on the host. '), a.note || 'No reason given.', h('br'),
        h('span', { class: 'small' }, 'The alert is back in the list.'));
    }
    return notice(`The alert is now ${humanize(a.status)}.`, { testid: 'host-action-outcome' });
  }

  /** Polls alert `a` every second until it leaves `in_progress`, then shows the outcome. */
  function watchHostAction(a, { onChange, result, startedAt, live }) {
    const tick = async () => {
      if (!live()) return;
      let fresh = null;
      try {
        fresh = await get(`/api/v1/alerts/${enc(a.id)}`);
      } catch (e) {
        if (!live() || e.handled) return;
        showError(e, `Checking alert ${a.id}`);
      }
      if (!live()) return;
      if (fresh && fresh.status !== 'in_progress') {
        renderAlert(fresh, { onChange, result: [result, hostOutcomeNotice(fresh)] });
        if (onChange) onChange();
        return;
      }
      if (Date.now() - startedAt >= HOST_ACTION_WAIT_MS) {
        renderAlert(fresh || a, { onChange, result, watch: false });
        return;
      }
      const el = $('#drawer-body [data-testid=host-action-elapsed]');
      if (el) el.textContent = `${Math.round((Date.now() - startedAt) / 1000)} s`;
      setTimeout(tick, 1000);
    };
    setTimeout(tick, 1000);
  }

  // ---------------------------------------------------------------- alert handling

  const ACTION_LABELS = {
    ignore: 'Ignore', handled: 'Mark handled', whitelist: 'Whitelist', unwhitelist: 'Remove whitelist',
    kill_process: 'Kill process', quarantine: 'Quarantine file', kill_and_quarantine: 'Kill and quarantine',
    block_ip: 'Block source IP',
  };
  const ACTION_DONE = {
    ignore: 'ignored', handled: 'marked handled', whitelist: 'whitelisted', unwhitelist: 'taken off the whitelist',
    block_ip: 'queued to block their source IP',
  };

  /** Evidence fields a whitelist rule of each alert type is keyed by (SPEC R-AL4; the server decides). */
  const KEY_FIELDS = {
    malicious_file: ['md5'],
    abnormal_login: ['source_ip'],
    brute_force: ['source_ip'],
    network_attack: ['source_ip'],
    malicious_network_access: ['ip', 'domain', 'url'],
    webshell: ['web_dir'],
    malicious_script: ['md5', 'path'],
    suspicious_process: ['cmdline'],
    application_intrusion: ['cmdline'],
    reverse_shell: ['cmdline'],
    persistence: ['md5', 'feature'],
    sensitive_file_tampering: ['path'],
    data_leak: ['path'],
    web_threat: ['domain', 'url'],
    suspicious_connection: ['cmdline', 'dst_ip', 'dst_port'],
    suspicious_account: ['user'],
    suspicious_port: ['protocol', 'port', 'process'],
    configuration_risk: ['check'],
  };

  async function handleAlerts(ids, action, { note = '', scope = 'host', duration = DEFAULT_BLOCK_DURATION } = {}) {
    const body = { ids, action, note };
    if (action === 'whitelist') body.scope = scope;
    if (action === 'block_ip') body.duration = duration;
    const res = await post('/api/v1/alerts/handle', body);
    return res.results || [];
  }

  const capitalize = (s) => (s ? s[0].toUpperCase() + s.slice(1) : s);

  /**
   * What an action did: for one alert, the server's message; for several, how many changed and
   * the message of every alert that did not.
   */
  function resultsNotice(action, results) {
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

  function alertColumns({ host = true } = {}) {
    const cols = [
      { key: 'level', label: 'Level', width: '96px', value: (a) => LEVELS.indexOf(a.level), render: (a) => badge(a.level) },
      { key: 'name', label: 'Alert', render: (a) => h('span', { class: 'strong' }, a.name) },
      { key: 'kind', label: 'Type', value: (a) => humanize(a.kind) },
    ];
    if (host) {
      cols.push({
        key: 'hostname', label: 'Host',
        value: (a) => a.hostname || a.host_id,
        render: (a) => h('a', { href: `#/hosts/${enc(a.host_id)}` }, a.hostname || a.host_id),
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

  // ---------------------------------------------------------------- security score

  const BAND_CLASS = { secure: 'secure', 'a few risks': 'few', 'many risks': 'many', 'high risk': 'high' };
  /** What a presence cap stands for (vigil_detect::score): any pending item of the module caps the score. */
  const CAP_REASON = { 60: 'an unhandled alert', 80: 'an unfixed vulnerability', 90: 'a failed baseline check' };

  const bandCls = (band) => `band-${BAND_CLASS[band] || 'none'}`;

  function bandBadge(band, testid) {
    return h('span', { class: `band-badge ${bandCls(band)}`, 'data-testid': testid }, band || '—');
  }

  /** A ring filled to `score` percent in the band's colour, the number inside. */
  function scoreRing(s, { testid, small = false } = {}) {
    return h('div', { class: `score-ring ${bandCls(s.band)}${small ? ' small' : ''}`, style: `--p:${Math.max(0, Math.min(100, Number(s.score) || 0))}`, title: `${s.score} of 100 · ${s.band}` },
      h('span', { class: 'score-num', 'data-testid': testid }, String(s.score)));
  }

  /** `alerts −10 · capped at 60 (an unhandled alert)`, or that nothing costs points. */
  function scoreCosts(s) {
    const parts = (s.deductions || []).map(([module, pts]) => `${module} −${Number(pts).toLocaleString('en-US', { maximumFractionDigits: 1 })}`);
    if (s.capped_at !== null && s.capped_at !== undefined) {
      parts.push(`capped at ${s.capped_at}${CAP_REASON[s.capped_at] ? ` by ${CAP_REASON[s.capped_at]}` : ''}`);
    }
    return parts.length ? parts.join(' · ') : 'nothing pending';
  }

  function scorePanel(sc) {
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
          h('div', { class: 'muted small score-help' }, 'Unhandled alerts cost points (urgent 10, suspicious 5, reminder 1); any unhandled alert caps a host at 60.'))),
      h('div', { class: 'score-list' },
        h('div', { class: 'score-list-head' }, risky.length ? 'Lowest-scoring hosts, and what costs them points' : 'Hosts'),
        lowest)),
    { testid: 'ov-score', extra: h('a', { href: '#/alerts' }, 'Handle alerts →') });
  }

  // ---------------------------------------------------------------- overview

  async function viewOverview(ctx) {
    setTitle('Overview');
    const score = h('div', { class: 'score-slot' });
    const stats = h('div', { class: 'overview-grid' }, loading());
    const latest = dataTable({
      columns: alertColumns(),
      testid: 'latest-alerts',
      filter: false,
      sort: null,
      emptyText: 'No alerts: all quiet.',
      onRowClick: (a) => openAlert(a.id, { onChange: () => load().catch((e) => ctx.alive() && showError(e, 'Refreshing the overview')) }),
      rowAttrs: (a) => ({ 'data-alert-id': a.id }),
    });
    setView(score, stats, panel('Latest alerts', latest.el, { extra: h('a', { href: '#/alerts' }, 'All alerts →'), testid: 'latest-panel' }));

    async function load() {
      const [ov, al, sc] = await Promise.all([
        get('/api/v1/overview'),
        get('/api/v1/alerts?limit=10'),
        // The score has its own card: when it fails, the card says why and the rest still shows.
        get('/api/v1/score').catch((e) => {
          if (e.handled) throw e;
          return { error: e };
        }),
      ]);
      if (!ctx.alive()) return;
      const stat = (label, value, cls, href, testid) =>
        h('a', { class: `stat s-${cls}`, href, 'data-testid': testid },
          h('span', { class: 'stat-value' }, fmtNum(value)), h('span', { class: 'stat-label' }, label));
      const total = ov.hosts_total || 0;
      const pct = (n) => (total ? `${((n / total) * 100).toFixed(1)}%` : '0%');
      const bar = h('div', { class: 'ratio', title: 'Online / offline / uninstalled' },
        h('span', { class: 'r-online', style: `width:${pct(ov.hosts_online)}` }),
        h('span', { class: 'r-offline', style: `width:${pct(ov.hosts_offline)}` }),
        h('span', { class: 'r-uninstalled', style: `width:${pct(ov.hosts_uninstalled)}` }));
      const alerts = ov.alerts || {};
      const unhandled = LEVELS.reduce((s, l) => s + (alerts[l] || 0), 0);
      stats.replaceChildren(
        panel('Protected hosts', [
          h('div', { class: 'stat-row' },
            stat('Total', ov.hosts_total, 'total', '#/hosts', 'ov-hosts-total'),
            stat('Online', ov.hosts_online, 'online', '#/hosts?state=online', 'ov-hosts-online'),
            stat('Offline', ov.hosts_offline, 'offline', '#/hosts?state=offline', 'ov-hosts-offline'),
            stat('Uninstalled', ov.hosts_uninstalled, 'uninstalled', '#/hosts?state=uninstalled', 'ov-hosts-uninstalled')),
          bar,
          h('div', { class: 'muted small' }, total ? `${pct(ov.hosts_online)} of hosts reporting` : 'No host enrolled yet. ',
            total ? null : h('a', { href: '#/install' }, 'Install the agent →')),
        ], { testid: 'ov-hosts' }),
        panel('Unhandled alerts', [
          h('div', { class: 'stat-row' },
            stat('Urgent', alerts.urgent || 0, 'urgent', '#/alerts?level=urgent&status=unhandled', 'ov-alerts-urgent'),
            stat('Suspicious', alerts.suspicious || 0, 'suspicious', '#/alerts?level=suspicious&status=unhandled', 'ov-alerts-suspicious'),
            stat('Reminder', alerts.reminder || 0, 'reminder', '#/alerts?level=reminder&status=unhandled', 'ov-alerts-reminder')),
          h('div', { class: 'muted small' }, unhandled ? `${fmtNum(unhandled)} alert${unhandled === 1 ? '' : 's'} waiting for an operator` : 'Nothing waiting for an operator.'),
        ], { testid: 'ov-alerts' }),
      );
      score.replaceChildren(scorePanel(sc));
      latest.setRows(al.alerts || []);
    }

    await load();
    autoRefresh(ctx, load);
  }

  // ---------------------------------------------------------------- hosts

  async function viewHosts(ctx) {
    setTitle('Hosts');
    const state = ctx.params.get('state') || '';
    const group = ctx.params.get('group') || '';

    const seg = h('div', { class: 'segmented', role: 'group', 'aria-label': 'Host state' },
      ['', ...HOST_STATES].map((s) => h('a', {
        class: `seg${s === state ? ' active' : ''}`,
        href: hashWith('/hosts', { state: s, group }),
        'data-testid': `state-filter-${s || 'all'}`,
      }, s ? humanize(s)[0].toUpperCase() + humanize(s).slice(1) : 'All')));
    const groupSel = h('select', { id: 'group-filter', 'data-testid': 'group-filter', 'aria-label': 'Group' },
      h('option', { value: '' }, 'All groups'));
    if (group) groupSel.appendChild(h('option', { value: group, selected: true }, group));
    groupSel.value = group;
    groupSel.addEventListener('change', () => {
      location.hash = hashWith('/hosts', { state, group: groupSel.value });
    });

    const table = dataTable({
      testid: 'hosts-table',
      placeholder: 'Filter by name, IP, OS, label…',
      sort: { key: 'hostname', dir: 1 },
      emptyText: 'No host matches. Hosts appear here once an agent enrolls.',
      tools: [seg, groupSel],
      onRowClick: (x) => {
        location.hash = `#/hosts/${enc(x.id)}`;
      },
      rowAttrs: (x) => ({ 'data-testid': 'host-row', 'data-host-id': x.id, 'data-hostname': x.hostname, 'data-state': x.state }),
      columns: [
        {
          key: 'hostname', label: 'Host',
          render: (x) => h('div', { class: 'host-cell' },
            h('a', { href: `#/hosts/${enc(x.id)}`, class: 'strong host-link', 'data-testid': 'host-link' }, x.hostname || x.id),
            h('div', { class: 'muted mono small nowrap' }, x.id)),
        },
        { key: 'state', label: 'State', width: '104px', value: (x) => HOST_STATES.indexOf(x.state), render: (x) => badge(x.state, { testid: 'host-state' }) },
        { key: 'ips', label: 'IP addresses', value: (x) => (x.ips || []).join(' '), render: (x) => h('span', { class: 'mono small' }, (x.ips || []).join(', ') || '—') },
        { key: 'group', label: 'Group' },
        { key: 'labels', label: 'Labels', value: (x) => Object.entries(x.labels || {}).map(([k, v]) => `${k}=${v}`).join(' '), render: (x) => labelChips(x.labels) },
        { key: 'os', label: 'OS', render: (x) => h('div', null, x.os || '—', h('div', { class: 'muted small' }, x.kernel || '')) , value: (x) => `${x.os} ${x.kernel}` },
        { key: 'alerts', label: 'Alerts', width: '100px', nofilter: true, value: (x) => LEVELS.reduce((s, l, i) => s + (x.alerts?.[l] || 0) * 10 ** (6 - 2 * i), 0), render: (x) => alertCounts(x.alerts) },
        { key: 'agent_version', label: 'Agent', width: '72px', cls: 'mono small', render: (x) => x.agent_version || h('span', { class: 'muted' }, '—') },
        { key: 'last_seen', label: 'Last seen', width: '100px', nofilter: true, value: (x) => x.last_seen || 0, render: (x) => timeEl(x.last_seen) },
      ],
    });
    setView(panel(null, table.el, { testid: 'hosts-panel' }));

    async function load() {
      const qs = new URLSearchParams();
      if (state) qs.set('state', state);
      if (group) qs.set('group', group);
      const s = qs.toString();
      const res = await get(`/api/v1/hosts${s ? `?${s}` : ''}`);
      if (!ctx.alive()) return;
      table.setRows(res.hosts || []);
    }

    const groupsP = get('/api/v1/groups').then((g) => {
      if (!ctx.alive()) return;
      for (const gr of g.groups || []) {
        if (gr.name === group) continue;
        groupSel.appendChild(h('option', { value: gr.name }, `${gr.name} (${fmtNum(gr.hosts)})`));
      }
      groupSel.value = group;
    }).catch((e) => {
      if (ctx.alive()) showError(e, 'Loading groups');
    });
    await load();
    await groupsP;
    autoRefresh(ctx, load);
  }

  // ---------------------------------------------------------------- host detail

  const TABS = [
    ['system', 'System'],
    ['processes', 'Processes'],
    ['ports', 'Ports'],
    ['accounts', 'Accounts'],
    ['packages', 'Packages'],
    ['alerts', 'Alerts'],
    ['commands', 'Commands'],
    ['events', 'Events'],
  ];

  const COMMAND_OPEN = ['queued', 'sent'];

  /** What a command acts on, from its parameters (`paths` maps quarantine ids to paths). */
  function commandTarget(c, paths) {
    const p = c.params || {};
    if (p.quarantine_id) {
      const path = paths.get(p.quarantine_id);
      return `${path || `quarantine id ${p.quarantine_id}`}${p.overwrite ? ' (overwrite)' : ''}`;
    }
    if (p.path) return p.path;
    if (p.pid) return `pid ${p.pid}${p.exe ? ` ${p.exe}` : ''}`;
    if (p.target) return `${p.target} (${p.direction === 'out' ? 'outbound' : 'inbound'})${p.rule_id ? `, IP rule ${p.rule_id}` : ''}`;
    return '—';
  }

  function eventSummary(body) {
    const b = body || {};
    const sock = (s) => `${s.protocol || ''} ${s.address || ''}:${s.port ?? ''}${s.process ? ` — ${s.process}${s.pid ? ` (pid ${s.pid})` : ''}` : ''}`;
    const acct = (a) => `${a.name} (uid ${a.uid}, ${a.shell || 'no shell'})`;
    const pkg = (p) => `${p.name} ${p.version || ''}${p.arch ? ` [${p.arch}]` : ''}${p.format ? ` (${p.format})` : ''}`;
    if (b.socket) return sock(b.socket);
    if (b.account) return acct(b.account);
    if (b.package) return pkg(b.package);
    if (b.before && b.after) {
      const changes = Object.keys(b.after)
        .filter((k) => JSON.stringify(b.before[k]) !== JSON.stringify(b.after[k]))
        .map((k) => `${k}: ${JSON.stringify(b.before[k])} → ${JSON.stringify(b.after[k])}`);
      return `${b.after.name || ''} ${changes.join(', ')}`.trim();
    }
    const rest = { ...b };
    delete rest.kind;
    delete rest.time;
    const s = JSON.stringify(rest);
    return s.length > 300 ? `${s.slice(0, 300)}…` : s;
  }

  function trunc(s, n) {
    s = String(s ?? '');
    return s.length > n ? h('span', { title: s }, `${s.slice(0, n)}…`) : s;
  }

  function fmtBytes(n) {
    if (!n) return '0 B';
    if (n < 1024) return `${n} B`;
    if (n < 1048576) return `${(n / 1024).toFixed(1)} KiB`;
    return `${(n / 1048576).toFixed(1)} MiB`;
  }

  /** The agent's own health line: memory and spool counters; dropped events stand out. */
  function agentHealth(host) {
    const a = host.agent || {};
    const sp = a.spool || {};
    const dropped = sp.dropped_events || 0;
    const failed = sp.write_failures || 0;
    const item = (testid, text, bad) => h('span', { class: `health-item${bad ? ' bad' : ''}`, 'data-testid': testid }, text);
    if (!a.rss_kb && !sp.pending_batches && !dropped && !failed) {
      return h('div', { class: 'agent-health muted small', 'data-testid': 'host-agent-health' }, 'Agent health: no report yet.');
    }
    return h('div', { class: `agent-health small${dropped || failed ? ' has-bad' : ''}`, 'data-testid': 'host-agent-health' },
      h('span', { class: 'muted' }, 'Agent health'),
      item('agent-memory', `memory ${(a.rss_kb / 1024).toFixed(1)} MB`),
      item('agent-spool-pending', `spool ${fmtNum(sp.pending_batches || 0)} batch${sp.pending_batches === 1 ? '' : 'es'} pending (${fmtBytes(sp.pending_bytes || 0)})`),
      item('agent-dropped', `${fmtNum(dropped)} event${dropped === 1 ? '' : 's'} dropped`, dropped > 0),
      item('agent-write-failures', `${fmtNum(failed)} failed spool write${failed === 1 ? '' : 's'}`, failed > 0),
      dropped > 0 ? h('span', { class: 'health-note' }, 'The spool overflowed: the oldest events were lost.') : null);
  }

  async function viewHost(ctx, id) {
    const crumbHosts = h('a', { href: '#/hosts', class: 'crumb' }, 'Hosts');
    setTitle(crumbHosts, id);
    let tab = ctx.params.get('tab') || 'system';
    if (!TABS.some(([k]) => k === tab)) tab = 'system';

    const header = h('div', { class: 'host-header' }, loading());
    const tabBar = h('div', { class: 'tabs', role: 'tablist' });
    const tabPanel = h('div', { class: 'tab-panel', id: 'tab-panel', 'data-testid': 'tab-panel' });
    const tabSection = h('section', { class: 'panel', hidden: true }, tabBar, tabPanel);
    setView(panel(null, header, { cls: 'host-panel' }), tabSection);

    const scoreP = get('/api/v1/score').catch((e) => ({ error: e }));
    const host = await get(`/api/v1/hosts/${enc(id)}`);
    if (!ctx.alive()) return;
    setTitle(crumbHosts, host.hostname || id);
    const scoreSlot = h('span', { class: 'host-score', 'data-testid': 'host-score' }, h('span', { class: 'muted small' }, 'Score …'));
    header.replaceChildren(
      h('div', { class: 'host-title' },
        h('h1', { 'data-testid': 'host-name' }, host.hostname || id),
        badge(host.state, { testid: 'host-detail-state' }),
        scoreSlot,
        h('span', { class: 'host-alerts' }, 'Unhandled alerts: ', alertCounts(host.alerts))),
      agentHealth(host),
      kv([
        ['Group', host.group],
        ['Labels', labelChips(host.labels)],
        ['OS', host.os || '—'],
        ['Kernel', h('span', { class: 'mono' }, host.kernel || '—')],
        ['IP addresses', h('span', { class: 'mono' }, (host.ips || []).join(', ') || '—')],
        ['Agent version', h('span', { class: 'mono' }, host.agent_version || '—')],
        ['Enrolled', timeEl(host.enrolled_at, { full: true })],
        ['Last seen', timeEl(host.last_seen, { full: true })],
        ['Fingerprints', timeEl(host.inventory_at, { full: true })],
        host.uninstalled_at ? ['Uninstalled', timeEl(host.uninstalled_at, { full: true })] : null,
        ['Host ID', h('span', { class: 'mono' }, host.id)],
      ].filter(Boolean), { testid: 'host-facts' }),
    );
    scoreP.then((sc) => {
      if (!ctx.alive()) return;
      if (sc.error) {
        if (sc.error.handled) return;
        scoreSlot.replaceChildren(h('span', { class: 'muted small', title: errorMessage(sc.error) }, 'Score unavailable'));
        showError(sc.error, 'Loading the security score');
        return;
      }
      const mine = (sc.hosts || []).find((x) => x.host_id === host.id);
      if (!mine) {
        scoreSlot.replaceChildren(h('span', { class: 'muted small' }, host.state === 'uninstalled' ? 'Not scored: uninstalled' : 'Not scored'));
        return;
      }
      scoreSlot.title = `What costs points: ${scoreCosts(mine)}`;
      scoreSlot.replaceChildren(
        h('span', { class: 'muted' }, 'Security score '),
        h('span', { class: `score-inline ${bandCls(mine.band)}`, 'data-testid': 'host-score-value' }, String(mine.score)),
        bandBadge(mine.band, 'host-score-band'),
        h('span', { class: 'muted small', 'data-testid': 'host-score-costs' }, scoreCosts(mine)));
    });

    let fp = null;
    let fpError = null;
    try {
      fp = await get(`/api/v1/hosts/${enc(id)}/fingerprints`);
    } catch (e) {
      if (e.handled) return;
      fpError = errorMessage(e);
      if (e.status !== 404) showError(e, 'Loading fingerprints');
    }
    if (!ctx.alive()) return;

    tabSection.hidden = false;
    const tabButtons = {};
    const rendered = {};
    const countOf = {
      processes: fp ? fp.processes?.length : null,
      ports: fp ? fp.sockets?.length : null,
      accounts: fp ? fp.accounts?.length : null,
      packages: fp ? fp.packages?.length : null,
    };
    for (const [key, label] of TABS) {
      const b = h('button', { type: 'button', class: 'tab', role: 'tab', 'data-testid': `tab-${key}`, id: `tab-${key}` },
        label, countOf[key] !== null && countOf[key] !== undefined ? h('span', { class: 'tab-count' }, fmtNum(countOf[key])) : null);
      b.addEventListener('click', () => select(key));
      tabButtons[key] = b;
      tabBar.appendChild(b);
    }

    function fpTab(build) {
      if (!fp) return notice(fpError || 'No fingerprints yet.', { kind: 'warn', testid: 'fp-missing' });
      return build();
    }

    const builders = {
      system: () => fpTab(() => {
        const os = fp.os || {};
        const admins = (fp.accounts || []).filter((a) => a.admin).length;
        const rows = [
          ['Operating system', os.pretty_name],
          ['Distribution ID', os.id],
          ['Version', os.version_id],
          ['Codename', os.codename],
          ['Like', (os.id_like || []).join(', ')],
          ['Kernel', os.kernel],
          ['Architecture', os.arch],
          ['Hostname', os.hostname],
          ['CPU model', os.cpu_model],
          ['CPU count', os.cpu_count],
          ['Memory', fmtBytesKb(os.memory_total_kb)],
          ['IP addresses', (os.ips || []).join(', ')],
          ['Boot time', os.boot_time ? `${fmtTime(os.boot_time)} (up ${fmtAgo(os.boot_time).replace(' ago', '')})` : '—'],
          ['Processes', fmtNum(fp.processes?.length || 0)],
          ['Listening ports', fmtNum(fp.sockets?.length || 0)],
          ['Accounts', `${fmtNum(fp.accounts?.length || 0)} (${fmtNum(admins)} with admin rights)`],
          ['Packages', fmtNum(fp.packages?.length || 0)],
          ['Fingerprints collected', fp.collected_at ? `${fmtTime(fp.collected_at)} (${fmtAgo(fp.collected_at)})` : '—'],
        ].map(([k, v]) => ({ k, v: v === undefined || v === null || v === '' ? '—' : String(v) }));
        return dataTable({
          testid: 'table-system',
          rows,
          columns: [
            { key: 'k', label: 'Property', width: '220px', cls: 'strong' },
            { key: 'v', label: 'Value', cls: 'wrap' },
          ],
        }).el;
      }),
      processes: () => fpTab(() => dataTable({
        testid: 'table-processes',
        rows: fp.processes || [],
        placeholder: 'Filter by name, user, path, command line…',
        sort: { key: 'pid', dir: 1 },
        columns: [
          { key: 'pid', label: 'PID', width: '64px', cls: 'num' },
          { key: 'ppid', label: 'PPID', width: '64px', cls: 'num' },
          { key: 'user', label: 'User', width: '100px', value: (p) => p.user || String(p.uid), render: (p) => h('span', { title: `uid ${p.uid}` }, p.user || String(p.uid)) },
          { key: 'name', label: 'Name', width: '150px', cls: 'strong wrap' },
          { key: 'exe', label: 'Executable', width: '22%', cls: 'mono small wrap', render: (p) => p.exe || h('span', { class: 'muted' }, '—') },
          { key: 'cmdline', label: 'Command line', cls: 'mono small wrap', render: (p) => trunc(p.cmdline, 120) },
          { key: 'exe_sha256', label: 'SHA-256', width: '100px', cls: 'mono small', render: (p) => (p.exe_sha256 ? h('span', { title: p.exe_sha256 }, `${p.exe_sha256.slice(0, 12)}…`) : h('span', { class: 'muted' }, '—')) },
          { key: 'start_time', label: 'Started', width: '96px', nofilter: true, render: (p) => timeEl(p.start_time) },
        ],
      }).el),
      ports: () => fpTab(() => dataTable({
        testid: 'table-ports',
        rows: fp.sockets || [],
        placeholder: 'Filter by port, address, process…',
        sort: { key: 'port', dir: 1 },
        rowAttrs: (s) => ({ 'data-port': s.port }),
        columns: [
          { key: 'protocol', label: 'Protocol', width: '84px', render: (s) => badge(s.protocol, { cls: 'neutral', text: s.protocol }) },
          { key: 'address', label: 'Address', cls: 'mono' },
          { key: 'port', label: 'Port', width: '80px', cls: 'num strong' },
          { key: 'process', label: 'Process', render: (s) => s.process || h('span', { class: 'muted' }, 'unknown') },
          { key: 'pid', label: 'PID', width: '72px', cls: 'num', render: (s) => (s.pid ? String(s.pid) : '—') },
          { key: 'uid', label: 'UID', width: '72px', cls: 'num' },
          { key: 'inode', label: 'Inode', width: '100px', cls: 'num muted' },
        ],
      }).el),
      accounts: () => fpTab(() => dataTable({
        testid: 'table-accounts',
        rows: fp.accounts || [],
        placeholder: 'Filter by name, home, shell…',
        sort: { key: 'uid', dir: 1 },
        columns: [
          { key: 'name', label: 'Account', cls: 'strong' },
          { key: 'uid', label: 'UID', width: '72px', cls: 'num' },
          { key: 'gid', label: 'GID', width: '72px', cls: 'num' },
          { key: 'home', label: 'Home', cls: 'mono small' },
          { key: 'shell', label: 'Shell', cls: 'mono small' },
          { key: 'login_shell', label: 'Can log in', width: '90px', value: (a) => (a.login_shell ? 'yes' : 'no'), render: (a) => (a.login_shell ? badge('yes', { cls: 'info' }) : h('span', { class: 'muted' }, 'no')) },
          { key: 'password', label: 'Password', width: '120px', render: (a) => badge(a.password, { cls: `pw-${a.password}` }) },
          { key: 'admin', label: 'Admin', width: '80px', value: (a) => (a.admin ? 'admin' : ''), render: (a) => (a.admin ? badge('admin', { cls: 'suspicious' }) : h('span', { class: 'muted' }, '—')) },
        ],
      }).el),
      packages: () => fpTab(() => dataTable({
        testid: 'table-packages',
        rows: fp.packages || [],
        placeholder: 'Filter by name, version, source…',
        sort: { key: 'name', dir: 1 },
        columns: [
          { key: 'format', label: 'Format', width: '72px', render: (p) => badge(p.format, { cls: 'neutral', text: p.format }) },
          { key: 'name', label: 'Name', cls: 'strong' },
          { key: 'version', label: 'Version', cls: 'mono small' },
          { key: 'arch', label: 'Arch', width: '80px' },
          { key: 'source', label: 'Source', render: (p) => p.source || h('span', { class: 'muted' }, '—') },
          { key: 'source_version', label: 'Source version', cls: 'mono small', render: (p) => p.source_version || h('span', { class: 'muted' }, '—') },
        ],
      }).el),
      alerts: () => {
        const box = h('div', null, loading());
        const t = dataTable({
          testid: 'table-host-alerts',
          columns: alertColumns({ host: false }),
          placeholder: 'Filter alerts…',
          emptyText: 'No alert on this host.',
          onRowClick: (a) => openAlert(a.id, {
            onChange: () => {
              if (ctx.alive() && tab === 'alerts') select('alerts');
            },
          }),
          rowAttrs: (a) => ({ 'data-alert-id': a.id }),
        });
        get(`/api/v1/alerts?host=${enc(id)}&limit=200`).then((res) => {
          if (!ctx.alive()) return;
          t.setRows(res.alerts || []);
          const more = res.total > (res.alerts || []).length
            ? h('div', { class: 'muted small pad' }, `Showing the latest ${fmtNum(res.alerts.length)} of ${fmtNum(res.total)}. `,
              h('a', { href: hashWith('/alerts', { host: id, status: 'all' }) }, 'Open in Alerts →'))
            : null;
          fill(box, t.el, more);
        }).catch((e) => {
          if (!ctx.alive()) return;
          box.replaceChildren(notice(errorMessage(e), { kind: 'error' }));
          showError(e, 'Loading alerts');
        });
        return box;
      },
      commands: () => {
        const box = h('div', null, loading());
        let paths = new Map();
        let t = null;
        const load = async () => {
          const [res, q] = await Promise.all([
            get(`/api/v1/commands?host=${enc(id)}`),
            // Only to name the files restores act on: without it they show their quarantine id.
            get(`/api/v1/quarantine?host=${enc(id)}`).catch((e) => {
              if (e.handled) throw e;
              return { files: [] };
            }),
          ]);
          if (!ctx.alive()) return false;
          paths = new Map((q.files || []).map((f) => [f.qid, f.path]));
          const list = res.commands || [];
          if (!t) {
            t = dataTable({
              testid: 'table-commands',
              placeholder: 'Filter by action, target, state, message…',
              sort: { key: 'id', dir: -1 },
              emptyText: "No host action yet. Kill a process or quarantine a file from an alert's details.",
              rowAttrs: (c) => ({ 'data-testid': 'command-row', 'data-command-id': c.id, 'data-action': c.action, 'data-state': c.state }),
              columns: [
                { key: 'id', label: 'ID', width: '48px', cls: 'num' },
                { key: 'action', label: 'Action', width: '140px', cls: 'nowrap', value: (c) => humanize(c.action), render: (c) => h('span', { class: 'strong' }, humanize(c.action)) },
                { key: 'target', label: 'Target', width: '20%', cls: 'mono small wrap', value: (c) => commandTarget(c, paths) },
                {
                  key: 'alert_id', label: 'Alert', width: '60px', value: (c) => c.alert_id || '',
                  render: (c) => (c.alert_id
                    ? h('button', { type: 'button', class: 'btn link small', 'data-testid': 'command-alert', onclick: () => openAlert(c.alert_id, { onChange: () => reload() }) }, `#${c.alert_id}`)
                    : h('span', { class: 'muted' }, '—')),
                },
                { key: 'state', label: 'State', width: '100px', render: (c) => badge(c.state, { cls: `cmd-${c.state}`, testid: 'command-state' }) },
                {
                  // Sorted by time; the filter also finds who queued it.
                  key: 'created_at', label: 'Queued', width: '104px', value: (c) => `${c.created_at || 0} ${c.created_by}`,
                  render: (c) => h('div', null, timeEl(c.created_at), h('div', { class: 'muted small' }, `by ${c.created_by}`)),
                },
                {
                  key: 'finished_at', label: 'Finished', width: '84px', nofilter: true, value: (c) => c.finished_at || 0,
                  render: (c) => (c.finished_at ? timeEl(c.finished_at)
                    : h('span', { class: 'muted small', title: `expires ${fmtTime(c.expires_at)}` }, c.state === 'sent' ? 'running' : `expires ${fmtAgo(c.expires_at)}`)),
                },
                {
                  key: 'message', label: 'Result', cls: 'small msg',
                  render: (c) => h('span', { 'data-testid': 'command-message', class: c.state === 'failed' || c.state === 'timed_out' ? 'cmd-error' : '' },
                    c.message || h('span', { class: 'muted' }, COMMAND_OPEN.includes(c.state) ? 'waiting for the host' : '—')),
                },
              ],
            });
            fill(box,
              h('div', { class: 'muted small pad' }, 'Kill and quarantine actions sent to this host, newest first, with what its agent reported. ',
                h('a', { href: hashWith('/quarantine', { host: id }) }, "This host's quarantine box →")),
              t.el);
          }
          t.setRows(list);
          return list.some((c) => COMMAND_OPEN.includes(c.state));
        };
        // While a command waits for the host, the list follows it every 2 s.
        const follow = (open) => {
          if (open) {
            setTimeout(() => {
              if (ctx.alive() && tab === 'commands' && rendered.commands === box) reload();
            }, 2000);
          }
        };
        const reload = () => load().then(follow).catch((e) => {
          if (!ctx.alive() || e.handled) return;
          if (!t) box.replaceChildren(notice(errorMessage(e), { kind: 'error' }));
          showError(e, 'Loading commands');
        });
        reload();
        return box;
      },
      events: () => {
        const box = h('div', null, loading());
        get(`/api/v1/hosts/${enc(id)}/events?limit=100`).then((res) => {
          if (!ctx.alive()) return;
          const events = res.events || [];
          const t = dataTable({
            testid: 'table-events',
            rows: events,
            placeholder: 'Filter events…',
            sort: { key: 'time', dir: -1 },
            emptyText: 'No event recorded yet: events appear when ports, accounts or packages change.',
            columns: [
              { key: 'time', label: 'Time', width: '170px', render: (e) => h('span', { title: fmtAgo(e.time) }, fmtTime(e.time)) },
              { key: 'kind', label: 'Event', width: '160px', value: (e) => humanize(e.kind), render: (e) => badge(e.kind, { cls: `ev-${e.kind.split('_').pop()}` }) },
              { key: 'summary', label: 'Details', cls: 'mono small wrap', value: (e) => eventSummary(e.body) },
              { key: 'seq', label: 'Seq', width: '72px', cls: 'num muted' },
            ],
          });
          fill(box,
            res.total > events.length ? h('div', { class: 'muted small pad' }, `The latest ${fmtNum(events.length)} of ${fmtNum(res.total)} events.`) : null,
            t.el);
        }).catch((e) => {
          if (!ctx.alive()) return;
          box.replaceChildren(notice(errorMessage(e), { kind: 'error' }));
          showError(e, 'Loading events');
        });
        return box;
      },
    };

    function select(key) {
      tab = key;
      for (const [k, b] of Object.entries(tabButtons)) {
        b.classList.toggle('active', k === key);
        b.setAttribute('aria-selected', k === key ? 'true' : 'false');
      }
      // Alerts, commands and events are fetched again on every visit; fingerprint tabs are kept.
      if (!rendered[key] || key === 'alerts' || key === 'commands' || key === 'events') rendered[key] = builders[key]();
      tabPanel.replaceChildren(rendered[key]);
      tabPanel.dataset.tab = key;
      history.replaceState(null, '', hashWith(`/hosts/${enc(id)}`, { tab: key === 'system' ? '' : key }));
      const f = tabPanel.querySelector('input.filter');
      if (f && key !== 'system') f.focus({ preventScroll: true });
    }
    select(tab);
  }

  // ---------------------------------------------------------------- alerts

  async function viewAlerts(ctx) {
    setTitle('Alerts');
    const p = ctx.params;
    // Without a status in the URL the page lists what waits for an operator; `all` lists every status.
    const f = {
      level: p.get('level') || '',
      status: p.get('status') || 'unhandled',
      kind: p.get('kind') || '',
      host: p.get('host') || '',
      q: (p.get('q') || '').slice(0, 200),
      // A preset (24h, 7d, 30d) counts back from each load; custom takes the dates below.
      time: p.get('time') || '',
      since: p.get('since') || '',
      until: p.get('until') || '',
      sort: p.get('sort') || '',
    };
    if (f.status !== 'all' && !STATUSES.includes(f.status)) f.status = 'unhandled';
    if (!ALERT_SORTS.some(([v]) => v === f.sort) || f.sort === 'newest') f.sort = '';
    // Dates in the URL without a preset are a custom range.
    if (!f.time && (f.since || f.until)) f.time = 'custom';
    if (f.time && !TIME_PRESETS[f.time] && f.time !== 'custom') f.time = '';
    if (f.time !== 'custom') {
      f.since = '';
      f.until = '';
    }
    const limit = 50;
    const offset = Math.max(0, parseInt(p.get('offset') || '0', 10) || 0);
    const hashOf = (changes) => {
      const next = { ...f, offset: '', ...changes };
      if (next.status === 'unhandled') next.status = '';
      // The defaults stay out of the URL.
      if (next.sort === 'newest') next.sort = '';
      if (next.time !== 'custom') {
        next.since = '';
        next.until = '';
      }
      return hashWith('/alerts', next);
    };
    const go = (changes) => {
      location.hash = hashOf(changes);
    };
    const select = (name, label, all, options, value) => {
      const s = h('select', { 'data-testid': `alerts-${name}`, id: `alerts-${name}`, 'aria-label': label },
        all === null ? null : h('option', { value: '' }, all),
        options.map((o) => (Array.isArray(o)
          ? h('option', { value: o[0] }, o[1])
          : h('option', { value: o }, o === 'all' ? 'All statuses' : humanize(o)))));
      s.value = value;
      s.addEventListener('change', () => go({ [name]: s.value, offset: '' }));
      return s;
    };

    // ---- text search: typed text goes to the URL (and the server) after a pause
    // The page is rebuilt on every URL change: a search box that had the focus keeps it.
    // The page is rebuilt on every URL change: the control that had the focus gets it back,
    // and the search box keeps what was typed meanwhile.
    const focused = document.activeElement;
    const refocus = focused && focused.id && focused.id.startsWith('alerts-') && focused.closest('#view') ? focused.id : null;
    const prevSearch = document.getElementById('alerts-search');
    const carry = prevSearch && refocus === 'alerts-search'
      ? { value: prevSearch.value, start: prevSearch.selectionStart, end: prevSearch.selectionEnd }
      : null;
    const searchIn = h('input', {
      type: 'search', id: 'alerts-search', class: 'filter alerts-search', 'data-testid': 'alerts-search',
      placeholder: 'Search alert names…', 'aria-label': 'Search alert names', maxlength: '200', autocomplete: 'off', spellcheck: 'false',
      value: carry ? carry.value : f.q,
    });
    let searchTimer = null;
    const searchNow = () => {
      clearTimeout(searchTimer);
      const q = searchIn.value.trim();
      if (q !== f.q) go({ q, offset: '' });
    };
    searchIn.addEventListener('input', () => {
      clearTimeout(searchTimer);
      searchTimer = setTimeout(searchNow, SEARCH_DEBOUNCE_MS);
    });
    searchIn.addEventListener('keydown', (e) => {
      if (e.key === 'Enter') searchNow();
    });

    // ---- time: presets, or a custom range of local dates (the until day included)
    const timeSel = select('time', 'Last seen', 'Any time', [...Object.entries(TIME_PRESETS).map(([v, [t]]) => [v, t]), ['custom', 'Custom range…']], f.time);
    const dateIn = (name, label, value) => {
      const d = h('input', { type: 'date', id: `alerts-${name}`, 'data-testid': `alerts-${name}`, 'aria-label': label, value, max: isoDate(new Date()) });
      d.addEventListener('change', () => {
        if (d.value && !DATE_RE.test(d.value)) return;
        go({ [name]: d.value, time: 'custom', offset: '' });
      });
      return d;
    };
    const sinceIn = dateIn('since', 'From (date)', f.since);
    const untilIn = dateIn('until', 'To (date, included)', f.until);
    if (f.since) untilIn.min = f.since;
    const range = h('span', { class: 'date-range', 'data-testid': 'alerts-date-range', hidden: f.time !== 'custom' },
      sinceIn, h('span', { class: 'muted' }, 'to'), untilIn,
      f.since && f.until && f.since > f.until ? h('span', { class: 'range-warn small', 'data-testid': 'alerts-range-warn' }, 'ends before it starts') : null);
    const sortSel = select('sort', 'Sort', null, ALERT_SORTS, f.sort || 'newest');

    const tools = [
      searchIn,
      h('label', { class: 'inline' }, 'Status ', select('status', 'Status', null, [...STATUSES, 'all'], f.status)),
      h('label', { class: 'inline' }, 'Level ', select('level', 'Level', 'All levels', LEVELS, f.level)),
      h('label', { class: 'inline' }, 'Type ', select('kind', 'Type', 'All types', KINDS, f.kind)),
      h('label', { class: 'inline' }, 'Last seen ', timeSel),
      range,
      h('label', { class: 'inline' }, 'Sort ', sortSel),
      f.host ? h('span', { class: 'chip removable' }, `host ${f.host} `,
        h('a', { href: hashOf({ host: '' }), title: 'Remove the host filter' }, '×')) : null,
    ];

    // ---- selection and the batch action bar
    const selected = new Set();
    const allBox = h('input', { type: 'checkbox', 'data-testid': 'alerts-check-all', 'aria-label': 'Select every alert on this page' });
    const selectColumn = {
      key: 'select', label: h('label', { class: 'check-cell' }, allBox), width: '34px', nosort: true, nofilter: true, value: () => '',
      render: (a) => {
        const cb = h('input', { type: 'checkbox', 'data-testid': 'alert-check', checked: selected.has(a.id), 'aria-label': `Select alert ${a.id}` });
        cb.addEventListener('change', () => {
          if (cb.checked) selected.add(a.id);
          else selected.delete(a.id);
          const tr = cb.closest('tr');
          if (tr) tr.classList.toggle('row-selected', cb.checked);
          updateBar();
        });
        return h('label', { class: 'check-cell' }, cb);
      },
    };
    allBox.addEventListener('change', () => {
      for (const a of table.rows()) {
        if (allBox.checked) selected.add(a.id);
        else selected.delete(a.id);
      }
      table.render();
      updateBar();
    });

    const count = h('span', { class: 'batch-count', 'data-testid': 'batch-count' });
    const noteIn = h('input', { type: 'text', class: 'batch-note', 'data-testid': 'batch-note', maxlength: '1000', placeholder: 'Note (optional)', 'aria-label': 'Note' });
    const bIgnore = h('button', { type: 'button', class: 'btn small', 'data-testid': 'batch-ignore' }, 'Ignore');
    const bHandled = h('button', { type: 'button', class: 'btn small', 'data-testid': 'batch-handled' }, 'Mark handled');
    const bWhitelist = h('button', { type: 'button', class: 'btn small', 'data-testid': 'batch-whitelist' }, 'Whitelist…');
    const bClear = h('button', { type: 'button', class: 'btn small link', 'data-testid': 'batch-clear' }, 'Clear selection');
    const scopeSel = h('select', { 'data-testid': 'batch-scope', 'aria-label': 'Whitelist scope' },
      h('option', { value: 'host' }, "each alert's host"),
      h('option', { value: 'group' }, "each alert's group"),
      h('option', { value: 'all' }, 'all hosts'));
    const bConfirm = h('button', { type: 'button', class: 'btn small primary', 'data-testid': 'batch-whitelist-confirm' }, 'Whitelist');
    const bCancel = h('button', { type: 'button', class: 'btn small', 'data-testid': 'batch-whitelist-cancel' }, 'Cancel');
    const wlForm = h('div', { class: 'batch-wl', hidden: true, 'data-testid': 'batch-whitelist-form' },
      h('label', { class: 'inline' }, 'Whitelist for ', scopeSel),
      h('span', { class: 'muted small' }, 'One rule per distinct key (e.g. port, command line, file MD5); later alerts that match it are whitelisted too.'),
      h('span', { class: 'spacer' }), bConfirm, bCancel);
    // Blocking each alert's source address on its host: the server refuses alerts without one.
    const bBlock = h('button', { type: 'button', class: 'btn small', 'data-testid': 'batch-block' }, 'Block source IP…');
    const blockDuration = durationSelect({ 'data-testid': 'batch-block-duration' });
    const bBlockConfirm = h('button', { type: 'button', class: 'btn small danger', 'data-testid': 'batch-block-confirm' }, 'Block');
    const bBlockCancel = h('button', { type: 'button', class: 'btn small', 'data-testid': 'batch-block-cancel' }, 'Cancel');
    const blockForm = h('div', { class: 'batch-wl', hidden: true, 'data-testid': 'batch-block-form' },
      h('label', { class: 'inline' }, "Block each alert's source IP on its host for ", blockDuration),
      h('span', { class: 'muted small' }, 'Alerts without a source_ip are refused. Each block becomes an IP policy rule; the alert is in progress until its agent reports.'),
      h('span', { class: 'spacer' }), bBlockConfirm, bBlockCancel);
    const batchResult = h('div', { class: 'batch-result', 'data-testid': 'batch-result', 'aria-live': 'polite' });
    const actionButtons = [bIgnore, bHandled, bWhitelist, bConfirm, bBlock, bBlockConfirm];
    const bar = h('div', { class: 'batch', 'data-testid': 'batch-bar' },
      h('div', { class: 'batch-row' }, count, noteIn, bIgnore, bHandled, bWhitelist, bBlock, bClear),
      wlForm, blockForm);

    function updateBar() {
      const n = selected.size;
      count.textContent = n ? `${fmtNum(n)} selected` : 'Select alerts to handle several at once';
      count.classList.toggle('muted', !n);
      bar.classList.toggle('active', n > 0);
      for (const b of actionButtons) b.disabled = n === 0;
      bClear.hidden = n === 0;
      if (!n) {
        wlForm.hidden = true;
        blockForm.hidden = true;
      }
      bWhitelist.classList.toggle('active', !wlForm.hidden);
      bBlock.classList.toggle('active', !blockForm.hidden);
      const rows = table.rows();
      const on = rows.filter((a) => selected.has(a.id)).length;
      allBox.checked = rows.length > 0 && on === rows.length;
      allBox.indeterminate = on > 0 && on < rows.length;
    }

    async function batch(action, btn) {
      const ids = [...selected];
      if (!ids.length) return;
      clearError();
      const label = btn.textContent;
      actionButtons.forEach((b) => { b.disabled = true; });
      btn.textContent = 'Working…';
      try {
        const results = await handleAlerts(ids, action, { note: noteIn.value.trim(), scope: scopeSel.value, duration: blockDuration.value });
        if (!ctx.alive()) return;
        // What changed is done; what did not stays selected, beside its message.
        for (const r of results) if (r.outcome === 'changed') selected.delete(r.id);
        batchResult.replaceChildren(resultsNotice(action, results));
        if (results.some((r) => r.outcome === 'changed')) {
          noteIn.value = '';
          wlForm.hidden = true;
          blockForm.hidden = true;
        }
        await load();
        if (action === 'block_ip') followProgress(results.filter((r) => r.outcome === 'changed').map((r) => r.id));
      } catch (e) {
        if (ctx.alive()) showError(e, `${ACTION_LABELS[action]} ${ids.length} alert${ids.length === 1 ? '' : 's'}`);
      } finally {
        btn.textContent = label;
        if (ctx.alive()) updateBar();
      }
    }
    /** While alerts on show wait for their agents (in progress), the list looks again every 2 s. */
    function followProgress(ids) {
      if (!ids.length) return;
      const until = Date.now() + HOST_ACTION_WAIT_MS;
      const tick = async () => {
        if (!ctx.alive() || Date.now() > until) return;
        if (!table.rows().some((a) => ids.includes(a.id) && a.status === 'in_progress')) return;
        try {
          await load();
        } catch (e) {
          if (ctx.alive()) showError(e, 'Refreshing alerts');
          return;
        }
        setTimeout(tick, 2000);
      };
      setTimeout(tick, 2000);
    }
    bIgnore.addEventListener('click', () => batch('ignore', bIgnore));
    bHandled.addEventListener('click', () => batch('handled', bHandled));
    bWhitelist.addEventListener('click', () => {
      wlForm.hidden = !wlForm.hidden;
      if (!wlForm.hidden) blockForm.hidden = true;
      updateBar();
    });
    bBlock.addEventListener('click', () => {
      blockForm.hidden = !blockForm.hidden;
      if (!blockForm.hidden) wlForm.hidden = true;
      updateBar();
    });
    bBlockCancel.addEventListener('click', () => {
      blockForm.hidden = true;
      updateBar();
    });
    bBlockConfirm.addEventListener('click', () => batch('block_ip', bBlockConfirm));
    bCancel.addEventListener('click', () => {
      wlForm.hidden = true;
      updateBar();
    });
    bConfirm.addEventListener('click', () => batch('whitelist', bConfirm));
    bClear.addEventListener('click', () => {
      selected.clear();
      table.render();
      updateBar();
    });

    const table = dataTable({
      testid: 'alerts-table',
      columns: [selectColumn, ...alertColumns()],
      filter: false,
      emptyText: f.status === 'unhandled' ? 'No unhandled alert matches these filters.' : 'No alert matches these filters.',
      tools,
      onRowClick: (a) => openAlert(a.id, { onChange: () => load().catch((e) => ctx.alive() && showError(e, 'Refreshing alerts')) }),
      rowAttrs: (a) => ({ 'data-alert-id': a.id, 'data-testid': 'alert-row', 'data-status': a.status, class: selected.has(a.id) ? 'row-selected' : '' }),
    });
    const pager = h('div', { class: 'pager', 'data-testid': 'alerts-pager' });
    const alertsPanel = panel(null, [bar, batchResult, table.el, pager], { testid: 'alerts-panel' });
    setView(alertsPanel);
    updateBar();
    if (refocus) {
      const el = document.getElementById(refocus);
      if (el) {
        el.focus({ preventScroll: true });
        if (el === searchIn && carry) {
          try {
            searchIn.setSelectionRange(carry.start, carry.end);
          } catch (_) { /* not a text field any more */ }
          // Typed while the page was being rebuilt: searched after the usual pause.
          if (carry.value.trim() !== f.q) searchTimer = setTimeout(searchNow, SEARCH_DEBOUNCE_MS);
        }
      }
    }

    /** The API query for the filters: presets count back from now, custom dates are local days. */
    function apiQuery() {
      const qs = new URLSearchParams({ limit: String(limit), offset: String(offset) });
      for (const k of ['level', 'status', 'kind', 'host', 'q', 'sort']) {
        if (f[k] && !(k === 'status' && f[k] === 'all')) qs.set(k, f[k]);
      }
      if (TIME_PRESETS[f.time]) {
        qs.set('since', String(Math.floor(Date.now() / 1000) - TIME_PRESETS[f.time][1]));
      } else if (f.time === 'custom') {
        const since = dateToUnix(f.since);
        const until = dateToUnix(f.until, { nextDay: true });
        if (since !== null) qs.set('since', String(since));
        if (until !== null) qs.set('until', String(until));
      }
      return qs;
    }

    async function load() {
      const res = await get(`/api/v1/alerts?${apiQuery()}`);
      if (!ctx.alive()) return;
      const list = res.alerts || [];
      const present = new Set(list.map((a) => a.id));
      for (const id of [...selected]) if (!present.has(id)) selected.delete(id);
      table.setRows(list);
      updateBar();
      const total = res.total || 0;
      const from = list.length ? offset + 1 : 0;
      const to = offset + list.length;
      const prev = h('a', { class: `btn small${offset <= 0 ? ' disabled' : ''}`, href: offset <= 0 ? null : hashOf({ offset: Math.max(0, offset - limit) || '' }), 'data-testid': 'alerts-prev' }, '‹ Previous');
      const next = h('a', { class: `btn small${to >= total ? ' disabled' : ''}`, href: to >= total ? null : hashOf({ offset: offset + limit }), 'data-testid': 'alerts-next' }, 'Next ›');
      pager.replaceChildren(h('span', { class: 'muted' }, `${fmtNum(from)}–${fmtNum(to)} of ${fmtNum(total)}${res.total_capped ? '+' : ''}`), prev, next);
      // What the rows on show were loaded for (tests wait on it).
      alertsPanel.dataset.loadedStatus = f.status;
      alertsPanel.dataset.loadedQ = f.q;
      alertsPanel.dataset.loadedTime = f.time === 'custom' ? `custom:${f.since}:${f.until}` : f.time;
      alertsPanel.dataset.loadedSort = f.sort || 'newest';
    }
    await load();
  }

  // ---------------------------------------------------------------- vulnerabilities

  const VULN_LEVELS = ['high', 'medium', 'low'];
  const VULN_STATUSES = ['unfixed', 'ignored', 'fixed'];
  const VULN_VIEWS = [['rows', 'By host and package'], ['advisory', 'By advisory'], ['package', 'By package']];
  /** After a Verify, the page looks again this long later (the agent re-sends its inventory). */
  const VERIFY_REFRESH_MS = 5000;

  const vulnKeyOf = (v) => ({ host_id: v.host_id, package: v.package, advisory: v.advisory });
  const vulnKeyStr = (v) => `${v.host_id}\u0001${v.package}\u0001${v.advisory}`;

  /** The advisory database line: what is loaded, or how to build it. */
  function vulnDbLine(db) {
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

  function vulnLevel(level, rce, testid) {
    return h('span', { class: 'pills' }, badge(level, { cls: `vl-${level}`, testid }), rce ? badge('rce', { cls: 'vl-rce', text: 'RCE' }) : null);
  }

  const vulnStatusBadge = (s, testid) => badge(s, { cls: `vs-${s}`, testid });

  /** `POST /api/v1/vulns/handle`; the per-key results. */
  async function handleVulns(keys, action, reason = '') {
    const res = await post('/api/v1/vulns/handle', { keys, action, reason });
    return res.results || [];
  }

  function vulnResultsNotice(results) {
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
  function reasonDialog({ title, text, submit = 'Ignore', act }) {
    const ta = h('textarea', { class: 'vuln-reason', 'data-testid': 'vuln-reason', rows: '4', maxlength: '1000', spellcheck: 'true',
      placeholder: 'Why this does not matter here (required)', 'aria-label': 'Reason' });
    const err = h('div', { class: 'notice n-error', 'data-testid': 'vuln-reason-error', hidden: true });
    const ok = h('button', { type: 'button', class: 'btn primary', 'data-testid': 'vuln-reason-submit' }, submit);
    const cancel = h('button', { type: 'button', class: 'btn', 'data-testid': 'vuln-reason-cancel' }, 'Cancel');
    const dlg = h('dialog', { class: 'dialog', 'data-testid': 'vuln-reason-dialog', 'aria-label': title },
      h('h3', null, title), text ? h('p', { class: 'muted small' }, text) : null, ta, err,
      h('div', { class: 'dialog-actions' }, cancel, ok));
    dlg.addEventListener('close', () => dlg.remove());
    cancel.addEventListener('click', () => dlg.close());
    ok.addEventListener('click', async () => {
      ok.disabled = true;
      err.hidden = true;
      try {
        await act(ta.value);
        dlg.close();
      } catch (e) {
        if (e.handled) {
          dlg.close();
          return;
        }
        err.textContent = errorMessage(e);
        err.hidden = false;
      } finally {
        ok.disabled = false;
      }
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

  function verifyButton(hostId, out, reload, { small = true } = {}) {
    const b = h('button', { type: 'button', class: `btn${small ? ' small' : ''}`, 'data-testid': 'vuln-verify', title: 'Ask the agent to send its package inventory now' }, 'Verify');
    b.addEventListener('click', async () => {
      b.disabled = true;
      try {
        await verifyHost(hostId, out, reload);
      } finally {
        b.disabled = false;
      }
    });
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

  /** The drawer for one host+package row. `refresh` reloads the list; returns after rendering. */
  function renderVulnRow(v, { refresh, result = null } = {}) {
    const my = drawerToken;
    const dr = $('#drawer');
    dr.dataset.vulnStatus = v.status;
    $('#drawer-title').replaceChildren(badge(v.level, { cls: `vl-${v.level}` }), ' ', h('span', null, `${v.advisory} · ${v.package}`));
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
      if (my !== drawerToken) return;
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
      b.addEventListener('click', async () => {
        b.disabled = true;
        clearError();
        try {
          await reopen(await handleVulns([vulnKeyOf(v)], 'unignore'));
        } catch (e) {
          actionOut.replaceChildren(notice(errorMessage(e), { kind: 'error', testid: 'vuln-action-error' }));
        } finally {
          b.disabled = false;
        }
      });
      actions = b;
    } else {
      actions = h('span', { class: 'muted small' }, 'Fixed: the last inventory no longer has this version. Only a scan changes that.');
    }
    fill($('#drawer-body'),
      h('div', { class: 'vuln-drawer', 'data-testid': 'vuln-drawer', 'data-status': v.status },
        actionOut,
        kv([
          ['Host', [h('a', { href: `#/hosts/${enc(v.host_id)}` }, v.hostname || v.host_id), ' ', verifyButton(v.host_id, verifyOut, refresh)]],
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
        h('h3', { class: 'sub' }, 'Fix'),
        v.fix_command ? codeBlock(v.fix_command, 'vuln-fix-command') : h('p', { class: 'muted' }, 'No fix command: no fixed version is known yet.'),
        v.needs_restart ? notice('After the upgrade, restart the services that use this package (or reboot) for the fix to take effect.', { kind: 'warn', testid: 'vuln-restart' }) : null,
        h('div', { class: 'drawer-actions' }, actions)));
  }

  /** The drawer for a group (by advisory or by package). */
  function renderVulnGroup(g, by, status) {
    $('#drawer').dataset.vulnStatus = '';
    $('#drawer-title').replaceChildren(badge(g.level, { cls: `vl-${g.level}` }), ' ', h('span', null, g.key));
    const rowsLink = hashWith('/vulns', by === 'advisory' ? { q: g.key, status } : { package: g.key, status });
    fill($('#drawer-body'),
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
          h('a', { href: `#/hosts/${enc(id)}` }, vulnHostNames.get(id) || id), ' · ',
          h('a', { href: hashWith('/vulns', { host: id, [by === 'advisory' ? 'q' : 'package']: g.key, status }) }, 'rows')))),
        h('h3', { class: 'sub' }, 'Fix'),
        (g.fix_commands || []).length ? codeBlock(g.fix_commands.join('\n'), 'vuln-fix-command') : h('p', { class: 'muted' }, 'No fix command: no fixed version is known yet.'),
        g.needs_restart ? notice('After the upgrade, restart the services that use it (or reboot) for the fix to take effect.', { kind: 'warn', testid: 'vuln-restart' }) : null,
        h('div', { class: 'drawer-actions' },
          h('a', { class: 'btn', href: rowsLink, 'data-testid': 'vuln-group-rows' }, 'List the host rows to ignore or verify →'))));
  }

  /** Host id → host name, as last loaded by the Vulnerabilities page. */
  const vulnHostNames = new Map();

  async function viewVulns(ctx) {
    setTitle('Vulnerabilities');
    const p = ctx.params;
    const f = {
      view: p.get('view') || 'rows',
      status: p.get('status') || 'unfixed',
      level: p.get('level') || '',
      host: p.get('host') || '',
      package: (p.get('package') || '').slice(0, 200),
      q: (p.get('q') || '').slice(0, 200),
    };
    if (!VULN_VIEWS.some(([v]) => v === f.view)) f.view = 'rows';
    if (f.status !== 'all' && !VULN_STATUSES.includes(f.status)) f.status = 'unfixed';
    if (!VULN_LEVELS.includes(f.level)) f.level = '';
    const grouped = f.view !== 'rows';
    const limit = 50;
    const offset = Math.max(0, parseInt(p.get('offset') || '0', 10) || 0);
    const hashOf = (changes) => {
      const next = { ...f, offset: '', ...changes };
      if (next.status === 'unfixed') next.status = '';
      if (next.view === 'rows') next.view = '';
      return hashWith('/vulns', next);
    };
    const go = (changes) => {
      location.hash = hashOf(changes);
    };
    const select = (name, label, all, options, value) => {
      const s = h('select', { 'data-testid': `vulns-${name}`, id: `vulns-${name}`, 'aria-label': label },
        all === null ? null : h('option', { value: '' }, all),
        options.map((o) => (Array.isArray(o) ? h('option', { value: o[0] }, o[1]) : h('option', { value: o }, o === 'all' ? 'All statuses' : humanize(o)))));
      s.value = value;
      s.addEventListener('change', () => go({ [name]: s.value }));
      return s;
    };
    const textIn = (name, placeholder, value) => {
      const i = h('input', { type: 'search', id: `vulns-${name}`, class: 'filter vulns-text', 'data-testid': `vulns-${name}`, placeholder, 'aria-label': placeholder, maxlength: '200', autocomplete: 'off', spellcheck: 'false', value });
      let t = null;
      const now = () => {
        clearTimeout(t);
        if (i.value.trim() !== f[name]) go({ [name]: i.value.trim() });
      };
      i.addEventListener('input', () => {
        clearTimeout(t);
        t = setTimeout(now, SEARCH_DEBOUNCE_MS);
      });
      i.addEventListener('keydown', (e) => {
        if (e.key === 'Enter') now();
      });
      return i;
    };
    const hostSel = h('select', { 'data-testid': 'vulns-host', id: 'vulns-host', 'aria-label': 'Host' }, h('option', { value: '' }, 'All hosts'),
      f.host ? h('option', { value: f.host }, vulnHostNames.get(f.host) || f.host) : null);
    hostSel.value = f.host;
    hostSel.addEventListener('change', () => go({ host: hostSel.value }));
    get('/api/v1/hosts').then((res) => {
      if (!ctx.alive()) return;
      const hosts = res.hosts || [];
      for (const x of hosts) vulnHostNames.set(x.id, x.hostname || x.id);
      fill(hostSel, h('option', { value: '' }, 'All hosts'),
        hosts.map((x) => h('option', { value: x.id }, x.hostname || x.id)),
        f.host && !hosts.some((x) => x.id === f.host) ? h('option', { value: f.host }, f.host) : null);
      hostSel.value = f.host;
    }).catch((e) => {
      if (!e.handled && ctx.alive()) showError(e, 'Loading hosts');
    });

    const seg = h('div', { class: 'segmented', role: 'group', 'aria-label': 'View', 'data-testid': 'vulns-view' },
      VULN_VIEWS.map(([v, label]) => h('a', { class: `seg${f.view === v ? ' active' : ''}`, href: hashOf({ view: v }), 'data-testid': `vulns-view-${v}` }, label)));
    const verifyOut = h('div', { class: 'vuln-verify-out' });
    const tools = [
      textIn('q', 'Search CVE / advisory…', f.q),
      textIn('package', 'Package…', f.package),
      h('label', { class: 'inline' }, 'Status ', select('status', 'Status', null, [...VULN_STATUSES, 'all'], f.status)),
      h('label', { class: 'inline' }, 'Level ', select('level', 'Level', 'All levels', VULN_LEVELS, f.level)),
      h('label', { class: 'inline' }, 'Host ', hostSel),
      f.host ? verifyButton(f.host, verifyOut, () => ctx.alive() && load().catch((e) => ctx.alive() && showError(e, 'Refreshing'))) : null,
    ];

    // ---- selection and the batch bar (host+package rows only: a group has no per-row keys)
    const selected = new Map();
    const allBox = h('input', { type: 'checkbox', 'data-testid': 'vulns-check-all', 'aria-label': 'Select every row on this page' });
    const selectColumn = {
      key: 'select', label: h('label', { class: 'check-cell' }, allBox), width: '34px', nosort: true, nofilter: true, value: () => '',
      render: (v) => {
        const cb = h('input', { type: 'checkbox', 'data-testid': 'vuln-check', checked: selected.has(vulnKeyStr(v)), 'aria-label': `Select ${v.advisory} in ${v.package}` });
        cb.addEventListener('change', () => {
          if (cb.checked) selected.set(vulnKeyStr(v), vulnKeyOf(v));
          else selected.delete(vulnKeyStr(v));
          const tr = cb.closest('tr');
          if (tr) tr.classList.toggle('row-selected', cb.checked);
          updateBar();
        });
        return h('label', { class: 'check-cell' }, cb);
      },
    };
    allBox.addEventListener('change', () => {
      for (const v of table.rows()) {
        if (allBox.checked) selected.set(vulnKeyStr(v), vulnKeyOf(v));
        else selected.delete(vulnKeyStr(v));
      }
      table.render();
      updateBar();
    });
    const count = h('span', { class: 'batch-count', 'data-testid': 'vulns-batch-count' });
    const bIgnore = h('button', { type: 'button', class: 'btn small', 'data-testid': 'vulns-batch-ignore' }, 'Ignore…');
    const bUnignore = h('button', { type: 'button', class: 'btn small', 'data-testid': 'vulns-batch-unignore' }, 'Undo ignore');
    const bClear = h('button', { type: 'button', class: 'btn small link', 'data-testid': 'vulns-batch-clear' }, 'Clear selection');
    const batchResult = h('div', { class: 'batch-result', 'data-testid': 'vulns-batch-result', 'aria-live': 'polite' });
    const bar = h('div', { class: 'batch', 'data-testid': 'vulns-batch-bar' }, h('div', { class: 'batch-row' }, count, bIgnore, bUnignore, bClear));
    function updateBar() {
      const n = selected.size;
      count.textContent = n ? `${fmtNum(n)} selected` : 'Select rows to ignore several at once';
      count.classList.toggle('muted', !n);
      bar.classList.toggle('active', n > 0);
      bIgnore.disabled = n === 0;
      bUnignore.disabled = n === 0;
      bClear.hidden = n === 0;
      const rows = table.rows();
      const on = rows.filter((v) => selected.has(vulnKeyStr(v))).length;
      allBox.checked = rows.length > 0 && on === rows.length;
      allBox.indeterminate = on > 0 && on < rows.length;
    }
    const afterBatch = async (results) => {
      for (const r of results) if (r.outcome === 'changed') selected.delete(vulnKeyStr({ host_id: r.host_id, package: r.package, advisory: r.advisory }));
      batchResult.replaceChildren(vulnResultsNotice(results));
      await load();
    };
    bIgnore.addEventListener('click', () => {
      const keys = [...selected.values()];
      if (!keys.length) return;
      reasonDialog({
        title: `Ignore ${plural(keys.length, 'vulnerability', 'vulnerabilities')}`,
        text: 'They stay listed under Ignored, with the reason, until you undo it.',
        act: async (reason) => {
          const results = await handleVulns(keys, 'ignore', reason);
          if (ctx.alive()) await afterBatch(results);
        },
      });
    });
    bUnignore.addEventListener('click', async () => {
      const keys = [...selected.values()];
      if (!keys.length) return;
      clearError();
      bUnignore.disabled = true;
      try {
        const results = await handleVulns(keys, 'unignore');
        if (ctx.alive()) await afterBatch(results);
      } catch (e) {
        if (ctx.alive()) showError(e, 'Undo ignore');
      } finally {
        if (ctx.alive()) updateBar();
      }
    });
    bClear.addEventListener('click', () => {
      selected.clear();
      table.render();
      updateBar();
    });

    const refresh = () => {
      if (ctx.alive()) load().catch((e) => ctx.alive() && showError(e, 'Refreshing vulnerabilities'));
    };
    const rowColumns = [
      selectColumn,
      { key: 'level', label: 'Level', width: '110px', value: (v) => VULN_LEVELS.length - VULN_LEVELS.indexOf(v.level), render: (v) => vulnLevel(v.level, v.rce, 'vuln-level') },
      { key: 'advisory', label: 'Advisory', render: (v) => h('span', { class: 'mono strong', 'data-testid': 'vuln-advisory' }, v.advisory) },
      { key: 'package', label: 'Package', render: (v) => h('span', { class: 'mono', 'data-testid': 'vuln-package' }, v.package) },
      { key: 'host', label: 'Host', value: (v) => v.hostname || v.host_id, render: (v) => h('a', { href: `#/hosts/${enc(v.host_id)}` }, v.hostname || v.host_id) },
      { key: 'installed', label: 'Installed → fixed', value: (v) => `${v.installed} → ${v.fixed || ''}`, render: (v) => h('span', { class: 'mono small' }, v.installed, ' → ', v.fixed || '—') },
      { key: 'summary', label: 'Summary', render: (v) => h('span', { class: 'small', title: v.summary || '' }, trunc(v.summary || '', 90)) },
      { key: 'status', label: 'Status', width: '90px', render: (v) => vulnStatusBadge(v.status) },
      { key: 'last_seen', label: 'Last seen', width: '100px', render: (v) => timeEl(v.last_seen) },
    ];
    const groupColumns = [
      { key: 'level', label: 'Level', width: '110px', value: (g) => VULN_LEVELS.length - VULN_LEVELS.indexOf(g.level), render: (g) => vulnLevel(g.level, g.rce, 'vuln-level') },
      { key: 'key', label: f.view === 'advisory' ? 'Advisory' : 'Package', render: (g) => h('span', { class: 'mono strong', 'data-testid': 'vuln-group-key' }, g.key) },
      f.view === 'advisory'
        ? { key: 'packages', label: 'Packages', value: (g) => (g.packages || []).join(' '), render: (g) => h('span', { class: 'mono small' }, trunc((g.packages || []).join(', '), 80)) }
        : { key: 'ids', label: 'Advisories', value: (g) => (g.ids || []).length, cls: 'num' },
      { key: 'hosts', label: 'Hosts', cls: 'num', width: '70px' },
      { key: 'unfixed', label: 'Unfixed', cls: 'num', width: '80px' },
      { key: 'ignored', label: 'Ignored', cls: 'num', width: '80px' },
      { key: 'summary', label: 'Summary', render: (g) => h('span', { class: 'small', title: g.summary || '' }, trunc(g.summary || '', 90)) },
      { key: 'last_seen', label: 'Last seen', width: '100px', render: (g) => timeEl(g.last_seen) },
    ];
    const openRow = (v) => {
      drawerToken += 1;
      $('#drawer').hidden = false;
      if (grouped) renderVulnGroup(v, f.view, f.status === 'unfixed' ? '' : f.status);
      else renderVulnRow(v, { refresh });
    };
    const table = dataTable({
      testid: 'vulns-table',
      columns: grouped ? groupColumns : rowColumns,
      filter: false,
      emptyText: 'No vulnerability matches these filters.',
      tools,
      onRowClick: openRow,
      rowAttrs: (v) => (grouped
        ? { 'data-testid': 'vuln-group-row', 'data-key': v.key, 'data-level': v.level }
        : { 'data-testid': 'vuln-row', 'data-status': v.status, 'data-level': v.level, 'data-advisory': v.advisory, 'data-package': v.package, class: selected.has(vulnKeyStr(v)) ? 'row-selected' : '' }),
    });
    const dbBox = h('div', { class: 'vuln-db-box', 'data-testid': 'vulns-db-box' });
    const pager = h('div', { class: 'pager', 'data-testid': 'vulns-pager' });
    const vulnsPanel = panel(null, [dbBox, h('div', { class: 'vuln-view-row' }, seg), verifyOut, grouped ? null : bar, batchResult, table.el, pager], { testid: 'vulns-panel' });
    setView(vulnsPanel);
    if (!grouped) updateBar();

    async function load() {
      const qs = new URLSearchParams({ limit: String(limit), offset: String(offset), group_by: grouped ? f.view : 'none' });
      for (const k of ['level', 'host', 'package', 'q']) if (f[k]) qs.set(k, f[k]);
      if (f.status !== 'all') qs.set('status', f.status);
      const res = await get(`/api/v1/vulns?${qs}`);
      if (!ctx.alive()) return;
      fill(dbBox, vulnDbLine(res.database));
      const list = res.items || [];
      if (!grouped) {
        const present = new Set(list.map(vulnKeyStr));
        for (const k of [...selected.keys()]) if (!present.has(k)) selected.delete(k);
      }
      table.setRows(list);
      if (!grouped) updateBar();
      const total = res.total || 0;
      const from = list.length ? offset + 1 : 0;
      const to = offset + list.length;
      const prev = h('a', { class: `btn small${offset <= 0 ? ' disabled' : ''}`, href: offset <= 0 ? null : hashOf({ offset: Math.max(0, offset - limit) || '' }), 'data-testid': 'vulns-prev' }, '‹ Previous');
      const next = h('a', { class: `btn small${to >= total ? ' disabled' : ''}`, href: to >= total ? null : hashOf({ offset: offset + limit }), 'data-testid': 'vulns-next' }, 'Next ›');
      pager.replaceChildren(h('span', { class: 'muted', 'data-testid': 'vulns-range' }, `${fmtNum(from)}–${fmtNum(to)} of ${fmtNum(total)}${grouped ? (f.view === 'advisory' ? ' advisories' : ' packages') : ''}`),
        res.truncated ? h('span', { class: 'muted small' }, ' (grouped from the first 100,000 rows)') : null, prev, next);
      // What the rows on show were loaded for (tests wait on it).
      vulnsPanel.dataset.loaded = `${f.view}|${f.status}|${f.level}|${f.host}|${f.package}|${f.q}|${offset}`;
      vulnsPanel.dataset.total = String(total);
    }
    await load();
    autoRefresh(ctx, load);
  }

  // ---------------------------------------------------------------- whitelist

  async function viewWhitelist(ctx) {
    setTitle('Whitelist');
    const result = h('div', { class: 'wl-result', 'data-testid': 'whitelist-result', 'aria-live': 'polite' });
    let hosts = [];
    let groups = [];
    const hostName = (hid) => (hosts.find((x) => x.id === hid) || {}).hostname;
    const scopeText = (r) => {
      if (r.scope === 'all') return 'all hosts';
      if (r.scope === 'group') return `group ${r.scope_value}`;
      return `host ${hostName(r.scope_value) || r.scope_value}`;
    };
    const fieldsText = (r) => Object.entries(r.fields || {}).map(([k, v]) => `${k}=${v}`).join(' ');

    const table = dataTable({
      testid: 'whitelist-table',
      placeholder: 'Filter by type, scope, field, note…',
      sort: { key: 'created_at', dir: -1 },
      emptyText: 'No whitelist rule. Whitelist an alert from its details on the Alerts page, or add a rule above.',
      rowAttrs: (r) => ({ 'data-testid': 'rule-row', 'data-rule-id': r.id, 'data-kind': r.kind }),
      columns: [
        { key: 'kind', label: 'Alert type', cls: 'nowrap', value: (r) => humanize(r.kind), render: (r) => h('span', { class: 'strong' }, humanize(r.kind)) },
        {
          key: 'scope', label: 'Scope', width: '140px', value: scopeText,
          render: (r) => {
            if (r.scope === 'host') {
              return h('span', { 'data-testid': 'rule-scope' }, h('span', { class: 'muted' }, 'host '),
                h('a', { href: `#/hosts/${enc(r.scope_value)}` }, hostName(r.scope_value) || r.scope_value));
            }
            if (r.scope === 'group') return h('span', { 'data-testid': 'rule-scope' }, h('span', { class: 'muted' }, 'group '), r.scope_value);
            return h('span', { 'data-testid': 'rule-scope', class: 'strong' }, 'All hosts');
          },
        },
        {
          key: 'fields', label: 'Key fields', width: '30%', value: fieldsText,
          render: (r) => h('span', { class: 'chips', 'data-testid': 'rule-fields' },
            Object.entries(r.fields || {}).map(([k, v]) => h('span', { class: 'chip', title: `${k}=${v}` }, `${k}=${v}`))),
        },
        { key: 'note', label: 'Note', width: '20%', render: (r) => r.note || h('span', { class: 'muted' }, '—') },
        { key: 'created_by', label: 'By', width: '70px' },
        { key: 'created_at', label: 'Created', width: '90px', nofilter: true, render: (r) => timeEl(r.created_at) },
        { key: 'actions', label: '', width: '110px', nofilter: true, nosort: true, value: () => '', render: (r) => deleteButton(r) },
      ],
    });

    function deleteButton(r) {
      return confirmButton({
        label: 'Delete',
        confirm: 'Confirm delete',
        busy: 'Deleting…',
        attrs: { class: 'btn small danger-outline', 'data-testid': 'rule-delete', 'data-rule-id': r.id },
        act: async () => {
          const res = await api('DELETE', `/api/v1/whitelist/${enc(r.id)}`);
          if (!ctx.alive()) return;
          const n = res.restored || 0;
          result.replaceChildren(notice(
            `Rule ${res.deleted} (${humanize(r.kind)}, ${fieldsText(r)}) deleted: ${fmtNum(n)} alert${n === 1 ? '' : 's'} back in the list.`,
            { kind: 'ok', testid: 'rule-deleted' }));
          await load();
        },
        onError: (e) => { if (ctx.alive()) showError(e, `Deleting whitelist rule ${r.id}`); },
      });
    }

    // ---- adding a rule by hand: one input per key field of the chosen alert type
    const kindSel = h('select', { id: 'wl-kind', 'data-testid': 'wl-kind', 'aria-label': 'Alert type' },
      KINDS.map((k) => h('option', { value: k }, humanize(k))));
    kindSel.value = 'suspicious_port';
    const scopeSel = h('select', { id: 'wl-scope', 'data-testid': 'wl-scope', 'aria-label': 'Scope' },
      h('option', { value: 'all' }, 'All hosts'), h('option', { value: 'group' }, 'A group'), h('option', { value: 'host' }, 'A host'));
    const valueSel = h('select', { id: 'wl-scope-value', 'data-testid': 'wl-scope-value', 'aria-label': 'Host or group', hidden: true });
    const fieldsBox = h('div', { class: 'wl-fields', 'data-testid': 'wl-fields' });
    const noteIn = h('input', { type: 'text', id: 'wl-note', 'data-testid': 'wl-note', maxlength: '1000', placeholder: 'Why this is expected', autocomplete: 'off' });
    const addB = h('button', { type: 'submit', class: 'btn primary', id: 'wl-add', 'data-testid': 'wl-add' }, 'Add rule');

    function renderFields() {
      const keys = KEY_FIELDS[kindSel.value] || [];
      fieldsBox.replaceChildren(...keys.map((k) => h('label', { class: 'field' }, h('span', null, k),
        h('input', { type: 'text', name: k, 'data-field': k, 'data-testid': `wl-field-${k}`, autocomplete: 'off', maxlength: '4096' }))));
      fieldsBox.appendChild(h('small', { class: 'muted wl-fields-hint' },
        keys.length > 1 ? 'Fill the fields to match; empty ones are left out. An alert matches when its evidence carries every value given.' : 'An alert matches when its evidence carries this value.'));
    }
    function renderScopeValues() {
      const sc = scopeSel.value;
      valueSel.hidden = sc === 'all';
      const opts = sc === 'host'
        ? hosts.filter((x) => x.state !== 'uninstalled').map((x) => h('option', { value: x.id }, `${x.hostname} (${x.id})`))
        : groups.map((g) => h('option', { value: g.name }, g.name));
      valueSel.replaceChildren(...opts);
    }
    kindSel.addEventListener('change', renderFields);
    scopeSel.addEventListener('change', renderScopeValues);
    renderFields();

    const form = h('form', { class: 'wl-add-form', id: 'wl-form', autocomplete: 'off' },
      h('label', { class: 'field' }, h('span', null, 'Alert type'), kindSel),
      h('label', { class: 'field' }, h('span', null, 'Applies to'), h('div', { class: 'wl-scope-row' }, scopeSel, valueSel)),
      h('label', { class: 'field' }, h('span', null, 'Note'), noteIn),
      fieldsBox,
      h('div', { class: 'form-actions' }, addB,
        h('span', { class: 'muted small' }, 'Existing alerts the rule matches are whitelisted at once; later ones arrive whitelisted.')));
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      clearError();
      const fields = {};
      for (const i of fieldsBox.querySelectorAll('input[data-field]')) {
        const v = i.value.trim();
        if (v) fields[i.dataset.field] = v;
      }
      if (!Object.keys(fields).length) {
        showError('Fill at least one key field: a rule without one would match every alert of the type.');
        const first = fieldsBox.querySelector('input');
        if (first) first.focus();
        return;
      }
      if (scopeSel.value !== 'all' && !valueSel.value) {
        showError(`Choose the ${scopeSel.value} the rule applies to.`);
        return;
      }
      const body = { kind: kindSel.value, scope: scopeSel.value, scope_value: scopeSel.value === 'all' ? '' : valueSel.value, fields, note: noteIn.value.trim() };
      addB.disabled = true;
      addB.textContent = 'Adding…';
      try {
        const res = await post('/api/v1/whitelist', body);
        if (!ctx.alive()) return;
        const n = res.whitelisted || 0;
        result.replaceChildren(notice(
          `Rule ${res.rule.id} added: ${fmtNum(n)} existing alert${n === 1 ? '' : 's'} whitelisted.`,
          { kind: 'ok', testid: 'rule-added' }));
        fieldsBox.querySelectorAll('input').forEach((i) => { i.value = ''; });
        noteIn.value = '';
        await load();
      } catch (e) {
        if (ctx.alive()) showError(e, 'Adding the whitelist rule');
      } finally {
        addB.disabled = false;
        addB.textContent = 'Add rule';
      }
    });

    setView(
      panel('Whitelist rules', [result, table.el], {
        testid: 'whitelist-panel',
        extra: h('span', { class: 'muted small' }, 'Whitelisted alerts stay listed under the "whitelisted" status on the Alerts page.'),
      }),
      panel('Add a rule', form, { testid: 'whitelist-add-panel' }),
    );

    async function load() {
      const res = await get('/api/v1/whitelist');
      if (!ctx.alive()) return;
      table.setRows(res.rules || []);
    }
    const namesP = Promise.all([get('/api/v1/hosts'), get('/api/v1/groups')]).then(([hs, gs]) => {
      if (!ctx.alive()) return;
      hosts = hs.hosts || [];
      groups = gs.groups || [];
      renderScopeValues();
      table.render();
    }).catch((e) => {
      if (ctx.alive() && !e.handled) showError(e, 'Loading hosts and groups');
    });
    await load();
    await namesP;
  }

  // ---------------------------------------------------------------- quarantine box

  /** How long a restore is followed on the page before it says the host has not run it yet. */
  const RESTORE_WAIT_MS = 60000;

  /** `in 29 days`, `in 5 h`, or `expired`. */
  function fmtExpires(ts) {
    const left = ts - Date.now() / 1000;
    if (left <= 0) return 'expired';
    if (left >= 86400) {
      const d = Math.round(left / 86400);
      return `in ${d} day${d === 1 ? '' : 's'}`;
    }
    if (left >= 3600) return `in ${Math.floor(left / 3600)} h`;
    return `in ${Math.max(1, Math.floor(left / 60))} min`;
  }

  async function viewQuarantine(ctx) {
    setTitle('Quarantine box');
    const hostF = ctx.params.get('host') || '';
    const results = h('div', { class: 'q-results', 'data-testid': 'restore-results', 'aria-live': 'polite' });
    // `host qid` → the restore command that runs for the file right now.
    const pending = new Map();
    const keyOf = (f) => `${f.host_id}\u0000${f.qid}`;
    // One notice per file: a new restore of the file replaces the last one.
    const notices = new Map();

    const refresh = h('button', { type: 'button', class: 'btn small', 'data-testid': 'quarantine-refresh' }, 'Refresh');
    refresh.addEventListener('click', () => {
      clearError();
      load().catch((e) => ctx.alive() && showError(e, 'Loading the quarantine box'));
    });
    const tools = [
      hostF ? h('span', { class: 'chip removable' }, `host ${hostF} `,
        h('a', { href: '#/quarantine', title: 'Remove the host filter' }, '×')) : null,
      refresh,
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
          render: (f) => h('a', { href: `#/hosts/${enc(f.host_id)}`, class: 'strong' }, f.hostname || f.host_id),
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
            ? h('span', { class: 'muted' }, '—')
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
      const attrs = (state) => ({ 'data-testid': 'restore-notice', 'data-state': state, 'data-qid': f.qid, 'data-command-id': id });
      showNotice(f, h('div', { class: 'notice n-info progress-line', ...attrs('pending') },
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
      let el;
      if (!c) {
        el = h('div', { class: 'notice n-warn', ...attrs('waiting') },
          `Restore command ${id} for ${f.path} has not run after ${RESTORE_WAIT_MS / 1000} s: it stays queued until ${host} checks in (it times out after 60 min). `,
          h('a', { href: `#/hosts/${enc(f.host_id)}?tab=commands` }, 'Follow it on the host\'s Commands tab →'));
      } else if (c.state === 'succeeded') {
        el = h('div', { class: 'notice n-ok', ...attrs('succeeded') },
          h('strong', null, 'Restored. '), `${capitalize(c.message || `${f.path} restored`)} on ${host}.`);
      } else {
        const what = c.state === 'timed_out' ? 'timed out' : 'failed';
        el = h('div', { class: 'notice n-error restore-failed', ...attrs(c.state) },
          h('div', null, h('strong', null, `Restoring ${f.path} ${what} on ${host}: `), h('span', { 'data-testid': 'restore-error' }, c.message || 'no reason given')),
          // Refused because something is at the path again: the operator may replace it.
          !overwrite && c.state === 'failed'
            ? h('div', { class: 'restore-again' }, restoreButton(f, { overwrite: true }),
              h('span', { class: 'small' }, `Replaces whatever is at ${f.path} now with the quarantined file.`))
            : null);
      }
      showNotice(f, el);
      await load().catch((e) => ctx.alive() && showError(e, 'Loading the quarantine box'));
    }

    setView(panel('Quarantine box', [results, table.el], {
      testid: 'quarantine-panel',
      extra: h('span', { class: 'muted small' }, 'Files are kept on their host, unreadable and not executable, for 30 days; a restore puts them back byte for byte with owner, mode and time.'),
    }));

    async function load() {
      const res = await get(`/api/v1/quarantine${hostF ? `?host=${enc(hostF)}` : ''}`);
      if (!ctx.alive()) return;
      table.setRows(res.files || []);
    }
    await load();
  }

  // ---------------------------------------------------------------- IP policy library

  const IP_RULE_STATUSES = ['active', 'disabled', 'expired'];
  /** Per-host states of a rule, in the order the summary names them. */
  const IP_HOST_STATES = ['applied', 'pending', 'removing', 'failed', 'removed', 'expired'];
  /** Host states that change without the operator: the page follows them every 2 s. */
  const IP_HOST_MOVING = ['pending', 'removing'];

  /** `192.0.2.44` for a single address, the network as given otherwise. */
  const ipTargetText = (t) => String(t || '').replace(/\/(32|128)$/, '');

  async function viewIpPolicy(ctx) {
    setTitle('IP policy');
    const statusF = IP_RULE_STATUSES.includes(ctx.params.get('status')) ? ctx.params.get('status') : '';
    // `#/ip-policy?target=…&host=…&reason=…` (as the attack analysis links) fills in the block form.
    const preset = {
      target: (ctx.params.get('target') || '').trim().slice(0, 64),
      host: ctx.params.get('host') || '',
      reason: (ctx.params.get('reason') || '').slice(0, 1000),
    };
    let hosts = [];
    const hostName = (id) => (hosts.find((x) => x.id === id) || {}).hostname || id;
    const result = h('div', { class: 'wl-result', 'data-testid': 'ip-result', 'aria-live': 'polite' });
    /** Rules whose per-host list is open: kept open across refreshes. */
    const expanded = new Set();
    /** Disable buttons by rule id: a refresh keeps one that waits for its second click. */
    const disableButtons = new Map();

    const seg = h('div', { class: 'segmented', role: 'group', 'aria-label': 'Rule status' },
      ['', ...IP_RULE_STATUSES].map((s) => h('a', {
        class: `seg${s === statusF ? ' active' : ''}`,
        href: hashWith('/ip-policy', { status: s }),
        'data-testid': `ip-status-filter-${s || 'all'}`,
      }, s ? capitalize(s) : 'All')));

    function hostsText(r) {
      return (r.hosts || []).length ? r.hosts.map(hostName).join(', ') : 'All hosts';
    }

    function hostsCell(r) {
      if (!(r.hosts || []).length) return h('span', { class: 'strong', 'data-testid': 'ip-hosts' }, 'All hosts');
      return h('span', { class: 'chips', 'data-testid': 'ip-hosts' },
        r.hosts.map((id) => h('a', { class: 'chip', href: `#/hosts/${enc(id)}`, title: id, 'data-testid': 'ip-host-chip' }, hostName(id))));
    }

    /** `applied on 2, failed on 1`. */
    function hostCounts(r) {
      const n = {};
      for (const x of r.on_hosts || []) n[x.state] = (n[x.state] || 0) + 1;
      const known = IP_HOST_STATES.filter((s) => n[s]);
      const other = Object.keys(n).filter((s) => !IP_HOST_STATES.includes(s));
      return [...known, ...other].map((s) => [s, n[s]]);
    }

    function hostStateCell(r) {
      const list = r.on_hosts || [];
      if (!list.length) {
        return h('span', { class: 'muted small', 'data-testid': 'ip-host-summary' },
          r.status === 'active' ? 'not sent to any host yet' : 'sent to no host');
      }
      const failed = list.filter((x) => x.state === 'failed');
      const summary = h('summary', {
        'data-testid': 'ip-host-summary',
        title: failed.length ? failed.map((x) => `${hostName(x.host_id)}: ${x.message || 'no reason given'}`).join('\n') : 'Show every host',
      }, hostCounts(r).map(([s, k], i) => [i ? ', ' : '', h('span', { class: `hs hs-${s}` }, `${s} on ${fmtNum(k)}`)]));
      const details = h('details', { class: 'ip-hosts-details', 'data-testid': 'ip-host-details', open: expanded.has(r.id) },
        summary,
        h('ul', { class: 'ip-host-list' }, list.map((x) => h('li', {
          'data-testid': 'ip-host-state', 'data-host-id': x.host_id, 'data-state': x.state,
        },
        h('a', { href: `#/hosts/${enc(x.host_id)}`, class: 'strong', 'data-testid': 'ip-host-link' }, hostName(x.host_id)), ' ',
        badge(x.state, { cls: `ih-${x.state}` }), ' ',
        h('span', { class: x.state === 'failed' ? 'cmd-error' : 'muted', 'data-testid': 'ip-host-message' }, x.message || ''),
        x.updated_at ? [' ', h('span', { class: 'muted' }, '· '), timeEl(x.updated_at)] : null))));
      // Kept open across refreshes while the operator reads it.
      details.addEventListener('toggle', () => {
        if (details.open) expanded.add(r.id);
        else expanded.delete(r.id);
      });
      return details;
    }

    function disableButton(r) {
      let b = disableButtons.get(r.id);
      if (b) return b;
      b = confirmButton({
        label: 'Disable',
        confirm: 'Confirm disable',
        busy: 'Disabling…',
        attrs: { class: 'btn small danger-outline', 'data-testid': 'ip-disable', 'data-rule-id': r.id },
        act: async () => {
          const res = await post(`/api/v1/ip-rules/${enc(r.id)}/disable`);
          if (!ctx.alive()) return;
          disableButtons.delete(r.id);
          result.replaceChildren(notice(
            `Rule ${res.id} (${ipTargetText(res.target)}) disabled: every host it reached unblocks it when its agent next checks in.`,
            { kind: 'ok', testid: 'ip-rule-disabled' }));
          await load();
        },
        onError: (e) => {
          if (!ctx.alive()) return;
          showError(e, `Disabling IP rule ${r.id}`);
          // Already disabled or expired elsewhere: show where it stands.
          if (e.status === 409 || e.status === 404) load().catch(() => {});
        },
      });
      disableButtons.set(r.id, b);
      return b;
    }

    const table = dataTable({
      testid: 'ip-rules-table',
      placeholder: 'Filter by target, host, reason, user…',
      sort: null,
      emptyText: statusF ? `No ${statusF} IP rule.` : 'No IP rule yet. Block an address below, or from an alert that names a source IP.',
      tools: [seg],
      rowAttrs: (r) => ({ 'data-testid': 'ip-rule-row', 'data-rule-id': r.id, 'data-status': r.status, 'data-target': r.target }),
      columns: [
        {
          key: 'target', label: 'Target', cls: 'nowrap',
          render: (r) => h('span', { class: 'mono strong', 'data-testid': 'ip-target', title: r.target }, ipTargetText(r.target)),
        },
        {
          key: 'direction', label: 'Direction', width: '64px', value: (r) => (r.direction === 'out' ? 'outbound' : 'inbound'),
          render: (r) => h('span', { 'data-testid': 'ip-direction', title: r.direction === 'out' ? 'Traffic from the host to the target is dropped' : 'Traffic from the target to the host is dropped' },
            r.direction === 'out' ? 'outbound' : 'inbound'),
        },
        { key: 'hosts', label: 'Hosts', value: hostsText, render: hostsCell },
        { key: 'origin', label: 'Origin', width: '64px', render: (r) => badge(r.origin, { cls: `origin-${r.origin}`, testid: 'ip-origin' }) },
        {
          key: 'reason', label: 'Reason', cls: 'ip-reason-cell', value: (r) => `${r.reason || ''}${r.alert_id ? ` alert #${r.alert_id}` : ''}`,
          render: (r) => h('div', { 'data-testid': 'ip-reason' },
            r.reason ? h('span', null, r.reason) : h('span', { class: 'muted' }, '—'),
            r.alert_id ? h('div', null, h('button', {
              type: 'button', class: 'btn link small bare', 'data-testid': 'ip-alert',
              onclick: () => openAlert(r.alert_id, { onChange: () => load().catch(() => {}) }),
            }, `Alert #${r.alert_id}`)) : null),
        },
        {
          key: 'created_at', label: 'Created', width: '80px', value: (r) => `${r.created_at || 0} ${r.created_by}`,
          render: (r) => h('div', { 'data-testid': 'ip-created' }, timeEl(r.created_at), h('div', { class: 'muted small nowrap' }, `by ${r.created_by}`)),
        },
        {
          key: 'expires_at', label: 'Expires', width: '96px', nofilter: true, value: (r) => r.expires_at || Number.MAX_SAFE_INTEGER,
          render: (r) => (r.expires_at
            ? h('span', { 'data-testid': 'ip-expires', class: r.status === 'active' ? null : 'muted', title: fmtTime(r.expires_at) },
              fmtTime(r.expires_at).slice(0, 10),
              h('div', { class: 'muted small nowrap' }, fmtTime(r.expires_at).slice(11, 16), r.status === 'active' ? ` · ${fmtAgo(r.expires_at)}` : ''))
            : h('span', { class: 'strong', 'data-testid': 'ip-expires' }, 'permanent')),
        },
        {
          key: 'status', label: 'Status', width: '72px', value: (r) => IP_RULE_STATUSES.indexOf(r.status),
          render: (r) => h('span', { title: r.ended_at ? `${r.status} ${fmtTime(r.ended_at)}${r.ended_by ? ` by ${r.ended_by}` : ''}` : null },
            badge(r.status, { cls: `ip-${r.status}`, testid: 'ip-status' }),
            r.ended_at && r.ended_by ? h('div', { class: 'muted small' }, `by ${r.ended_by}`) : null),
        },
        {
          key: 'on_hosts', label: 'On the hosts', width: '16%', cls: 'small msg ip-hosts-cell', nosort: true,
          value: (r) => (r.on_hosts || []).map((x) => `${x.state} ${hostName(x.host_id)} ${x.message || ''}`).join(' '),
          render: hostStateCell,
        },
        {
          key: 'actions', label: '', width: '112px', nofilter: true, nosort: true, value: () => '',
          render: (r) => (r.status === 'active' ? disableButton(r) : h('span', { class: 'muted small' }, '—')),
        },
      ],
    });

    // ---- blocking an address by hand
    const targetIn = h('input', { type: 'text', id: 'ip-target', 'data-testid': 'ip-target-input', placeholder: '203.0.113.7 or 198.51.100.0/24', autocomplete: 'off', spellcheck: 'false', maxlength: '64', required: true });
    const directionSel = h('select', { id: 'ip-direction', 'data-testid': 'ip-direction-select', 'aria-label': 'Direction' },
      h('option', { value: 'in' }, 'Inbound: from the target'), h('option', { value: 'out' }, 'Outbound: to the target'));
    const scopeSel = h('select', { id: 'ip-scope', 'data-testid': 'ip-scope', 'aria-label': 'Hosts' },
      h('option', { value: 'all' }, 'All hosts'), h('option', { value: 'some' }, 'Chosen hosts'));
    const hostsSel = h('select', { id: 'ip-hosts', 'data-testid': 'ip-hosts-select', multiple: true, size: '5', 'aria-label': 'Hosts to block on', hidden: true });
    const hostsNote = h('small', { class: 'muted', 'data-testid': 'ip-hosts-note' });
    const durationSel = durationSelect({ id: 'ip-duration', 'data-testid': 'ip-duration' });
    const reasonIn = h('input', { type: 'text', id: 'ip-reason', 'data-testid': 'ip-reason-input', maxlength: '1000', placeholder: 'Why (optional): shown in the library', autocomplete: 'off' });
    const formError = h('div', { class: 'form-error', 'data-testid': 'ip-form-error', 'aria-live': 'assertive', hidden: true });
    const addB = h('button', { type: 'submit', class: 'btn primary', id: 'ip-block', 'data-testid': 'ip-block' }, 'Block');
    const prefillNote = preset.target
      ? h('div', { class: 'span-2', 'data-testid': 'ip-prefill-note' }, notice([
        'Filled in from the attack analysis: check the address, the hosts and how long, then Block. ',
        h('a', { href: '#/attacks' }, '← Back to the attack analysis')], { kind: 'info' }))
      : null;
    if (preset.target) {
      targetIn.value = preset.target;
      reasonIn.value = preset.reason;
      if (preset.host) scopeSel.value = 'some';
    }
    /** The preset host is chosen once the host list is in. */
    let presetHost = preset.host;

    function renderHostsNote() {
      const some = scopeSel.value === 'some';
      hostsSel.hidden = !some;
      const n = hostsSel.selectedOptions.length;
      if (!some) hostsNote.textContent = 'Every installed host, and hosts that enroll later.';
      else if (!hosts.length) hostsNote.textContent = 'No installed host to choose.';
      else hostsNote.textContent = n ? `${n} host${n === 1 ? '' : 's'} chosen. Ctrl- or ⌘-click to add or remove one.` : 'Choose one or more hosts (Ctrl- or ⌘-click for several).';
    }
    function renderHostOptions() {
      const chosen = new Set([...hostsSel.selectedOptions].map((o) => o.value));
      if (presetHost && hosts.length) {
        chosen.add(presetHost);
        presetHost = '';
      }
      hostsSel.replaceChildren(...hosts.filter((x) => x.state !== 'uninstalled').map((x) => h('option', { value: x.id, selected: chosen.has(x.id) },
        `${x.hostname || x.id}${x.state === 'offline' ? ' (offline)' : ''}`)));
      renderHostsNote();
    }
    scopeSel.addEventListener('change', renderHostsNote);
    hostsSel.addEventListener('change', renderHostsNote);
    renderHostsNote();

    const form = h('form', { class: 'ip-form', id: 'ip-form', autocomplete: 'off', novalidate: true },
      prefillNote,
      h('label', { class: 'field' }, h('span', null, 'Address or network'), targetIn,
        h('small', { class: 'muted' }, 'An IPv4 or IPv6 address, or a network as address/prefix.')),
      h('label', { class: 'field' }, h('span', null, 'Direction'), directionSel),
      h('div', { class: 'field' }, h('span', null, 'Hosts'), scopeSel, hostsSel, hostsNote),
      h('label', { class: 'field' }, h('span', null, 'For'), durationSel,
        h('small', { class: 'muted' }, 'The kernel drops the block when the time is up.')),
      h('label', { class: 'field span-2' }, h('span', null, 'Reason'), reasonIn),
      h('div', { class: 'form-actions' }, addB,
        h('span', { class: 'muted small' }, "Each agent applies the block in Vigil's own nftables table; the server's and the console's addresses are never blocked.")),
      formError);

    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      clearError();
      formError.hidden = true;
      formError.replaceChildren();
      const fail = (msg, focus) => {
        formError.replaceChildren(notice(msg, { kind: 'error' }));
        formError.hidden = false;
        if (focus) focus.focus();
      };
      const target = targetIn.value.trim();
      if (!target) {
        fail('Enter the address or network to block.', targetIn);
        return;
      }
      const chosen = [...hostsSel.selectedOptions].map((o) => o.value);
      if (scopeSel.value === 'some' && !chosen.length) {
        fail('Choose at least one host, or block on all hosts.', hostsSel);
        return;
      }
      const body = {
        target,
        direction: directionSel.value,
        hosts: scopeSel.value === 'some' ? chosen : [],
        duration: durationSel.value,
        reason: reasonIn.value.trim(),
      };
      addB.disabled = true;
      addB.textContent = 'Blocking…';
      try {
        const res = await post('/api/v1/ip-rules', body);
        if (!ctx.alive()) return;
        const n = res.sent_to_hosts || 0;
        const dur = (BLOCK_DURATIONS.find(([v]) => v === body.duration) || [body.duration, body.duration])[1].toLowerCase();
        result.replaceChildren(notice(
          `Rule ${res.id}: ${ipTargetText(res.target)} blocked ${res.direction === 'out' ? 'outbound' : 'inbound'} on ${body.hosts.length ? `${fmtNum(n)} host${n === 1 ? '' : 's'}` : `all hosts (${fmtNum(n)} now)`}, ${body.duration === 'permanent' ? 'until disabled' : `for ${dur}`}. The agents apply it when they next check in.`,
          { kind: 'ok', testid: 'ip-rule-added' }));
        targetIn.value = '';
        reasonIn.value = '';
        if (prefillNote) {
          prefillNote.remove();
          // A reload does not fill the form in again.
          history.replaceState(null, '', hashWith('/ip-policy', { status: statusF }));
        }
        await load();
      } catch (e) {
        if (!ctx.alive() || e.handled) return;
        // The server says what is wrong (a bad address, an unknown host…): shown by the form, input kept.
        if (e.status === 400 || e.status === 404 || e.status === 409) fail(errorMessage(e), e.status === 400 ? targetIn : null);
        else showError(e, 'Blocking the address');
      } finally {
        addB.disabled = false;
        addB.textContent = 'Block';
      }
    });

    setView(
      panel('IP policy library', [result, table.el], {
        testid: 'ip-rules-panel',
        extra: h('span', { class: 'muted small' }, 'Blocks on hosts, newest first, with where each stands on every host. Disabling a rule unblocks it everywhere.'),
      }),
      panel('Block an IP', form, { testid: 'ip-block-panel' }),
    );
    if (preset.target) {
      form.scrollIntoView({ block: 'start' });
      addB.focus();
    }

    let follow = null;
    async function load() {
      const res = await get(`/api/v1/ip-rules${statusF ? `?status=${enc(statusF)}` : ''}`);
      if (!ctx.alive()) return;
      const rules = res.rules || [];
      for (const id of [...disableButtons.keys()]) {
        if (!rules.some((r) => r.id === id && r.status === 'active')) disableButtons.delete(id);
      }
      table.setRows(rules);
      // While a host has yet to apply or remove a block, look again in 2 s.
      clearTimeout(follow);
      if (rules.some((r) => (r.on_hosts || []).some((x) => IP_HOST_MOVING.includes(x.state)))) {
        follow = setTimeout(() => {
          if (ctx.alive()) load().catch((e) => ctx.alive() && showError(e, 'Refreshing the IP policy'));
        }, 2000);
      }
    }
    const hostsP = get('/api/v1/hosts').then((res) => {
      if (!ctx.alive()) return;
      hosts = res.hosts || [];
      renderHostOptions();
      table.render();
    }).catch((e) => {
      if (e.handled) throw e;
      if (ctx.alive()) showError(e, 'Loading hosts');
    });
    await load();
    await hostsP;
    autoRefresh(ctx, load);
  }

  // ---------------------------------------------------------------- attack analysis

  /** The ranges the attack analysis offers, in days. */
  const ATTACK_RANGES = [7, 30, 90];
  const DEFAULT_ATTACK_DAYS = 30;
  const SVG_NS = 'http://www.w3.org/2000/svg';

  /** An SVG element: like `h`, attributes set as they are, strings as text nodes. */
  function svg(tag, attrs, ...children) {
    const el = document.createElementNS(SVG_NS, tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      el.setAttribute(k, String(v));
    }
    return append(el, children);
  }

  /** Unix seconds at a UTC day start → `YYYY-MM-DD`. */
  const utcDay = (ts) => new Date(ts * 1000).toISOString().slice(0, 10);

  /** A round axis top and step for values up to `max`: at most 5 steps of 1, 2 or 5 × 10ⁿ. */
  function axisScale(max) {
    if (max <= 5) return { top: Math.max(max, 1), step: 1 };
    const raw = max / 5;
    const mag = 10 ** Math.floor(Math.log10(raw));
    const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw);
    return { top: Math.ceil(max / step) * step, step };
  }

  const plural = (n, one, many = `${one}s`) => `${fmtNum(n)} ${n === 1 ? one : many}`;

  /**
   * The per-day bar chart: failed logins as bars on a labelled axis, days with automatic blocks
   * marked above their bar, a tooltip (SVG title) on every day.
   */
  function attackChart(series) {
    const W = 960;
    const H = 250;
    const M = { left: 52, right: 14, top: 26, bottom: 38 };
    const pw = W - M.left - M.right;
    const ph = H - M.top - M.bottom;
    const n = series.length;
    const slot = pw / n;
    const barW = Math.max(2, Math.min(36, slot * 0.72));
    const max = Math.max(0, ...series.map((d) => d.failures));
    const { top, step } = axisScale(max);
    const y = (v) => M.top + ph - (v / top) * ph;
    const x = (i) => M.left + i * slot + slot / 2;
    const labelEvery = Math.ceil(n / 12);
    const totalFailures = series.reduce((s, d) => s + d.failures, 0);
    const totalBlocks = series.reduce((s, d) => s + d.blocks, 0);

    const grid = [];
    for (let v = 0; v <= top; v += step) {
      grid.push(svg('line', { class: v === 0 ? 'ax-base' : 'ax-grid', x1: M.left, x2: W - M.right, y1: y(v), y2: y(v) }));
      grid.push(svg('text', { class: 'ax-label', x: M.left - 6, y: y(v) + 4, 'text-anchor': 'end', 'data-testid': 'attack-y-label' }, fmtNum(v)));
    }
    const days = series.map((d, i) => {
      const h0 = d.failures ? Math.max(1.5, y(0) - y(d.failures)) : 0;
      const tip = `${utcDay(d.day)} (UTC): ${plural(d.failures, 'failed login')}, ${plural(d.sources, 'source')}, ${plural(d.blocks, 'automatic block')}${d.today ? ' (today so far)' : ''}`;
      const showLabel = (n - 1 - i) % labelEvery === 0;
      return svg('g', {
        class: `day${d.today ? ' today' : ''}${d.failures ? '' : ' zero'}`,
        'data-testid': 'attack-day', 'data-day': d.day, 'data-failures': d.failures, 'data-sources': d.sources, 'data-blocks': d.blocks,
      },
      svg('title', null, tip),
      // The whole column answers the pointer, so small bars are easy to hover.
      svg('rect', { class: 'hit', x: M.left + i * slot, y: M.top, width: slot, height: ph }),
      svg('rect', { class: 'bar', 'data-testid': 'attack-bar', x: x(i) - barW / 2, y: y(0) - h0, width: barW, height: h0 }),
      d.blocks ? svg('g', { class: 'block-mark', 'data-testid': 'attack-block-mark' },
        svg('path', { d: `M${x(i)} ${y(0) - h0 - 4} l-4.5 -7 h9 z` }),
        slot >= 16 ? svg('text', { x: x(i), y: y(0) - h0 - 13, 'text-anchor': 'middle' }, fmtNum(d.blocks)) : null) : null,
      showLabel ? svg('line', { class: 'ax-tick', x1: x(i), x2: x(i), y1: y(0), y2: y(0) + 4 }) : null,
      showLabel ? svg('text', { class: 'ax-label', x: x(i), y: y(0) + 17, 'text-anchor': 'middle', 'data-testid': 'attack-x-label' }, utcDay(d.day).slice(5)) : null);
    });
    return svg('svg', {
      class: 'attack-chart', viewBox: `0 0 ${W} ${H}`, role: 'img', 'data-testid': 'attack-svg',
      'aria-label': `Failed logins per day: ${plural(totalFailures, 'failed login')} and ${plural(totalBlocks, 'automatic block')} over ${n} days`,
    },
    grid,
    svg('text', { class: 'ax-title', x: 14, y: M.top + ph / 2, 'text-anchor': 'middle', transform: `rotate(-90 14 ${M.top + ph / 2})` }, 'Failed logins'),
    svg('text', { class: 'ax-title', x: M.left + pw / 2, y: H - 4, 'text-anchor': 'middle' }, 'Day (UTC)'),
    days);
  }

  async function viewAttacks(ctx) {
    setTitle('Attack analysis');
    const daysParam = Number(ctx.params.get('days'));
    const days = ATTACK_RANGES.includes(daysParam) ? daysParam : DEFAULT_ATTACK_DAYS;
    const hostF = ctx.params.get('host') || '';
    let hosts = [];
    let data = null;
    let activeRules = [];
    const hostName = (id) => (hosts.find((x) => x.id === id) || {}).hostname || id;
    const go = (changes) => {
      const next = { days, host: hostF, ...changes };
      if (Number(next.days) === DEFAULT_ATTACK_DAYS) next.days = '';
      location.hash = hashWith('/attacks', next);
    };

    const hostSel = h('select', { id: 'attacks-host', 'data-testid': 'attacks-host', 'aria-label': 'Host' },
      h('option', { value: '' }, 'All hosts'));
    hostSel.addEventListener('change', () => go({ host: hostSel.value }));
    const seg = h('div', { class: 'segmented', role: 'group', 'aria-label': 'Range' },
      ATTACK_RANGES.map((d) => h('a', {
        class: `seg${d === days ? ' active' : ''}`,
        href: hashWith('/attacks', { host: hostF, days: d === DEFAULT_ATTACK_DAYS ? '' : d }),
        'data-testid': `attacks-range-${d}`,
      }, `${d} days`)));
    const refreshB = h('button', { type: 'button', class: 'btn small', 'data-testid': 'attacks-refresh' }, 'Refresh');
    refreshB.addEventListener('click', () => {
      clearError();
      load().catch((e) => ctx.alive() && showError(e, 'Loading the attack analysis'));
    });
    const toolbar = h('div', { class: 'attack-tools' },
      h('label', { class: 'inline' }, 'Host', hostSel), seg,
      h('span', { class: 'spacer' }),
      h('a', { href: '#/login-settings', 'data-testid': 'attacks-settings-link' }, 'Login security settings →'),
      refreshB);

    const stats = h('div', { class: 'stat-row', 'data-testid': 'attacks-totals' });
    const chart = h('div', { class: 'chart-box', 'data-testid': 'attacks-chart' }, loading());
    const legend = h('div', { class: 'chart-legend muted small' },
      h('span', { class: 'lg lg-bar' }), 'Failed logins', h('span', { class: 'lg lg-block' }), 'Days with automatic blocks (count above the bar)',
      h('span', { class: 'lg-note' }, 'Hover a day for its numbers. Days are UTC days; today is still counting.'));

    const hostTable = dataTable({
      testid: 'attacks-hosts-table',
      filter: false,
      sort: { key: 'failures', dir: -1 },
      emptyText: 'No host saw a failed login or an automatic block in this range.',
      rowAttrs: (r) => ({ 'data-testid': 'attacks-host-row', 'data-host-id': r.host_id }),
      columns: [
        {
          key: 'host', label: 'Host', value: (r) => hostName(r.host_id),
          render: (r) => h('a', { class: 'strong', href: hashWith('/attacks', { host: r.host_id, days: days === DEFAULT_ATTACK_DAYS ? '' : days }), title: 'Show this host only', 'data-testid': 'attacks-host-link' }, hostName(r.host_id)),
        },
        { key: 'failures', label: 'Failed logins', width: '120px', cls: 'num', render: (r) => fmtNum(r.failures) },
        { key: 'sources', label: 'Sources (per day, summed)', width: '180px', cls: 'num', render: (r) => fmtNum(r.sources) },
        { key: 'blocks', label: 'Automatic blocks', width: '130px', cls: 'num', render: (r) => fmtNum(r.blocks) },
        { key: 'attack_days', label: 'Days attacked', width: '110px', cls: 'num', render: (r) => fmtNum(r.attack_days) },
        { key: 'last', label: 'Last attacked', width: '120px', value: (r) => r.last || 0, render: (r) => (r.last ? utcDay(r.last) : h('span', { class: 'muted' }, '—')) },
      ],
    });

    const blockedBy = (src) => activeRules.filter((r) => ipTargetText(r.target) === src && r.direction !== 'out');
    const sources = dataTable({
      testid: 'attacks-sources-table',
      filter: false,
      sort: null,
      emptyText: 'No failed login in this range.',
      rowAttrs: (r) => ({ 'data-testid': 'attacks-source-row', 'data-source': r.source }),
      columns: [
        { key: 'source', label: 'Source', render: (r) => h('span', { class: 'mono strong', 'data-testid': 'attacks-source' }, r.source) },
        { key: 'failures', label: 'Failed logins', width: '120px', cls: 'num', render: (r) => h('span', { 'data-testid': 'attacks-source-failures' }, fmtNum(r.failures)) },
        {
          key: 'share', label: '', nosort: true, value: (r) => r.failures,
          render: (r) => {
            const most = Math.max(1, ...(data.top_sources || []).map((x) => x.failures));
            return h('div', { class: 'share', title: `${fmtNum(r.failures)} of the range's ${fmtNum(data.totalFailures)} failed logins` },
              h('span', { style: `width:${((r.failures / most) * 100).toFixed(1)}%` }));
          },
        },
        {
          key: 'blocked', label: 'Active block', width: '150px', value: (r) => blockedBy(r.source).length,
          render: (r) => {
            const rules = blockedBy(r.source);
            if (!rules.length) return h('span', { class: 'muted', 'data-testid': 'attacks-source-blocked' }, '—');
            return h('a', { href: '#/ip-policy?status=active', 'data-testid': 'attacks-source-blocked', title: rules.map((x) => `rule ${x.id}: ${x.hosts.length ? x.hosts.map(hostName).join(', ') : 'all hosts'}`).join('\n') },
              `${plural(rules.length, 'rule')} (${rules.some((x) => !x.hosts.length) ? 'all hosts' : plural(new Set(rules.flatMap((x) => x.hosts)).size, 'host')})`);
          },
        },
        {
          key: 'actions', label: '', width: '90px', nosort: true, value: () => '',
          render: (r) => h('a', {
            class: 'btn small', 'data-testid': 'attacks-block-link', 'data-source': r.source,
            title: hostF ? `Block ${r.source} on ${hostName(hostF)}` : `Block ${r.source} on every host`,
            href: hashWith('/ip-policy', {
              target: r.source,
              host: hostF,
              reason: `Attack analysis: ${plural(r.failures, 'failed login')} in ${days} days${hostF ? ` on ${hostName(hostF)}` : ''}`,
            }),
          }, 'Block…'),
        },
      ],
    });

    setView(
      panel('Attack analysis', [toolbar, stats, chart, legend], {
        testid: 'attacks-panel',
        extra: h('span', { class: 'muted small' }, 'Failed logins and automatic brute-force blocks per day.'),
      }),
      panel('Top sources', sources.el, { testid: 'attacks-sources-panel', extra: h('span', { class: 'muted small' }, 'The 10 addresses that failed most in the range.') }),
      panel('By host', hostTable.el, { testid: 'attacks-hosts-panel', extra: h('span', { class: 'muted small' }, 'Pick a host to see its days and sources alone.') }),
    );

    function render() {
      const stat = (label, value, cls, testid, extra) => h('div', { class: `stat s-${cls}`, 'data-testid': testid },
        h('span', { class: 'stat-value' }, fmtNum(value)), h('span', { class: 'stat-label' }, label, extra || null));
      const perDay = new Map();
      const perHost = new Map();
      for (const r of data.days || []) {
        const d = perDay.get(r.day) || { failures: 0, sources: 0, blocks: 0 };
        d.failures += r.failures || 0;
        d.sources += r.sources || 0;
        d.blocks += r.blocks || 0;
        perDay.set(r.day, d);
        const x = perHost.get(r.host_id) || { host_id: r.host_id, failures: 0, sources: 0, blocks: 0, attack_days: 0, last: 0 };
        x.failures += r.failures || 0;
        x.sources += r.sources || 0;
        x.blocks += r.blocks || 0;
        if (r.failures) {
          x.attack_days += 1;
          x.last = Math.max(x.last, r.day);
        }
        perHost.set(r.host_id, x);
      }
      // One column per day of the range, the quiet ones too.
      const today = Math.floor(Date.now() / 86400000) * 86400;
      const series = [];
      for (let i = 0; i < days; i += 1) {
        const day = data.since + i * 86400;
        series.push({ day, today: day === today, ...(perDay.get(day) || { failures: 0, sources: 0, blocks: 0 }) });
      }
      const total = (k) => series.reduce((s, d) => s + d[k], 0);
      data.totalFailures = total('failures');
      const blocks = total('blocks');
      stats.replaceChildren(
        stat('Failed logins', data.totalFailures, 'urgent', 'attacks-total-failures'),
        stat('Sources', total('sources'), 'suspicious', 'attacks-total-sources', h('span', { class: 'muted' }, ' · distinct per day, summed')),
        stat('Automatic blocks', blocks, 'reminder', 'attacks-total-blocks',
          blocks ? [' · ', h('a', { href: '#/ip-policy' }, 'IP policy →')] : null),
        stat('Days attacked', series.filter((d) => d.failures).length, 'total', 'attacks-total-days', h('span', { class: 'muted' }, ` of ${days}`)));
      chart.dataset.days = String(days);
      chart.dataset.host = hostF;
      if (!series.some((d) => d.failures || d.blocks)) {
        chart.dataset.empty = '1';
        chart.replaceChildren(h('div', { class: 'chart-empty', 'data-testid': 'attacks-empty' },
          h('strong', null, `No failed logins and no automatic blocks in the last ${days} days${hostF ? ` on ${hostName(hostF)}` : ''}.`),
          h('div', { class: 'muted small' }, 'Agents report failed SSH, FTP and MySQL logins from the hosts\' login logs; the brute-force rule under ',
            h('a', { href: '#/login-settings' }, 'Login security'), ' blocks sources that fail too often.')));
      } else {
        chart.dataset.empty = '';
        chart.replaceChildren(attackChart(series));
      }
      hostTable.setRows([...perHost.values()]);
      sources.setRows(data.top_sources || []);
    }

    function renderHostOptions() {
      const known = hosts.some((x) => x.id === hostF);
      fill(hostSel, h('option', { value: '' }, 'All hosts'),
        hosts.map((x) => h('option', { value: x.id }, `${x.hostname || x.id}${x.state === 'online' ? '' : ` (${x.state})`}`)),
        hostF && !known ? h('option', { value: hostF }, hostF) : null);
      hostSel.value = hostF;
    }
    renderHostOptions();

    async function load() {
      const [res, rules] = await Promise.all([
        get(`/api/v1/attacks?days=${days}${hostF ? `&host=${enc(hostF)}` : ''}`),
        // Only labels the sources already blocked: without it the table still shows.
        get('/api/v1/ip-rules?status=active').then((r) => r.rules || []).catch((e) => {
          if (e.handled) throw e;
          return [];
        }),
      ]);
      if (!ctx.alive()) return;
      data = res;
      activeRules = rules;
      render();
    }
    const hostsP = get('/api/v1/hosts').then((res) => {
      if (!ctx.alive()) return;
      hosts = res.hosts || [];
      renderHostOptions();
      if (data) render();
    }).catch((e) => {
      if (e.handled) throw e;
      if (ctx.alive()) showError(e, 'Loading hosts');
    });
    await load();
    await hostsP;
    autoRefresh(ctx, load);
  }

  // ---------------------------------------------------------------- login security

  /** The brute-force rule's allowed choices (vigil-detect's `BruteForceRule`). */
  const BF_SPANS = [1, 2, 5, 10, 15];
  const BF_MAX_FAILURES = [2, 3, 4, 5, 10, 50, 80, 100];
  const BF_BLOCKS = [[5, '5 minutes'], [15, '15 minutes'], [30, '30 minutes'], [60, '1 hour'], [120, '2 hours'], [360, '6 hours'],
    [720, '12 hours'], [1440, '1 day'], [10080, '7 days'], [0, 'Permanently']];
  const LOGIN_PROTOCOLS = [['ssh', 'SSH'], ['ftp', 'FTP'], ['mysql', 'MySQL']];

  /** The entries of a list box: one per line or separated by commas, blanks dropped. */
  const listEntries = (text) => text.split(/[\n,]+/).map((x) => x.trim()).filter(Boolean);

  /** A `select` of numbers; a saved value outside the choices is kept as an extra option. */
  function numberSelect(attrs, choices, value) {
    const opts = choices.map((c) => (Array.isArray(c) ? c : [c, String(c)]));
    if (value !== undefined && !opts.some(([v]) => v === value)) opts.push([value, `${value} (saved)`]);
    const s = h('select', attrs, opts.map(([v, t]) => h('option', { value: String(v) }, t)));
    if (value !== undefined) s.value = String(value);
    return s;
  }

  /**
   * A form's error line: the server's message, with the list it names marked and the entry it
   * quotes selected, so the operator sees what to fix; the input stays as typed.
   */
  function formErrorBox(testid) {
    const box = h('div', { class: 'form-error', 'data-testid': testid, 'aria-live': 'assertive', hidden: true });
    let marked = [];
    return {
      el: box,
      clear() {
        box.hidden = true;
        box.replaceChildren();
        marked.forEach((f) => {
          f.classList.remove('invalid');
          f.removeAttribute('aria-invalid');
        });
        marked = [];
      },
      show(msg, field) {
        box.replaceChildren(notice(msg, { kind: 'error' }));
        box.hidden = false;
        if (!field) return;
        field.classList.add('invalid');
        field.setAttribute('aria-invalid', 'true');
        marked.push(field);
        field.focus();
        // The server quotes the bad entry: select it where it was typed.
        const q = /"([^"]{1,200})"/.exec(msg);
        const at = q && field.value !== undefined ? field.value.indexOf(q[1]) : -1;
        if (at >= 0 && field.setSelectionRange) field.setSelectionRange(at, at + q[1].length);
      },
    };
  }

  async function viewLoginSettings(ctx) {
    setTitle('Settings', 'Login security');

    // ---- the brute-force rule and the access whitelist (GET/PUT /api/v1/login-settings)
    const lsPanelBody = h('div', null, loading());
    const lpPanelBody = h('div', null, loading());
    setView(
      panel('Brute-force defense', lsPanelBody, {
        testid: 'login-settings-panel',
        extra: h('span', { class: 'muted small' }, 'Every agent enforces these; they apply with each agent\'s next check-in. ', h('a', { href: '#/attacks' }, 'Attack analysis →')),
      }),
      panel('Abnormal logins', lpPanelBody, {
        testid: 'login-policy-panel',
        extra: h('span', { class: 'muted small' }, 'Which successful logins are normal, for every host.'),
      }),
    );

    const [ls, lp] = await Promise.all([get('/api/v1/login-settings'), get('/api/v1/login-policy')]);
    if (!ctx.alive()) return;
    lsPanelBody.replaceChildren(settingsForm(ls));
    lpPanelBody.replaceChildren(policyForm(lp));

    function settingsForm(initial) {
      const enabledBox = h('input', { type: 'checkbox', id: 'ls-enabled', 'data-testid': 'ls-enabled' });
      const spanSel = numberSelect({ id: 'ls-span', 'data-testid': 'ls-span', 'aria-label': 'Within minutes' }, BF_SPANS, initial.span_mins);
      const maxSel = numberSelect({ id: 'ls-max', 'data-testid': 'ls-max', 'aria-label': 'Failed logins' }, BF_MAX_FAILURES, initial.max_failures);
      const blockSel = numberSelect({ id: 'ls-block', 'data-testid': 'ls-block', 'aria-label': 'Block for' }, BF_BLOCKS, initial.block_mins);
      const protoBoxes = LOGIN_PROTOCOLS.map(([v]) => h('input', { type: 'checkbox', value: v, id: `ls-proto-${v}`, 'data-testid': `ls-proto-${v}` }));
      const wlIn = h('textarea', {
        id: 'ls-whitelist', 'data-testid': 'ls-whitelist', rows: '5', spellcheck: 'false', autocomplete: 'off',
        placeholder: 'e.g. 203.0.113.7, 198.51.100.0/24, 2001:db8::/48', 'aria-label': 'Access whitelist',
      });
      const wlNote = h('small', { class: 'muted', 'data-testid': 'ls-whitelist-note' });
      const ruleText = h('div', { class: 'rule-text', 'data-testid': 'ls-rule-text' });
      const saveB = h('button', { type: 'submit', class: 'btn primary', id: 'ls-save', 'data-testid': 'ls-save' }, 'Save brute-force settings');
      const result = h('div', { class: 'form-result', 'data-testid': 'ls-result', 'aria-live': 'polite' });
      const err = formErrorBox('ls-error');

      function fillForm(s) {
        enabledBox.checked = Boolean(s.enabled);
        spanSel.value = String(s.span_mins);
        maxSel.value = String(s.max_failures);
        blockSel.value = String(s.block_mins);
        protoBoxes.forEach((b) => { b.checked = (s.protocols || []).includes(b.value); });
        wlIn.value = (s.access_whitelist || []).map(ipTargetText).join('\n');
        renderNotes();
      }
      function renderNotes() {
        const n = listEntries(wlIn.value).length;
        wlNote.textContent = `${n ? `${plural(n, 'entry', 'entries')}. ` : ''}Never blocked by the brute-force rule, on every host: an administrator's own address, a bastion. One IP or network (address/prefix) per line.`;
        const protos = protoBoxes.map((b, i) => (b.checked ? LOGIN_PROTOCOLS[i][1] : null)).filter(Boolean);
        const blockText = blockSel.value === '0' ? 'permanently' : `for ${(BF_BLOCKS.find(([v]) => String(v) === blockSel.value) || [0, `${blockSel.value} minutes`])[1]}`;
        ruleText.textContent = enabledBox.checked
          ? `A source that fails more than ${maxSel.value} ${protos.length ? protos.join('/') : '(no protocol chosen)'} logins within ${spanSel.value} minute${spanSel.value === '1' ? '' : 's'} is blocked on that host ${blockText}.`
          : 'Off: failed logins are counted (Attack analysis) but no source is blocked.';
        ruleText.classList.toggle('off', !enabledBox.checked);
      }
      for (const el of [enabledBox, spanSel, maxSel, blockSel, ...protoBoxes]) el.addEventListener('change', renderNotes);
      wlIn.addEventListener('input', renderNotes);
      fillForm(initial);

      const form = h('form', { class: 'ls-form', id: 'ls-form', autocomplete: 'off', novalidate: true, 'data-loaded': '1' },
        h('div', { class: 'field span-2' },
          h('label', { class: 'check', for: 'ls-enabled' }, enabledBox, h('strong', null, 'Block sources that fail to log in too often'))),
        h('label', { class: 'field' }, h('span', null, 'More than'), h('div', { class: 'range-row' }, maxSel, 'failed logins')),
        h('label', { class: 'field' }, h('span', null, 'Within'), h('div', { class: 'range-row' }, spanSel, 'minutes')),
        h('label', { class: 'field' }, h('span', null, 'Block for'), blockSel),
        h('div', { class: 'field' }, h('span', null, 'Protocols'),
          h('div', { class: 'check-row', role: 'group', 'aria-label': 'Protocols' },
            protoBoxes.map((b, i) => h('label', { class: 'check', for: b.id }, b, LOGIN_PROTOCOLS[i][1])))),
        h('div', { class: 'span-2' }, ruleText),
        h('label', { class: 'field span-2' }, h('span', null, 'Access whitelist'), wlIn, wlNote),
        h('div', { class: 'form-actions' }, saveB,
          h('span', { class: 'muted small' }, 'Blocks go to the ', h('a', { href: '#/ip-policy' }, 'IP policy'), ' library (origin system), where they can be disabled.')),
        h('div', { class: 'span-2' }, err.el, result));

      form.addEventListener('submit', async (ev) => {
        ev.preventDefault();
        clearError();
        err.clear();
        result.replaceChildren();
        const body = {
          enabled: enabledBox.checked,
          span_mins: Number(spanSel.value),
          max_failures: Number(maxSel.value),
          block_mins: Number(blockSel.value),
          protocols: protoBoxes.filter((b) => b.checked).map((b) => b.value),
          access_whitelist: listEntries(wlIn.value),
        };
        saveB.disabled = true;
        saveB.textContent = 'Saving…';
        try {
          const res = await api('PUT', '/api/v1/login-settings', body);
          if (!ctx.alive()) return;
          fillForm(res);
          result.replaceChildren(notice(`Saved: ${ruleText.textContent} ${plural((res.access_whitelist || []).length, 'whitelist entry', 'whitelist entries')}. Agents apply it at their next check-in.`, { kind: 'ok', testid: 'ls-saved' }));
        } catch (e) {
          if (!ctx.alive() || e.handled) return;
          // The server says what is wrong (a bad network, a value not allowed…): input kept.
          if (e.status === 400) {
            const m = errorMessage(e);
            err.show(m, /network|whitelist/i.test(m) ? wlIn : /protocol/i.test(m) ? protoBoxes[0] : null);
          } else showError(e, 'Saving the brute-force settings');
        } finally {
          saveB.disabled = false;
          saveB.textContent = 'Save brute-force settings';
        }
      });
      return form;
    }

    // ---- the abnormal-login policy (GET/PUT /api/v1/login-policy)
    function policyForm(initial) {
      const listBox = (id, placeholder, label) => h('textarea', {
        id, 'data-testid': id, rows: '4', spellcheck: 'false', autocomplete: 'off', placeholder, 'aria-label': label,
      });
      const locIn = listBox('lp-locations', 'e.g. AU, CN/Zhejiang', 'Approved locations');
      const ipsIn = listBox('lp-ips', 'e.g. 203.0.113.7, 198.51.100.0/24', 'Approved IPs');
      const timesIn = listBox('lp-times', 'e.g. 08:00-20:00', 'Approved login times');
      const offsetSel = h('select', { id: 'lp-offset', 'data-testid': 'lp-offset', 'aria-label': 'Time zone of the login times' });
      const accIn = listBox('lp-accounts', 'e.g. root, deploy', 'Approved accounts');
      const malIn = listBox('lp-malicious', 'e.g. 192.0.2.0/24', 'Malicious IPs');
      const locAlertsBox = h('input', { type: 'checkbox', id: 'lp-location-alerts', 'data-testid': 'lp-location-alerts' });
      const saveB = h('button', { type: 'submit', class: 'btn primary', id: 'lp-save', 'data-testid': 'lp-save' }, 'Save login policy');
      const result = h('div', { class: 'form-result', 'data-testid': 'lp-result', 'aria-live': 'polite' });
      const err = formErrorBox('lp-error');
      const browserOffset = -new Date().getTimezoneOffset();
      /** The saved `location_alerts`: `true` stays `true` while the box is ticked, else null (on). */
      let savedLocationAlerts = null;
      const states = {};
      const state = (key) => {
        states[key] = h('span', { class: 'list-state', 'data-testid': `${key}-state` });
        return states[key];
      };
      const lists = [['lp-locations', locIn], ['lp-ips', ipsIn], ['lp-times', timesIn], ['lp-accounts', accIn]];
      function renderStates() {
        for (const [key, el] of lists) {
          const n = listEntries(el.value).length;
          states[key].textContent = n ? `${n} approved${key === 'lp-times' ? '' : ': replaces learning'}` : (key === 'lp-times' ? 'any time' : 'learned');
          states[key].classList.toggle('set', n > 0);
        }
        const m = listEntries(malIn.value).length;
        states['lp-malicious'].textContent = m ? plural(m, 'entry', 'entries') : 'none';
        states['lp-malicious'].classList.toggle('set', m > 0);
      }

      function fillForm(p) {
        locIn.value = (p.locations || []).join('\n');
        ipsIn.value = (p.ips || []).map(ipTargetText).join('\n');
        timesIn.value = ((p.times && p.times.ranges) || []).join('\n');
        accIn.value = (p.accounts || []).join('\n');
        malIn.value = (p.malicious_ips || []).map(ipTargetText).join('\n');
        const off = p.times ? p.times.utc_offset_mins || 0 : browserOffset;
        const offsets = UTC_OFFSETS.includes(off) ? UTC_OFFSETS : [...UTC_OFFSETS, off].sort((a, b) => a - b);
        offsetSel.replaceChildren(...offsets.map((o) => h('option', { value: String(o) }, `${fmtOffset(o)}${o === browserOffset ? ' (this browser)' : ''}`)));
        offsetSel.value = String(off);
        savedLocationAlerts = p.location_alerts ?? null;
        locAlertsBox.checked = p.location_alerts !== false;
        renderStates();
      }
      for (const [, el] of lists) el.addEventListener('input', renderStates);
      malIn.addEventListener('input', renderStates);

      const fieldOf = { locations: locIn, ips: ipsIn, times: timesIn, accounts: accIn, malicious_ips: malIn };
      const form = h('form', { class: 'lp-form', id: 'lp-form', autocomplete: 'off', novalidate: true, 'data-loaded': '1' },
        notice([
          'Until a factor is configured here, each host learns its usual locations, IPs and accounts: whatever logs in from a public IP in the 24 hours after its first such login, then an IP (with its location) or an account once it has logged in successfully 6 times. ',
          'A configured list replaces learning for its factor: a successful login outside any configured list raises an abnormal-login alert. Login times are never learned: only configured ranges are checked. ',
          'An empty list goes back to learning. Entries: one per line, or separated by commas.',
        ], { kind: 'info' }),
        h('div', { class: 'lp-grid' },
          h('label', { class: 'field' }, h('span', null, 'Approved locations ', state('lp-locations')), locIn,
            h('small', { class: 'muted' }, 'A two-letter country code (AU), or a country and region (CN/Zhejiang), as the geolocation database names it.')),
          h('label', { class: 'field' }, h('span', null, 'Approved IPs ', state('lp-ips')), ipsIn,
            h('small', { class: 'muted' }, 'Addresses or networks (address/prefix).')),
          h('div', { class: 'field' }, h('span', null, h('label', { for: 'lp-times' }, 'Approved login times'), ' ', state('lp-times')), timesIn,
            h('label', { class: 'range-row small', for: 'lp-offset' }, 'Local time at', offsetSel),
            h('small', { class: 'muted' }, 'HH:MM-HH:MM ranges; 22:00-06:00 runs past midnight.')),
          h('label', { class: 'field' }, h('span', null, 'Approved accounts ', state('lp-accounts')), accIn,
            h('small', { class: 'muted' }, 'User names, as the login logs write them.')),
          h('label', { class: 'field' }, h('span', null, 'Malicious IPs ', state('lp-malicious')), malIn,
            h('small', { class: 'muted' }, 'Threat intelligence: a successful login from these is an urgent alert.')),
          h('div', { class: 'field' }, h('span', null, 'Unusual locations'),
            h('label', { class: 'check', for: 'lp-location-alerts' }, locAlertsBox, 'Alert on logins from unusual locations'),
            h('small', { class: 'muted' }, 'Off: no login raises an unusual-location alert, learned or approved locations alike.'))),
        h('div', { class: 'form-actions' }, saveB),
        err.el, result);
      fillForm(initial);

      form.addEventListener('submit', async (ev) => {
        ev.preventDefault();
        clearError();
        err.clear();
        result.replaceChildren();
        const orNull = (list) => (list.length ? list : null);
        const ranges = listEntries(timesIn.value);
        const body = {
          locations: orNull(listEntries(locIn.value)),
          ips: orNull(listEntries(ipsIn.value)),
          times: ranges.length ? { utc_offset_mins: Number(offsetSel.value), ranges } : null,
          accounts: orNull(listEntries(accIn.value)),
          location_alerts: locAlertsBox.checked ? (savedLocationAlerts === true ? true : null) : false,
          malicious_ips: listEntries(malIn.value),
        };
        saveB.disabled = true;
        saveB.textContent = 'Saving…';
        try {
          const res = await api('PUT', '/api/v1/login-policy', body);
          if (!ctx.alive()) return;
          fillForm(res);
          const set = [['locations', 'locations'], ['ips', 'IPs'], ['times', 'times'], ['accounts', 'accounts']].filter(([k]) => res[k]).map(([, t]) => t);
          result.replaceChildren(notice(`Saved: ${set.length ? `approved ${set.join(', ')} configured; the rest learned` : 'every factor learned'}${res.location_alerts === false ? '; unusual-location alerts off' : ''}; ${plural((res.malicious_ips || []).length, 'malicious network')}. The next logins are judged by it.`, { kind: 'ok', testid: 'lp-saved' }));
        } catch (e) {
          if (!ctx.alive() || e.handled) return;
          if (e.status === 400) {
            const m = errorMessage(e);
            const field = /^(\w+)(?:\.\w+)?:/.exec(m);
            err.show(m, field ? fieldOf[field[1]] : null);
          } else showError(e, 'Saving the login policy');
        } finally {
          saveB.disabled = false;
          saveB.textContent = 'Save login policy';
        }
      });
      return form;
    }
  }

  // ---------------------------------------------------------------- inbox

  let inboxSeq = 0;

  function setInboxBadge(n) {
    const el = $('#inbox-unread');
    const link = $('#inbox-link');
    el.textContent = n > 99 ? '99+' : String(n);
    el.hidden = n === 0;
    link.dataset.unread = String(n);
    link.title = n ? `Inbox: ${fmtNum(n)} unread message${n === 1 ? '' : 's'}` : 'Inbox: nothing unread';
  }

  /** Updates the top bar's unread badge, from `res` (a GET /api/v1/inbox answer) or the server. */
  async function refreshInboxBadge(res) {
    const my = ++inboxSeq;
    if (!res) {
      try {
        res = await get('/api/v1/inbox');
      } catch (e) {
        // A background count: no banner, the tooltip says why it is stale.
        if (my === inboxSeq && !e.handled) $('#inbox-link').title = `Inbox: ${errorMessage(e)}`;
        return;
      }
    }
    if (my === inboxSeq) setInboxBadge(res.unread || 0);
  }

  async function viewInbox(ctx) {
    setTitle('Inbox');
    let messages = [];
    /** Messages shown with their body. */
    const expanded = new Set();
    const list = h('ul', { class: 'inbox-list', 'data-testid': 'inbox-list' }, h('li', null, loading()));
    const summary = h('span', { class: 'muted small', 'data-testid': 'inbox-summary' });
    const markAll = h('button', { type: 'button', class: 'btn small', 'data-testid': 'inbox-mark-all', disabled: true }, 'Mark all read');

    function item(m) {
      const unread = !m.read_at;
      const open = expanded.has(m.id);
      const head = h('button', { type: 'button', class: 'inbox-head', 'data-testid': 'inbox-open', 'aria-expanded': open ? 'true' : 'false' },
        h('span', { class: 'inbox-dot', title: unread ? 'Unread' : null, 'aria-hidden': 'true' }),
        h('span', { class: 'inbox-title', 'data-testid': 'inbox-title' }, m.title),
        h('span', { class: 'inbox-time muted small', title: fmtTime(m.created_at) }, fmtAgo(m.created_at)));
      head.addEventListener('click', () => toggle(m));
      const body = open
        ? h('div', { class: 'inbox-body' },
          h('pre', { class: 'inbox-text', 'data-testid': 'inbox-body' }, m.body),
          h('div', { class: 'inbox-actions' },
            m.alert_id ? h('button', { type: 'button', class: 'btn small', 'data-testid': 'inbox-alert', onclick: () => openAlert(m.alert_id, { onChange: () => {} }) }, `Open alert #${m.alert_id}`) : null,
            m.host_id ? h('a', { href: `#/hosts/${enc(m.host_id)}` }, 'Host details →') : null,
            h('span', { class: 'muted small' }, `Received ${fmtTime(m.created_at)}${m.read_at ? ` · read ${fmtAgo(m.read_at)}` : ''}`)))
        : null;
      return h('li', {
        class: `inbox-msg${unread ? ' unread' : ''}${open ? ' open' : ''}`,
        'data-testid': 'inbox-message', 'data-message-id': m.id, 'data-read': unread ? '0' : '1', 'data-alert-id': m.alert_id,
      }, head, body);
    }

    function render() {
      const unread = messages.filter((m) => !m.read_at).length;
      summary.textContent = `${fmtNum(messages.length)} message${messages.length === 1 ? '' : 's'} · ${fmtNum(unread)} unread`;
      markAll.disabled = unread === 0;
      if (!messages.length) {
        list.replaceChildren(h('li', { class: 'inbox-empty' }, 'No message. Alerts reach this inbox through a channel of type "Console inbox": ',
          h('a', { href: '#/notifications' }, 'add one on the Notifications page →')));
        return;
      }
      list.replaceChildren(...messages.map(item));
    }

    /** Opens or closes a message; opening an unread one marks it read on the server. */
    async function toggle(m) {
      if (expanded.has(m.id)) expanded.delete(m.id);
      else expanded.add(m.id);
      render();
      if (m.read_at || m.marking) return;
      m.marking = true;
      try {
        await post(`/api/v1/inbox/${enc(m.id)}/read`);
        m.read_at = Date.now() / 1000;
      } catch (e) {
        if (ctx.alive()) showError(e, `Marking message ${m.id} read`);
        return;
      } finally {
        m.marking = false;
      }
      if (!ctx.alive()) return;
      render();
      refreshInboxBadge();
    }

    markAll.addEventListener('click', async () => {
      clearError();
      markAll.disabled = true;
      markAll.textContent = 'Marking…';
      try {
        for (const m of messages.filter((x) => !x.read_at)) {
          await post(`/api/v1/inbox/${enc(m.id)}/read`);
          m.read_at = Date.now() / 1000;
          if (!ctx.alive()) return;
        }
      } catch (e) {
        if (ctx.alive()) showError(e, 'Marking messages read');
      } finally {
        markAll.textContent = 'Mark all read';
      }
      if (!ctx.alive()) return;
      render();
      refreshInboxBadge();
    });

    setView(panel('Messages', [
      h('div', { class: 'table-tools inbox-tools' }, summary, h('span', { class: 'spacer' }), markAll),
      list,
    ], {
      testid: 'inbox-panel',
      extra: h('span', { class: 'muted small' }, 'Newest first; opening a message marks it read. ',
        h('a', { href: '#/notifications' }, 'Notification channels →')),
    }));

    async function load() {
      const res = await get('/api/v1/inbox');
      if (!ctx.alive()) return;
      const marking = new Map(messages.filter((m) => m.marking).map((m) => [m.id, m]));
      messages = (res.messages || [])
        .map((m) => marking.get(m.id) || m)
        .sort((a, b) => (b.created_at - a.created_at) || (b.id - a.id));
      refreshInboxBadge(res);
      render();
    }
    await load();
    autoRefresh(ctx, load);
  }

  // ---------------------------------------------------------------- notifications

  const CHANNEL_TYPES = [['inbox', 'Console inbox'], ['email', 'Email'], ['webhook', 'Webhook']];
  const WEBHOOK_SHAPES = [['generic', 'Generic JSON'], ['dingtalk', 'DingTalk'], ['slack', 'Slack'], ['feishu', 'Feishu']];
  const SMTP_TLS = [['start_tls', 'STARTTLS (port 587)'], ['tls', 'TLS (port 465)'], ['none', 'None: plain text']];
  /** UTC offsets in use somewhere, in minutes. */
  const UTC_OFFSETS = [-720, -660, -600, -570, -540, -480, -420, -360, -300, -240, -210, -180, -120, -60, 0, 60, 120, 180, 210,
    240, 270, 300, 330, 345, 360, 390, 420, 480, 525, 540, 570, 600, 630, 660, 720, 765, 780, 840];
  /** How often the server tries one notification (vigil_notify::outbox). */
  const MAX_ATTEMPTS = 12;

  function fmtOffset(min) {
    const a = Math.abs(min);
    return `UTC${min < 0 ? '−' : '+'}${pad(Math.floor(a / 60))}:${pad(a % 60)}`;
  }

  const fmtMinute = (m) => `${pad(Math.floor(m / 60))}:${pad(m % 60)}`;

  /** `HH:MM` → minutes after midnight (`24:00` only as an end, meaning midnight). */
  function parseHHMM(text, what, { end = false } = {}) {
    const m = /^(\d{1,2}):(\d{2})$/.exec(text.trim());
    const mins = m ? Number(m[1]) * 60 + Number(m[2]) : NaN;
    if (!m || Number(m[2]) > 59 || mins > 1440 || (mins === 1440 && !end)) {
      throw new Error(`the ${what} of the time window, "${text.trim()}", is not a time of day as HH:MM`);
    }
    return mins % 1440;
  }

  function parseLimit(text, what) {
    const t = text.trim();
    if (!/^\d{1,9}$/.test(t)) throw new Error(`${what} must be a whole number, 0 for no limit`);
    return Number(t);
  }

  const channelType = (c) => (c.config && c.config.kind && c.config.kind.type) || 'unknown';

  function channelDest(c) {
    const k = (c.config && c.config.kind) || {};
    if (k.type === 'email') return (k.to || []).join(', ');
    if (k.type === 'webhook') return k.url || '';
    if (k.type === 'inbox') return 'Console inbox';
    return '—';
  }

  function windowText(w) {
    if (!w) return 'any time';
    return `${fmtMinute(w.start_minute)}–${fmtMinute(w.end_minute)}${w.start_minute > w.end_minute ? ' (overnight)' : ''}`;
  }

  function limitsText(cfg) {
    const n = (v) => (v ? fmtNum(v) : 'no limit');
    return [`${n(cfg.max_per_day)} in all`, `${n(cfg.max_per_host_per_day)} per host`];
  }

  async function viewNotifications(ctx) {
    setTitle('Settings', 'Notifications');
    let channels = [];
    let settings = { utc_offset_minutes: 0, smtp: null };
    let hostNames = new Map();
    const offsetNow = () => settings.utc_offset_minutes || 0;
    const chResult = h('div', { class: 'wl-result', 'data-testid': 'channel-result', 'aria-live': 'polite' });

    // ---- the channel list
    const chTable = dataTable({
      testid: 'channels-table',
      filter: false,
      sort: null,
      emptyText: 'No channel: alerts notify nobody. Add one below; the console inbox needs no setup.',
      rowAttrs: (c) => ({ 'data-testid': 'channel-row', 'data-channel-id': c.id, 'data-type': channelType(c), 'data-name': c.name }),
      columns: [
        {
          key: 'name', label: 'Name', width: '15%', cls: 'msg', value: (c) => `${c.name} #${c.id}`,
          render: (c) => h('div', null, h('span', { class: 'strong', 'data-testid': 'channel-name' }, c.name), h('div', { class: 'muted small' }, `ID ${c.id}`)),
        },
        {
          key: 'dest', label: 'Type and destination', cls: 'msg', value: (c) => `${channelType(c)} ${channelDest(c)}`,
          render: (c) => {
            const k = c.config.kind || {};
            const shape = k.type === 'webhook' ? (WEBHOOK_SHAPES.find(([v]) => v === k.shape) || [k.shape, k.shape])[1] : null;
            return h('div', { class: 'ch-dest' },
              h('div', null, badge(channelType(c), { cls: `ch-${channelType(c)}`, testid: 'channel-type' }), shape ? h('span', { class: 'muted small' }, ` ${shape}`) : null),
              h('div', { class: channelType(c) === 'inbox' ? 'muted small' : 'mono small', 'data-testid': 'channel-dest' }, channelDest(c)));
          },
        },
        {
          key: 'levels', label: 'Levels', width: '104px', nosort: true, value: (c) => (c.config.levels || []).join(' '),
          render: (c) => h('span', { class: 'chips', 'data-testid': 'channel-levels' },
            LEVELS.filter((l) => (c.config.levels || []).includes(l)).map((l) => badge(l))),
        },
        {
          key: 'kinds', label: 'Alert types', width: '15%', nosort: true, value: (c) => (c.config.kinds ? c.config.kinds.map(humanize).join(', ') : 'all types'),
          render: (c) => {
            const k = c.config.kinds;
            if (!k) return h('span', { class: 'muted', 'data-testid': 'channel-kinds' }, 'all types');
            const shown = k.slice(0, 3);
            return h('span', { class: 'chips', 'data-testid': 'channel-kinds', title: k.map(humanize).join(', ') },
              shown.map((x) => h('span', { class: 'chip' }, humanize(x))),
              k.length > shown.length ? h('span', { class: 'muted small' }, `+${k.length - shown.length} more`) : null);
          },
        },
        {
          key: 'window', label: 'Time window', width: '112px', value: (c) => windowText(c.config.window),
          render: (c) => h('span', { 'data-testid': 'channel-window' }, windowText(c.config.window),
            c.config.window ? h('div', { class: 'muted small' }, fmtOffset(offsetNow())) : null),
        },
        {
          key: 'limits', label: 'Daily limits', width: '150px', cls: 'nowrap', nosort: true, value: (c) => limitsText(c.config).join(', '),
          render: (c) => {
            const [day, host] = limitsText(c.config);
            return h('span', { 'data-testid': 'channel-limits' }, day, h('div', { class: 'muted small' }, host));
          },
        },
        {
          key: 'enabled', label: 'Enabled', width: '72px', value: (c) => (c.config.enabled ? 'enabled' : 'disabled'),
          render: (c) => badge(c.config.enabled ? 'yes' : 'no', { cls: c.config.enabled ? 'handled' : 'offline', testid: 'channel-enabled' }),
        },
        { key: 'actions', label: '', width: '118px', nosort: true, nofilter: true, value: () => '', render: (c) => deleteButton(c) },
      ],
    });

    function deleteButton(c) {
      return confirmButton({
        label: 'Delete',
        confirm: 'Confirm delete',
        busy: 'Deleting…',
        attrs: { class: 'btn small danger-outline', 'data-testid': 'channel-delete', 'data-channel-id': c.id },
        act: async () => {
          await api('DELETE', `/api/v1/notify/channels/${enc(c.id)}`);
          if (!ctx.alive()) return;
          chResult.replaceChildren(notice(`Channel ${c.id} (${c.name}) deleted: notifications it had queued are not sent.`, { kind: 'ok', testid: 'channel-deleted' }));
          await loadChannels();
          outbox.render();
        },
        onError: (e) => { if (ctx.alive()) showError(e, `Deleting channel ${c.id}`); },
      });
    }

    const policy = h('div', { class: 'notice n-info policy-notes small', 'data-testid': 'notify-policy' },
      h('strong', null, 'How channels notify'),
      h('ul', null,
        h('li', null, 'An alert notifies once, on its first occurrence: repeats are counted on the alert, not sent again.'),
        h('li', null, 'Outside its time window a channel holds alerts and sends them when the window next opens (windows and days are counted in the time zone set under Delivery settings).'),
        h('li', null, 'Limits: by default at most 5 alert notifications a day per channel and 1 a day per host (0 = no limit); days start at local midnight.'),
        h('li', null, `Failed deliveries are retried with growing delays, up to ${MAX_ATTEMPTS} attempts; every attempt shows in the delivery log below.`)));

    // ---- adding a channel
    const nameIn = h('input', { type: 'text', id: 'ch-name', 'data-testid': 'ch-name', maxlength: '100', placeholder: 'e.g. Ops mail', autocomplete: 'off' });
    const typeSel = h('select', { id: 'ch-type', 'data-testid': 'ch-type', 'aria-label': 'Channel type' },
      CHANNEL_TYPES.map(([v, t]) => h('option', { value: v }, t)));
    const toIn = h('input', { type: 'text', id: 'ch-to', 'data-testid': 'ch-to', placeholder: 'ops@example.com, Sec Team <sec@example.com>', autocomplete: 'off' });
    const urlIn = h('input', { type: 'text', id: 'ch-url', 'data-testid': 'ch-url', placeholder: 'https://hooks.example.com/…', autocomplete: 'off', spellcheck: 'false' });
    const shapeSel = h('select', { id: 'ch-shape', 'data-testid': 'ch-shape', 'aria-label': 'Webhook format' },
      WEBHOOK_SHAPES.map(([v, t]) => h('option', { value: v }, t)));
    const levelBoxes = LEVELS.map((l) => h('input', { type: 'checkbox', value: l, checked: true, 'data-testid': `ch-level-${l}`, id: `ch-level-${l}` }));
    const kindsSel = h('select', { id: 'ch-kinds', 'data-testid': 'ch-kinds', multiple: true, size: '6', 'aria-label': 'Alert types' },
      KINDS.map((k) => h('option', { value: k }, humanize(k))));
    const kindsNote = h('small', { class: 'muted', 'data-testid': 'ch-kinds-note' });
    const kindsClear = h('button', { type: 'button', class: 'btn link small', 'data-testid': 'ch-kinds-clear' }, 'All types');
    const startIn = h('input', { type: 'text', id: 'ch-window-start', 'data-testid': 'ch-window-start', placeholder: 'HH:MM', maxlength: '5', autocomplete: 'off', 'aria-label': 'Window start' });
    const endIn = h('input', { type: 'text', id: 'ch-window-end', 'data-testid': 'ch-window-end', placeholder: 'HH:MM', maxlength: '5', autocomplete: 'off', 'aria-label': 'Window end' });
    const maxDayIn = h('input', { type: 'number', id: 'ch-max-day', 'data-testid': 'ch-max-day', min: '0', step: '1', value: '5', 'aria-label': 'Alert notifications a day' });
    const maxHostIn = h('input', { type: 'number', id: 'ch-max-host', 'data-testid': 'ch-max-host', min: '0', step: '1', value: '1', 'aria-label': 'Alert notifications per host a day' });
    const windowNote = h('small', { class: 'muted', 'data-testid': 'ch-window-note' });
    const renderWindowNote = () => {
      windowNote.textContent = `Empty: any time. In ${fmtOffset(offsetNow())} (Delivery settings); 22:00 to 06:00 spans midnight.`;
    };
    renderWindowNote();
    const enabledBox = h('input', { type: 'checkbox', id: 'ch-enabled', 'data-testid': 'ch-enabled', checked: true });
    const addB = h('button', { type: 'submit', class: 'btn primary', id: 'ch-add', 'data-testid': 'ch-add' }, 'Add channel');

    const toField = h('label', { class: 'field span-2' }, h('span', null, 'Recipients'), toIn,
      h('small', { class: 'muted' }, 'Separated by commas. Mail goes out through the SMTP server under Delivery settings.'));
    const urlField = h('label', { class: 'field' }, h('span', null, 'Webhook URL'), urlIn,
      h('small', { class: 'muted' }, 'Receives a JSON POST. Its path and query are never shown again (they often hold a token).'));
    const shapeField = h('label', { class: 'field' }, h('span', null, 'Format'), shapeSel,
      h('small', { class: 'muted' }, 'Generic JSON, or the message shape of a chat tool.'));
    const typeNote = h('small', { class: 'muted' });
    function renderType() {
      const t = typeSel.value;
      toField.hidden = t !== 'email';
      urlField.hidden = t !== 'webhook';
      shapeField.hidden = t !== 'webhook';
      typeNote.textContent = t === 'inbox' ? 'Messages in this console: the Inbox in the top bar.' : '';
    }
    function renderKinds() {
      const n = kindsSel.selectedOptions.length;
      kindsNote.textContent = n ? `${n} type${n === 1 ? '' : 's'} selected. Ctrl- or ⌘-click to add or remove one.` : 'None selected: every type notifies. Ctrl- or ⌘-click to pick several.';
      kindsClear.hidden = n === 0;
    }
    /** Back to the defaults, keeping the type: the next channel is often of the same kind. */
    function resetForm() {
      for (const i of [nameIn, toIn, urlIn, startIn, endIn]) i.value = '';
      shapeSel.value = 'generic';
      levelBoxes.forEach((b) => { b.checked = true; });
      for (const o of kindsSel.options) o.selected = false;
      maxDayIn.value = '5';
      maxHostIn.value = '1';
      enabledBox.checked = true;
      renderKinds();
    }
    typeSel.addEventListener('change', renderType);
    kindsSel.addEventListener('change', renderKinds);
    kindsClear.addEventListener('click', () => {
      for (const o of kindsSel.options) o.selected = false;
      renderKinds();
    });
    renderType();
    renderKinds();

    const chForm = h('form', { class: 'ch-form', id: 'ch-form', autocomplete: 'off', novalidate: true },
      h('label', { class: 'field' }, h('span', null, 'Name'), nameIn),
      h('label', { class: 'field' }, h('span', null, 'Type'), typeSel, typeNote),
      toField, urlField, shapeField,
      h('div', { class: 'field' }, h('span', null, 'Alert levels'),
        h('div', { class: 'check-list', role: 'group', 'aria-label': 'Alert levels' },
          levelBoxes.map((b) => h('label', { class: 'check', for: b.id }, b, badge(b.value)))),
),
      h('div', { class: 'field' }, h('span', null, 'Time window'),
        h('div', { class: 'range-row' }, startIn, h('span', { class: 'muted' }, 'to'), endIn),
        windowNote),
      h('div', { class: 'field' }, h('span', null, 'Alert types'), kindsSel,
        h('div', { class: 'range-row' }, kindsNote, kindsClear)),
      h('div', { class: 'field' }, h('span', null, 'Limits'),
        h('label', { class: 'range-row small', for: 'ch-max-day' }, maxDayIn, 'alert notifications a day'),
        h('label', { class: 'range-row small', for: 'ch-max-host' }, maxHostIn, 'per host a day'),
        h('small', { class: 'muted' }, '0 means no limit. Alerts over a limit are counted, not sent.')),
      h('div', { class: 'form-actions' }, addB,
        h('label', { class: 'check', for: 'ch-enabled' }, enabledBox, 'Enabled')));

    chForm.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      clearError();
      const name = nameIn.value.trim();
      if (!name) {
        showError('Name the channel.');
        nameIn.focus();
        return;
      }
      const type = typeSel.value;
      let kind = { type: 'inbox' };
      if (type === 'email') kind = { type, to: toIn.value.split(/[,;\n]+/).map((x) => x.trim()).filter(Boolean) };
      else if (type === 'webhook') kind = { type, url: urlIn.value.trim(), shape: shapeSel.value };
      let win = null;
      let maxPerDay;
      let maxPerHost;
      try {
        const [a, b] = [startIn.value.trim(), endIn.value.trim()];
        if (a || b) {
          if (!a || !b) throw new Error('give both ends of the time window, or neither for any time');
          win = { start_minute: parseHHMM(a, 'start'), end_minute: parseHHMM(b, 'end', { end: true }) };
          if (win.start_minute === win.end_minute) throw new Error('the time window starts and ends at the same time');
        }
        maxPerDay = parseLimit(maxDayIn.value, 'Alert notifications a day');
        maxPerHost = parseLimit(maxHostIn.value, 'Alert notifications per host a day');
      } catch (e) {
        showError(e, 'Adding the channel');
        return;
      }
      const kinds = [...kindsSel.selectedOptions].map((o) => o.value);
      const config = {
        id: 0,
        kind,
        levels: levelBoxes.filter((b) => b.checked).map((b) => b.value),
        kinds: kinds.length ? kinds : null,
        window: win,
        max_per_day: maxPerDay,
        max_per_host_per_day: maxPerHost,
        enabled: enabledBox.checked,
      };
      addB.disabled = true;
      addB.textContent = 'Adding…';
      try {
        const res = await post('/api/v1/notify/channels', { name, config });
        if (!ctx.alive()) return;
        chResult.replaceChildren(notice(`Channel ${res.id} (${name}) added.`, { kind: 'ok', testid: 'channel-added' }));
        resetForm();
        await loadChannels();
      } catch (e) {
        // The server says what is wrong with the settings (a recipient, the URL, no level…).
        if (ctx.alive()) showError(e, 'Adding the channel');
      } finally {
        addB.disabled = false;
        addB.textContent = 'Add channel';
      }
    });

    // ---- delivery settings: the operators' time zone and the SMTP server
    const offsetSel = h('select', { id: 'ns-offset', 'data-testid': 'ns-offset', 'aria-label': 'Time zone' });
    const hostIn = h('input', { type: 'text', id: 'smtp-host', 'data-testid': 'smtp-host', placeholder: 'smtp.example.com', autocomplete: 'off', spellcheck: 'false' });
    const portIn = h('input', { type: 'number', id: 'smtp-port', 'data-testid': 'smtp-port', min: '1', max: '65535', step: '1', value: '587' });
    const tlsSel = h('select', { id: 'smtp-tls', 'data-testid': 'smtp-tls', 'aria-label': 'Encryption' },
      SMTP_TLS.map(([v, t]) => h('option', { value: v }, t)));
    const userIn = h('input', { type: 'text', id: 'smtp-user', 'data-testid': 'smtp-user', autocomplete: 'off', spellcheck: 'false' });
    const pwIn = h('input', { type: 'password', id: 'smtp-password', 'data-testid': 'smtp-password', autocomplete: 'new-password' });
    const pwState = h('div', { class: 'pw-state', 'data-testid': 'smtp-password-state' });
    const fromIn = h('input', { type: 'text', id: 'smtp-from', 'data-testid': 'smtp-from', placeholder: 'Vigil <vigil@example.com>', autocomplete: 'off', spellcheck: 'false' });
    const saveB = h('button', { type: 'submit', class: 'btn primary', id: 'ns-save', 'data-testid': 'ns-save' }, 'Save settings');
    const nsResult = h('div', { class: 'ns-result', 'data-testid': 'settings-result', 'aria-live': 'polite' });
    const browserOffset = -new Date().getTimezoneOffset();
    const nsForm = h('form', { class: 'ns-form', id: 'ns-form', autocomplete: 'off', novalidate: true },
      h('label', { class: 'field span-2' }, h('span', null, 'Time zone'), offsetSel,
        h('small', { class: 'muted' }, `For time windows and daily limits. This browser is at ${fmtOffset(browserOffset)}.`)),
      h('label', { class: 'field' }, h('span', null, 'SMTP server'), hostIn),
      h('label', { class: 'field' }, h('span', null, 'Port'), portIn),
      h('label', { class: 'field' }, h('span', null, 'Encryption'), tlsSel),
      h('label', { class: 'field' }, h('span', null, 'Sender'), fromIn),
      h('label', { class: 'field' }, h('span', null, 'User name'), userIn),
      h('label', { class: 'field' }, h('span', null, 'Password'), pwIn, pwState),
      h('div', { class: 'form-actions' }, saveB),
      h('div', { class: 'span-2' }, nsResult));

    function fillSettings(s) {
      settings = s;
      renderWindowNote();
      const offsets = UTC_OFFSETS.includes(s.utc_offset_minutes) ? UTC_OFFSETS : [...UTC_OFFSETS, s.utc_offset_minutes].sort((a, b) => a - b);
      offsetSel.replaceChildren(...offsets.map((o) => h('option', { value: String(o) },
        `${fmtOffset(o)}${o === browserOffset ? ' (this browser)' : ''}`)));
      offsetSel.value = String(s.utc_offset_minutes || 0);
      const m = s.smtp || {};
      hostIn.value = m.host || '';
      portIn.value = String(m.port || 587);
      tlsSel.value = m.tls || 'start_tls';
      userIn.value = m.username || '';
      fromIn.value = m.from || '';
      pwIn.value = '';
      pwIn.placeholder = m.password_set ? 'Saved; type to replace' : 'None';
      pwState.replaceChildren(m.password_set
        ? h('span', { class: 'pw-set', 'data-testid': 'smtp-password-set' }, '✓ password set')
        : h('small', { class: 'muted' }, s.smtp ? 'No password saved.' : 'Not configured: email channels cannot send yet.'));
      if (m.password_set) {
        pwState.appendChild(h('small', { class: 'muted pw-note' }, ' Never shown. Changing another SMTP field needs it typed again.'));
      }
    }

    nsForm.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      clearError();
      nsResult.replaceChildren();
      const old = settings.smtp;
      const cur = {
        host: hostIn.value.trim(),
        port: Number(portIn.value),
        tls: tlsSel.value,
        username: userIn.value.trim() || null,
        from: fromIn.value.trim(),
      };
      const pw = pwIn.value;
      const body = { utc_offset_minutes: Number(offsetSel.value) };
      if (!cur.host) {
        if (old) {
          showError('Saving the settings: the SMTP settings can be replaced but not removed here; enter the SMTP server.');
          hostIn.focus();
          return;
        }
        if (cur.from || cur.username || pw) {
          showError('Saving the settings: enter the SMTP server, or clear the SMTP fields.');
          hostIn.focus();
          return;
        }
      } else {
        const same = old && cur.host === old.host && cur.port === old.port && cur.tls === old.tls
          && cur.username === (old.username || null) && cur.from === old.from;
        // Left out, the saved SMTP settings stay as they are, password included.
        if (!same || pw) {
          if (!Number.isInteger(cur.port) || cur.port < 1 || cur.port > 65535) {
            showError('Saving the settings: the SMTP port must be a number from 1 to 65535.');
            portIn.focus();
            return;
          }
          // The server replaces the SMTP settings whole and never sends the password back.
          if (!pw && old && old.password_set && cur.username) {
            showError('Saving the settings: type the SMTP password again; changing the SMTP settings replaces them whole, and the saved password is never sent back to the console.');
            pwIn.focus();
            return;
          }
          body.smtp = { ...cur, password: pw || null, ca_cert_pem: (old && old.ca_cert_pem) || null };
        }
      }
      saveB.disabled = true;
      saveB.textContent = 'Saving…';
      try {
        const res = await api('PUT', '/api/v1/notify/settings', body);
        if (!ctx.alive()) return;
        fillSettings(res);
        nsResult.replaceChildren(notice(`Saved: time zone ${fmtOffset(res.utc_offset_minutes || 0)}${res.smtp ? `, SMTP ${res.smtp.host}:${res.smtp.port}` : ''}.`, { kind: 'ok', testid: 'settings-saved' }));
        chTable.render();
      } catch (e) {
        if (ctx.alive()) showError(e, 'Saving the settings');
      } finally {
        saveB.disabled = false;
        saveB.textContent = 'Save settings';
      }
    });

    // ---- the delivery log
    const channelName = (id) => {
      const c = channels.find((x) => x.id === id);
      return c ? c.name : `channel ${id} (deleted)`;
    };

    /** `HH:MM:SS` today, the full local time on another day. */
    const fmtWhen = (ts) => {
      const t = fmtTime(ts);
      return t.slice(0, 10) === fmtTime(Date.now() / 1000).slice(0, 10) ? t.slice(11) : t;
    };

    function attemptLine(a) {
      const o = a.outcome || {};
      const failed = o.outcome !== 'sent';
      return h('li', { class: `attempt a-${failed ? 'failed' : 'sent'}`, 'data-testid': 'outbox-attempt', 'data-outcome': failed ? 'failed' : 'sent' },
        h('span', { class: 'attempt-no' }, `#${a.number}`),
        h('span', { class: 'attempt-at', title: `${fmtTime(a.at)} (${fmtAgo(a.at)})` }, fmtWhen(a.at)), ' ',
        failed
          ? [h('b', { title: o.code ? `error code: ${o.code}` : null }, 'failed'), ': ',
            h('span', { 'data-testid': 'attempt-message' }, o.message || 'no reason given'), ' — ',
            h('span', { 'data-testid': 'attempt-retry', title: o.retry_at ? fmtTime(o.retry_at) : null },
              o.retry_at ? `next try ${fmtAgo(o.retry_at)}, at ${fmtWhen(o.retry_at)}` : `no more tries (${a.number} of at most ${MAX_ATTEMPTS})`)]
          : h('b', null, 'sent'));
    }

    function attemptsCell(o) {
      const list = o.attempts || [];
      if (!list.length) {
        const now = Date.now() / 1000;
        let text;
        if (o.state !== 'pending') text = 'no attempt recorded';
        else if (o.next_at > o.created_at + 1 && o.next_at > now) text = `held until ${fmtTime(o.next_at)}: outside the channel's time window`;
        else text = 'waiting to be sent';
        return h('span', { class: 'muted', 'data-testid': 'outbox-waiting' }, text);
      }
      const KEEP = 4;
      const older = list.slice(0, Math.max(0, list.length - KEEP));
      const recent = list.slice(-KEEP);
      return h('div', null,
        older.length ? h('details', { class: 'attempts-older' }, h('summary', { class: 'muted small' }, `${older.length} earlier attempt${older.length === 1 ? '' : 's'}`),
          h('ul', { class: 'attempts' }, older.map(attemptLine))) : null,
        h('ul', { class: 'attempts' }, recent.map(attemptLine)));
    }

    const outbox = dataTable({
      testid: 'outbox-table',
      placeholder: 'Filter by channel, host, state, message…',
      sort: { key: 'id', dir: -1 },
      emptyText: 'Nothing sent yet: alerts raised from now on are queued here for every channel that wants them.',
      rowAttrs: (o) => ({ 'data-testid': 'outbox-row', 'data-outbox-id': o.id, 'data-state': o.state, 'data-channel-id': o.channel_id, 'data-alert-id': o.alert_id ?? '' }),
      columns: [
        { key: 'id', label: 'ID', width: '50px', cls: 'num muted' },
        { key: 'created_at', label: 'Queued', width: '96px', nofilter: true, render: (o) => timeEl(o.created_at) },
        { key: 'channel', label: 'Channel', width: '15%', cls: 'wrap', value: (o) => channelName(o.channel_id), render: (o) => h('span', { class: 'strong', 'data-testid': 'outbox-channel' }, channelName(o.channel_id)) },
        {
          key: 'alert', label: 'Alert', width: '16%', value: (o) => `${o.alert_id ? `#${o.alert_id}` : 'digest'} ${hostNames.get(o.host_id) || o.host_id || ''}`,
          render: (o) => h('div', null,
            o.alert_id
              ? h('button', { type: 'button', class: 'btn link small bare', 'data-testid': 'outbox-alert', onclick: () => openAlert(o.alert_id, { onChange: () => {} }) }, `Alert #${o.alert_id}`)
              : h('span', { class: 'muted' }, 'digest'),
            o.host_id ? h('div', { class: 'muted small wrap' }, hostNames.get(o.host_id) || o.host_id) : null),
        },
        { key: 'state', label: 'State', width: '84px', render: (o) => badge(o.state, { cls: `ob-${o.state}`, testid: 'outbox-state' }) },
        {
          key: 'attempts', label: 'Delivery attempts', cls: 'small msg', nosort: true,
          value: (o) => (o.attempts || []).map((a) => `${a.outcome?.outcome} ${a.outcome?.message || ''}`).join(' '),
          render: attemptsCell,
        },
      ],
    });
    const refreshB = h('button', { type: 'button', class: 'btn small', 'data-testid': 'outbox-refresh' }, 'Refresh');
    refreshB.addEventListener('click', () => {
      clearError();
      loadOutbox().catch((e) => ctx.alive() && showError(e, 'Loading the delivery log'));
    });

    setView(
      panel('Notification channels', [chResult, chTable.el, policy], { testid: 'channels-panel' }),
      h('div', { class: 'notify-grid' },
        panel('Add a channel', chForm, { testid: 'channel-add-panel' }),
        panel('Delivery settings', nsForm, { testid: 'notify-settings-panel' })),
      panel('Delivery log', outbox.el, {
        testid: 'outbox-panel',
        extra: h('span', { class: 'table-tools' }, h('span', { class: 'muted small' }, 'The latest 100 notifications, newest first; failed tries in red.'), refreshB),
      }),
    );

    async function loadChannels() {
      const res = await get('/api/v1/notify/channels');
      if (!ctx.alive()) return;
      channels = res.channels || [];
      chTable.setRows(channels);
    }
    async function loadSettings() {
      const res = await get('/api/v1/notify/settings');
      if (!ctx.alive()) return;
      fillSettings(res);
    }
    async function loadOutbox() {
      const res = await get('/api/v1/notify/outbox');
      if (!ctx.alive()) return;
      outbox.setRows(res.items || []);
    }
    // Host names only label the log: without them it shows host ids.
    const namesP = get('/api/v1/hosts').then((res) => {
      if (!ctx.alive()) return;
      hostNames = new Map((res.hosts || []).map((x) => [x.id, x.hostname]));
      outbox.render();
    }).catch((e) => {
      if (e.handled) throw e;
    });
    await Promise.all([loadSettings(), loadChannels()]);
    chTable.render();
    await loadOutbox();
    await namesP;
    autoRefresh(ctx, loadOutbox);
  }

  // ---------------------------------------------------------------- install codes

  function parseLabels(text) {
    const labels = {};
    for (const part of text.split(',')) {
      const p = part.trim();
      if (!p) continue;
      const i = p.indexOf('=');
      if (i <= 0) throw new Error(`label "${p}" is not key=value`);
      const k = p.slice(0, i).trim();
      const v = p.slice(i + 1).trim();
      if (!k) throw new Error(`label "${p}" has an empty key`);
      labels[k] = v;
    }
    return labels;
  }

  async function copyText(text, textarea) {
    try {
      if (navigator.clipboard && window.isSecureContext) {
        await navigator.clipboard.writeText(text);
        return true;
      }
    } catch (_) {
      // fall back below
    }
    textarea.focus();
    textarea.select();
    try {
      return document.execCommand('copy');
    } catch (_) {
      return false;
    }
  }

  async function viewInstall(ctx) {
    setTitle('Install agent');
    const groupIn = h('input', { id: 'install-group', name: 'group', type: 'text', value: 'default', list: 'install-groups', required: true, autocomplete: 'off', maxlength: '64' });
    const groupList = h('datalist', { id: 'install-groups' });
    const labelsIn = h('input', { id: 'install-labels', name: 'labels', type: 'text', placeholder: 'env=prod, team=web', autocomplete: 'off' });
    const providerIn = h('input', { id: 'install-provider', name: 'provider', type: 'text', placeholder: 'e.g. aws, idc', autocomplete: 'off' });
    const expiresSel = h('select', { id: 'install-expires', name: 'expires' },
      [['1h', '1 hour'], ['24h', '24 hours'], ['7d', '7 days'], ['30d', '30 days']].map(([v, t]) => h('option', { value: v }, t)));
    expiresSel.value = '24h';
    const submit = h('button', { type: 'submit', id: 'install-create', class: 'btn primary' }, 'Create install command');
    const result = h('div', { id: 'install-result', 'data-testid': 'install-result', hidden: true });

    const form = h('form', { id: 'install-form', class: 'form-grid', autocomplete: 'off' },
      h('label', { class: 'field' }, h('span', null, 'Group'), groupIn, groupList, h('small', { class: 'muted' }, 'Hosts join this group; it is created if missing.')),
      h('label', { class: 'field' }, h('span', null, 'Labels'), labelsIn, h('small', { class: 'muted' }, 'key=value pairs, separated by commas.')),
      h('label', { class: 'field' }, h('span', null, 'Provider'), providerIn, h('small', { class: 'muted' }, 'Optional: where the servers run.')),
      h('label', { class: 'field' }, h('span', null, 'Valid for'), expiresSel, h('small', { class: 'muted' }, 'The code stops enrolling hosts after this.')),
      h('div', { class: 'form-actions' }, submit, h('span', { class: 'muted small' }, 'Linux hosts (x86_64 / aarch64) with curl.')));

    const codes = dataTable({
      testid: 'codes-table',
      placeholder: 'Filter codes…',
      sort: { key: 'created_at', dir: -1 },
      emptyText: 'No install code yet.',
      rowAttrs: (c) => ({ 'data-code-id': c.id, 'data-state': c.state, 'data-testid': 'code-row' }),
      columns: [
        { key: 'id', label: 'Code', render: (c) => h('div', { class: 'nowrap' }, h('span', { class: 'mono' }, c.id), h('div', { class: 'muted small mono' }, `${c.hint}…`)) },
        { key: 'group', label: 'Group', cls: 'strong' },
        { key: 'labels', label: 'Labels', value: (c) => Object.entries(c.labels || {}).map(([k, v]) => `${k}=${v}`).join(' '), render: (c) => labelChips(c.labels) },
        { key: 'provider', label: 'Provider', render: (c) => c.provider || h('span', { class: 'muted' }, '—') },
        { key: 'state', label: 'State', width: '90px', render: (c) => badge(c.state, { cls: `code-${c.state}`, testid: 'code-state' }) },
        { key: 'uses', label: 'Uses', width: '60px', cls: 'num' },
        { key: 'created_at', label: 'Created', width: '110px', nofilter: true, render: (c) => timeEl(c.created_at) },
        {
          key: 'expires_at', label: 'Expires', width: '150px', nofilter: true,
          render: (c) => (c.revoked_at
            ? h('span', { class: 'muted', title: fmtTime(c.revoked_at) }, `revoked ${fmtAgo(c.revoked_at)}`)
            : h('span', { title: fmtTime(c.expires_at) }, fmtTime(c.expires_at).slice(0, 16), h('div', { class: 'muted small' }, fmtAgo(c.expires_at)))),
        },
        { key: 'actions', label: '', width: '120px', nofilter: true, value: () => '', render: (c) => revokeButton(c) },
      ],
    });

    function revokeButton(c) {
      if (c.state !== 'active') return h('span', { class: 'muted small' }, '—');
      return confirmButton({
        label: 'Revoke',
        confirm: 'Confirm revoke',
        busy: 'Revoking…',
        attrs: { class: 'btn small danger-outline', 'data-testid': 'revoke', 'data-code-id': c.id },
        act: async () => {
          await post(`/api/v1/install-codes/${enc(c.id)}/revoke`);
          if (result.dataset.codeId === c.id) markShownRevoked();
          await loadCodes();
        },
        onError: (e) => showError(e, `Revoking ${c.id}`),
      });
    }

    async function loadCodes() {
      const res = await get('/api/v1/install-codes');
      if (!ctx.alive()) return;
      codes.setRows(res.codes || []);
    }

    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      clearError();
      let labels;
      try {
        labels = parseLabels(labelsIn.value);
      } catch (e) {
        showError(e, 'Labels');
        labelsIn.focus();
        return;
      }
      const body = {
        group: groupIn.value.trim() || 'default',
        os: 'linux',
        expires: expiresSel.value,
        labels,
        provider: providerIn.value.trim(),
      };
      submit.disabled = true;
      submit.textContent = 'Creating…';
      try {
        const c = await post('/api/v1/install-codes', body);
        if (!ctx.alive()) return;
        showCreated(c);
        await loadCodes();
      } catch (e) {
        if (ctx.alive()) showError(e, 'Creating the install code');
      } finally {
        submit.disabled = false;
        submit.textContent = 'Create install command';
      }
    });

    function markShownRevoked() {
      const row = result.querySelector('.command-row');
      if (row) row.classList.add('revoked');
      const box = result.querySelector('#install-command');
      if (box) box.setSelectionRange(0, 0);
      const note = result.querySelector('[data-testid=install-once-note]');
      if (note) note.replaceWith(notice('This code has been revoked: the command above no longer enrolls hosts.', { kind: 'info', testid: 'install-revoked-note' }));
      const copy = result.querySelector('#install-copy');
      if (copy) copy.disabled = true;
    }

    function showCreated(c) {
      const box = h('textarea', { id: 'install-command', 'data-testid': 'install-command', class: 'command', readOnly: true, rows: '3', spellcheck: 'false', 'aria-label': 'Install command' });
      box.value = c.command;
      const copyBtn = h('button', { type: 'button', id: 'install-copy', class: 'btn primary' }, 'Copy');
      const copied = h('span', { class: 'muted small', 'data-testid': 'copy-note' });
      copyBtn.addEventListener('click', async () => {
        const ok = await copyText(c.command, box);
        copied.textContent = ok ? 'Copied to the clipboard.' : 'Select the text and copy it by hand.';
      });
      box.addEventListener('focus', () => box.select());
      const labelText = Object.entries(c.labels || {}).map(([k, v]) => `${k}=${v}`).join(', ');
      result.replaceChildren(
        h('div', { class: 'result-head' },
          h('strong', null, 'Install command created'),
          h('span', { class: 'muted' }, ` · group ${c.group}${labelText ? ` · labels ${labelText}` : ''}${c.provider ? ` · provider ${c.provider}` : ''} · valid until ${fmtTime(c.expires_at)} · code ${c.id}`)),
        h('div', { class: 'command-row' }, box, h('div', { class: 'command-actions' }, copyBtn, copied)),
        notice([
          h('strong', null, 'Shown only once. '),
          'Copy it now: the code inside it cannot be displayed again. ',
          'Run it as root (for example in ', h('code', null, 'sudo -i'), ') on each Linux host to install the agent and enroll it. ',
          'Anyone holding it can enroll hosts until it expires or is revoked.',
        ], { kind: 'warn', testid: 'install-once-note' }),
      );
      result.dataset.codeId = c.id;
      result.hidden = false;
      box.focus();
    }

    setView(
      panel('Create an install command', [form, result], { testid: 'install-panel' }),
      panel('Install codes', codes.el, { testid: 'codes-panel', extra: h('span', { class: 'muted small' }, 'Revoking a code stops new enrollments; enrolled hosts stay.') }),
    );

    get('/api/v1/groups').then((g) => {
      if (!ctx.alive()) return;
      groupList.replaceChildren(...(g.groups || []).map((gr) => h('option', { value: gr.name })));
    }).catch((e) => {
      if (ctx.alive()) showError(e, 'Loading groups');
    });
    await loadCodes();
  }

  // ---------------------------------------------------------------- sign in / out

  function setupLogin() {
    const form = $('#login-form');
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      clearError();
      const username = $('#login-username').value.trim();
      const password = $('#login-password').value;
      if (!username || !password) {
        showError('Enter a user name and a password.');
        return;
      }
      const btn = $('#login-submit');
      btn.disabled = true;
      btn.textContent = 'Signing in…';
      try {
        const res = await api('POST', '/api/v1/login', { username, password });
        sessionStorage.setItem(TOKEN_KEY, res.token);
        sessionStorage.setItem(USER_KEY, username);
        $('#login-password').value = '';
        const next = parseHash().params.get('next');
        location.hash = `#${next && next.startsWith('/') && !next.startsWith('/login') ? next : '/overview'}`;
      } catch (e) {
        showError(e, 'Sign-in failed');
        $('#login-password').select();
      } finally {
        btn.disabled = false;
        btn.textContent = 'Sign in';
      }
    });
  }

  async function signOut() {
    // End the session on the server too; the page signs out locally whatever it answers.
    try {
      await api('POST', '/api/v1/logout');
    } catch (_) {
      /* already expired, or an API token: nothing to end */
    }
    sessionStorage.removeItem(TOKEN_KEY);
    sessionStorage.removeItem(USER_KEY);
    location.hash = '#/login';
  }

  function init() {
    setupLogin();
    $('#logout').addEventListener('click', signOut);
    $('#error-close').addEventListener('click', clearError);
    $('#drawer-close').addEventListener('click', closeDrawer);
    document.addEventListener('keydown', (e) => {
      if (e.key === 'Escape' && !$('#drawer').hidden) closeDrawer();
    });
    document.addEventListener('visibilitychange', () => {
      // Nothing to do: refresh timers skip their turn while the page is hidden.
    });
    window.addEventListener('hashchange', router);
    // The Inbox badge follows new messages on every page, on the overview's 10 s cycle.
    setInterval(() => {
      // The inbox page refreshes its list, and the badge with it, on its own.
      if (getToken() && !$('#app-view').hidden && document.visibilityState === 'visible' && parseHash().path !== '/inbox') refreshInboxBadge();
    }, REFRESH_MS);
    router();
  }

  init();
})();
