// The Outreach console: a single page that calls the public /v1 API with a
// bearer token, and in local mode the /dev routes (sign-in, clock, outbox,
// simulated SES events and replies). No build step, no framework.
//
// Safety rule: every value from the API reaches the page through
// textContent or setAttribute (see h() below), never as HTML. A sent
// message's own HTML is shown only inside <iframe sandbox=""> via srcdoc.

import { parseMessage } from './mime.js';
import { CANDIDATE_FILTERS, MERGE_FIELDS, candidateMatches, chunks, distinctNames, sortCandidates, textToHtml, unknownFieldHint, unknownFields, withoutRules } from './text.js';
import { ZOOMS, buildTimeline, inRange, position, validZone } from './timeline.js';

const TOKEN_KEY = 'outreach.console.token';
const REQUEST_TIMEOUT_MS = 30_000;
const CLOCK_TIMEOUT_MS = 180_000;

const app = {
  token: sessionStorage.getItem(TOKEN_KEY),
  me: null,
  local: false,
  clockNow: null,
  /** Set by the page shown: reloads its data in place (after a clock move). */
  refresh: null,
  generation: 0,
  /** The timeline's zoom (see ZOOMS in timeline.js). */
  zoom: 'plan',
  candidates: new Map(),
};

const $ = (id) => document.getElementById(id);

// ---------------------------------------------------------------- DOM helpers

/** Creates an element; props are attributes (on* are listeners); children are nodes or text. */
function h(tag, props, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith('on') && typeof value === 'function') {
      el.addEventListener(key.slice(2), value);
    } else if (key === 'class') {
      el.className = value;
    } else if (key === 'value') {
      el.value = value;
    } else if (key === 'checked' || key === 'selected') {
      el[key] = Boolean(value);
    } else {
      el.setAttribute(key, value === true ? '' : String(value));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

/** Replaces an element's children (null and false are left out, unlike replaceChildren). */
function fill(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

let uid = 0;
const nextId = (prefix = 'f') => `${prefix}-${++uid}`;

/** A labelled form control, with an optional hint tied by aria-describedby. */
function field(label, control, hint) {
  if (!control.id) control.id = nextId();
  let hintEl = null;
  if (hint) {
    hintEl = h('span', { class: 'hint', id: `${control.id}-hint` }, hint);
    control.setAttribute('aria-describedby', hintEl.id);
  }
  return h('div', { class: 'field' }, h('label', { for: control.id }, label), control, hintEl);
}

function checkbox(label, props = {}) {
  const input = h('input', { type: 'checkbox', id: nextId(), ...props });
  return h('div', { class: 'field check' }, input, h('label', { for: input.id }, label));
}

function select(options, props = {}) {
  return h(
    'select',
    props,
    options.map(([value, text]) => h('option', { value, selected: value === props.value }, text)),
  );
}

function announce(text) {
  const status = $('status');
  status.textContent = '';
  // A fresh text node is announced even when the text repeats.
  setTimeout(() => {
    status.textContent = text;
  }, 30);
}

function titled(text) {
  document.title = `${text} · Outreach console`;
}

// ---------------------------------------------------------------- the API

class ApiProblem extends Error {
  constructor(status, problem) {
    super(problem.detail || problem.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
  }
}

/** One HTTP call with a timeout; non-2xx answers throw ApiProblem (problem+json). */
/**
 * The Idempotency-Key source of the action running now (§13): its POSTs are
 * keyed `seed-1`, `seed-2`… in the order it makes them, and "Try again"
 * runs the action again with the same seed, so a request whose answer was
 * lost is answered from the service's first answer, never done twice.
 */
let actionKeys = null;

function newKeySeed() {
  if (globalThis.crypto && typeof crypto.randomUUID === 'function') return crypto.randomUUID();
  return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
}

async function request(method, path, options = {}) {
  const { body, auth = true, timeout = REQUEST_TIMEOUT_MS, binary = false, rawBody, contentType } = options;
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeout);
  const headers = { Accept: 'application/json, application/problem+json' };
  if (auth && app.token) headers.Authorization = `Bearer ${app.token}`;
  if (method === 'POST' && actionKeys) headers['Idempotency-Key'] = `console-${actionKeys.seed}-${++actionKeys.n}`;
  let payload;
  if (rawBody !== undefined) {
    payload = rawBody;
    // A FormData body sets its own multipart boundary.
    if (contentType) headers['Content-Type'] = contentType;
  } else if (body !== undefined) {
    payload = JSON.stringify(body);
    headers['Content-Type'] = 'application/json';
  }
  try {
    const response = await fetch(path, {
      method,
      headers,
      body: payload,
      signal: controller.signal,
      credentials: 'omit',
      cache: 'no-store',
    });
    if (binary && response.ok) return new Uint8Array(await response.arrayBuffer());
    const text = await response.text();
    let data = null;
    try {
      data = text ? JSON.parse(text) : null;
    } catch {
      data = null;
    }
    if (!response.ok) {
      const problem =
        data && typeof data === 'object'
          ? data
          : { title: response.statusText || 'Error', status: response.status, detail: text.slice(0, 300) };
      if (response.status === 401 && auth) {
        signOut('Signed out: the service did not accept your sign-in token (mistyped, expired or for another deployment). Sign in again.');
      }
      throw new ApiProblem(response.status, problem);
    }
    return data;
  } catch (error) {
    if (error instanceof ApiProblem) throw error;
    const timedOut = error && error.name === 'AbortError';
    throw new ApiProblem(0, {
      title: timedOut ? 'No answer in time' : 'The service cannot be reached',
      detail: timedOut
        ? `The service took longer than ${timeout / 1000} s to answer. Nothing is lost: try again.`
        : 'Check the network connection (or that the service is running), then try again.',
    });
  } finally {
    clearTimeout(timer);
  }
}

const api = {
  get: (path) => request('GET', path),
  post: (path, body = {}) => request('POST', path, { body }),
  put: (path, body = {}) => request('PUT', path, { body }),
  patch: (path, body = {}) => request('PATCH', path, { body }),
};

const seg = encodeURIComponent;

function pagePath(path, cursor, limit) {
  const query = new URLSearchParams({ limit: String(limit) });
  if (cursor) query.set('cursor', cursor);
  return `${path}?${query}`;
}

/** Every item of a paginated list, up to `max` (for pickers). */
async function allItems(path, max = 500) {
  const items = [];
  let cursor = null;
  do {
    const page = await api.get(pagePath(path, cursor, 100));
    items.push(...(page.items || []));
    cursor = page.cursor;
  } while (cursor && items.length < max);
  return items;
}

async function candidate(id) {
  if (!app.candidates.has(id)) {
    app.candidates.set(
      id,
      // Erased or deleted (R-3.6): their replies still count, without a name.
      api.get(`/v1/candidates/${seg(id)}`).catch(() => ({ id, full_name: 'A removed candidate', emails: [], removed: true })),
    );
  }
  return app.candidates.get(id);
}

function candidateName(c) {
  return c.full_name || [c.first_name, c.last_name].filter(Boolean).join(' ') || c.id;
}

/** A candidate's name, linked to their page unless they were erased (no page left). */
function personLink(person) {
  const name = candidateName(person);
  return person.removed ? h('span', { class: 'removed-person' }, name) : h('a', { href: `#/candidates/${seg(person.id)}` }, name);
}

/** An enrollment's candidate as the list names them (erased candidates have no name left, R-3.6). */
function enrolledName(e) {
  return e.candidate_name || 'A removed candidate';
}

// ---------------------------------------------------------------- feedback

/** "steps[0].subject" as a person reads it: "Step 1, subject". */
function fieldName(path) {
  const words = (text) => text.replaceAll('_', ' ').replace(/\[(\d+)\]/g, (_, n) => ` ${Number(n) + 1}`).replaceAll('.', ', ');
  const step = /^steps\[(\d+)\](?:\.(.+))?$/.exec(String(path || ''));
  if (step) return `Step ${Number(step[1]) + 1}${step[2] ? `, ${words(step[2])}` : ''}`;
  return words(String(path || 'value'));
}

/** An API problem as a person reads it: status, title, detail, field errors. */
function problemView(error, retry) {
  const p = (error && error.problem) || { title: String((error && error.message) || error) };
  const missingRoute = error && error.status === 404 && /route/i.test(p.detail || '');
  const errors = Array.isArray(p.errors) ? p.errors : [];
  // Field errors say it all: the detail repeats them, so it is left out then.
  const detail = errors.length ? null : withoutRules(p.detail);
  const title = errors.length ? 'Some values need fixing' : p.title || 'Something went wrong';
  const offline = error && error.status === 0;
  return h(
    'div',
    { class: 'problem', role: 'alert' },
    h('p', {}, h('strong', {}, title), detail ? ` — ${detail}` : ''),
    missingRoute ? h('p', {}, 'This server does not offer this route yet.') : null,
    errors.length ? h('ul', {}, errors.map((e) => h('li', {}, `${fieldName(e.field)}: ${withoutRules(e.message)}`))) : null,
    offline ? h('button', { type: 'button', onclick: () => (retry ? retry() : refreshPage()) }, 'Try again') : null,
  );
}

/** Runs an action: disables its buttons, shows a problem in `outlet`, announces success. */
async function attempt(outlet, buttons, action, success, seed = newKeySeed()) {
  outlet.replaceChildren();
  for (const b of buttons) b.disabled = true;
  actionKeys = { seed, n: 0 };
  try {
    await action();
    if (success) announce(success);
    return true;
  } catch (error) {
    // "Try again" repeats this action, its requests under the same keys.
    fill(outlet, problemView(error, () => attempt(outlet, buttons, action, success, seed)));
    return false;
  } finally {
    actionKeys = null;
    for (const b of buttons) b.disabled = false;
  }
}

/** A form whose submit runs `handler(form)`; problems appear under it. */
function actionForm(label, submitText, children, handler, success) {
  const outlet = h('div', { class: 'outlet' });
  const button = h('button', { type: 'submit', class: 'primary' }, submitText);
  const form = h('form', { class: 'form', 'aria-label': label }, children, h('div', { class: 'actions' }, button), outlet);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    await attempt(outlet, [button], () => handler(form), typeof success === 'function' ? null : success);
  });
  return form;
}

/** A button that runs `action`, then `after`; problems appear in `outlet`. */
function actionButton(text, props, outlet, action, success, after) {
  const button = h('button', { type: 'button', ...props }, text);
  button.addEventListener('click', async () => {
    if (await attempt(outlet, [button], action, success)) await after?.();
  });
  return button;
}

/** A final action asks once more, inline: no dialog. */
function confirmButton(text, props, question, confirmText, outlet, action, success, after) {
  const wrap = h('span', { class: 'confirm' });
  const start = h('button', { type: 'button', ...props }, text);
  start.addEventListener('click', () => {
    const yes = actionButton(confirmText, { class: 'danger' }, outlet, action, success, after);
    const no = h('button', { type: 'button' }, 'Cancel');
    no.addEventListener('click', () => {
      fill(wrap, start);
      start.focus();
    });
    fill(wrap, h('span', { class: 'question' }, question), ' ', yes, ' ', no);
    yes.focus();
  });
  wrap.append(start);
  return wrap;
}

// ---------------------------------------------------------------- lists

/**
 * A paginated list: `fetchPage(cursor, limit)` answers {items, cursor};
 * `render(items)` draws one page. Previous/Next keep a stack of cursors.
 */
function pager({ label, pageSize = 20, fetchPage, render, empty }) {
  const stack = [null];
  let next = null;
  const body = h('div', { class: 'pager-body' });
  const info = h('span', { class: 'page-info' });
  const prev = h('button', { type: 'button' }, '← Previous page');
  const more = h('button', { type: 'button' }, 'Next page →');
  const nav = h('nav', { class: 'pager', 'aria-label': `${label}: pages` }, prev, info, more);
  const root = h('div', { class: 'paged' }, body, nav);
  prev.addEventListener('click', () => {
    if (stack.length > 1) {
      stack.pop();
      load();
    }
  });
  more.addEventListener('click', () => {
    if (next) {
      stack.push(next);
      load();
    }
  });
  async function load() {
    try {
      const page = await fetchPage(stack[stack.length - 1], pageSize);
      next = page.cursor || null;
      const items = page.items || [];
      const none = typeof empty === 'function' ? empty() : empty;
      fill(body, items.length ? await render(items) : h('p', { class: 'muted' }, none || 'Nothing here yet.'));
      info.textContent = `Page ${stack.length}`;
      prev.disabled = stack.length === 1;
      more.disabled = !next;
      nav.hidden = stack.length === 1 && !next;
    } catch (error) {
      fill(body, problemView(error));
    }
  }
  root.reload = load;
  // A changed filter or page size starts again at page 1.
  root.restart = () => {
    stack.length = 1;
    return load();
  };
  root.ready = load();
  return root;
}

/** Pages over an array already in hand (lists the API gives whole). */
function arrayPages(items) {
  return async (cursor, limit) => {
    const start = Number(cursor || 0);
    const end = start + limit;
    return { items: items.slice(start, end), cursor: end < items.length ? String(end) : null };
  };
}

const apiPages = (path) => (cursor, limit) => api.get(pagePath(path, cursor, limit));

function table(caption, headers, rows) {
  // Each cell carries its column's name: on a phone the rows become cards
  // that label their values (style.css), instead of a table too wide to read.
  for (const row of rows.flat()) {
    if (!(row instanceof Element)) continue;
    [...row.children].forEach((cell, i) => {
      if (headers[i] && !cell.hasAttribute('data-label')) cell.setAttribute('data-label', headers[i]);
    });
  }
  return h(
    'table',
    {},
    caption ? h('caption', { class: 'sr-only' }, caption) : null,
    h('thead', {}, h('tr', {}, headers.map((t) => h('th', { scope: 'col' }, t)))),
    h('tbody', {}, rows),
  );
}

// ---------------------------------------------------------------- formatting

function browserZone() {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
}

function zoneOr(tz) {
  return tz && validZone(tz) ? tz : 'UTC';
}

function fmtTime(ts, tz, withZone = true) {
  if (!ts) return '—';
  const date = new Date(ts);
  if (Number.isNaN(date.getTime())) return String(ts);
  return new Intl.DateTimeFormat(undefined, {
    timeZone: zoneOr(tz),
    weekday: 'short',
    day: 'numeric',
    month: 'short',
    year: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
    timeZoneName: withZone ? 'short' : undefined,
  }).format(date);
}

function timeEl(ts, tz) {
  return ts ? h('time', { datetime: ts }, fmtTime(ts, tz)) : '—';
}

const STEP_LABELS = {
  pending: 'Pending',
  scheduled: 'Scheduled',
  sent: 'Sent',
  delivered: 'Delivered',
  bounced: 'Bounced',
  cancelled: 'Cancelled',
  failed: 'Failed',
  claimed: 'Handing off',
  soft_bounced: 'Soft bounce',
};

const stepLabel = (status) => STEP_LABELS[status] || status;

const CAMPAIGN_LABELS = {
  draft: 'Draft',
  running: 'Running',
  paused: 'Paused',
  completed: 'Completed',
  stopped: 'Stopped',
};

const PAUSE_REASONS = {
  user: 'paused by a user',
  sender_error: 'paused by the service: the sender account has a connection error — re-link it and the campaign resumes by itself',
  sender_removed: 'paused by the service: the sender account was removed — link it again and the campaign resumes by itself',
  sender_revoked: 'paused: the hiring manager revoked the delegation of the sender account',
  sender_reputation: 'paused by the reputation guard: too many bounces or complaints — read the notification, then resume',
};

const ENROLLMENT_LABELS = {
  not_started: 'Not Started',
  in_progress: 'In Progress',
  paused: 'Paused',
  blocked: 'Needs attention',
  replied: 'Replied (Ended)',
  bounced: 'Bounced (Ended)',
  unsubscribed: 'Unsubscribed (Ended)',
  finished: 'Finished',
  removed: 'Removed',
};

const EMAIL_TYPES = { personal: 'Personal', work: 'Business', other: 'Other' };
const EMAIL_STATUS = { bounced: 'bounced', suppressed: 'asked not to be mailed' };

/** Why an enrollment needs attention, in words (the API gives a code: `no_address`, `missing_field:…`, `duplicate:<campaign>`). */
async function blockedText(reason) {
  if (!reason) return '';
  const [code, rest] = [reason.split(':')[0], reason.slice(reason.indexOf(':') + 1)];
  if (code === 'no_address') return 'No address can be mailed (bounced, opted out or none given).';
  if (code === 'missing_field') return `The merge field “${rest}” has no value: set it in the review, or give the step a default.`;
  if (code === 'duplicate') return `Already in another running campaign, “${await campaignName(rest)}”: remove them there, or add them here with duplicate outreach allowed.`;
  return withoutRules(reason.replaceAll('_', ' '));
}

function badge(kind, status, text) {
  return h('span', { class: `badge ${kind}-${status}` }, text);
}

function campaignBadge(c) {
  return badge('cs', c.status, CAMPAIGN_LABELS[c.status] || c.status);
}

function isEnded(status) {
  return ['replied', 'bounced', 'unsubscribed', 'finished', 'removed'].includes(status);
}

/** Whether the step a candidate waits for has no planned time yet. */
function nextStepUnplanned(e) {
  const upcoming = (e.steps || []).find((s) => s.status === 'pending' || s.status === 'scheduled');
  return Boolean(upcoming && !upcoming.scheduled_at);
}

/** "Step 2 · Scheduled · Thu 3 Dec 07:41" — the step a person watches next. */
function nextStepText(e, tz) {
  const steps = e.steps || [];
  const upcoming = steps.find((s) => s.status === 'pending' || s.status === 'scheduled');
  const shown = upcoming || [...steps].reverse().find((s) => s.sent_at) || null;
  if (!shown) return '—';
  // A paused or blocked candidate's next step waits: no time is promised for it.
  if (upcoming && e.status === 'paused') return `Step ${shown.index} · On hold until resumed`;
  if (upcoming && e.status === 'blocked') return `Step ${shown.index} · Waits for a fix`;
  if (upcoming && isEnded(e.status)) return `Step ${shown.index} · Not sent: the sequence ended`;
  const at = shown.sent_at && !upcoming ? shown.sent_at : shown.scheduled_at;
  return `Step ${shown.index} · ${stepLabel(shown.status)} · ${theirTime(at, tz, e.candidate_timezone)}`;
}

