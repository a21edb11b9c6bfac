// Why this file exists: the "Example Directory" connector written in JavaScript,
// to show that a Seatwarden connector (world `seatwarden:connector/connector@0.2.3`; the import below names the contract's exact version)
// can be authored in JS and built with jco/componentize-js. It mirrors the Rust
// fixture tests/guests/directory and talks to the vendor through `fetch()`, which
// componentize-js (StarlingMonkey) implements over wasi:http/outgoing-handler.
//
// How the contract maps to JS here (jco conventions):
// - `result<T, connector-error>`: return T for `ok`; throw an object whose own
//   `payload` property is the `connector-error` variant ({ tag, val }) for `err`.
//   Throwing a plain `Error` without `payload` would trap, so every export runs
//   inside `guard()`, which turns anything unexpected into a typed error.
// - exports may be `async`: componentize-js runs the event loop until the
//   promise settles, so the component functions stay synchronous for the host.
// - `s64` timestamps are BigInt; `option<T>` none is `undefined`.
// - The credential header (X-Directory-Key) is added by the host; never set it.

import { log } from 'seatwarden:connector/log@0.2.3';

const NAME = 'directory-js';
const VERSION = '0.1.0';
const API_KEY_HEADER = 'X-Directory-Key';
const EXCERPT_CHARS = 200;

/** A `connector-error` to be returned as the `err` case (jco reads `payload`). */
class ConnectorError extends Error {
  constructor(tag, val) {
    super(`${tag}${val === undefined ? '' : `: ${val}`}`);
    this.payload = val === undefined ? { tag } : { tag, val };
  }
}

const fail = {
  unauthorized: (m) => new ConnectorError('unauthorized', m),
  forbidden: (m) => new ConnectorError('forbidden', m),
  notFound: (m) => new ConnectorError('not-found', m),
  rateLimited: (ms) => new ConnectorError('rate-limited', ms),
  unavailable: (m) => new ConnectorError('unavailable', m),
  invalidResponse: (m) => new ConnectorError('invalid-response', m),
  config: (m) => new ConnectorError('config', m),
};

function writeLog(level, message) {
  try {
    log(level, message);
  } catch {
    // The host caps log lines per call; a refused line must not fail the call.
  }
}

/** Runs an export body; anything that is not already a typed error becomes one. */
async function guard(what, body) {
  try {
    return await body();
  } catch (err) {
    if (err instanceof ConnectorError) {
      if (err.payload.tag !== 'not-found') writeLog('warn', `${what}: ${err.message}`);
      throw err;
    }
    const text = err && err.message ? err.message : String(err);
    writeLog('error', `${what}: unexpected ${text}`);
    throw fail.invalidResponse(`connector could not handle the vendor's answer: ${text}`);
  }
}

/** Up to 200 characters of a body, control characters blanked, "…" when cut. */
function excerpt(text) {
  const cut = text.length > EXCERPT_CHARS;
  // eslint-disable-next-line no-control-regex
  const clean = text.slice(0, EXCERPT_CHARS).replace(/[\u0000-\u001f\u007f-\u009f]/g, ' ');
  return cut ? `${clean}…` : clean;
}

function option(settings, name) {
  const found = (settings.options || []).find(([key]) => key === name);
  return found ? found[1] : undefined;
}

function pageSize(settings) {
  const raw = option(settings, 'page-size');
  if (raw === undefined) return 100;
  if (!/^[0-9]{1,3}$/.test(raw.trim()) || Number(raw) < 1 || Number(raw) > 100) {
    throw fail.config(`option page-size must be a whole number from 1 to 100, not ${JSON.stringify(raw)}`);
  }
  return Number(raw);
}

/** A cursor this connector returned: a page number. */
function pageFromCursor(cursor) {
  if (cursor === undefined || cursor === null) return 1;
  if (typeof cursor !== 'string' || !/^[1-9][0-9]{0,8}$/.test(cursor)) {
    throw fail.config(`bad cursor ${JSON.stringify(cursor)}: expected a page number`);
  }
  return Number(cursor);
}

function retryAfterMs(headers) {
  const value = headers.get('retry-after');
  if (value === null || !/^[0-9]+$/.test(value.trim())) return undefined;
  return Math.min(Number(value.trim()) * 1000, 0xffffffff);
}

/** Sends one request and maps the status; returns the body text of a 2xx. */
async function send(method, url) {
  let response;
  try {
    response = await fetch(url, { method, redirect: 'manual' });
  } catch (err) {
    const text = err && err.message ? err.message : String(err);
    throw fail.unavailable(`HTTP transport error (${method} ${url}): ${text}`);
  }
  let body;
  try {
    body = await response.text();
  } catch (err) {
    const text = err && err.message ? err.message : String(err);
    throw fail.unavailable(`reading the response body of ${method} ${url}: ${text}`);
  }
  const status = response.status;
  writeLog('debug', `${method} ${new URL(url).pathname} -> ${status}`);
  const detail = () => `HTTP ${status}: ${excerpt(body)}`;
  if (status >= 200 && status < 300) return body;
  if (status === 401) throw fail.unauthorized(detail());
  if (status === 403) throw fail.forbidden(detail());
  if (status === 404) throw fail.notFound(detail());
  if (status === 429) throw fail.rateLimited(retryAfterMs(response.headers));
  if (status >= 500 && status < 600) throw fail.unavailable(detail());
  throw fail.invalidResponse(`unexpected ${detail()}`);
}

