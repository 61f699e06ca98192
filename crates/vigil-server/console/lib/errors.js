// The error banner and the one error type of API calls.

import { $ } from './dom.js';

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.handled = false;
  }
}

export function errorMessage(err) {
  if (err instanceof ApiError) return err.message;
  if (err && err.message) return err.message;
  return String(err);
}

export function showError(err, context) {
  if (err && err.handled) return;
  const msg = errorMessage(err);
  const text = context ? `${context}: ${msg}` : msg;
  $('#error-text').textContent = text;
  const b = $('#error-banner');
  b.title = err instanceof ApiError && err.status ? `HTTP ${err.status} ${err.code || ''}`.trim() : '';
  b.hidden = false;
}

export function clearError() {
  $('#error-banner').hidden = true;
  $('#error-text').textContent = '';
}

/**
 * A handler for a background call's failure: the banner says `context` and why, unless the
 * view it was for is gone.
 */
export const reportTo = (ctx, context) => (e) => {
  if (ctx.alive()) showError(e, context);
};