/** An instant in the campaign's zone, and in the candidate's own local time when it differs. */
function theirTime(at, campaignTz, candidateTz) {
  if (!at) return '—';
  const own = candidateTz && validZone(candidateTz) && candidateTz !== zoneOr(campaignTz);
  return own ? `${fmtTime(at, campaignTz)} · their time ${fmtTime(at, candidateTz)} (${candidateTz.split('/').pop().replaceAll('_', ' ')})` : fmtTime(at, campaignTz);
}

// ---------------------------------------------------------------- chrome

const NAV = [
  ['#/', 'Projects'],
  ['#/replies', 'Replies'],
  ['#/candidates', 'Candidates'],
  ['#/templates', 'Templates'],
  ['#/settings', 'Accounts & profile'],
];

function renderChrome() {
  const nav = $('nav');
  const who = $('who');
  if (!app.token) {
    nav.replaceChildren();
    who.replaceChildren();
    $('clock').hidden = true;
    return;
  }
  const hash = location.hash || '#/';
  const links = [...NAV];
  if (app.local) links.push(['#/outbox', 'Outbox']);
  fill(nav, 
    h(
      'ul',
      {},
      links.map(([href, text]) => {
        const current =
          href === '#/'
            ? hash === '#/' || hash.startsWith('#/projects') || hash.startsWith('#/campaigns')
            : hash.startsWith(href);
        return h('li', {}, h('a', { href, 'aria-current': current ? 'page' : null }, text));
      }),
    ),
  );
  const me = app.me;
  fill(who, 
    me ? h('span', {}, `${me.display_name || me.id} · ${me.org_id}`) : null,
    ' ',
    h('button', { type: 'button', class: 'link', onclick: () => signOut('Signed out.') }, 'Sign out'),
  );
  renderClock();
}

function renderClock() {
  const aside = $('clock');
  if (!app.local || !app.token) {
    aside.hidden = true;
    return;
  }
  aside.hidden = false;
  const outlet = h('div', { class: 'outlet' });
  const now = h('output', { id: 'clock-now', 'aria-live': 'polite' }, app.clockNow ? fmtTime(app.clockNow, 'UTC') : '…');
  const move = async (body, label) => {
    const result = await request('POST', '/dev/clock', { body, auth: false, timeout: CLOCK_TIMEOUT_MS });
    app.clockNow = result.now;
    now.textContent = fmtTime(app.clockNow, 'UTC');
    to.value = app.clockNow.slice(0, 16);
    announce(`Clock ${label}: now ${fmtTime(app.clockNow, 'UTC')}`);
    await refreshPage();
  };
  const b25 = actionButton('+25 min', { 'aria-label': '+25 min: advance the clock by 25 minutes' }, outlet, () =>
    move({ advance: 'PT25M' }, 'advanced 25 minutes'),
  );
  const bDay = actionButton('+1 day', { 'aria-label': '+1 day: advance the clock by 1 day' }, outlet, () =>
    move({ advance: 'P1D' }, 'advanced 1 day'),
  );
  const to = h('input', { type: 'datetime-local', step: '60', id: 'clock-to', required: true });
  if (app.clockNow) to.value = app.clockNow.slice(0, 16);
  const toForm = h('form', { class: 'inline', 'aria-label': 'Move the clock to a time' });
  const toButton = h('button', { type: 'submit' }, 'Move clock');
  toForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    await attempt(outlet, [toButton], () => move({ to: `${to.value}:00Z` }, 'moved'));
  });
  append(toForm, [h('label', { for: to.id }, 'To (UTC)'), to, toButton]);
  fill(aside, 
    h('div', { class: 'clock-row' }, h('span', { class: 'clock-title' }, 'Service time (UTC): '), now, b25, bDay, toForm),
    h('p', { class: 'small muted' }, 'Local mode with a manual clock: a move runs everything due by then before it returns.'),
    outlet,
  );
}

async function refreshPage() {
  if (app.refresh) await app.refresh();
  else await route(false);
}

function signOut(message) {
  app.token = null;
  app.me = null;
  app.candidates.clear();
  sessionStorage.removeItem(TOKEN_KEY);
  renderChrome();
  showSignIn(message);
}

// ---------------------------------------------------------------- sign-in

async function signIn(token) {
  app.token = token;
  try {
    app.me = await api.get('/v1/me');
  } catch (error) {
    app.token = null;
    throw error;
  }
  sessionStorage.setItem(TOKEN_KEY, token);
  app.candidates.clear();
  if (!location.hash || location.hash === '#/sign-in') location.hash = '#/';
  await route(true);
}

function showSignIn(message) {
  app.refresh = null;
  titled('Sign in');
  const parts = [h('h1', { tabindex: '-1' }, 'Sign in'), message ? h('p', { class: 'notice', role: 'alert' }, message) : null];
  if (app.local) {
    const org = h('input', { id: 'sign-org', autocomplete: 'organization', required: true, value: 'acme' });
    const user = h('input', { id: 'sign-user', autocomplete: 'username', required: true, value: 'alice' });
    parts.push(
      h('p', {}, 'Local mode: choose an organization and a user. The service signs a token with its local secret (POST /dev/token).'),
      actionForm('Sign in (local mode)', 'Sign in', [field('Organization', org), field('User', user)], async () => {
        const answer = await request('POST', '/dev/token', {
          body: { org: org.value.trim(), user: user.value.trim() },
          auth: false,
        });
        await signIn(answer.token);
      }),
    );
  }
  const token = h('textarea', { id: 'sign-token', rows: '4', required: true, spellcheck: 'false', autocomplete: 'off' });
  const tokenForm = actionForm(
    'Sign in with a token',
    'Use this token',
    [
      field(
        'Bearer token',
        token,
        'In AWS, sign in with your organization’s identity provider and paste the access token (a JWT whose sub is your user and org_id your organization). It is kept in this tab only.',
      ),
    ],
    async () => signIn(token.value.trim()),
  );
  parts.push(
    app.local
      ? h('details', { class: 'card' }, h('summary', {}, 'Or paste a token from your identity provider'), tokenForm)
      : h('section', { class: 'card' }, h('h2', {}, 'Token from your identity provider'), tokenForm),
  );
  fill($('main'), ...parts.filter(Boolean));
  $('main').querySelector('input, textarea')?.focus();
}

// ---------------------------------------------------------------- projects

/** Home's first card: what needs a person now — unread replies, sender problems, blocked candidates. */
async function needsAttention(section) {
  try {
    const [unread, projects] = await Promise.all([api.get('/v1/replies?unread=true&limit=100'), allItems('/v1/projects', 50)]);
    const views = await Promise.all(projects.map((p) => api.get(`/v1/projects/${seg(p.id)}/outreach`).then((v) => [p, v], () => [p, null])));
    const items = [];
    // An erased candidate's reply is kept for the counts, but is no work:
    // its subject, text and address are blank, and the candidate is gone.
    const work = await Promise.all((unread.items || []).map(async (r) => r.from || r.subject || r.text || !(await candidate(r.candidate_id)).removed));
    const n = work.filter(Boolean).length;
    if (n) items.push(h('li', {}, h('a', { href: '#/replies' }, `${n}${unread.cursor ? '+' : ''} unread ${n === 1 ? 'reply' : 'replies'}`), ' to read and answer.'));
    for (const [p, view] of views) {
      if (!view) continue;
      for (const note of view.notifications.filter((x) => !x.resolved_at)) {
        items.push(h('li', {}, h('a', { href: `#/projects/${seg(p.id)}` }, p.name), `: ${note.message}`));
      }
      for (const c of view.campaigns) {
        // A node lives in one place: each item gets a link of its own.
        const link = () => h('a', { href: `#/campaigns/${seg(c.id)}` }, c.name);
        if (c.status === 'paused' && c.pause_reason && c.pause_reason !== 'user') {
          items.push(h('li', {}, link(), ` is ${PAUSE_REASONS[c.pause_reason] || c.pause_reason}.`));
        }
        const blocked = c.counts?.by_status?.blocked || 0;
        if (blocked) items.push(h('li', {}, link(), `: ${blocked} ${blocked === 1 ? 'candidate needs' : 'candidates need'} attention (a missing field, no usable address, or already in another running campaign: the campaign page says which).`));
      }
    }
    fill(
      section,
      h('h2', { id: 'attention-h' }, items.length ? `Needs attention (${items.length})` : 'Needs attention'),
      items.length ? h('ul', { class: 'attention-list' }, items) : h('p', { class: 'muted' }, 'Nothing needs you right now.'),
    );
  } catch (error) {
    fill(section, h('h2', { id: 'attention-h' }, 'Needs attention'), problemView(error));
  }
}

const percent = (rate) => (rate === null || rate === undefined ? '—' : `${(rate * 100).toFixed(rate >= 0.1 || rate === 0 ? 0 : 1)} %`);

/** Home's rates per campaign over the last 30 days (R-11.3). */
async function campaignRates(section) {
  try {
    const stats = await api.get('/v1/stats?group_by=campaign');
    const lines = (stats.items || []).filter((l) => l.sent > 0);
    if (!lines.length) {
      fill(section);
      return;
    }
    const names = await Promise.all(lines.map((l) => (l.key === 'single' ? 'Single messages' : campaignName(l.key))));
    fill(
      section,
      h('h2', { id: 'rates-h' }, 'The last 30 days, by campaign'),
      table(
        'Rates per campaign over the last 30 days',
        ['Campaign', 'Sent', 'Replied', 'Bounced', 'Unsubscribed'],
        lines.map((l, i) =>
          h(
            'tr',
            {},
            h('td', {}, l.key === 'single' ? names[i] : h('a', { href: `#/campaigns/${seg(l.key)}` }, names[i])),
            h('td', {}, String(l.sent)),
            h('td', {}, `${l.replied} (${percent(l.reply_rate)})`),
            h('td', {}, `${l.bounced} (${percent(l.bounce_rate)})`),
            h('td', {}, String(l.unsubscribed)),
          ),
        ),
      ),
    );
  } catch (error) {
    fill(section, h('h2', { id: 'rates-h' }, 'The last 30 days, by campaign'), problemView(error));
  }
}

async function pageProjects() {
  titled('Projects');
  const list = pager({
    label: 'Projects',
    fetchPage: apiPages('/v1/projects'),
    empty: 'No project yet: create one below.',
    render: (items) =>
      table(
        'Projects',
        ['Project', 'Created'],
        items.map((p) =>
          h('tr', {}, h('td', {}, h('a', { href: `#/projects/${seg(p.id)}` }, p.name)), h('td', {}, timeEl(p.created_at, app.me?.timezone))),
        ),
      ),
  });
  const name = h('input', { id: 'project-name', required: true, maxlength: '200' });
  const create = actionForm('New project', 'Create project', [field('Project name', name)], async () => {
    const p = await api.post('/v1/projects', { name: name.value.trim() });
    location.hash = `#/projects/${seg(p.id)}`;
  });
  const start = h('section', { class: 'card', 'aria-labelledby': 'start-h' });
  const checklist = firstRun(start);
  const attention = h('section', { class: 'card attention', 'aria-labelledby': 'attention-h' });
  const rates = h('section', { 'aria-labelledby': 'rates-h' });
  await Promise.all([list.ready, checklist, needsAttention(attention), campaignRates(rates)]);
  app.refresh = async () => {
    await Promise.all([list.reload(), needsAttention(attention), campaignRates(rates)]);
  };
  return h(
    'div',
    {},
    h('h1', { tabindex: '-1' }, 'Projects'),
    start,
    attention,
    rates,
    h('section', { 'aria-labelledby': 'projects-h' }, h('h2', { id: 'projects-h' }, 'Your projects'), list),
    h('section', { class: 'card', 'aria-labelledby': 'new-project-h' }, h('h2', { id: 'new-project-h' }, 'New project'), create),
  );
}

/** A first run's checklist: what is missing before a campaign can start. */
async function firstRun(section) {
  try {
    const [accounts, candidates, templates, projects] = await Promise.all([
      api.get('/v1/email-accounts'),
      api.get(pagePath('/v1/candidates', null, 1)),
      api.get(pagePath('/v1/templates', null, 1)),
      api.get(pagePath('/v1/projects', null, 1)),
    ]);
    const steps = [
      [accounts.items.length > 0, '#/settings', 'Link a sender account'],
      [candidates.items.length > 0, '#/candidates', 'Add candidates'],
      [templates.items.length > 0, '#/templates', 'Write a messaging template'],
      [projects.items.length > 0, '#/', 'Create a project (below), then a campaign in it'],
    ];
    if (steps.every(([done]) => done)) {
      section.hidden = true;
      return;
    }
    fill(section, 
      h('h2', { id: 'start-h' }, 'Getting started'),
      h(
        'ol',
        { class: 'checklist' },
        steps.map(([done, href, text]) =>
          h('li', { class: done ? 'done' : null }, done ? `✓ ${text} (done)` : h('a', { href }, text)),
        ),
      ),
    );
  } catch (error) {
    fill(section, problemView(error));
  }
}

function countsChips(byStatus) {
  const chips = Object.entries(ENROLLMENT_LABELS)
    .filter(([status]) => (byStatus?.[status] || 0) > 0)
    .map(([status, label]) => h('li', {}, badge('es', status, `${label}: ${byStatus[status]}`)));
  return chips.length ? h('ul', { class: 'chips' }, chips) : h('span', { class: 'muted' }, 'No candidates yet');
}

function stepCounts(steps) {
  if (!steps?.length) return '—';
  return h(
    'ul',
    { class: 'step-counts' },
    steps.map((s) =>
      h(
        'li',
        {},
        h('strong', {}, `Step ${s.index}: `),
        ['sent', 'delivered', 'bounced', 'replied', 'unsubscribed'].map((k) => `${s[k] ?? 0} ${k}`).join(' · '),
      ),
    ),
  );
}

async function pageProject(id) {
  const project = await api.get(`/v1/projects/${seg(id)}`);
  titled(project.name);
  const notifications = h('section', { 'aria-labelledby': 'notif-h' });
  const campaigns = h('section', { 'aria-labelledby': 'campaigns-h' });
  async function load() {
    let view;
    try {
      view = await api.get(`/v1/projects/${seg(id)}/outreach`);
    } catch (error) {
      fill(campaigns, problemView(error));
      return;
    }
    const open = view.notifications.filter((n) => !n.resolved_at);
    const resolved = view.notifications.filter((n) => n.resolved_at);
    const outlet = h('div', { class: 'outlet' });
    const notificationRows = (items) =>
      h(
        'ul',
        { class: 'notifications' },
        items.map((n) =>
          h(
            'li',
            { class: n.resolved_at ? 'resolved' : 'open' },
            h('p', {}, h('strong', {}, n.kind.replaceAll('_', ' ')), ' — ', n.message),
            h('p', { class: 'small muted' }, 'Raised ', timeEl(n.created_at, app.me?.timezone), n.resolved_at ? [' · resolved ', timeEl(n.resolved_at, app.me?.timezone)] : ''),
            !n.resolved_at && n.account_id
              ? actionButton(
                  'Re-link',
                  { class: 'primary', 'aria-label': `Re-link the sender account of: ${n.message}` },
                  outlet,
                  () => api.post(`/v1/email-accounts/${seg(n.account_id)}/relink`),
                  'Sender account re-linked.',
                  async () => {
                    await load();
                    await refreshSenders();
                  },
                )
              : null,
          ),
        ),
      );
    const openList = pager({ label: 'Open notifications', pageSize: 10, fetchPage: arrayPages(open), render: notificationRows, empty: 'No open notifications.' });
    const resolvedList = resolved.length
      ? h('details', {}, h('summary', {}, `Resolved notifications (${resolved.length})`), pager({ label: 'Resolved notifications', pageSize: 10, fetchPage: arrayPages(resolved), render: notificationRows }))
      : null;
    await openList.ready;
    fill(notifications, h('h2', { id: 'notif-h' }, `Notifications (${open.length} open)`), openList, outlet, resolvedList);
    const campaignList = pager({
      label: 'Campaigns',
      pageSize: 20,
      fetchPage: arrayPages(view.campaigns),
      empty: 'No campaign yet: create one below.',
      render: (items) =>
        table(
          'Campaigns with their counts',
          ['Campaign', 'Status', 'Candidates by status', 'Steps'],
          items.map((c) =>
            h(
              'tr',
              {},
              h('td', {}, h('a', { href: `#/campaigns/${seg(c.id)}` }, c.name)),
              h('td', {}, campaignBadge(c), c.pause_reason ? h('div', { class: 'small' }, PAUSE_REASONS[c.pause_reason] || c.pause_reason) : null),
              h('td', {}, countsChips(c.counts?.by_status)),
              h('td', {}, stepCounts(c.counts?.steps)),
            ),
          ),
        ),
    });
    await campaignList.ready;
    fill(campaigns, h('h2', { id: 'campaigns-h' }, 'Campaigns'), campaignList);
  }
  await load();
  app.refresh = load;
  return h(
    'div',
    {},
    h('p', { class: 'crumbs' }, h('a', { href: '#/' }, 'Projects'), ' › ', project.name),
    h('h1', { tabindex: '-1' }, `${project.name} — Outreach`),
    notifications,
    campaigns,
    h('section', { class: 'card', 'aria-labelledby': 'new-campaign-h' }, h('h2', { id: 'new-campaign-h' }, 'New campaign from a template'), await newCampaignForm(id)),
  );
}

