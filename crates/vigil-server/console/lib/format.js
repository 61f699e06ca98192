// How numbers, times, sizes and durations read on the page.

import { h, dash } from './dom.js';

export const enc = encodeURIComponent;

export function fmtNum(n) {
  return typeof n === 'number' ? n.toLocaleString('en-US') : String(n ?? '—');
}

export const pad = (n) => String(n).padStart(2, '0');

export const capitalize = (s) => (s ? s[0].toUpperCase() + s.slice(1) : s);

/** `1 host`, `3 hosts`. */
export const plural = (n, one, many = `${one}s`) => `${fmtNum(n)} ${n === 1 ? one : many}`;

export const DATE_RE = /^\d{4}-\d{2}-\d{2}$/;

/** Unix seconds → local `YYYY-MM-DD HH:MM:SS`, or an em dash. */
export function fmtTime(ts) {
  if (ts === null || ts === undefined || ts === 0) return '—';
  const d = new Date(ts * 1000);
  if (Number.isNaN(d.getTime())) return '—';
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** A local date as `YYYY-MM-DD` (what `<input type=date>` holds). */
export const isoDate = (d) => `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;

/** Unix seconds at a UTC day start → `YYYY-MM-DD`. */
export const utcDay = (ts) => new Date(ts * 1000).toISOString().slice(0, 10);

/** `YYYY-MM-DD` → Unix seconds at local midnight of that day (`nextDay`: of the day after); null if not a date. */
export function dateToUnix(text, { nextDay = false } = {}) {
  if (!DATE_RE.test(text || '')) return null;
  const [y, m, d] = text.split('-').map(Number);
  const t = new Date(y, m - 1, d + (nextDay ? 1 : 0)).getTime();
  return Number.isNaN(t) ? null : Math.floor(t / 1000);
}

/** Unix seconds → `12 s ago`, `5 min ago`, `3 h ago`, `2 d ago`, or `in 23 h` for the future. */
export function fmtAgo(ts) {
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

/** `in 29 days`, `in 5 h`, or `expired`. */
export function fmtExpires(ts) {
  const left = ts - Date.now() / 1000;
  if (left <= 0) return 'expired';
  if (left >= 86400) {
    const d = Math.round(left / 86400);
    return `in ${d} day${d === 1 ? '' : 's'}`;
  }
  if (left >= 3600) return `in ${Math.floor(left / 3600)} h`;
  return `in ${Math.max(1, Math.floor(left / 60))} min`;
}

/** A time cell: relative time, with the absolute local time beside it or in its tooltip. */
export function timeEl(ts, { full = false } = {}) {
  if (ts === null || ts === undefined || ts === 0) return dash();
  if (full) {
    return h('span', { class: 'time' }, fmtTime(ts), ' ', h('span', { class: 'muted' }, `(${fmtAgo(ts)})`));
  }
  return h('span', { class: 'time', title: fmtTime(ts) }, fmtAgo(ts));
}

/** A time with who did it below: `by admin`. */
export const timeBy = (ts, by, { attrs = null, cls = 'muted small nowrap' } = {}) => h('div', attrs, timeEl(ts), h('div', { class: cls }, `by ${by}`));

export function fmtBytesKb(kb) {
  if (!kb) return '—';
  const gib = kb / 1048576;
  return gib >= 1 ? `${gib.toFixed(1)} GiB` : `${(kb / 1024).toFixed(0)} MiB`;
}

export function fmtBytes(n) {
  if (!n) return '0 B';
  if (n < 1024) return `${n} B`;
  if (n < 1048576) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1048576).toFixed(1)} MiB`;
}

/** `s` cut to `n` characters, the whole text in the tooltip. */
export function trunc(s, n) {
  s = String(s ?? '');
  return s.length > n ? h('span', { title: s }, `${s.slice(0, n)}…`) : s;
}

/** Minutes east of UTC → `UTC+08:00`. */
export function fmtOffset(min) {
  const a = Math.abs(min);
  return `UTC${min < 0 ? '−' : '+'}${pad(Math.floor(a / 60))}:${pad(a % 60)}`;
}

export const fmtMinute = (m) => `${pad(Math.floor(m / 60))}:${pad(m % 60)}`;

/** `192.0.2.44` for a single address, the network as given otherwise. */
export const ipTargetText = (t) => String(t || '').replace(/\/(32|128)$/, '');
