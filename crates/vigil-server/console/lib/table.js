// Tables: the data table (text filter, sortable headers, a row cap), row selection with its
// batch bar count, and the pager of server-side pages.

import { h, fill } from './dom.js';
import { fmtNum } from './format.js';

const ROW_CAP = 500;

/**
 * A table with a text filter, sortable headers and a row cap.
 * columns: [{ key, label, value(row) → string|number for filter and sort, render(row) → Node|string,
 *             cls, width, nofilter }]
 */
export function dataTable({ columns, testid, rows = [], cap = ROW_CAP, filter = true, placeholder = 'Filter…',
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
    const list = terms.length ? data.filter((d) => terms.every((t) => d.text.includes(t))) : data.slice();
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

/**
 * Row selection for a data table: a checkbox column, a select-all box in its header, the batch
 * bar's count and its Clear selection button. `key(row)` names a row, `value(row)` is what is
 * kept for it; `onChange` runs after every change the operator makes.
 */
export function selection({ key, value = key, testids, allLabel, rowLabel, idleText, onChange }) {
  const selected = new Map();
  let table = null;
  const allBox = h('input', { type: 'checkbox', 'data-testid': testids.all, 'aria-label': allLabel });
  const count = h('span', { class: 'batch-count', 'data-testid': testids.count });
  const clear = h('button', { type: 'button', class: 'btn small link', 'data-testid': testids.clear }, 'Clear selection');
  const toggle = (r, on) => {
    if (on) selected.set(key(r), value(r));
    else selected.delete(key(r));
  };
  const column = {
    key: 'select', label: h('label', { class: 'check-cell' }, allBox), width: '34px', nosort: true, nofilter: true, value: () => '',
    render: (r) => {
      const cb = h('input', { type: 'checkbox', 'data-testid': testids.row, checked: selected.has(key(r)), 'aria-label': rowLabel(r) });
      cb.addEventListener('change', () => {
        toggle(r, cb.checked);
        const tr = cb.closest('tr');
        if (tr) tr.classList.toggle('row-selected', cb.checked);
        onChange();
      });
      return h('label', { class: 'check-cell' }, cb);
    },
  };
  allBox.addEventListener('change', () => {
    for (const r of table.rows()) toggle(r, allBox.checked);
    table.render();
    onChange();
  });
  clear.addEventListener('click', () => {
    selected.clear();
    table.render();
    onChange();
  });
  return {
    column,
    count,
    clear,
    /** What is selected, as `value` gave it. */
    values: () => [...selected.values()],
    size: () => selected.size,
    has: (r) => selected.has(key(r)),
    drop: (k) => selected.delete(k),
    attach(t) {
      table = t;
    },
    /** Forgets selected rows that are no longer on show. */
    keepOnly(rows) {
      const present = new Set(rows.map(key));
      for (const k of [...selected.keys()]) if (!present.has(k)) selected.delete(k);
    },
    /** Brings the count, the bar, `buttons` and the select-all box up to date; returns the count. */
    update(bar, buttons) {
      const n = selected.size;
      count.textContent = n ? `${fmtNum(n)} selected` : idleText;
      count.classList.toggle('muted', !n);
      bar.classList.toggle('active', n > 0);
      for (const b of buttons) b.disabled = n === 0;
      clear.hidden = n === 0;
      const rows = table.rows();
      const on = rows.filter((r) => selected.has(key(r))).length;
      allBox.checked = rows.length > 0 && on === rows.length;
      allBox.indeterminate = on > 0 && on < rows.length;
      return n;
    },
  };
}

/** Fills `el` with a server-side page's range (`1–50 of 120`) and its Previous / Next links. */
export function pageLinks(el, { prefix, offset, limit, shown, total, hashOf, suffix = '', rangeTestid = null, note = null }) {
  const from = shown ? offset + 1 : 0;
  const to = offset + shown;
  const prev = h('a', { class: `btn small${offset <= 0 ? ' disabled' : ''}`, href: offset <= 0 ? null : hashOf({ offset: Math.max(0, offset - limit) || '' }), 'data-testid': `${prefix}-prev` }, '‹ Previous');
  const next = h('a', { class: `btn small${to >= total ? ' disabled' : ''}`, href: to >= total ? null : hashOf({ offset: offset + limit }), 'data-testid': `${prefix}-next` }, 'Next ›');
  fill(el, h('span', { class: 'muted', 'data-testid': rangeTestid }, `${fmtNum(from)}–${fmtNum(to)} of ${fmtNum(total)}${suffix}`), note, prev, next);
}