/** A sender account as the "Send from" choice names it, with its status. */
function senderOption(a) {
  return `${a.display_name ? `${a.display_name} <${a.address}>` : a.address} — ${a.status}${a.delegated ? ', delegated' : ''}`;
}

/** The "Send from" choices say each account's status as it is now (after a Re-link). */
async function refreshSenders() {
  const choice = $('campaign-sender');
  if (!choice) return;
  const accounts = await api.get('/v1/email-accounts');
  for (const a of accounts.items || []) {
    const option = [...choice.options].find((o) => o.value === a.id);
    if (option) option.textContent = senderOption(a);
  }
}

async function newCampaignForm(projectId) {
  const [templates, accounts] = await Promise.all([allItems('/v1/templates'), api.get('/v1/email-accounts')]);
  if (!templates.length || !accounts.items.length) {
    return h(
      'p',
      {},
      'A campaign needs ',
      !accounts.items.length ? h('a', { href: '#/settings' }, 'a sender account') : null,
      !accounts.items.length && !templates.length ? ' and ' : null,
      !templates.length ? h('a', { href: '#/templates' }, 'a messaging template') : null,
      ' first.',
    );
  }
  const name = h('input', { id: 'campaign-name', required: true, maxlength: '200' });
  const template = select(templates.map((t) => [t.id, `${t.name} (${t.steps.length} step${t.steps.length === 1 ? '' : 's'})`]), { id: 'campaign-template' });
  const sender = select(
    accounts.items.map((a) => [a.id, senderOption(a)]),
    { id: 'campaign-sender' },
  );
  const mode = select(
    [
      ['when_started', 'When the campaign is started'],
      ['best_time', 'At the best time'],
      ['specific_time', 'At a specific time of day'],
    ],
    { id: 'campaign-mode', value: 'when_started' },
  );
  const time = h('input', { type: 'time', id: 'campaign-time', value: '09:00' });
  const timeField = field('Time of day', time, 'In the campaign’s time zone.');
  timeField.hidden = true;
  mode.addEventListener('change', () => {
    timeField.hidden = mode.value !== 'specific_time';
  });
  const prefer = select(
    [
      ['', 'No preference (first address listed)'],
      ['work', 'Business address'],
      ['personal', 'Personal address'],
    ],
    { id: 'campaign-prefer' },
  );
  const strict = checkbox('Only the preferred type: if it isn’t available, don’t send to other address types');
  const zones = Intl.supportedValuesOf ? Intl.supportedValuesOf('timeZone') : [];
  const zoneList = h('datalist', { id: 'zones' }, zones.map((z) => h('option', { value: z })));
  const tz = h('input', { id: 'campaign-tz', list: 'zones', placeholder: app.me?.timezone || 'UTC', autocomplete: 'off' });
  const weekends = checkbox('Skip weekends');
  const zoneMode = select(
    [
      ['campaign', 'The campaign’s time zone'],
      ['recipient', 'Each candidate’s own time zone (when known)'],
    ],
    { id: 'campaign-zone-mode', value: 'campaign' },
  );
  const daily = h('input', { id: 'campaign-daily', type: 'number', min: '1', max: '100000', inputmode: 'numeric' });
  return actionForm(
    'New campaign',
    'Create campaign',
    [
      field('Campaign name', name),
      field('Template', template),
      field('Send from', sender),
      field('When to send', mode),
      timeField,
      field('Recipient address', prefer),
      strict,
      field('Time zone', tz, `Blank: your profile’s time zone (${app.me?.timezone || 'UTC'}).`),
      zoneList,
      field('Send at the times above in', zoneMode, 'A candidate’s own time zone puts “9:00” at 9:00 where they are; without one, the campaign’s is used.'),
      weekends,
      field('Daily limit (optional)', daily, 'At most this many messages a day from this campaign; the rest wait for the next day.'),
    ],
    async () => {
      const body = {
        name: name.value.trim(),
        sender_account_id: sender.value,
        template_id: template.value,
        when_to_send: mode.value === 'specific_time' ? { mode: mode.value, time: time.value } : { mode: mode.value },
        recipient: { prefer: prefer.value || null, strict: strict.querySelector('input').checked },
        skip_weekends: weekends.querySelector('input').checked,
      };
      if (tz.value.trim()) body.timezone = tz.value.trim();
      if (zoneMode.value === 'recipient') body.timezone_mode = 'recipient';
      if (daily.value.trim()) body.daily_limit = Number(daily.value.trim());
      const c = await api.post(`/v1/projects/${seg(projectId)}/campaigns`, body);
      location.hash = `#/campaigns/${seg(c.id)}`;
    },
  );
}

// ---------------------------------------------------------------- campaign

async function pageCampaign(id) {
  let campaign = await api.get(`/v1/campaigns/${seg(id)}`);
  const project = await api.get(`/v1/projects/${seg(campaign.project_id)}`).catch(() => ({ id: campaign.project_id, name: 'Project' }));
  titled(campaign.name);
  const tz = () => zoneOr(campaign.timezone);
  const head = h('div', {});
  const actionsOutlet = h('div', { class: 'outlet' });
  const tableBox = h('div', {});
  const timelineBox = h('section', { 'aria-labelledby': 'timeline-h' });
  const rowOutlet = h('div', { class: 'outlet' });
  const pageSize = h('select', { id: 'page-size' }, ['10', '25', '50', '100'].map((n) => h('option', { value: n }, n)));

  function renderHead() {
    const s = campaign.status;
    const buttons = [];
    const reload = async () => {
      campaign = await api.get(`/v1/campaigns/${seg(id)}`);
      await loadReview();
      renderHead();
      await list.reload();
    };
    if (s === 'draft') {
      const start = () => api.post(`/v1/campaigns/${seg(id)}/start`);
      const missing = review?.missing.length || 0;
      if (review?.empty) {
        buttons.push(h('button', { type: 'button', class: 'primary', disabled: true, 'aria-describedby': 'start-hint' }, 'Start campaign'), h('span', { id: 'start-hint', class: 'small muted' }, 'Add candidates first.'));
      } else if (missing) {
        buttons.push(confirmButton('Start campaign…', { class: 'primary' }, `${missing} merge field${missing === 1 ? ' is' : 's are'} missing (see the review below): those candidates would wait, blocked. Start anyway?`, 'Yes, start', actionsOutlet, start, 'Campaign started.', reload));
      } else {
        buttons.push(actionButton('Start campaign', { class: 'primary' }, actionsOutlet, start, 'Campaign started.', reload));
      }
    }
    if (s === 'running') {
      buttons.push(actionButton('Pause campaign', {}, actionsOutlet, () => api.post(`/v1/campaigns/${seg(id)}/pause`), 'Campaign paused.', reload));
    }
    if (s === 'paused') {
      buttons.push(actionButton('Resume campaign', { class: 'primary' }, actionsOutlet, () => api.post(`/v1/campaigns/${seg(id)}/resume`), 'Campaign resumed.', reload));
    }
    if (s === 'draft' || s === 'running' || s === 'paused') {
      buttons.push(
        confirmButton('Stop campaign…', { class: 'danger' }, 'Stop for good? Nothing further is sent.', 'Yes, stop the campaign', actionsOutlet, () => api.post(`/v1/campaigns/${seg(id)}/stop`), 'Campaign stopped.', reload),
      );
    }
    const when = campaign.when_to_send || {};
    const modeText = { when_started: 'when started', best_time: 'at the best time', specific_time: `at ${when.time || '?'}` }[when.mode] || when.mode;
    const recipient = campaign.recipient || {};
    fill(head, 
      h('p', { class: 'crumbs' }, h('a', { href: '#/' }, 'Projects'), ' › ', h('a', { href: `#/projects/${seg(project.id)}` }, project.name), ' › ', campaign.name),
      h('h1', { tabindex: '-1' }, campaign.name, ' ', campaignBadge(campaign)),
      campaign.pause_reason ? h('p', { class: 'notice' }, `This campaign is ${PAUSE_REASONS[campaign.pause_reason] || campaign.pause_reason}.`) : null,
      h(
        'dl',
        { class: 'facts' },
        h('dt', {}, 'Time zone'),
        h('dd', {}, campaign.timezone_mode === 'recipient' ? `each candidate’s own (else ${tz()})` : tz()),
        h('dt', {}, 'Sends'),
        h('dd', {}, `${modeText}${campaign.skip_weekends ? ', weekdays only' : ''}${campaign.daily_limit ? `, at most ${campaign.daily_limit} a day` : ''}`),
        h('dt', {}, 'Recipient'),
        h('dd', {}, recipient.prefer ? `${EMAIL_TYPES[recipient.prefer]} address${recipient.strict ? ' only' : ' first'}` : 'first address listed'),
        h('dt', {}, 'Steps'),
        h('dd', {}, (campaign.steps || []).map((st, i) => (i === 0 ? 'day 0' : `+${st.delay_days} d`)).join(', ')),
        h('dt', {}, 'Started'),
        h('dd', {}, campaign.started_at ? timeEl(campaign.started_at, tz()) : 'not yet'),
      ),
      buttons.length ? h('div', { class: 'toolbar', role: 'group', 'aria-label': 'Campaign actions' }, buttons) : null,
      actionsOutlet,
    );
  }

  async function enrollmentRows(items) {
    // The list names its candidates: one call for the page, not one per row.
    const names = new Map(items.map((e) => [e.id, enrolledName(e)]));
    const open = campaign.status !== 'stopped' && campaign.status !== 'completed';
    const reasons = new Map(await Promise.all(items.filter((e) => e.blocked_reason).map(async (e) => [e.id, await blockedText(e.blocked_reason)])));
    const rows = items.map((e) => {
      const who = names.get(e.id);
      const pick = open && !isEnded(e.status) ? h('input', { type: 'checkbox', 'aria-label': `Select ${who}`, checked: selected.has(e.id), 'data-select': e.id }) : null;
      pick?.addEventListener('change', () => {
        if (pick.checked) selected.set(e.id, { who, status: e.status });
        else selected.delete(e.id);
        drawBulk();
      });
      const base = `/v1/campaigns/${seg(id)}/enrollments/${seg(e.id)}`;
      const after = () => list.reload();
      const actions = [];
      if (!isEnded(e.status) && campaign.status !== 'stopped' && campaign.status !== 'completed') {
        if (e.status === 'paused') {
          actions.push(actionButton('Resume', { 'aria-label': `Resume ${who}` }, rowOutlet, () => api.post(`${base}/resume`), `${who} resumed.`, after));
        } else {
          actions.push(actionButton('Pause', { 'aria-label': `Pause ${who}` }, rowOutlet, () => api.post(`${base}/pause`), `${who} paused.`, after));
        }
        actions.push(confirmButton('Remove…', { 'aria-label': `Remove ${who}…` }, `Remove ${who}?`, `Yes, remove ${who}`, rowOutlet, () => api.post(`${base}/remove`), `${who} removed.`, after));
      }
      if (e.status === 'bounced') {
        actions.push(h('a', { href: `#/campaigns/${seg(id)}/enrollments/${seg(e.id)}`, class: 'button-link' }, `Retry ${who}…`));
      }
      return h(
        'tr',
        { 'data-enrollment': e.id },
        h('th', { scope: 'row' }, pick, pick ? ' ' : null, h('a', { href: `#/campaigns/${seg(id)}/enrollments/${seg(e.id)}` }, who)),
        h('td', {}, badge('es', e.status, e.status_label || ENROLLMENT_LABELS[e.status] || e.status), e.blocked_reason ? h('div', { class: 'small' }, reasons.get(e.id)) : null),
        h('td', {}, e.address || h('span', { class: 'muted' }, 'none')),
        h('td', {}, nextStepText(e, tz())),
        h('td', { class: 'row-actions' }, actions),
      );
    });
    fill(tableBox, bulkBar, table('Candidates in this campaign', ['Candidate', 'Status', 'Address in use', 'Step', 'Actions'], rows), rowOutlet);
    drawBulk();
    fill(timelineBox, h('h2', { id: 'timeline-h' }, `Timeline (${tz()})`), timeline(items, names, tz(), id));
    awaitPlans(items);
    return h('div', {}, tableBox);
  }

  // Several candidates at once: pause, resume or remove those selected
  // (kept across pages and filters), one call each, said in one line.
  const selected = new Map();
  const bulkBar = h('div', { class: 'toolbar bulk', role: 'group', 'aria-label': 'Selected candidates' });
  const bulk = async (verb, done, which) => {
    const chosen = [...selected].filter(([, v]) => which(v.status));
    const failed = [];
    for (const [eid, v] of chosen) {
      try {
        await api.post(`/v1/campaigns/${seg(id)}/enrollments/${seg(eid)}/${verb}`);
        selected.delete(eid);
      } catch (error) {
        failed.push(`${v.who} (${withoutRules(error.problem?.detail || error.problem?.title || String(error))})`);
      }
    }
    announce(`${chosen.length - failed.length} ${done}.${failed.length ? ` Not done: ${failed.join('; ')}.` : ''}`);
    await list.reload();
  };
  function drawBulk() {
    if (!selected.size) {
      fill(bulkBar, h('span', { class: 'small muted' }, 'Select candidates to pause, resume or remove several at once.'));
      return;
    }
    const n = selected.size;
    fill(
      bulkBar,
      h('span', {}, `${n} selected`),
      ' ',
      actionButton('Pause selected', {}, rowOutlet, () => bulk('pause', 'paused', (st) => st !== 'paused')),
      actionButton('Resume selected', {}, rowOutlet, () => bulk('resume', 'resumed', (st) => st === 'paused')),
      confirmButton('Remove selected…', {}, `Remove ${n} ${n === 1 ? 'candidate' : 'candidates'} from this campaign?`, 'Yes, remove them', rowOutlet, () => bulk('remove', 'removed', () => true)),
      h('button', { type: 'button', onclick: () => { selected.clear(); list.reload(); } }, 'Clear selection'),
    );
  }
  const statusFilter = select([['', 'Every status'], ...Object.entries(ENROLLMENT_LABELS)], { id: 'status-filter' });
  statusFilter.addEventListener('change', () => list.restart());

  // Just after a start, the service may still be planning some candidates
  // (a large start plans in the background): look again shortly, a few times.
  const generation = app.generation;
  let planChecks = 0;
  function awaitPlans(items) {
    const unplanned = campaign.status === 'running' && items.some((e) => !isEnded(e.status) && e.status !== 'paused' && e.status !== 'blocked' && nextStepUnplanned(e));
    if (!unplanned || planChecks >= 20) return;
    planChecks += 1;
    setTimeout(() => {
      if (app.generation === generation) list.reload();
    }, 500 * planChecks);
  }

  const list = pager({
    label: 'Candidates in this campaign',
    pageSize: 10,
    fetchPage: async (cursor, limit) => {
      const size = Number(pageSize.value) || limit;
      if (!statusFilter.value) return api.get(pagePath(`/v1/campaigns/${seg(id)}/enrollments`, cursor, size));
      // The API lists every status: a filter reads the campaign's first
      // 2,000 enrollments and pages through those that match.
      const all = await allItems(`/v1/campaigns/${seg(id)}/enrollments`, 2000);
      return arrayPages(all.filter((e) => e.status === statusFilter.value))(cursor, size);
    },
    render: enrollmentRows,
    empty: 'No candidate in this campaign yet: add some below.',
  });
  // Before start (and while paused): every candidate's first message as it
  // will leave, and each missing merge field with its fix (R-4.3, R-5.5).
  const reviewBox = h('section', { 'aria-labelledby': 'review-h' });
  let review = null;
  async function loadReview() {
    if (campaign.status !== 'draft' && campaign.status !== 'paused') {
      review = null;
      fill(reviewBox);
      return;
    }
    try {
      const [preview, first] = await Promise.all([
        api.post(`/v1/campaigns/${seg(id)}/preview?limit=50`),
        api.get(pagePath(`/v1/campaigns/${seg(id)}/enrollments`, null, 50)),
      ]);
      // A removed (or otherwise ended) candidate gets no mail: not reviewed.
      const ended = new Set((first.items || []).filter((e) => isEnded(e.status)).map((e) => e.id));
      preview.items = (preview.items || []).filter((it) => !ended.has(it.enrollment_id));
      preview.missing_fields = (preview.missing_fields || []).filter((m) => !ended.has(m.enrollment_id));
      const distinct = new Set(preview.missing_fields.map((m) => `${m.enrollment_id} ${m.field}`));
      review = { empty: !(preview.items || []).length, missing: [...distinct] };
      // Who would wait at start for want of an address to mail (R-7).
      const unaddressed = (first.items || []).filter((e) => !isEnded(e.status) && !e.address);
      fill(reviewBox, await reviewView(campaign, preview, refreshAll, unaddressed));
    } catch (error) {
      review = null;
      fill(reviewBox, h('h2', { id: 'review-h' }, 'Review before start'), problemView(error));
    }
  }
  // Its steps, editable while edits are allowed (R-5.2); read-only after.
  const stepsBox = h('section', { class: 'card', 'aria-labelledby': 'steps-h' });
  function renderSteps() {
    const editable = campaign.status === 'draft' || campaign.status === 'paused';
    const shown = (campaign.steps || []).map((st, i) =>
      h('li', {}, h('strong', {}, st.subject || `Re: ${campaign.steps[0]?.subject || ''}`), i ? ` — ${st.delay_days} ${st.delay_days === 1 ? 'day' : 'days'} after step ${i}` : ' — first'),
    );
    fill(
      stepsBox,
      h('h2', { id: 'steps-h' }, 'Steps'),
      editable
        ? h('details', { id: 'steps-editor' }, h('summary', {}, `Edit the ${campaign.steps.length} ${campaign.steps.length === 1 ? 'step' : 'steps'}`), campaignStepsForm(campaign, refreshAll))
        : null,
      h('ol', { class: 'step-list' }, shown),
    );
  }
  const refreshAll = async () => {
    campaign = await api.get(`/v1/campaigns/${seg(id)}`);
    await loadReview();
    renderHead();
    renderSteps();
    await list.reload();
  };
  renderSteps();
  pageSize.addEventListener('change', () => list.restart());
  await loadReview();
  renderHead();
  await list.ready;
  app.refresh = refreshAll;
  const adder =
    campaign.status === 'stopped' || campaign.status === 'completed'
      ? null
      : h('section', { class: 'card', 'aria-labelledby': 'add-h' }, h('h2', { id: 'add-h' }, 'Add candidates'), addCandidates(id, refreshAll));
  return h(
    'div',
    {},
    head,
    reviewBox,
    stepsBox,
    h(
      'section',
      { 'aria-labelledby': 'enrollments-h' },
      h(
        'div',
        { class: 'section-head' },
        h('h2', { id: 'enrollments-h' }, 'Candidates'),
        h('div', { class: 'field inline' }, h('label', { for: 'status-filter' }, 'Status'), statusFilter),
        h('div', { class: 'field inline' }, h('label', { for: 'page-size' }, 'Per page'), pageSize),
      ),
      list,
    ),
    timelineBox,
    adder,
  );
}

