// Hash routes: parsing, building, and the life of the view on show (its refresh timers).

import { $ } from './dom.js';
import { fmtTime } from './format.js';
import { showError } from './errors.js';

const REFRESH_MS = 10000;

export function parseHash() {
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

export function hashWith(base, params) {
  const qs = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') qs.set(k, v);
  const s = qs.toString();
  return `#${base}${s ? `?${s}` : ''}`;
}

/**
 * The URL parameters named in `defaults`, each its default when absent; at most 200
 * characters, as a filter needs.
 */
export function readParams(params, defaults) {
  const out = {};
  for (const [k, d] of Object.entries(defaults)) out[k] = (params.get(k) || d).slice(0, 200);
  return out;
}

let generation = 0;
let timers = [];

/** Ends the view on show (its timers stop) and gives the next one its context. */
export function nextView(params) {
  generation += 1;
  const myGen = generation;
  timers.forEach(clearInterval);
  timers = [];
  $('#refresh-note').textContent = '';
  return { params, alive: () => generation === myGen };
}

/** Runs `fn` every 10 s while the page is visible, the view still the current one. */
export function autoRefresh(ctx, fn) {
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

/** Every 10 s while the page is visible, for what outlives views (the inbox badge). */
export const everyRefresh = (fn) => setInterval(() => {
  if (document.visibilityState === 'visible') fn();
}, REFRESH_MS);