// --- decoding: every shape check fails with invalid-response and an excerpt ---

class Shape extends Error {}

function parseJson(body, what) {
  let doc;
  try {
    doc = JSON.parse(body);
  } catch (err) {
    throw fail.invalidResponse(`expected ${what}, but ${err.message}; body starts: ${excerpt(body)}`);
  }
  return doc;
}

function decode(body, what, read) {
  const doc = parseJson(body, what);
  try {
    return read(doc);
  } catch (err) {
    if (err instanceof Shape) {
      throw fail.invalidResponse(`expected ${what}, but ${err.message}; body starts: ${excerpt(body)}`);
    }
    throw err;
  }
}

function object(value, where) {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new Shape(`${where} is not an object`);
  return value;
}
function array(value, where) {
  if (!Array.isArray(value)) throw new Shape(`${where} is not an array`);
  return value;
}
function string(value, where) {
  if (typeof value !== 'string') throw new Shape(`${where} is not a string`);
  return value;
}
function optString(value, where) {
  return value === null || value === undefined ? undefined : string(value, where);
}
function boolean(value, where) {
  if (typeof value !== 'boolean') throw new Shape(`${where} is not a boolean`);
  return value;
}
/** Milliseconds as s64 (BigInt); JSON numbers are exact up to 2^53. */
function millis(value, where) {
  if (!Number.isSafeInteger(value)) throw new Shape(`${where} is not a whole number of milliseconds`);
  return BigInt(value);
}
function optMillis(value, where) {
  return value === null || value === undefined ? undefined : millis(value, where);
}
function nextCursor(value, where) {
  if (value === null || value === undefined) return undefined;
  if (!Number.isSafeInteger(value) || value < 1 || value > 999999999) throw new Shape(`${where} is not a page number`);
  return String(value);
}

function readUsersPage(doc) {
  object(doc, 'the document');
  const accounts = array(doc.users, 'users').map((raw, i) => {
    const user = object(raw, `users[${i}]`);
    const role = string(user.role, `users[${i}].role`);
    return {
      id: string(user.id, `users[${i}].id`),
      principal: string(user.email, `users[${i}].email`),
      displayName: optString(user.name, `users[${i}].name`),
      active: boolean(user.active, `users[${i}].active`),
      subscriptions: [role],
      createdAt: undefined,
      lastActiveAt: optMillis(user.lastLogin, `users[${i}].lastLogin`),
      attributes: [['role', role]],
    };
  });
  return { accounts, nextCursor: nextCursor(doc.nextPage, 'nextPage') };
}

function readEventsPage(doc) {
  object(doc, 'the document');
  const events = array(doc.events, 'events').map((raw, i) => {
    const event = object(raw, `events[${i}]`);
    return {
      accountId: string(event.userId, `events[${i}].userId`),
      at: millis(event.at, `events[${i}].at`),
      kind: string(event.type, `events[${i}].type`),
    };
  });
  return { events, nextCursor: nextCursor(doc.nextPage, 'nextPage') };
}

// --- the contract ---

async function listUsers(settings, cursor) {
  const page = pageFromCursor(cursor);
  const size = pageSize(settings);
  const body = await send('GET', `${settings.baseUrl}/users?page=${page}&pageSize=${size}`);
  return decode(body, 'a users page', readUsersPage);
}

async function getActivity(settings, since, cursor) {
  const page = pageFromCursor(cursor);
  const body = await send('GET', `${settings.baseUrl}/events?since=${BigInt(since)}&page=${page}`);
  return decode(body, 'an events page', readEventsPage);
}

async function post(settings, accountId, action) {
  if (typeof accountId !== 'string' || !/^[A-Za-z0-9-]+$/.test(accountId)) {
    throw fail.notFound(`no account ${JSON.stringify(accountId)}`);
  }
  await send('POST', `${settings.baseUrl}/users/${encodeURIComponent(accountId)}/${action}`);
}

export const connectorApi = {
  describe() {
    return {
      name: NAME,
      version: VERSION,
      vendor: 'Example Directory',
      summary: 'Example connector in JavaScript: users, login events and (re)activation of the Example Directory API',
      capabilities: { activity: true, deactivate: true, reactivate: true },
      auth: { tag: 'api-key-header', val: API_KEY_HEADER },
      defaultHosts: ['http://127.0.0.1'],
      defaultBaseUrl: 'http://127.0.0.1',
      regions: [],
      options: [{ name: 'page-size', description: 'Users per page, 1 to 100 (default 100).', required: false }],
    };
  },

  validate(settings) {
    return guard('validate', async () => {
      await listUsers(settings, undefined);
      return { credentialAccount: undefined };
    });
  },

  listUsers(settings, cursor) {
    return guard('list-users', () => listUsers(settings, cursor));
  },

  getActivity(settings, since, cursor) {
    return guard('get-activity', () => getActivity(settings, since, cursor));
  },

  deactivateUser(settings, accountId) {
    return guard('deactivate-user', () => post(settings, accountId, 'deactivate'));
  },

  reactivateUser(settings, accountId) {
    return guard('reactivate-user', () => post(settings, accountId, 'reactivate'));
  },
};