const REFUSALS = {
  duplicate: 'already in a running campaign',
  already_enrolled: 'already in this campaign',
  suppressed: 'asked not to be contacted by your organization',
  no_credits: 'no contact credits left',
  not_found: 'no longer exists',
};

async function refusalText(r) {
  const why = REFUSALS[r.reason] || r.reason.replaceAll('_', ' ');
  return r.campaign_id ? `${why}: “${await campaignName(r.campaign_id)}” (tick “allow duplicate outreach” to add anyway)` : why;
}

async function warningText(w) {
  const when = fmtTime(w.at, app.me?.timezone);
  const where = w.campaign_id ? ` in “${await campaignName(w.campaign_id)}”` : '';
  if (w.kind === 'contacted_recently') return `mailed by your team${where} on ${when}`;
  if (w.kind === 'bounced_before') return `an address bounced${where} on ${when}`;
  if (w.kind === 'replied_before') {
    const cls = w.class ? ` (${(REPLY_CLASSES[w.class] || w.class).toLowerCase()})` : '';
    return `replied before${cls}${where} on ${when}`;
  }
  return `${w.kind.replaceAll('_', ' ')}${where}, ${when}`;
}

/**
 * The answer to adding candidates in words (R-5.6, R-3.8): a line to
 * announce, and who was not added and why, and who was added but mailed,
 * answered or bounced before — other campaigns by their names.
 */
async function addedText(answer, nameOf) {
  const refused = answer.refused || [];
  const warnings = answer.warnings || [];
  const text = `${(answer.enrollments || []).length} added${refused.length ? `, ${refused.length} not added` : ''}${warnings.length ? `, ${warnings.length} to look at` : ''}.`;
  const block = async (items, cls, role, title, words) =>
    items.length
      ? h(
          'div',
          { class: cls, role },
          h('p', {}, h('strong', {}, title)),
          h('ul', {}, await Promise.all(items.map(async (x) => h('li', {}, `${nameOf(x.candidate_id)}: ${await words(x)}`)))),
        )
      : null;
  const nodes = [
    await block(refused, 'problem', 'alert', 'Some candidates were not added:', refusalText),
    await block(warnings, 'notice', 'status', 'Added, but worth a look before the first mail leaves:', warningText),
  ];
  return { text, nodes };
}

function addCandidates(campaignId, after) {
  const chosen = new Map();
  const outlet = h('div', { class: 'outlet' });
  const count = h('span', { class: 'muted' }, 'None selected.');
  const duplicate = checkbox('Add even if they are in another running campaign (allow duplicate outreach)');
  const update = () => {
    count.textContent = chosen.size ? `${chosen.size} selected: ${[...chosen.values()].join(', ')}` : 'None selected.';
  };
  const list = pager({
    label: 'Candidates to add',
    pageSize: 10,
    fetchPage: apiPages('/v1/candidates'),
    empty: 'No candidates yet.',
    render: (items) =>
      h(
        'fieldset',
        { class: 'pick' },
        h('legend', {}, 'Choose candidates'),
        items.map((c) => {
          const name = candidateName(c);
          const box = checkbox(`${name}${c.company ? ` — ${c.company}` : ''} (${c.emails.map((e) => e.address).join(', ') || 'no address'})`, {
            checked: chosen.has(c.id),
            'data-candidate': c.id,
          });
          box.querySelector('input').addEventListener('change', (event) => {
            if (event.target.checked) chosen.set(c.id, name);
            else chosen.delete(c.id);
            update();
          });
          return box;
        }),
      ),
  });
  const add = h('button', { type: 'button', class: 'primary' }, 'Add selected candidates');
  add.addEventListener('click', () =>
    attempt(outlet, [add], async () => {
      if (!chosen.size) throw new ApiProblem(0, { title: 'Nothing to add', detail: 'choose at least one candidate' });
      const answer = await api.post(`/v1/campaigns/${seg(campaignId)}/enrollments`, {
        candidate_ids: [...chosen.keys()],
        allow_duplicate: duplicate.querySelector('input').checked,
      });
      const told = await addedText(answer, (cid) => chosen.get(cid) || 'A candidate');
      announce(told.text);
      fill(outlet, told.nodes);
      chosen.clear();
      update();
      await Promise.all([list.reload(), after()]);
    }),
  );
  return h('div', {}, list, duplicate, h('p', {}, count), h('div', { class: 'actions' }, add), outlet);
}

/** The review of a draft or paused campaign: first messages as they leave, and what is missing. */
/** Values typed into the review's fixes, not yet set. */
const reviewDrafts = new Map();

/** When a step leaves: in the campaign's zone, and the candidate's own local time when it differs. */
function whenText(at, campaignTz, candidateTz) {
  return at ? theirTime(at, campaignTz, candidateTz) : 'not planned';
}

/** Opens the campaign's step editor and focuses the subject or body of step `n` that uses `field`. */
function openStepEditor(n, field) {
  const details = document.querySelector('#steps-editor');
  if (!details) return;
  details.open = true;
  const step = details.querySelectorAll('.tpl-step')[n - 1];
  const subject = step?.querySelector('input');
  const body = step?.querySelector('textarea');
  const uses = (el) => el && el.value.includes(field);
  const target = uses(subject) ? subject : uses(body) ? body : subject || body;
  target?.scrollIntoView({ block: 'center' });
  target?.focus();
}

async function reviewView(campaign, preview, after, unaddressed = []) {
  const campaignId = campaign.id;
  const campaignTz = zoneOr(campaign.timezone);
  const items = preview.items || [];
  const missing = preview.missing_fields || [];
  const ids = [...new Set([...items.map((it) => it.candidate_id), ...missing.map((m) => m.candidate_id)])];
  const records = await Promise.all(ids.map((cid) => candidate(cid)));
  // Two candidates of one name are told apart (by company, else address).
  const people = distinctNames(records.map((c, i) => ({ id: ids[i], name: candidateName(c), company: c.company, address: c.emails?.[0]?.address })));
  const byId = new Map(records.map((c, i) => [ids[i], c]));
  const outlet = h('div', { class: 'outlet' });
  // One fix per candidate and field, however many steps use it.
  const grouped = [];
  const byKey = new Map();
  for (const m of missing) {
    const key = `${m.enrollment_id} ${m.field}`;
    if (!byKey.has(key)) {
      byKey.set(key, { ...m, steps: [] });
      grouped.push(byKey.get(key));
    }
    byKey.get(key).steps.push(m.step_index);
  }
  const stepsText = (g) => (g.steps.length === 1 ? `step ${g.steps[0]} uses` : `steps ${g.steps.slice(0, -1).join(', ')} and ${g.steps.at(-1)} use`);
  const fixes = grouped.map((m) => {
    const who = people.get(m.candidate_id);
    const custom = /^(custom\.)?([A-Za-z_][A-Za-z0-9_-]*)$/.exec(m.field);
    const base = `/v1/campaigns/${seg(campaignId)}/enrollments/${seg(m.enrollment_id)}`;
    const remove = actionButton(`Remove ${who}`, { class: 'small-button' }, outlet, () => api.post(`${base}/remove`), `${who} removed from this campaign.`, after);
    if (!custom || m.field.startsWith('candidate.') || m.field.startsWith('sender.') || m.field.startsWith('campaign.')) {
      // Fixed in the step (a default), or on the candidate's page for a field of theirs.
      const edit = h('button', { type: 'button', class: 'small-button', onclick: () => openStepEditor(m.steps[0], m.field) }, `Give “${m.field}” a default in step ${m.steps[0]}`);
      const key = m.field.startsWith('candidate.') ? m.field.slice('candidate.'.length) : null;
      const own = key && CANDIDATE_FIELDS.some(([k]) => k === key) && !byId.get(m.candidate_id)?.removed
        ? [h('a', { href: `#/candidates/${seg(m.candidate_id)}`, class: 'button-link small-button' }, `Set ${who}’s ${key.replaceAll('_', ' ')}`), ', ']
        : [];
      return h('li', {}, `${who}: ${stepsText(m)} “${m.field}”, which ${who} does not have. `, edit, ', ', ...own, 'or ', remove);
    }
    const name = custom[2];
    // What was typed survives the review's re-render after another fix.
    const draftKey = `${m.enrollment_id} ${name}`;
    const input = h('input', { id: nextId('fix'), required: true, autocomplete: 'off', value: reviewDrafts.get(draftKey) || '' });
    input.addEventListener('input', () => reviewDrafts.set(draftKey, input.value));
    const form = actionForm(`Set ${name} for ${who}`, 'Set', [field(`${name} for ${who}`, input)], async () => {
      const e = await api.get(base);
      await request('PATCH', base, { body: { custom_fields: { ...(e.custom_fields || {}), [name]: input.value } } });
      reviewDrafts.delete(draftKey);
      announce(`${name} set for ${who}.`);
      await after();
    });
    form.classList.add('inline-fix');
    return h('li', {}, `${who}: ${stepsText(m)} “${name}”: set it for this campaign only `, form, ' or ', remove);
  });
  const noAddress = await Promise.all(
    unaddressed.map(async (e) => {
      const who = enrolledName(e);
      const remove = actionButton(`Remove ${who}`, { class: 'small-button' }, outlet, () => api.post(`/v1/campaigns/${seg(campaignId)}/enrollments/${seg(e.id)}/remove`), `${who} removed from this campaign.`, after);
      return h('li', {}, h('a', { href: `#/candidates/${seg(e.candidate_id)}` }, who), ': no address can be mailed (none given, bounced or asked not to be mailed). Add one on their page, or ', remove);
    }),
  );
  const rows = items.map((it) => {
    const first = (it.steps || [])[0] || {};
    const person = byId.get(it.candidate_id) || {};
    // Who gets what when: each step's time, in the campaign's zone and the candidate's own.
    const when = (it.steps || []).map((st) => h('li', {}, `Step ${st.index}: `, h('time', { datetime: st.planned_at || '' }, whenText(st.planned_at, campaignTz, it.candidate_timezone))));
    return h(
      'tr',
      {},
      h('th', { scope: 'row' }, people.get(it.candidate_id), person.company ? h('div', { class: 'small muted' }, person.company) : null),
      h('td', {}, first.error ? h('span', { class: 'badge es-blocked' }, first.error) : first.subject || '—'),
      h('td', {}, when.length ? h('ul', { class: 'when-list' }, when) : '—', h('div', { class: 'small muted' }, it.candidate_timezone ? `Time zone: ${it.candidate_timezone}` : 'No time zone of their own')),
    );
  });
  return [
    h('h2', { id: 'review-h' }, 'Review before start'),
    missing.length
      ? h('div', { class: 'notice', role: 'status' }, h('p', {}, h('strong', {}, `${grouped.length} missing merge field${grouped.length === 1 ? '' : 's'}: fix ${grouped.length === 1 ? 'it' : 'them'} here, or those candidates wait, blocked.`)), h('ul', { class: 'fixes' }, fixes))
      : items.length
        ? h('p', { class: 'muted' }, 'Every merge field has a value for every candidate.')
        : h('p', { class: 'muted' }, 'No candidate yet: add some below, then start.'),
    noAddress.length
      ? h('div', { class: 'notice no-address', role: 'status' }, h('p', {}, h('strong', {}, `${noAddress.length} ${noAddress.length === 1 ? 'candidate has' : 'candidates have'} no address to mail: they would wait, needing attention.`)), h('ul', {}, noAddress))
      : null,
    outlet,
    items.length
      ? [
          h('p', { class: 'small muted' }, campaign.status === 'draft' ? `When each step would leave if the campaign started now (${campaignTz}, and the candidate’s own time), before the daily limit moves any to a later day.` : `When each step is planned (${campaignTz}, and the candidate’s own time).`),
          table('Who gets what when', ['Candidate', 'Subject of step 1, as it leaves', 'When'], rows),
        ]
      : null,
    preview.cursor ? h('p', { class: 'small muted' }, `The first ${items.length} candidates are shown.`) : null,
  ];
}

/** One row per candidate, steps on a time axis in the campaign's time zone, with a zoom. */
function timeline(enrollments, names, tz, campaignId) {
  const zoom = select(
    Object.entries(ZOOMS).map(([key, z]) => [key, z.label]),
    { id: 'timeline-zoom', value: app.zoom },
  );
  const figure = h('div', {});
  const draw = () => fill(figure, timelineFigure(enrollments, names, tz, campaignId, app.zoom));
  zoom.addEventListener('change', () => {
    app.zoom = zoom.value;
    draw();
  });
  draw();
  return h('div', {}, h('div', { class: 'field inline' }, h('label', { for: zoom.id }, 'Show'), zoom), figure);
}

