// Calls to the REST API under /api/v1 with the session's bearer token; the session itself.

import { ApiError } from './errors.js';
import { parseHash } from './router.js';
import { enc } from './format.js';

const TOKEN_KEY = 'vigil.token';
const USER_KEY = 'vigil.user';

export const getToken = () => sessionStorage.getItem(TOKEN_KEY);
export const getUser = () => sessionStorage.getItem(USER_KEY);
export const setUser = (name) => sessionStorage.setItem(USER_KEY, name);

export function startSession(token, username) {
  sessionStorage.setItem(TOKEN_KEY, token);
  sessionStorage.setItem(USER_KEY, username);
}

export function endSession() {
  sessionStorage.removeItem(TOKEN_KEY);
  sessionStorage.removeItem(USER_KEY);
}

let pendingLoginMessage = null;

/** Why the last session ended, once: the sign-in page shows it. */
export function takeLoginMessage() {
  const m = pendingLoginMessage;
  pendingLoginMessage = null;
  return m;
}

export async function api(method, path, body) {
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

export const get = (path) => api('GET', path);
export const post = (path, body) => api('POST', path, body ?? {});

/**
 * GET `path` for something that only adds to a page (names, labels): a failure gives
 * `fallback` (or what it returns for the error), unless the session ended, which still stops
 * the page.
 */
export const getOr = (path, fallback) => get(path).catch((e) => {
  if (e.handled) throw e;
  return typeof fallback === 'function' ? fallback(e) : fallback;
});