function timelineFigure(enrollments, names, tz, campaignId, zoom) {
  const now = app.local && app.clockNow ? Date.parse(app.clockNow) : Date.now();
  const model = buildTimeline(enrollments, tz, now, zoom);
  if (model.start === null) return h('p', { class: 'muted' }, 'Nothing planned yet: start the campaign to see its plan.');
  const at = (t) => `${position(t, model.start, model.end).toFixed(3)}%`;
  const place = (el, t) => {
    el.style.left = at(t);
    return el;
  };
  const dayFmt = new Intl.DateTimeFormat(undefined, { timeZone: tz, weekday: 'short', day: 'numeric', month: 'short' });
  const hourFmt = new Intl.DateTimeFormat(undefined, { timeZone: tz, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
  const ticks = model.ticks.map((tick) =>
    place(h('span', { class: tick.day ? 'tick day' : 'tick' }, tick.day ? dayFmt.format(tick.t) : hourFmt.format(tick.t)), tick.t),
  );
  const grid = model.ticks.map((tick) => place(h('span', { class: tick.day ? 'gridline day' : 'gridline' }), tick.t));
  const nowInRange = inRange(now, model);
  let hidden = 0;
  // On a phone the axis cannot hold a day's labels: the same marks as a
  // list per candidate, shown instead by the stylesheet (issue 22).
  const list = h(
    'ul',
    { class: 'tl-list', 'aria-label': 'Timeline by candidate' },
    model.rows.map((row, i) => {
      const e = enrollments[i];
      const who = names.get(e.id) || e.candidate_id;
      const items = row.marks.map((m) => {
        const kindText = m.kind === 'replied' ? 'sent, replied to' : m.kind === 'planned' ? `planned (${stepLabel(m.status).toLowerCase()})` : stepLabel(m.status).toLowerCase();
        return h('li', { 'data-kind': m.kind }, h('span', { class: `mk mk-${m.kind} static`, 'aria-hidden': 'true' }, String(m.step)), ` Step ${m.step}${m.earlier ? ', an earlier attempt,' : ''} ${kindText} ${fmtTime(new Date(m.t).toISOString(), tz)}`);
      });
      if (row.end) items.push(h('li', { class: 'tl-list-end' }, `${ENROLLMENT_LABELS[row.end.kind] || row.end.kind} ${fmtTime(new Date(row.end.t).toISOString(), tz)}`));
      return h('li', { 'data-enrollment': e.id }, h('a', { href: `#/campaigns/${seg(campaignId)}/enrollments/${seg(e.id)}` }, who), ' ', h('span', { class: 'small muted' }, e.status_label), items.length ? h('ol', {}, items) : h('p', { class: 'small muted' }, 'Nothing planned yet.'));
    }),
  );
  const rows = model.rows.map((row, i) => {
    const e = enrollments[i];
    const who = names.get(e.id) || e.candidate_id;
    const track = h('div', { class: 'tl-track' }, grid.map((g) => g.cloneNode(true)));
    if (row.grace && row.grace.to >= model.start && row.grace.from <= model.end) {
      const from = position(row.grace.from, model.start, model.end);
      const to = position(row.grace.to, model.start, model.end);
      const grace = place(h('span', { class: 'tl-grace', title: `Grace period until ${fmtTime(new Date(row.grace.to).toISOString(), tz)}` }), row.grace.from);
      grace.style.width = `${Math.max(0.6, to - from).toFixed(3)}%`;
      track.append(grace);
    }
    for (const m of row.marks) {
      if (!inRange(m.t, model)) {
        hidden += 1;
        continue;
      }
      const when = fmtTime(new Date(m.t).toISOString(), tz);
      const kindText = m.kind === 'replied' ? 'sent, replied to' : m.kind === 'planned' ? `planned (${stepLabel(m.status).toLowerCase()})` : stepLabel(m.status).toLowerCase();
      const text = `Step ${m.step} ${m.earlier ? 'earlier attempt ' : ''}${kindText} ${when}${m.address ? ` to ${m.address}` : ''}`;
      track.append(place(h('span', { class: `mk mk-${m.kind}${m.earlier ? ' earlier' : ''}`, role: 'img', 'aria-label': text, title: text, 'data-step': m.step, 'data-kind': m.kind }, String(m.step)), m.t));
    }
    if (row.end && row.end.t <= model.end) {
      // After the end, the row is washed out: nothing more is sent.
      const text = `${ENROLLMENT_LABELS[row.end.kind] || row.end.kind} ${fmtTime(new Date(row.end.t).toISOString(), tz)}`;
      const ended = place(h('span', { class: `tl-ended end-${row.end.kind}`, role: 'img', 'aria-label': text, title: text }), Math.max(row.end.t, model.start));
      ended.style.right = '0';
      track.append(ended);
    }
    if (nowInRange) track.append(place(h('span', { class: 'tl-now', 'aria-hidden': 'true' }), now));
    return h(
      'div',
      { class: 'tl-row', role: 'listitem', 'data-enrollment': e.id },
      h('div', { class: 'tl-label' }, h('a', { href: `#/campaigns/${seg(campaignId)}/enrollments/${seg(e.id)}` }, who), h('span', { class: 'small' }, e.status_label)),
      track,
    );
  });
  const legend = h(
    'ul',
    { class: 'legend', 'aria-label': 'Legend' },
    [
      ['planned', 'Planned'],
      ['sent', 'Sent'],
      ['delivered', 'Delivered'],
      ['bounced', 'Bounced'],
      ['replied', 'Replied'],
      ['cancelled', 'Cancelled'],
    ].map(([kind, text]) => h('li', {}, h('span', { class: `mk mk-${kind} static`, 'aria-hidden': 'true' }, '1'), text)),
    h('li', {}, h('span', { class: 'tl-grace static', 'aria-hidden': 'true' }), 'Grace period (20 min)'),
    h('li', {}, h('span', { class: 'tl-ended end-bounced static', 'aria-hidden': 'true' }), 'Ended'),
    nowInRange ? h('li', {}, h('span', { class: 'tl-now static', 'aria-hidden': 'true' }), app.local ? 'Service time' : 'Now') : null,
  );
  return h(
    'figure',
    { class: 'timeline' },
    h(
      'figcaption',
      { class: 'small muted' },
      `Each row is one candidate of this page; the numbers are steps, placed at their send or planned time in ${tz}.`,
      hidden ? ` ${hidden} mark${hidden === 1 ? ' is' : 's are'} outside this range.` : '',
    ),
    legend,
    h('div', { class: 'tl-row tl-axis-row', 'aria-hidden': 'true' }, h('div', { class: 'tl-label' }), h('div', { class: 'tl-axis' }, ticks)),
    h('div', { role: 'list', 'aria-label': 'Timeline rows', class: 'tl-rows' }, rows),
    list,
  );
}

// ---------------------------------------------------------------- enrollment

async function pageEnrollment(campaignId, enrollmentId) {
  const campaign = await api.get(`/v1/campaigns/${seg(campaignId)}`);
  const project = await api.get(`/v1/projects/${seg(campaign.project_id)}`).catch(() => ({ name: 'Project' }));
  const tz = zoneOr(campaign.timezone);
  const base = `/v1/campaigns/${seg(campaignId)}/enrollments/${seg(enrollmentId)}`;
  const root = h('div', {});
  async function load() {
    const e = await api.get(base);
    app.candidates.delete(e.candidate_id);
    const person = await candidate(e.candidate_id);
    const who = candidateName(person);
    titled(`${who} — ${campaign.name}`);
    const outlet = h('div', { class: 'outlet' });
    const actions = [];
    if (!isEnded(e.status) && campaign.status !== 'stopped' && campaign.status !== 'completed') {
      if (e.status === 'paused') actions.push(actionButton('Resume', { class: 'primary', 'aria-label': `Resume ${who}` }, outlet, () => api.post(`${base}/resume`), `${who} resumed.`, load));
      else actions.push(actionButton('Pause', { 'aria-label': `Pause ${who}` }, outlet, () => api.post(`${base}/pause`), `${who} paused.`, load));
      actions.push(confirmButton('Remove…', { class: 'danger', 'aria-label': `Remove ${who}…` }, `Remove ${who} from this campaign?`, `Yes, remove ${who}`, outlet, () => api.post(`${base}/remove`), `${who} removed.`, load));
    }
    const steps = table(
      'Steps',
      ['Step', 'Status', 'Planned', 'Sent', 'Address', 'Attempts'],
      (e.steps || []).map((s) =>
        h(
          'tr',
          {},
          h('th', { scope: 'row' }, `Step ${s.index}`),
          h('td', {}, badge('ss', s.status, stepLabel(s.status))),
          h('td', {}, timeEl(s.scheduled_at, tz)),
          h('td', {}, timeEl(s.sent_at, tz)),
          h('td', {}, s.address || '—'),
          h('td', {}, s.attempts?.length ? h('ol', { class: 'attempts' }, s.attempts.map((a) => attemptItem(a, e, tz, outlet, load))) : '—'),
        ),
      ),
    );
    const retry = e.status === 'bounced' || (e.steps || []).some((s) => s.status === 'bounced') ? retryForm(base, person, e, load) : null;
    const events = (e.events || []).slice().reverse();
    const eventList = pager({
      label: 'Events',
      pageSize: 10,
      fetchPage: arrayPages(events),
      empty: 'No events yet.',
      render: (items) =>
        table(
          'Events',
          ['When', 'Event', 'Step', 'Detail'],
          items.map((ev) => h('tr', {}, h('td', {}, timeEl(ev.at, tz)), h('td', {}, ev.kind.replaceAll('_', ' ')), h('td', {}, ev.step ?? '—'), h('td', {}, ev.detail || ''))),
        ),
    });
    await eventList.ready;
    fill(root, 
      h('p', { class: 'crumbs' }, h('a', { href: '#/' }, 'Projects'), ' › ', h('a', { href: `#/projects/${seg(campaign.project_id)}` }, project.name), ' › ', h('a', { href: `#/campaigns/${seg(campaignId)}` }, campaign.name), ' › ', who),
      h('h1', { tabindex: '-1' }, who, ' ', badge('es', e.status, e.status_label)),
      h(
        'dl',
        { class: 'facts' },
        h('dt', {}, 'Campaign'),
        h('dd', {}, h('a', { href: `#/campaigns/${seg(campaignId)}` }, campaign.name), ' ', campaignBadge(campaign)),
        h('dt', {}, 'Address in use'),
        h('dd', {}, e.address || 'none'),
        e.blocked_reason ? [h('dt', {}, 'Needs attention'), h('dd', {}, await blockedText(e.blocked_reason))] : null,
        h('dt', {}, 'Plan start'),
        h('dd', {}, timeEl(e.plan_start, tz), ' (grace period: 20 minutes)'),
        e.ended_at ? [h('dt', {}, 'Ended'), h('dd', {}, timeEl(e.ended_at, tz))] : null,
        h('dt', {}, 'Candidate'),
        h('dd', {}, person.removed ? who : h('a', { href: `#/candidates/${seg(e.candidate_id)}` }, `${who}${person.company ? `, ${person.company}` : ''}`)),
      ),
      actions.length ? h('div', { class: 'toolbar', role: 'group', 'aria-label': 'Candidate actions' }, actions) : null,
      outlet,
      h('section', { 'aria-labelledby': 'steps-h' }, h('h2', { id: 'steps-h' }, `Steps (${tz})`), steps),
      retry,
      // An erased candidate has no addresses to show or add (R-3.6).
      person.removed ? null : h('section', { class: 'card', 'aria-labelledby': 'emails-h' }, h('h2', { id: 'emails-h' }, 'Addresses'), emailsSection(person, campaign.project_id, load)),
      h('section', { 'aria-labelledby': 'events-h' }, h('h2', { id: 'events-h' }, 'Events'), eventList),
    );
  }
  await load();
  app.refresh = load;
  return root;
}

function attemptItem(a, e, tz, outlet, after) {
  const parts = [
    `#${a.number} ${stepLabel(a.status)}`,
    a.address ? ` to ${a.address}` : '',
    a.sent_at ? ` · ${fmtTime(a.sent_at, tz)}` : '',
    a.unconfirmed ? ' · unconfirmed' : '',
    a.reason ? ` · ${a.reason}` : '',
  ];
  const extras = [];
  if (app.local && a.message_id) {
    extras.push(h('a', { href: `#/messages/${seg(a.message_id)}` }, 'View message'));
    if (a.address) extras.push(simulations(a, e, outlet, after));
  } else if (a.message_id) {
    extras.push(h('span', { class: 'small muted' }, `message id ${a.message_id}`));
  }
  return h('li', {}, parts.join(''), extras.length ? h('div', { class: 'attempt-extras' }, extras) : null);
}

// ---------------------------------------------------------------- simulations (local mode)

function sesEnvelope(eventType, detailKey, detail, messageId, address) {
  const now = app.clockNow || new Date().toISOString();
  const message = {
    eventType,
    mail: { timestamp: now, messageId, source: 'outreach@localhost', destination: [address] },
    [detailKey]: { ...detail, timestamp: now },
  };
  return {
    Type: 'Notification',
    MessageId: `console-${crypto.randomUUID()}`,
    TopicArn: 'arn:aws:sns:local:000000000000:outreach-ses-events',
    Message: JSON.stringify(message),
    Timestamp: now,
  };
}

async function postSes(envelope) {
  return request('POST', '/dev/ses-events', { body: envelope, auth: false });
}

async function simulateReply(a) {
  const items = (await request('GET', '/dev/outbox', { auth: false })).items || [];
  const item = items.find((i) => i.message_id === a.message_id || i.id === a.message_id);
  if (!item) throw new ApiProblem(404, { title: 'Not in the outbox', detail: `message ${a.message_id}` });
  const sent = parseMessage(await request('GET', `/dev/outbox/${seg(item.id)}`, { auth: false, binary: true }));
  const original = sent.get('Message-ID') || a.rfc822_message_id || '';
  const replyTo = sent.get('Reply-To') || sent.get('From') || '';
  const date = new Date(app.clockNow || Date.now()).toUTCString().replace('GMT', '+0000');
  const subject = (sent.get('Subject') || '').replace(/[\r\n]+/g, ' ');
  const raw = [
    `From: <${a.address}>`,
    `To: ${replyTo}`,
    `Subject: Re: ${subject}`,
    `Date: ${date}`,
    `Message-ID: <console-${crypto.randomUUID()}@candidate.localhost>`,
    `In-Reply-To: ${original}`,
    `References: ${original}`,
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    '',
    'Thanks for reaching out, happy to talk this week.',
    '',
  ].join('\r\n');
  return request('POST', '/dev/inbound', { rawBody: raw, contentType: 'message/rfc822', auth: false });
}

function simulations(a, e, outlet, after) {
  const note = 'Processed like SES or a real reply; what follows it (re-sends, ends) runs when the clock moves.';
  const run = (label, action, done) => actionButton(label, { class: 'small-button', 'aria-label': `${label} for attempt ${a.number} to ${a.address}` }, outlet, action, done, after);
  const feedback = `console-${crypto.randomUUID()}`;
  return h(
    'span',
    { class: 'simulate', role: 'group', 'aria-label': `Simulate what comes back for attempt ${a.number}` },
    h('span', { class: 'small muted', title: note }, 'Simulate: '),
    run('Delivery', () => postSes(sesEnvelope('Delivery', 'delivery', { recipients: [a.address], processingTimeMillis: 900, smtpResponse: '250 ok' }, a.message_id, a.address)), 'Delivery posted.'),
    run(
      'Hard bounce',
      () =>
        postSes(
          sesEnvelope(
            'Bounce',
            'bounce',
            {
              bounceType: 'Permanent',
              bounceSubType: 'General',
              bouncedRecipients: [{ emailAddress: a.address, status: '5.1.1', action: 'failed', diagnosticCode: 'smtp; 550 5.1.1 user unknown' }],
              feedbackId: feedback,
            },
            a.message_id,
            a.address,
          ),
        ),
      'Bounce posted: move the clock a few minutes to see what follows.',
    ),
    run(
      'Complaint',
      () => postSes(sesEnvelope('Complaint', 'complaint', { complainedRecipients: [{ emailAddress: a.address }], complaintFeedbackType: 'abuse', feedbackId: feedback }, a.message_id, a.address)),
      'Complaint posted.',
    ),
    run('Reply', () => simulateReply(a), 'Reply posted.'),
  );
}

function retryForm(base, person, e, after) {
  const usable = (person.emails || []).filter((m) => m.status !== 'bounced' && m.status !== 'suppressed');
  const choice = select([...usable.map((m) => [m.address, `${m.address} (${EMAIL_TYPES[m.type] || m.type}${m.manual ? ', manual' : ''})`]), ['', 'Another address…']], { id: 'retry-choice' });
  const other = h('input', { type: 'email', id: 'retry-other', autocomplete: 'off' });
  const otherField = field('Another address', other, 'Used for this campaign only.');
  otherField.hidden = usable.length > 0;
  choice.addEventListener('change', () => {
    otherField.hidden = choice.value !== '';
  });
  return h(
    'section',
    { class: 'card', 'aria-labelledby': 'retry-h' },
    h('h2', { id: 'retry-h' }, 'Retry with another address'),
    h('p', {}, 'Resumes the sequence from the step that bounced.'),
    actionForm(
      'Retry with another address',
      'Retry',
      [field('Address', choice), otherField],
      async () => {
        const address = choice.value || other.value.trim();
        await api.post(`${base}/retry`, { address });
        await after();
      },
      'Retry planned.',
    ),
  );
}

// ---------------------------------------------------------------- candidates

function emailsSection(person, projectId, after) {
  const outlet = h('div', { class: 'outlet' });
  const who = candidateName(person);
  const rows = (person.emails || []).map((m) =>
    h(
      'tr',
      {},
      h('td', {}, m.address),
      h('td', {}, EMAIL_TYPES[m.type] || m.type),
      h('td', {}, m.manual ? 'Added by you' : 'Profile'),
      h('td', {}, badge('em', m.status, m.status)),
      h(
        'td',
        {},
        projectId
          ? actionButton('Use this address first', { 'aria-label': `Use this address first: ${m.address}, for ${who} in this project` }, outlet, () => api.put(`/v1/projects/${seg(projectId)}/pins/${seg(person.id)}`, { address: m.address }), `${m.address} is now used first in this project’s new campaigns.`)
          : null,
      ),
    ),
  );
  const address = h('input', { type: 'email', id: nextId('email'), required: true, autocomplete: 'off' });
  const type = select(Object.entries(EMAIL_TYPES), { id: nextId('type') });
  const add = actionForm(
    'Add an email address',
    'Add address',
    [field('Address', address, 'Visible to you alone: your colleagues do not see an address you add by hand.'), field('Type', type)],
    async () => {
      await api.post(`/v1/candidates/${seg(person.id)}/emails`, { address: address.value.trim(), type: type.value });
      app.candidates.delete(person.id);
      await after();
    },
    'Address added.',
  );
  return h(
    'div',
    {},
    table(`Addresses of ${who}`, ['Address', 'Type', 'Source', 'Status', projectId ? 'Pin in this project' : ''], rows),
    projectId ? h('p', { class: 'small muted' }, 'A pinned address is used when the candidate is added to a new campaign of this project.') : null,
    outlet,
    h('h3', {}, 'Add an address by hand'),
    add,
  );
}

/** At most this many candidates are loaded for the list's search, filter and sort (the API pages by 100). */
const CANDIDATES_CAP = 5000;

/** The organization's candidates, page after page, up to `cap`; `capped` when there are more. */
async function loadCandidates(cap = CANDIDATES_CAP) {
  const items = [];
  let cursor = null;
  do {
    const page = await api.get(pagePath('/v1/candidates', cursor, 100));
    items.push(...(page.items || []));
    cursor = page.cursor;
  } while (cursor && items.length < cap);
  return { items: items.slice(0, cap), capped: Boolean(cursor) || items.length > cap };
}

const CANDIDATE_SORTS = [
  ['name', 'Name'],
  ['company', 'Company'],
];

async function pageCandidates() {
  titled('Candidates');
  // Search, filter and sort run here, over the candidates loaded: the API
  // only pages (README, console section).
  let loaded = await loadCandidates();
  const campaigns = await openCampaigns();
  const search = h('input', { type: 'search', id: 'cand-search', autocomplete: 'off' });
  const filter = select(Object.entries(CANDIDATE_FILTERS).map(([key, [text]]) => [key, text]), { id: 'cand-filter' });
  const sort = select(CANDIDATE_SORTS, { id: 'cand-sort' });
  const count = h('p', { class: 'small muted', id: 'cand-count', 'aria-live': 'polite' });
  const capNote = h('p', { class: 'notice', hidden: true });
  let shown = [];
  const narrowed = () => Boolean(search.value.trim() || filter.value);
  function compute() {
    const keep = CANDIDATE_FILTERS[filter.value]?.[1] || (() => true);
    shown = sortCandidates(
      loaded.items.filter((c) => keep(c) && candidateMatches(c, search.value)),
      sort.value,
    );
    const total = loaded.items.length;
    count.textContent = narrowed() ? `${shown.length} of ${total} ${total === 1 ? 'candidate' : 'candidates'} match.` : `${total} ${total === 1 ? 'candidate' : 'candidates'}.`;
    capNote.hidden = !loaded.capped;
    capNote.textContent = `Only the first ${CANDIDATES_CAP.toLocaleString('en')} candidates are loaded: search, filter, sort and select cover those alone.`;
    drawSelectAll();
  }

  // Several at once: the selection is kept across pages, searches and filters.
  const selected = new Map();
  const selectAll = h('input', { type: 'checkbox', id: 'cand-select-all' });
  const selectAllLabel = h('label', { for: selectAll.id });
  function drawSelectAll() {
    const n = shown.length;
    selectAllLabel.textContent = narrowed() ? `Select all ${n} that match (every page)` : `Select all ${n} (every page)`;
    selectAll.checked = n > 0 && shown.every((c) => selected.has(c.id));
    selectAll.disabled = n === 0;
  }
  selectAll.addEventListener('change', async () => {
    for (const c of shown) {
      if (selectAll.checked) selected.set(c.id, candidateName(c));
      else selected.delete(c.id);
    }
    drawBulk();
    await list.reload();
  });

  const selectedText = h('span', {});
  const campaign = select([['', 'Choose a campaign'], ...campaigns], { id: 'cand-add-campaign' });
  const duplicate = checkbox('Add even if they are in another running campaign (allow duplicate outreach)', { id: 'cand-add-duplicate' });
  const addOutlet = h('div', { class: 'outlet' });
  const added = h('div', { class: 'added' });
  const clear = h('button', { type: 'button' }, 'Clear selection');
  clear.addEventListener('click', async () => {
    selected.clear();
    drawBulk();
    await list.reload();
  });
  const add = actionButton('Add to campaign', { class: 'primary' }, addOutlet, async () => {
    fill(added);
    if (!campaign.value) throw new ApiProblem(0, { title: 'No campaign chosen', detail: 'Choose the campaign to add them to.' });
    const names = new Map(selected);
    const answer = { enrollments: [], refused: [], warnings: [] };
    // A call takes at most 1,000 candidates (§13): a larger selection is sent in parts.
    for (const part of chunks([...names.keys()], 1000)) {
      const one = await api.post(`/v1/campaigns/${seg(campaign.value)}/enrollments`, {
        candidate_ids: part,
        allow_duplicate: duplicate.querySelector('input').checked,
      });
      for (const key of Object.keys(answer)) answer[key].push(...(one[key] || []));
    }
    const told = await addedText(answer, (id) => names.get(id) || 'A candidate');
    const name = await campaignName(campaign.value);
    announce(`“${name}”: ${told.text}`);
    // Those not added stay selected: tick "allow duplicate" and add them again, or clear.
    const refused = new Set(answer.refused.map((r) => r.candidate_id));
    for (const id of names.keys()) if (!refused.has(id)) selected.delete(id);
    fill(added, h('p', {}, h('a', { href: `#/campaigns/${seg(campaign.value)}` }, name), `: ${told.text}`), told.nodes);
    drawBulk();
    await list.reload();
  });
  const bulkControls = h('div', { class: 'bulk-controls' }, field('Campaign to add them to', campaign), duplicate, h('div', { class: 'actions' }, add, clear));
  const bulkHint = h('span', { class: 'small muted' }, '');
  const bulkBar = h('div', { class: 'toolbar bulk', role: 'group', 'aria-label': 'Selected candidates' }, selectedText, bulkHint, bulkControls);
  function drawBulk() {
    const n = selected.size;
    selectedText.textContent = n ? `${n} selected` : '';
    bulkHint.textContent = n ? '' : campaigns.length ? 'Select candidates to add several to a campaign at once.' : 'Select candidates to add several to a campaign at once (there is no draft, running or paused campaign yet).';
    bulkControls.hidden = !n;
    drawSelectAll();
  }

  compute();
  drawBulk();
  const list = pager({
    label: 'Candidates',
    fetchPage: (cursor, limit) => arrayPages(shown)(cursor, limit),
    empty: () => (loaded.items.length ? 'No candidate matches: change the search or the filter.' : 'No candidates yet: add one below.'),
    render: (items) =>
      table(
        'Candidates',
        ['Name', 'Title and company', 'Location', 'Addresses'],
        items.map((c) => {
          const name = candidateName(c);
          const pick = h('input', { type: 'checkbox', 'aria-label': `Select ${name}`, checked: selected.has(c.id), 'data-select': c.id });
          pick.addEventListener('change', () => {
            if (pick.checked) selected.set(c.id, name);
            else selected.delete(c.id);
            drawBulk();
          });
          return h(
            'tr',
            { 'data-candidate': c.id },
            h('th', { scope: 'row' }, pick, ' ', h('a', { href: `#/candidates/${seg(c.id)}` }, name)),
            h('td', {}, [c.title, c.company].filter(Boolean).join(', ') || '—'),
            h('td', {}, c.location || '—'),
            h('td', {}, c.opted_out ? 'Asked not to be contacted. ' : '', c.emails.map((m) => `${m.address} (${EMAIL_TYPES[m.type] || m.type}${m.status !== 'valid' ? `, ${EMAIL_STATUS[m.status] || m.status}` : ''})`).join('; ') || '—'),
          );
        }),
      ),
  });
  await list.ready;
  for (const control of [filter, sort]) control.addEventListener('change', () => (compute(), list.restart()));
  search.addEventListener('input', () => (compute(), list.restart()));
  const reloadAll = async () => {
    loaded = await loadCandidates();
    compute();
    await list.reload();
  };
  app.refresh = reloadAll;
  return h(
    'div',
    {},
    h('h1', { tabindex: '-1' }, 'Candidates'),
    h(
      'section',
      { 'aria-labelledby': 'cands-h' },
      h('h2', { id: 'cands-h', class: 'sr-only' }, 'All candidates'),
      h(
        'div',
        { class: 'filters', role: 'search', 'aria-label': 'Find candidates' },
        field('Search', search, 'Name, title, company, location or address; accents and case do not matter.'),
        field('Show', filter),
        field('Sort by', sort),
      ),
      capNote,
      count,
      h('div', { class: 'field check select-all' }, selectAll, selectAllLabel),
      bulkBar,
      addOutlet,
      added,
      list,
    ),
    h('section', { class: 'card', 'aria-labelledby': 'new-cand-h' }, h('h2', { id: 'new-cand-h' }, 'New candidate'), newCandidateForm(reloadAll)),
    h('section', { class: 'card', 'aria-labelledby': 'import-h' }, h('h2', { id: 'import-h' }, 'Import a spreadsheet (CSV)'), await importForm(reloadAll, campaigns)),
  );
}

// ---------------------------------------------------------------- import (R-3.7)

const IMPORT_FIELDS = [
  ['', 'Ignore this column'],
  ['first_name', 'First name'],
  ['last_name', 'Last name'],
  ['title', 'Title'],
  ['company', 'Company'],
  ['location', 'Location'],
  ['timezone', 'Time zone'],
  ['email:work', 'Email (business)'],
  ['email:personal', 'Email (personal)'],
  ['email:other', 'Email (other)'],
];

/** The header row of a CSV file: its delimiter guessed as the service does (comma, semicolon, tab). */
function csvHeaders(text) {
  let lines = text.replace(/^\uFEFF/, '').split(/\r\n|\n|\r/);
  if (/^sep=.$/i.test(lines[0] || '')) lines = lines.slice(1);
  const first = lines.find((l) => l.trim()) || '';
  const counts = [',', ';', '\t'].map((d) => [d, first.split(d).length]);
  const delimiter = counts.sort((a, b) => b[1] - a[1])[0][0];
  const cells = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < first.length; i++) {
    const c = first[i];
    if (quoted) {
      if (c === '"' && first[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === delimiter) {
      cells.push(cell.trim());
      cell = '';
    } else cell += c;
  }
  cells.push(cell.trim());
  return cells;
}

/** A first guess for a column, from its header (the service recognises more names). */
function guessField(header) {
  const key = header.toLowerCase().replace(/[^a-z0-9]/g, '').replace(/\d+$/, '');
  if (/^(first(name)?|givenname|forename|vorname)$/.test(key)) return 'first_name';
  if (/^(last(name)?|surname|familyname|nachname)$/.test(key)) return 'last_name';
  if (/^(job)?title$|^(current)?position$/.test(key)) return 'title';
  if (/^(current)?(company|employer)(name)?$|^organi[sz]ation$/.test(key)) return 'company';
  if (/^(current)?location$|^city$/.test(key)) return 'location';
  if (/^(timezone|tz)$/.test(key)) return 'timezone';
  if (/^(work|business|professional|company|office)emai/.test(key)) return 'email:work';
  if (/^(personal|home|private)emai/.test(key)) return 'email:personal';
  if (/e?mail/.test(key)) return 'email:other';
  return '';
}

/**
 * What adding an import's candidates to its campaign did, in words: the 200
 * answer lists them, a job's counts them; every refusal reason is said.
 */
async function importCampaignSummary(c) {
  if (!c) return [];
  const count = (v) => (Array.isArray(v) ? v.length : v || 0);
  const refused = new Map();
  if (Array.isArray(c.refused)) c.refused.forEach((r) => refused.set(r.reason, (refused.get(r.reason) || 0) + 1));
  else Object.entries(c.refused || {}).forEach(([reason, n]) => refused.set(reason, n));
  const people = (n) => `${n} ${n === 1 ? 'candidate' : 'candidates'}`;
  const name = await campaignName(c.campaign_id);
  const lines = [`${people(count(c.enrollments ?? c.enrolled))} added to “${name}”.`];
  for (const [reason, n] of refused) lines.push(`${people(n)} not added: ${REFUSALS[reason] || reason.replaceAll('_', ' ')}.`);
  const warnings = count(c.warnings);
  if (warnings) lines.push(`${people(warnings)} added with a warning (contacted, bounced or replied before): see the campaign's candidates.`);
  return lines;
}

/** An import's rows not imported: the first 200 shown, every one in a CSV to download. */
function importErrors(errors) {
  if (!errors.length) return [];
  const fieldLabel = (e) => (e.field ? (IMPORT_FIELDS.find(([k]) => k === e.field)?.[1] ?? fieldName(e.field)) : '—');
  const rows = errors.slice(0, 200).map((e) => h('tr', {}, h('td', {}, String(e.row)), h('td', {}, fieldLabel(e)), h('td', {}, e.message)));
  const quote = (v) => `"${String(v).replaceAll('"', '""')}"`;
  const csv = ['Row,Field,Problem', ...errors.map((e) => [e.row, fieldLabel(e), e.message].map(quote).join(','))].join('\r\n');
  const download = h('a', { href: URL.createObjectURL(new Blob([csv], { type: 'text/csv' })), download: 'rows-not-imported.csv' }, errors.length === 1 ? 'Download the row not imported (CSV)' : `Download all ${errors.length} rows not imported (CSV)`);
  return [
    table('Rows not imported', ['Row', 'Field', 'Problem'], rows),
    h('p', { class: 'small' }, errors.length > 200 ? `The first 200 of ${errors.length} are shown. ` : '', download),
  ];
}

/** The campaigns candidates can be added to (draft, running, paused), as [id, "name (project)"]; none when the list cannot be read. */
async function openCampaigns() {
  const campaigns = [];
  try {
    const projects = await allItems('/v1/projects', 50);
    const views = await Promise.all(projects.map((p) => api.get(`/v1/projects/${seg(p.id)}/outreach`).catch(() => ({ campaigns: [] }))));
    views.forEach((v, i) => v.campaigns.filter((c) => c.status === 'draft' || c.status === 'running' || c.status === 'paused').forEach((c) => campaigns.push([c.id, `${c.name} (${projects[i].name})`])));
  } catch {
    // Without the list, an import still works, into no campaign.
  }
  return campaigns;
}

async function importForm(after, campaigns) {
  const file = h('input', { id: 'import-file', type: 'file', accept: '.csv,.tsv,.txt,text/csv', required: true });
  const duplicates = select([['skip', 'Skip them'], ['update', 'Fill their empty fields and add new addresses']], { id: 'import-duplicates' });
  const campaign = select([['', 'No campaign'], ...campaigns], { id: 'import-campaign' });
  const own = checkbox('Choose what each column holds (otherwise the usual header names are recognised)', { id: 'import-own-mapping' });
  const mapping = h('fieldset', { class: 'mapping', hidden: true }, h('legend', {}, 'Columns'));
  let headers = [];
  const drawMapping = () => {
    fill(mapping, h('legend', {}, 'Columns'), headers.map((name, i) => field(`Column ${i + 1}: ${name || '(no name)'}`, select(IMPORT_FIELDS, { id: `import-col-${i}`, value: guessField(name), 'data-column': name }))));
  };
  file.addEventListener('change', async () => {
    headers = file.files[0] ? csvHeaders(await file.files[0].slice(0, 65536).text()) : [];
    drawMapping();
  });
  own.querySelector('input').addEventListener('change', (event) => {
    mapping.hidden = !event.target.checked;
  });
  const result = h('div', { class: 'import-result' });
  const form = actionForm('Import candidates', 'Import', [field('CSV file', file, 'UTF-8, comma, semicolon or tab, a header row; up to 10,000 rows and 4 MB.'), field('Candidates already here (same address)', duplicates), field('Add the imported candidates to', campaign), own, mapping], async () => {
    if (!file.files[0]) throw new ApiProblem(0, { title: 'No file chosen', detail: 'Choose a CSV file to import.' });
    const data = new FormData();
    data.append('file', file.files[0]);
    data.append('on_duplicate', duplicates.value);
    if (campaign.value) data.append('campaign_id', campaign.value);
    if (own.querySelector('input').checked) {
      const map = {};
      for (const sel of mapping.querySelectorAll('select')) if (sel.value) map[sel.dataset.column] = sel.value;
      data.append('mapping', JSON.stringify(map));
    }
    fill(result);
    let answer = await request('POST', '/v1/candidates/import', { rawBody: data });
    // In AWS a large import runs as a job: its state is polled until done.
    for (let i = 0; answer && answer.id && (answer.state === 'queued' || answer.state === 'running') && i < 600; i++) {
      fill(result, h('p', { class: 'muted' }, `Importing… part ${answer.chunks_done ?? 0} of ${answer.chunks ?? '?'} done.`));
      await new Promise((r) => setTimeout(r, 2000));
      answer = await api.get(`/v1/imports/${seg(answer.id)}`);
    }
    if (answer.state === 'failed') throw new ApiProblem(0, { title: 'The import stopped', detail: answer.failure || 'its campaign could no longer take candidates' });
    const errors = answer.errors || [];
    const added = await importCampaignSummary(answer.campaign);
    announce(`Import: ${answer.created} created, ${answer.updated} updated, ${answer.skipped} skipped${errors.length ? `, ${errors.length} ${errors.length === 1 ? 'row' : 'rows'} not imported` : ''}.${added.length ? ` ${added.join(' ')}` : ''}`);
    fill(
      result,
      h('p', {}, h('strong', {}, `${answer.created} created · ${answer.updated} updated · ${answer.skipped} skipped`), errors.length ? ` · ${errors.length} ${errors.length === 1 ? 'row' : 'rows'} not imported (below).` : ''),
      added.length ? h('ul', { class: 'import-campaign' }, added.map((line) => h('li', {}, line))) : null,
      ...importErrors(errors),
    );
    await after();
  });
  return h('div', {}, form, result);
}

function newCandidateForm(after) {
  const first = h('input', { id: 'cand-first', required: true, autocomplete: 'off' });
  const last = h('input', { id: 'cand-last', autocomplete: 'off' });
  const title = h('input', { id: 'cand-title', autocomplete: 'off' });
  const company = h('input', { id: 'cand-company', autocomplete: 'off' });
  const rows = h('div', { class: 'email-rows' });
  const addRow = () => {
    const n = rows.children.length + 1;
    const address = h('input', { type: 'email', id: `cand-email-${n}`, autocomplete: 'off', required: n === 1 });
    const type = select(Object.entries(EMAIL_TYPES), { id: `cand-email-type-${n}`, value: 'work' });
    rows.append(h('fieldset', { class: 'email-row' }, h('legend', {}, `Email ${n}${n === 1 ? '' : ' (optional)'}`), field('Address', address), field('Type', type)));
  };
  addRow();
  const more = h('button', { type: 'button' }, 'Another email address');
  more.addEventListener('click', () => {
    if (rows.children.length < 10) addRow();
    rows.lastElementChild.querySelector('input').focus();
  });
  return actionForm(
    'New candidate',
    'Create candidate',
    [field('First name', first), field('Last name (optional)', last), field('Title', title), field('Company', company), h('p', { class: 'small muted' }, 'Addresses in order of relevancy: the first is tried first.'), rows, more],
    async (form) => {
      const emails = [...rows.querySelectorAll('.email-row')]
        .map((row) => ({ address: row.querySelector('input').value.trim(), type: row.querySelector('select').value }))
        .filter((e) => e.address);
      const body = { first_name: first.value.trim(), last_name: last.value.trim(), emails };
      if (title.value.trim()) body.title = title.value.trim();
      if (company.value.trim()) body.company = company.value.trim();
      const created = await api.post('/v1/candidates', body);
      announce(`${candidateName(created)} added.`);
      form.reset();
      while (rows.children.length > 1) rows.lastElementChild.remove();
      await after();
      first.focus();
    },
  );
}

const CANDIDATE_FIELDS = [
  ['first_name', 'First name'],
  ['last_name', 'Last name'],
  ['title', 'Title'],
  ['company', 'Company'],
  ['location', 'Location'],
  ['timezone', 'Time zone', 'A name such as Europe/Berlin or America/New_York; leave empty for none.'],
];

/** Edit a candidate's details (PATCH: an emptied field is cleared); a refused value is said at its field too. */
function candidateEditForm(person, after) {
  const who = candidateName(person);
  const inputs = new Map();
  const controls = CANDIDATE_FIELDS.map(([key, label, hint]) => {
    const input = h('input', { id: `edit-${key}`, autocomplete: 'off', value: person[key] || '', required: key === 'first_name' });
    const error = h('span', { class: 'field-error', id: `edit-${key}-error` });
    const wrap = field(label, input, hint);
    wrap.append(error);
    inputs.set(key, { input, error, described: input.getAttribute('aria-describedby') });
    return wrap;
  });
  return actionForm(`Edit ${who}`, 'Save changes', controls, async () => {
    const body = {};
    for (const [key, { input, error, described }] of inputs) {
      body[key] = input.value.trim();
      error.textContent = '';
      input.removeAttribute('aria-invalid');
      if (described) input.setAttribute('aria-describedby', described);
      else input.removeAttribute('aria-describedby');
    }
    try {
      const saved = await api.patch(`/v1/candidates/${seg(person.id)}`, body);
      app.candidates.set(person.id, Promise.resolve(saved));
      announce(`${candidateName(saved)} saved.`);
    } catch (failure) {
      // Each refused value is marked at its field, as well as listed under the form.
      for (const e of failure.problem?.errors || []) {
        const at = inputs.get(String(e.field || '').split('.')[0]);
        if (!at) continue;
        at.error.textContent = withoutRules(e.message);
        at.input.setAttribute('aria-invalid', 'true');
        at.input.setAttribute('aria-describedby', [at.described, at.error.id].filter(Boolean).join(' '));
      }
      throw failure;
    }
    await after();
  });
}

/** What the organization sent a candidate, campaign by campaign, and what came back (R-3.8), newest first. */
function historyList(person) {
  const tz = app.me?.timezone;
  return pager({
    label: 'Contact history',
    pageSize: 10,
    fetchPage: apiPages(`/v1/candidates/${seg(person.id)}/history`),
    empty: 'Not contacted by your organization yet.',
    render: (items) =>
      table(
        `Contact history of ${candidateName(person)}`,
        ['Campaign', 'Sent', 'Outcome'],
        items.map((it) => {
          const single = it.kind === 'message';
          const where = single ? (it.answer ? 'An answer to their reply' : 'A single message') : it.campaign_id ? h('a', { href: `#/campaigns/${seg(it.campaign_id)}` }, it.campaign_name || 'A campaign') : 'A removed campaign';
          // A single message has one message, not steps.
          const sent = (it.sent || []).map((m) =>
            h('li', {}, `${single ? '' : `Step ${m.step_index} `}${m.subject ? `“${m.subject}”` : single ? 'Sent' : ''} · ${fmtTime(m.sent_at, tz)}${m.address ? ` · to ${m.address}` : ''} · ${stepLabel(m.status).toLowerCase()}`),
          );
          const o = it.outcome || {};
          const came = [];
          if (o.replied) came.push(`Replied${o.class ? ` (${(REPLY_CLASSES[o.class] || o.class).toLowerCase()})` : ''}${o.replied_at ? ` on ${fmtTime(o.replied_at, tz)}` : ''}`);
          if (o.bounced) came.push(`Bounced${o.bounced_at ? ` on ${fmtTime(o.bounced_at, tz)}` : ''}`);
          return h(
            'tr',
            {},
            h('th', { scope: 'row' }, where, it.sender ? h('div', { class: 'small muted' }, `from ${it.sender.address}`) : null),
            h('td', {}, sent.length ? h('ul', { class: 'sent-list' }, sent) : h('span', { class: 'muted' }, 'Nothing sent yet')),
            h('td', {}, badge('es', o.status, o.status_label || ENROLLMENT_LABELS[o.status] || o.status), came.length ? h('div', { class: 'small' }, came.join(' · ')) : null),
          );
        }),
      ),
  });
}

async function pageCandidate(id) {
  const root = h('div', {});
  const projects = await allItems('/v1/projects', 200);
  async function load() {
    app.candidates.delete(id);
    let person;
    try {
      person = await api.get(`/v1/candidates/${seg(id)}`);
    } catch (error) {
      if (error.status !== 404) throw error;
      // Erased (R-3.6) or never here: said in plain words (the Back button lands here after an erasure).
      titled('A removed candidate');
      fill(root, h('h1', { tabindex: '-1' }, 'A removed candidate'), h('p', {}, 'This candidate is not here: erased, with everything personal, or never added. ', h('a', { href: '#/candidates' }, 'Go to the candidates.')));
      return;
    }
    app.candidates.set(id, Promise.resolve(person));
    const who = candidateName(person);
    titled(who);
    const pinOutlet = h('div', { class: 'outlet' });
    const eraseOutlet = h('div', { class: 'outlet' });
    const project = select(projects.map((p) => [p.id, p.name]), { id: 'pin-project' });
    const address = select((person.emails || []).filter((m) => m.status === 'valid').map((m) => [m.address, m.address]), { id: 'pin-address' });
    const pin =
      projects.length && person.emails?.length
        ? actionForm('Use this address first', 'Pin address', [field('Project', project), field('Address', address)], () => api.put(`/v1/projects/${seg(project.value)}/pins/${seg(id)}`, { address: address.value }), 'Address pinned.')
        : h('p', { class: 'muted' }, 'Pinning needs a project and an address.');
    const erase = confirmButton(
      `Erase ${who}…`,
      { class: 'danger' },
      `Erase ${who} for your whole organization? Their name, details and addresses are deleted for every colleague, they leave every campaign they are in, and this cannot be undone. An address that asked not to be mailed stays blocked.`,
      `Yes, erase ${who}`,
      eraseOutlet,
      () => request('DELETE', `/v1/candidates/${seg(id)}`),
      `${who} erased.`,
      () => {
        app.candidates.delete(id);
        location.hash = '#/candidates';
      },
    );
    const history = historyList(person);
    await history.ready;
    fill(root, 
      h('p', { class: 'crumbs' }, h('a', { href: '#/candidates' }, 'Candidates'), ' › ', who),
      h('h1', { tabindex: '-1' }, who),
      h('dl', { class: 'facts' }, h('dt', {}, 'Title'), h('dd', {}, person.title || '—'), h('dt', {}, 'Company'), h('dd', {}, person.company || '—'), h('dt', {}, 'Location'), h('dd', {}, person.location || '—'), h('dt', {}, 'Time zone'), h('dd', {}, person.timezone || '—')),
      person.opted_out ? h('p', { class: 'notice' }, 'They asked not to be contacted: no address of theirs is mailed.') : null,
      h('details', { class: 'card edit-candidate' }, h('summary', {}, `Edit ${who}’s details`), candidateEditForm(person, load)),
      h('section', { class: 'card', 'aria-labelledby': 'history-h' }, h('h2', { id: 'history-h' }, 'Contact history'), h('p', { class: 'small muted' }, 'Every campaign and single message of your organization to them, newest first.'), history),
      h('section', { class: 'card', 'aria-labelledby': 'emails-h' }, h('h2', { id: 'emails-h' }, 'Addresses'), emailsSection(person, null, load)),
      h('section', { class: 'card', 'aria-labelledby': 'pin-h' }, h('h2', { id: 'pin-h' }, 'Use this address first in a project'), h('p', { class: 'small muted' }, 'Applies to campaigns of that project created after the pin.'), pin, pinOutlet),
      h('section', { class: 'card', 'aria-labelledby': 'erase-h' }, h('h2', { id: 'erase-h' }, 'Erase this candidate'), h('p', { class: 'small' }, 'Erasing deletes their personal data for your whole organization and ends their campaigns.'), h('div', { class: 'toolbar' }, erase), eraseOutlet),
    );
  }
  await load();
  app.refresh = load;
  return root;
}

// ---------------------------------------------------------------- templates

/** Edit (in place) and delete, under a template of the list. */
function templateActions(t, after) {
  const outlet = h('div', { class: 'outlet' });
  const editor = h('div', { class: 'tpl-editor' });
  const edit = h('button', { type: 'button', 'aria-label': `Edit ${t.name}`, 'aria-expanded': 'false' }, 'Edit');
  edit.addEventListener('click', () => {
    const open = edit.getAttribute('aria-expanded') === 'true';
    edit.setAttribute('aria-expanded', String(!open));
    fill(editor, open ? null : templateForm(after, t));
    if (!open) editor.querySelector('input')?.focus();
  });
  const remove = confirmButton('Delete…', { class: 'danger', 'aria-label': `Delete ${t.name}…` }, `Delete “${t.name}”? Campaigns made from it keep their steps.`, 'Yes, delete it', outlet, () => request('DELETE', `/v1/templates/${seg(t.id)}`), `Template “${t.name}” deleted.`, after);
  return h('div', {}, h('div', { class: 'actions' }, edit, remove), outlet, editor);
}

async function pageTemplates() {
  titled('Templates');
  const list = pager({
    label: 'Templates',
    fetchPage: apiPages('/v1/templates'),
    empty: 'No template yet: write one below.',
    render: (items) =>
      h(
        'ul',
        { class: 'templates' },
        items.map((t) =>
          h(
            'li',
            {},
            h(
              'details',
              {},
              h('summary', {}, `${t.name} — ${t.steps.length} step${t.steps.length === 1 ? '' : 's'}`),
              h(
                'ol',
                {},
                t.steps.map((s, i) =>
                  h('li', {}, h('p', {}, h('strong', {}, s.subject || (i ? 'Re: (first subject)' : '')), i ? ` — after ${s.delay_days} day${s.delay_days === 1 ? '' : 's'}` : ' — first message'), h('pre', { class: 'template-body' }, s.body)),
                ),
              ),
              templateActions(t, () => list.reload()),
            ),
          ),
        ),
      ),
  });
  await list.ready;
  app.refresh = () => list.reload();
  return h(
    'div',
    {},
    h('h1', { tabindex: '-1' }, 'Messaging templates'),
    list,
    h('section', { class: 'card', 'aria-labelledby': 'new-tpl-h' }, h('h2', { id: 'new-tpl-h' }, 'New template'), templateForm(() => list.reload())),
  );
}

/** The merge fields of R-4.2, as the picker offers them. */


/** A picker that inserts a merge field where the cursor was, in the step's last focused box. */
function mergePicker(n, targets) {
  let last = targets[targets.length - 1];
  for (const t of targets) t.addEventListener('focus', () => (last = t));
  const picker = select([['', 'Insert a merge field…'], ...MERGE_FIELDS.map(([f, label]) => [f, label])], { id: nextId('merge') });
  picker.addEventListener('change', () => {
    if (!picker.value) return;
    const token = picker.value.startsWith('candidate.') && picker.value !== 'candidate.first_name' && picker.value !== 'candidate.full_name' && picker.value !== 'candidate.last_name'
      ? `{{ ${picker.value} | default("") }}`
      : `{{ ${picker.value} }}`;
    const at = last.selectionStart ?? last.value.length;
    last.value = `${last.value.slice(0, at)}${token}${last.value.slice(last.selectionEnd ?? at)}`;
    last.focus();
    last.setSelectionRange(at + token.length, at + token.length);
    picker.value = '';
  });
  return field(`Merge field for step ${n}`, picker, 'Inserted where the cursor was, in the subject or the body. Fields a candidate may lack get a default, so no one is blocked.');
}

/**
 * The steps of a template or campaign, editable: subject, HTML body with a
 * merge-field picker, and the days after the previous step. `read()` gives
 * the steps as the API takes them, or throws the unknown merge fields (R-4.3).
 */
function stepsEditor(prefix, given) {
  const steps = h('div', { class: 'tpl-steps' });
  const addStep = (step) => {
    const n = steps.children.length + 1;
    const subject = h('input', { id: `${prefix}-subject-${n}`, required: n === 1, maxlength: '998', value: step?.subject });
    const body = h('textarea', { id: `${prefix}-body-${n}`, rows: '4', required: true, value: step?.body });
    const delay = h('input', { id: `${prefix}-delay-${n}`, type: 'number', min: '1', max: '365', value: String(step?.delay_days || 2), required: true });
    steps.append(
      h(
        'fieldset',
        { class: 'tpl-step' },
        h('legend', {}, `Step ${n}`),
        field(`Subject of step ${n}`, subject, n === 1 ? 'Merge fields: {{ candidate.first_name }}, {{ candidate.company | default("your team") }}, {{ sender.first_name }}…' : 'Blank: "Re: " and the first subject, in the same thread.'),
        field(`Body of step ${n} (HTML)`, body),
        mergePicker(n, [subject, body]),
        n > 1 ? field(`Days after step ${n - 1}`, delay) : null,
      ),
    );
  };
  for (const step of given?.length ? given : [null]) addStep(step);
  const more = h('button', { type: 'button' }, 'Add a step');
  more.addEventListener('click', () => {
    if (steps.children.length < 20) addStep();
    steps.lastElementChild.querySelector('input').focus();
  });
  // A refused value is said at its field (subject, body or days), marked
  // invalid and described by the message; the first one takes the focus.
  const clear = () => {
    for (const input of steps.querySelectorAll('[aria-invalid]')) {
      input.removeAttribute('aria-invalid');
      const rest = (input.getAttribute('aria-describedby') || '').split(' ').filter((d) => d && d !== `${input.id}-error`);
      if (rest.length) input.setAttribute('aria-describedby', rest.join(' '));
      else input.removeAttribute('aria-describedby');
    }
    for (const e of steps.querySelectorAll('.field-error')) e.remove();
  };
  const mark = (errors) => {
    let first = null;
    for (const e of errors) {
      const at = /^steps\[(\d+)\](?:\.(\w+))?/.exec(String(e.field || ''));
      const fs = at && steps.querySelectorAll('.tpl-step')[Number(at[1])];
      if (!fs) continue;
      const input = { subject: fs.querySelector('input'), delay_days: fs.querySelector('input[type=number]') }[at[2]] || fs.querySelector('textarea');
      let note = fs.querySelector(`#${CSS.escape(input.id)}-error`);
      if (!note) {
        note = h('span', { class: 'field-error', id: `${input.id}-error` });
        input.parentElement.append(note);
      }
      note.textContent = `${note.textContent ? `${note.textContent} ` : ''}${withoutRules(e.message)}`;
      input.setAttribute('aria-invalid', 'true');
      const described = (input.getAttribute('aria-describedby') || '').split(' ').filter(Boolean);
      if (!described.includes(note.id)) input.setAttribute('aria-describedby', [...described, note.id].join(' '));
      first ??= input;
    }
    first?.focus();
  };
  const read = () => {
    clear();
    const out = [...steps.querySelectorAll('.tpl-step')].map((fs, i) => {
      const subject = fs.querySelector('input').value;
      const step = { body: fs.querySelector('textarea').value, delay_days: i === 0 ? 0 : Number(fs.querySelector('input[type=number]').value) };
      if (subject.trim()) step.subject = subject;
      return step;
    });
    // A field no candidate has would block every candidate at send time (R-4.3): caught here.
    const errors = out.flatMap((st, i) =>
      [
        ['subject', st.subject || ''],
        ['body', st.body],
      ].flatMap(([part, text]) => unknownFields(text).map((f) => ({ field: `steps[${i}].${part}`, message: unknownFieldHint(f) }))),
    );
    if (errors.length) {
      mark(errors);
      throw new ApiProblem(422, { title: 'Unknown merge field', errors });
    }
    return out;
  };
  const reset = () => {
    while (steps.children.length > 1) steps.lastElementChild.remove();
  };
  // The service's own refusal of a step, marked at its field too.
  const refused = (failure) => {
    mark(failure?.problem?.errors || []);
    throw failure;
  };
  return { element: [steps, more], read, reset, refused };
}

/** A template's form: a new one, or `existing` edited in place (PUT). */
function templateForm(after, existing = null) {
  const prefix = existing ? `tpl-${existing.id}` : 'tpl';
  const name = h('input', { id: `${prefix}-name`, required: true, maxlength: '200', value: existing?.name });
  const editor = stepsEditor(prefix, existing?.steps);
  const verb = existing ? 'Save template' : 'Create template';
  return actionForm(existing ? `Edit ${existing.name}` : 'New template', verb, [field('Template name', name), editor.element], async (form) => {
    const body = { name: name.value.trim(), steps: editor.read() };
    if (existing) {
      await api.put(`/v1/templates/${seg(existing.id)}`, body).catch(editor.refused);
      announce(`Template “${body.name}” saved.`);
    } else {
      await api.post('/v1/templates', body).catch(editor.refused);
      announce(`Template “${body.name}” created.`);
      form.reset();
      editor.reset();
    }
    await after();
  });
}

/**
 * A campaign's own steps, editable in draft, paused, or during the grace
 * period (R-5.2: edits apply to steps not yet sent; the service re-plans
 * only what changed and answers 409 when it is too late).
 */
function campaignStepsForm(campaign, after) {
  const editor = stepsEditor(`cmp-${campaign.id}`, campaign.steps);
  return actionForm(`Steps of ${campaign.name}`, 'Save steps', [editor.element], async () => {
    await api.patch(`/v1/campaigns/${seg(campaign.id)}`, { steps: editor.read() }).catch(editor.refused);
    announce('Steps saved: steps not yet sent follow them.');
    await after();
  });
}

// ---------------------------------------------------------------- accounts and profile

/** An own sender account's settings: daily limit, delegates, removal (R-6.7, R-2.4, R-2.2). */
function accountManager(a, outlet, after) {
  const limit = h('input', { id: `limit-${a.id}`, type: 'number', min: '1', max: '100000', inputmode: 'numeric', value: a.daily_limit ?? '' });
  const limitForm = actionForm(`Daily limit of ${a.address}`, 'Save limit', [field(`Messages a day from ${a.address}`, limit, 'Every campaign and single message from this account counts, per day of your time zone; what is over waits for the next day. Empty: no limit.')], async () => {
    const value = limit.value.trim();
    await api.patch(`/v1/email-accounts/${seg(a.id)}`, { daily_limit: value ? Number(value) : null });
    announce(value ? `${a.address}: at most ${value} messages a day.` : `${a.address}: no daily limit.`);
    await after();
  });
  const mine = app.me?.org_id;
  const delegates = (a.delegates || []).map((d) => {
    const who = d.org_id === mine ? d.user_id : `${d.user_id} (${d.org_id})`;
    const query = d.org_id === mine ? '' : `?org_id=${seg(d.org_id)}`;
    const revoke = actionButton('Revoke', { class: 'small-button', 'aria-label': `Revoke ${who}` }, outlet, () => request('DELETE', `/v1/email-accounts/${seg(a.id)}/delegates/${seg(d.user_id)}${query}`), `${who} may no longer send from ${a.address}; their campaigns from it are paused.`, after);
    return h('li', {}, `${who} `, revoke);
  });
  const user = h('input', { id: `delegate-user-${a.id}`, required: true, autocomplete: 'off' });
  const org = h('input', { id: `delegate-org-${a.id}`, autocomplete: 'off', placeholder: mine || '' });
  const addForm = actionForm(`Let someone send from ${a.address}`, 'Add delegate', [field('User id', user), field('Their organization', org, 'Leave empty for a colleague; a hiring manager of another organization gives theirs.')], async (form) => {
    const body = { user_id: user.value.trim() };
    if (org.value.trim() && org.value.trim() !== mine) body.org_id = org.value.trim();
    await api.post(`/v1/email-accounts/${seg(a.id)}/delegates`, body);
    announce(`${body.user_id} may now send from ${a.address}.`);
    form.reset();
    await after();
  });
  const remove = confirmButton(
    'Remove this account…',
    { 'aria-label': `Remove ${a.address}…` },
    `Remove ${a.address}? Its campaigns pause; linking the same address again brings them back.`,
    'Yes, remove',
    outlet,
    () => request('DELETE', `/v1/email-accounts/${seg(a.id)}`),
    `${a.address} removed.`,
    after,
  );
  return h(
    'details',
    { class: 'manage' },
    h('summary', {}, `Manage ${a.address}`),
    limitForm,
    h('h3', {}, 'Delegates'),
    delegates.length ? h('ul', { class: 'delegates' }, delegates) : h('p', { class: 'small muted' }, 'Nobody else sends from it.'),
    addForm,
    h('div', { class: 'actions' }, remove),
  );
}

/** The organization's contact credits and what spent or refunded them (R-3.2). */
function creditsCard() {
  const tz = app.me?.timezone;
  const kinds = { grant: 'Granted', reveal: 'Contact revealed', refund: 'Refunded (every address bounced)' };
  const balance = h('p', {}, 'Balance: …');
  const list = pager({
    label: 'Credit ledger',
    pageSize: 20,
    fetchPage: async (cursor, limit) => {
      const answer = await api.get(pagePath('/v1/credits', cursor, limit));
      fill(balance, h('strong', {}, `${answer.balance} ${answer.balance === 1 ? 'credit' : 'credits'}`), ' left.');
      return { items: answer.ledger || [], cursor: answer.cursor };
    },
    empty: 'No credits granted yet.',
    render: async (items) =>
      table(
        'Credit ledger',
        ['When', 'What', 'Candidate', 'Credits'],
        await Promise.all(
          items.map(async (e) =>
            h(
              'tr',
              {},
              h('td', {}, timeEl(e.at, tz)),
              h('td', {}, kinds[e.kind] || e.kind),
              h('td', {}, e.candidate_id ? personLink(await candidate(e.candidate_id)) : '—'),
              h('td', {}, e.amount > 0 ? `+${e.amount}` : String(e.amount)),
            ),
          ),
        ),
      ),
  });
  return h('section', { class: 'card', 'aria-labelledby': 'credits-h' }, h('h2', { id: 'credits-h' }, 'Contact credits'), balance, h('p', { class: 'small muted' }, 'Revealing a candidate’s addresses spends one; it comes back when every address bounced.'), list);
}

async function pageSettings() {
  titled('Accounts & profile');
  const me = await api.get('/v1/me');
  app.me = me;
  const zones = Intl.supportedValuesOf ? Intl.supportedValuesOf('timeZone') : [];
  const display = h('input', { id: 'me-name', value: me.display_name || '', autocomplete: 'name' });
  const tz = h('input', { id: 'me-tz', value: me.timezone || 'UTC', list: 'me-zones', autocomplete: 'off' });
  const profile = actionForm(
    'Your profile',
    'Save profile',
    [field('Display name', display), field('Time zone', tz, 'IANA name, e.g. Europe/Berlin: new campaigns use it.'), h('datalist', { id: 'me-zones' }, zones.map((z) => h('option', { value: z })))],
    async () => {
      app.me = await api.put('/v1/me', { display_name: display.value.trim(), timezone: tz.value.trim() });
      renderChrome();
    },
    'Profile saved.',
  );
  const outlet = h('div', { class: 'outlet' });
  const accounts = h('div', {});
  async function loadAccounts() {
    const answer = await api.get('/v1/email-accounts');
    const list = pager({
      label: 'Sender accounts',
      pageSize: 10,
      fetchPage: arrayPages(answer.items),
      empty: 'No sender account yet: link one below.',
      render: (items) =>
        table(
          'Sender accounts',
          ['Address', 'Name', 'Status', 'Owner', ''],
          items.map((a) =>
            h(
              'tr',
              {},
              h('th', { scope: 'row' }, a.address),
              h('td', {}, a.display_name || '—'),
              h('td', {}, badge('as', a.status, a.status)),
              h('td', {}, a.delegated ? `delegated by ${a.owner_id}` : 'you'),
              h('td', {}, a.delegated ? null : [actionButton('Re-link', { 'aria-label': `Re-link ${a.address}` }, outlet, () => api.post(`/v1/email-accounts/${seg(a.id)}/relink`), `${a.address} re-linked.`, loadAccounts), accountManager(a, outlet, loadAccounts)]),
            ),
          ),
        ),
    });
    await list.ready;
    fill(accounts, list);
  }
  await loadAccounts();
  app.refresh = loadAccounts;
  const address = h('input', { id: 'acct-address', type: 'email', required: true, autocomplete: 'email' });
  const name = h('input', { id: 'acct-name', autocomplete: 'name' });
  const link = actionForm(
    'Link a sender account',
    'Link account',
    [field('Address', address), field('Display name', name)],
    async (form) => {
      const body = { address: address.value.trim() };
      if (name.value.trim()) body.display_name = name.value.trim();
      const a = await api.post('/v1/email-accounts', body);
      announce(`${a.address} linked: ${a.status}.`);
      form.reset();
      await loadAccounts();
    },
  );
  return h(
    'div',
    {},
    h('h1', { tabindex: '-1' }, 'Accounts & profile'),
    h('section', { class: 'card', 'aria-labelledby': 'profile-h' }, h('h2', { id: 'profile-h' }, 'Your profile'), profile),
    h(
      'section',
      { 'aria-labelledby': 'accounts-h' },
      h('h2', { id: 'accounts-h' }, 'Sender accounts'),
      h('p', { class: 'small muted' }, app.local ? 'Local mode needs no proof: a linked account is connected at once.' : 'A new account is pending until you follow the confirmation link mailed to it.'),
      accounts,
      outlet,
    ),
    h('section', { class: 'card', 'aria-labelledby': 'link-h' }, h('h2', { id: 'link-h' }, 'Link a sender account'), link),
    creditsCard(),
  );
}

// ---------------------------------------------------------------- outbox and messages (local mode)

/** The outbox and its messages are Preact components (outbox.js), loaded when first shown. */
const outboxContext = () => ({ local: app.local, request, seg, ApiProblem, fmtTime, titled });

async function pageOutbox() {
  const { showOutbox } = await import('./outbox.js');
  return showOutbox(h('div'), outboxContext());
}

async function pageMessage(id) {
  const { showMessage } = await import('./outbox.js');
  return showMessage(h('div'), outboxContext(), id);
}

// ---------------------------------------------------------------- replies

const REPLY_CLASSES = {
  interested: 'Interested',
  not_interested: 'Not interested',
  opt_out: 'Asked to be removed',
  referral: 'Referral',
  other: 'Other',
};

/** A campaign's name by id, fetched once per page view. */
const campaignNames = new Map();
function campaignName(id) {
  if (!campaignNames.has(id)) {
    campaignNames.set(
      id,
      api.get(`/v1/campaigns/${seg(id)}`).then((c) => c.name, () => 'a removed campaign'),
    );
  }
  return campaignNames.get(id);
}

function replyBadge(r) {
  if (r.automatic || !r.class) return badge('rc', 'automatic', 'Automatic reply');
  return badge('rc', r.class, REPLY_CLASSES[r.class] || r.class);
}

/** The answer form under a reply (R-12.2): sent from the sender of the mail replied to. */
function answerForm(r, who, after, tz) {
  const body = h('textarea', { id: `answer-${r.id}`, rows: '5', required: true });
  // A reply already answered asks once more before another answer leaves.
  const ask = h('div', { class: 'confirm' });
  let again = false;
  const form = actionForm(
    `Answer ${who}`,
    'Send answer',
    [field(`Your answer to ${who}`, body, 'Sent at once from the address the candidate wrote to, threaded under their reply, with "Re:" before its subject.'), ask],
    async () => {
      const text = body.value.trim();
      if (!text) throw new ApiProblem(0, { title: 'The answer is empty', detail: 'Write something to send.' });
      // Asked of the service, not of this page: another tab or a colleague
      // may have answered since it loaded.
      const answeredAt = again ? null : (await api.get(`/v1/replies/${seg(r.id)}`)).answered_at || r.answered_at;
      if (answeredAt && !again) {
        const yes = h('button', { type: 'button', class: 'danger' }, 'Yes, send another answer');
        const no = h('button', { type: 'button' }, 'Cancel');
        yes.addEventListener('click', () => {
          again = true;
          fill(ask);
          form.requestSubmit();
        });
        no.addEventListener('click', () => {
          fill(ask);
          body.focus();
        });
        fill(ask, h('span', { class: 'question' }, `This reply was already answered (${fmtTime(answeredAt, tz)}). Send another answer?`), ' ', yes, ' ', no);
        yes.focus();
        return;
      }
      again = false;
      const sent = await api.post(`/v1/candidates/${seg(r.candidate_id)}/messages`, { in_reply_to: r.id, body: textToHtml(text) });
      announce(sent.status === 'scheduled' ? `Answer to ${who} planned: today's sending limit is reached.` : `Answer sent to ${sent.address || who}.`);
      await after();
    },
  );
  form.classList.add('answer');
  return form;
}

/** Whether the service may still mail a candidate, and at which addresses (R-9.5, R-9.9). */
function mailable(person) {
  const emails = person.emails || [];
  if (person.removed || !emails.length) return null;
  const shown = (list) => list.map((e) => e.address).join(', ');
  if (person.opted_out) return h('p', { class: 'small mailable' }, 'Opted out: they asked not to be contacted, so no address of theirs is mailed again (a class correction lifts only the opt-out its reply caused).');
  const optedOut = emails.filter((e) => e.status === 'suppressed');
  const usable = emails.filter((e) => e.status !== 'suppressed' && e.status !== 'bounced');
  const parts = [];
  if (optedOut.length) parts.push(`Opted out, never mailed again: ${shown(optedOut)}.`);
  parts.push(usable.length ? `Can still be mailed at ${shown(usable)}.` : 'No address of theirs can be mailed.');
  return h('p', { class: 'small mailable' }, parts.join(' '));
}

async function replyCard(r, tz, after) {
  const person = await candidate(r.candidate_id);
  const who = candidateName(person);
  const where = r.campaign_id
    ? [h('a', { href: `#/campaigns/${seg(r.campaign_id)}` }, await campaignName(r.campaign_id)), r.step_index ? ` · step ${r.step_index}` : '']
    : ['a single message'];
  const outlet = h('div', { class: 'outlet' });
  const readText = r.read ? 'Mark as unread' : 'Mark as read';
  const toggle = actionButton(readText, { class: 'small-button', 'aria-label': `${readText}: ${who}` }, outlet, () => api.patch(`/v1/replies/${seg(r.id)}`, { read: !r.read }), r.read ? 'Marked as unread.' : 'Marked as read.', after);
  const actions = [toggle];
  if (!r.automatic) {
    const classes = select(Object.entries(REPLY_CLASSES), { id: nextId('class'), value: r.class });
    const correct = async () => {
      const changed = await api.patch(`/v1/replies/${seg(r.id)}`, { class: classes.value, read: true });
      // A correction may opt the candidate out or lift that opt-out (R-9.9).
      app.candidates.delete(r.candidate_id);
      return changed;
    };
    const change = actionButton('Change class', { class: 'small-button', 'aria-label': `Change class of ${who}'s reply` }, outlet, correct, 'Class changed; the reply is marked as read.', after);
    actions.push(h('span', { class: 'class-change' }, h('label', { for: classes.id, class: 'small' }, 'Class '), classes, ' ', change));
  }
  // An answer goes only to the address the reply came from (R-12.2): once
  // that address asked not to be mailed, or the person opted out, say so
  // instead of offering a form the service will refuse.
  const stopped = person.opted_out || (r.from && (person.emails || []).some((m) => m.address === r.from && m.status === 'suppressed'));
  // An erased candidate has no page and no address left: nothing to answer.
  const answer = person.removed
    ? h('p', { class: 'small muted answer-closed' }, 'No answer can be sent: this candidate was erased, with their addresses.')
    : stopped
      ? h('p', { class: 'small muted answer-closed' }, 'No answer can be sent: the address this reply came from asked not to be mailed.')
      : h('details', { class: 'answer-box' }, h('summary', {}, r.answered_at ? `Answer ${who} again` : `Answer ${who}`), answerForm(r, who, after, tz));
  return h(
    'article',
    { class: `card reply${r.read ? '' : ' unread'}`, 'aria-label': `Reply from ${who}` },
    h(
      'header',
      { class: 'reply-head' },
      h('h2', {}, person.removed ? who : h('a', { href: `#/candidates/${seg(r.candidate_id)}` }, who)),
      ' ',
      replyBadge(r),
      r.read ? null : h('span', { class: 'badge rc-unread' }, 'Unread'),
      r.answered_at ? h('span', { class: 'badge rc-answered' }, 'Answered') : null,
    ),
    h('p', { class: 'small muted' }, 'Replied to ', ...where, ' · ', timeEl(r.received_at, tz)),
    r.answered_at ? h('p', { class: 'small answered' }, 'Answered ', timeEl(r.answered_at, tz)) : null,
    h('p', { class: 'reply-subject' }, r.subject || '(no subject)'),
    h('blockquote', { class: 'reply-text' }, r.text || '(the reply has no text of its own)'),
    r.class === 'opt_out' ? h('p', { class: 'small' }, 'The candidate asked not to be contacted: they are opted out and their other campaigns ended. Change the class if this was not a stop request.') : null,
    r.automatic ? null : mailable(person),
    h('div', { class: 'actions' }, actions),
    outlet,
    r.automatic ? null : answer,
  );
}

async function pageReplies() {
  titled('Replies');
  const tz = app.me?.timezone;
  const classFilter = select([['', 'Every class'], ...Object.entries(REPLY_CLASSES)], { id: 'replies-class' });
  const unreadOnly = checkbox('Unread only', { id: 'replies-unread' });
  const list = pager({
    label: 'Replies',
    pageSize: 20,
    empty: 'No replies match.',
    fetchPage: (cursor, limit) => {
      const query = new URLSearchParams({ limit: String(limit) });
      if (cursor) query.set('cursor', cursor);
      if (classFilter.value) query.set('class', classFilter.value);
      if (unreadOnly.querySelector('input').checked) query.set('unread', 'true');
      return api.get(`/v1/replies?${query}`);
    },
    render: async (items) => h('div', { class: 'replies' }, await Promise.all(items.map((r) => replyCard(r, tz, () => list.reload())))),
  });
  classFilter.addEventListener('change', () => list.restart());
  unreadOnly.querySelector('input').addEventListener('change', () => list.restart());
  await list.ready;
  app.refresh = () => list.reload();
  return h(
    'div',
    {},
    h('h1', { tabindex: '-1' }, 'Replies'),
    h('p', { class: 'muted' }, "What candidates wrote back, newest first: their own words, without the quoted mail. A reply ends the candidate's sequence."),
    h('div', { class: 'filters', role: 'group', 'aria-label': 'Filter the replies' }, field('Class', classFilter), unreadOnly),
    list,
  );
}

// ---------------------------------------------------------------- routing

const ROUTES = [
  [/^#\/?$/, pageProjects],
  [/^#\/projects\/([^/]+)$/, pageProject],
  [/^#\/campaigns\/([^/]+)$/, pageCampaign],
  [/^#\/campaigns\/([^/]+)\/enrollments\/([^/]+)$/, pageEnrollment],
  [/^#\/replies$/, pageReplies],
  [/^#\/candidates$/, pageCandidates],
  [/^#\/candidates\/([^/]+)$/, pageCandidate],
  [/^#\/templates$/, pageTemplates],
  [/^#\/settings$/, pageSettings],
  [/^#\/outbox$/, pageOutbox],
  [/^#\/messages\/([^/]+)$/, pageMessage],
];

/** Shows the page of the hash; `focusHeading` after a navigation, for screen readers. */
async function route(navigated, focusHeading = false) {
  const main = $('main');
  const generation = ++app.generation;
  app.refresh = null;
  renderChrome();
  if (!app.token) {
    showSignIn();
    return;
  }
  const hash = location.hash || '#/';
  const found = ROUTES.find(([re]) => re.test(hash));
  if (navigated) fill(main, h('p', { class: 'muted' }, 'Loading…'));
  let content;
  if (!found) {
    content = h('div', {}, h('h1', { tabindex: '-1' }, 'Not found'), h('p', {}, 'No such page. ', h('a', { href: '#/' }, 'Go to the projects.')));
  } else {
    const args = found[0].exec(hash).slice(1).map(decodeURIComponent);
    try {
      content = await found[1](...args);
    } catch (error) {
      if (!app.token) return;
      content = h('div', {}, h('h1', { tabindex: '-1' }, 'This page could not be shown'), problemView(error));
    }
  }
  if (generation !== app.generation) return;
  fill(main, content);
  main.setAttribute('aria-busy', 'false');
  if (focusHeading) main.querySelector('h1')?.focus();
}

async function boot() {
  $('skip-link').addEventListener('click', (event) => {
    event.preventDefault();
    $('main').focus();
  });
  try {
    const clock = await request('GET', '/dev/clock', { auth: false, timeout: 5000 });
    app.local = Boolean(clock && clock.now);
    app.clockNow = clock?.now || null;
  } catch {
    app.local = false;
  }
  if (app.local) $('foot-local').textContent = ' · local mode: /dev routes for sign-in, the clock and simulated events';
  if (app.token) {
    try {
      app.me = await api.get('/v1/me');
    } catch {
      // 401 signed out already; other problems show on the page.
    }
  }
  window.addEventListener('hashchange', () => {
    app.candidates.clear();
    campaignNames.clear();
    $('status').textContent = '';
    route(true, true);
  });
  await route(true);
  document.body.dataset.ready = 'true';
}

boot();
