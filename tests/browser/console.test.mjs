// Browser tests of the Outreach console: headless Debian Chromium, driven by
// playwright-core, against a real outreach-local with a manual clock that
// ./run starts (OUTREACH_URL). Steps run in order and share one page, as a
// recruiter would: sign in, set up a first run, create a campaign from a
// template, start it, watch it unfold, a bounce, a pause, a notification.
// Screenshots of each stage go to ARTIFACTS_DIR.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { chromium } from 'playwright-core';

const BASE = process.env.OUTREACH_URL;
const ARTIFACTS = process.env.ARTIFACTS_DIR || join(tmpdir(), 'outreach-console-artifacts');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const STEP_TIMEOUT = 60_000;

// The flags of this machine's Chromium: no GPU, no sandbox as root, and no
// background traffic (the network reaches nothing but loopback).
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-quic',
  '--no-first-run',
  '--disable-component-update',
  '--disable-sync',
  '--disable-dev-shm-usage',
];

let context;
let page;
/** The steps share one page: after a failure, the later steps fail at once. */
let failedStep = null;

function step(name, fn) {
  test(name, { timeout: STEP_TIMEOUT }, async () => {
    if (failedStep) assert.fail(`not run: the earlier step "${failedStep}" failed`);
    try {
      await fn();
    } catch (error) {
      failedStep = name;
      await shot(`failed-${name.replace(/[^a-z0-9]+/gi, '-').slice(0, 60)}`).catch(() => {});
      throw error;
    }
  });
}
let userDataDir;
const pageErrors = [];
const consoleErrors = [];
const blockedRequests = [];

function isLoopback(url) {
  try {
    const u = new URL(url);
    if (u.protocol === 'data:' || u.protocol === 'about:' || u.protocol === 'blob:') return true;
    return ['127.0.0.1', 'localhost', '[::1]'].includes(u.hostname);
  } catch {
    return false;
  }
}

async function shot(name) {
  const path = join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path, fullPage: true, timeout: 20_000 });
  return path;
}

/** Calls a /dev route of the server under test directly (what SES or a mail server would do). */
async function dev(method, path, body) {
  const response = await fetch(`${BASE}${path}`, {
    method,
    headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await response.text();
  assert.ok(response.ok, `${method} ${path} answered ${response.status}: ${text}`);
  return text ? JSON.parse(text) : null;
}

const row = (name) => page.locator('tbody tr', { has: page.getByRole('link', { name, exact: true }) });
const timelineRow = (name) => page.locator('.tl-row', { has: page.getByRole('link', { name, exact: true }) });

async function labelledControls() {
  // Every form control has a label a screen reader announces.
  return page.evaluate(() =>
    [...document.querySelectorAll('input, select, textarea')]
      .filter((el) => el.type !== 'hidden' && !el.closest('[hidden]'))
      .filter((el) => !(el.labels && el.labels.length) && !el.getAttribute('aria-label'))
      .map((el) => el.outerHTML.slice(0, 120)),
  );
}

async function lowContrast() {
  // WCAG AA: text against its (first opaque) background, ≥ 4.5:1.
  return page.evaluate(() => {
    const parse = (c) => {
      const m = c.match(/rgba?\(([^)]+)\)/);
      if (!m) return null;
      const [r, g, b, a = '1'] = m[1].split(',').map((s) => s.trim());
      return { rgb: [Number(r), Number(g), Number(b)], a: Number(a) };
    };
    const lum = ([r, g, b]) => {
      const f = (v) => {
        const s = v / 255;
        return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
      };
      return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
    };
    const background = (el) => {
      for (let e = el; e; e = e.parentElement) {
        const bg = parse(getComputedStyle(e).backgroundColor);
        if (bg && bg.a > 0.9) return bg.rgb;
      }
      return [255, 255, 255];
    };
    const issues = [];
    const selector = 'a, button, .badge, .mk, label, th, td, p, h1, h2, dt, dd, .tick, output, summary, legend';
    for (const el of document.querySelectorAll(selector)) {
      if (!el.textContent.trim() || el.closest('[hidden]') || el.disabled) continue;
      const style = getComputedStyle(el);
      if (style.visibility === 'hidden' || style.display === 'none') continue;
      const fg = parse(style.color);
      if (!fg) continue;
      const [l1, l2] = [lum(fg.rgb), lum(background(el))].sort((a, b) => b - a);
      const ratio = (l1 + 0.05) / (l2 + 0.05);
      if (ratio < 4.5) issues.push(`${el.tagName.toLowerCase()}.${el.className} "${el.textContent.trim().slice(0, 30)}" ${ratio.toFixed(2)}`);
    }
    return issues;
  });
}

// axe-core (pinned in package-lock.json), evaluated through the DevTools
// protocol, which the page's Content-Security-Policy does not apply to.
const AXE_SOURCE = readFileSync(new URL('./node_modules/axe-core/axe.min.js', import.meta.url), 'utf8');

/** axe-core's serious and critical violations on the page as it is. */
async function axeViolations() {
  if (!(await page.evaluate(() => typeof window.axe !== 'undefined'))) await page.evaluate(AXE_SOURCE);
  return page.evaluate(async () => {
    const result = await window.axe.run(document, { resultTypes: ['violations'] });
    return result.violations
      .filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(' | ')}`);
  });
}

async function expectAccessible(where) {
  assert.deepEqual(await labelledControls(), [], `unlabelled controls on ${where}`);
  assert.deepEqual(await lowContrast(), [], `low contrast on ${where}`);
  assert.deepEqual(await axeViolations(), [], `axe-core on ${where}`);
}

/** `noSidewaysScroll` at 390×844, then back to the desktop size. */
async function noSidewaysScrollOnPhone(where) {
  await page.setViewportSize({ width: 390, height: 844 });
  try {
    await noSidewaysScroll(where);
  } finally {
    await page.setViewportSize({ width: 1440, height: 900 });
  }
}

/** At 390 px: nothing but the menu is wider than the screen, and axe-core passes. */
async function noSidewaysScroll(where) {
  const { scroll, width, wide } = await page.evaluate(() => {
    const width = document.documentElement.clientWidth;
    const wide = [...document.querySelectorAll('body *')]
      .filter((el) => !el.closest('#nav'))
      .filter((el) => el.getBoundingClientRect().right > width + 1)
      .slice(0, 6)
      .map((el) => `${el.tagName.toLowerCase()}.${el.className} ${getComputedStyle(el).position} ${Math.round(el.getBoundingClientRect().right)}px`);
    return { scroll: document.documentElement.scrollWidth, width, wide };
  });
  assert.ok(scroll <= width, `${where} scrolls sideways on a phone: ${scroll} > ${width}: ${wide.join(', ')}`);
  await expectAccessible(`${where} (phone)`);
}

before(async () => {
  assert.ok(BASE, 'OUTREACH_URL is not set: run tests/browser/run, which starts outreach-local');
  assert.ok(isLoopback(BASE), `OUTREACH_URL must be a loopback address, not ${BASE}`);
  mkdirSync(ARTIFACTS, { recursive: true });
  userDataDir = mkdtempSync(join(tmpdir(), 'outreach-chromium-'));
  // Fails loudly (and every test with it) when Chromium cannot start.
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    timeout: 30_000,
    viewport: { width: 1440, height: 900 },
    locale: 'en-GB',
    timezoneId: 'UTC',
  });
  // Loopback only: any other request is refused and fails the run.
  await context.route(
    (url) => !isLoopback(url.toString()),
    (route) => {
      blockedRequests.push(route.request().url());
      return route.abort('blockedbyclient');
    },
  );
  page = context.pages()[0] || (await context.newPage());
  page.setDefaultTimeout(15_000);
  page.setDefaultNavigationTimeout(20_000);
  page.on('pageerror', (error) => pageErrors.push(String(error)));
  page.on('console', (message) => {
    if (message.type() === 'error') consoleErrors.push(message.text());
  });
});

after(async () => {
  await context?.close().catch(() => {});
  if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
});

step('the console is served with its content types and a restrictive policy', async () => {
  for (const [path, type] of [
    ['/', 'text/html'],
    ['/console/app.js', 'text/javascript'],
    ['/console/style.css', 'text/css'],
  ]) {
    const response = await fetch(`${BASE}${path}`, { signal: AbortSignal.timeout(10_000) });
    assert.equal(response.status, 200, path);
    assert.ok(response.headers.get('content-type').startsWith(type), path);
    const csp = response.headers.get('content-security-policy');
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /script-src 'self'(;|$)/);
    assert.match(csp, /frame-ancestors 'none'/);
    assert.equal(response.headers.get('x-content-type-options'), 'nosniff');
  }
});

step('signs in with an organization and a user (local mode)', async () => {
  await page.goto(BASE);
  await page.getByRole('heading', { name: 'Sign in' }).waitFor();
  await expectAccessible('sign-in');
  await page.getByLabel('Organization').fill('acme');
  await page.getByLabel('User').fill('alice');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Projects', level: 1 }).waitFor();
  assert.match(await page.locator('#who').innerText(), /alice · acme/);
  // Local mode with a manual clock: the clock control shows the service time.
  assert.match(await page.locator('#clock-now').innerText(), /1 Dec 2026.*14:00/);
  await page.getByRole('heading', { name: 'Getting started' }).waitFor();
  await shot('01-signed-in');
});

step('a first run: profile, sender account, candidates, a template and a project', async () => {
  await page.getByRole('link', { name: 'Accounts & profile' }).click();
  await page.getByRole('heading', { name: 'Accounts & profile', level: 1 }).waitFor();
  await page.getByLabel('Display name', { exact: true }).first().fill('Alice Recruiter');
  await page.getByLabel('Time zone').fill('Europe/Berlin');
  await page.getByRole('button', { name: 'Save profile' }).click();
  await page.locator('#status', { hasText: 'Profile saved.' }).waitFor();
  const link = page.getByRole('form', { name: 'Link a sender account' });
  await link.getByLabel('Address').fill('alice@acme.example');
  await link.getByLabel('Display name').fill('Alice Recruiter');
  await link.getByRole('button', { name: 'Link account' }).click();
  await page.getByRole('row', { name: /alice@acme\.example.*connected/ }).waitFor();
  await expectAccessible('accounts');

  await page.getByRole('link', { name: 'Candidates', exact: true }).click();
  await page.getByRole('heading', { name: 'Candidates', level: 1 }).waitFor();
  const people = [
    ['Ada', 'Lovelace', 'Analytical Engines', 'ada@engines.example'],
    ['Grace', 'Hopper', 'Navy', 'grace@navy.example'],
    ['Alan', 'Turing', 'Bletchley', 'alan@bletchley.example'],
    ['Katherine', 'Johnson', 'NASA', 'katherine@nasa.example'],
  ];
  for (const [first, last, company, address] of people) {
    await page.getByLabel('First name').fill(first);
    await page.getByLabel('Last name').fill(last);
    await page.getByLabel('Company').fill(company);
    await page.getByRole('textbox', { name: 'Address' }).first().fill(address);
    await page.getByRole('button', { name: 'Create candidate' }).click();
    await page.getByRole('link', { name: `${first} ${last}`, exact: true }).waitFor();
  }
  await expectAccessible('candidates');

  await page.getByRole('link', { name: 'Templates' }).click();
  await page.getByLabel('Template name').fill('Intro');
  await page.getByLabel('Subject of step 1').fill('Hello {{ candidate.first_name }}');
  await page.getByLabel('Body of step 1 (HTML)').fill('<p>Hi {{ candidate.first_name }}, we admire {{ candidate.company | default("your team") }}.</p>');
  await page.getByRole('button', { name: 'Add a step' }).click();
  await page.getByLabel('Body of step 2 (HTML)').fill('<p>Just following up.</p>');
  await page.getByLabel('Days after step 1').fill('2');
  await page.getByRole('button', { name: 'Create template' }).click();
  await page.getByText('Intro — 2 steps').waitFor();

  await page.getByRole('link', { name: 'Projects' }).click();
  await page.getByLabel('Project name').fill('Backend hiring');
  await page.getByRole('button', { name: 'Create project' }).click();
  await page.getByRole('heading', { name: 'Backend hiring — Outreach' }).waitFor();
});

step('creates a campaign from the template and starts it: Not Started, Pending', async () => {
  await page.getByLabel('Campaign name').fill('Backend Q1');
  await page.getByLabel('Template', { exact: true }).selectOption({ label: 'Intro (2 steps)' });
  await page.getByLabel('When to send').selectOption('when_started');
  await page.getByRole('button', { name: 'Create campaign' }).click();
  await page.getByRole('heading', { name: /Backend Q1\s+Draft/ }).waitFor();
  for (const name of ['Ada Lovelace', 'Grace Hopper', 'Alan Turing', 'Katherine Johnson']) {
    await page.getByRole('checkbox', { name: new RegExp(`^${name}`) }).check();
  }
  await page.getByRole('button', { name: 'Add selected candidates' }).click();
  await page.locator('#status', { hasText: '4 added.' }).waitFor();
  await row('Katherine Johnson').waitFor();
  // The review says who gets what when: each step as a start now would plan it (issue 22).
  const when = page.getByRole('table', { name: 'Who gets what when' }).getByRole('row', { name: /Katherine Johnson/ });
  await when.getByText(/Step 1: .*15:20 CET/).waitFor();
  assert.match(await when.innerText(), /Step 2: Thu, 3 Dec 2026, .*CET[\s\S]*No time zone of their own/);
  await page.getByRole('button', { name: 'Start campaign' }).click();
  await page.getByRole('heading', { name: /Backend Q1\s+Running/ }).waitFor();
  for (const name of ['Ada Lovelace', 'Grace Hopper', 'Alan Turing', 'Katherine Johnson']) {
    const r = row(name);
    await r.getByText('Not Started').waitFor();
    // The plan may land a moment after the start's answer: the page looks again by itself.
    await r.getByText(/Step 1 · Pending · .*15:20/).waitFor();
  }
  // The timeline: planned marks, each row's grace period shaded, times in Berlin.
  await page.getByRole('heading', { name: 'Timeline (Europe/Berlin)' }).waitFor();
  assert.equal(await page.locator('.tl-track .mk-planned').count(), 8);
  assert.equal(await page.locator('.tl-track .tl-grace').count(), 4);
  assert.match(
    await timelineRow('Ada Lovelace').locator('.mk[data-step="1"]').getAttribute('aria-label'),
    /Step 1 planned \(pending\) .*15:20 CET/,
  );
  await expectAccessible('campaign');
  // Zoomed in on the first hours, each row's grace period is a visible band before step 1.
  await page.getByLabel('Show').selectOption('start');
  const grace = await timelineRow('Ada Lovelace').locator('.tl-grace').boundingBox();
  const first = await timelineRow('Ada Lovelace').locator('.mk[data-step="1"]').boundingBox();
  assert.ok(grace.width > 100, `the grace band is ${grace.width} px wide`);
  assert.ok(Math.abs(grace.x + grace.width - (first.x + first.width / 2)) < 3, 'step 1 is planned at the end of the grace period');
  await shot('02-started-not-started-pending');
  await page.getByLabel('Show').selectOption('plan');
});

step('advancing the clock sends step 1; the timeline shows the sends', async () => {
  await page.getByRole('button', { name: 'Advance the clock by 25 minutes' }).click();
  await page.locator('#clock-now', { hasText: '14:25' }).waitFor();
  for (const name of ['Ada Lovelace', 'Grace Hopper', 'Alan Turing', 'Katherine Johnson']) {
    await row(name).getByText('In Progress').waitFor();
    await timelineRow(name).locator('.mk-sent[data-step="1"]').waitFor();
  }
  assert.match(await row('Ada Lovelace').innerText(), /ada@engines\.example/);
  assert.equal(await page.locator('.tl-track .mk-planned').count(), 4);
  await shot('03-sent');
});

step('a sent message as the candidate sees it, with its headers', async () => {
  await page.getByRole('link', { name: 'Ada Lovelace', exact: true }).first().click();
  await page.getByRole('heading', { name: /Ada Lovelace/, level: 1 }).waitFor();
  await page.getByRole('link', { name: 'View message' }).click();
  await page.getByRole('heading', { name: 'Hello Ada', level: 1 }).waitFor();
  const headers = await page.locator('dl.headers').innerText();
  assert.match(headers, /From\s+"Alice Recruiter" <alice@acme\.example>/);
  assert.match(headers, /To\s+<ada@engines\.example>/);
  assert.match(headers, /List-Unsubscribe-Post\s+List-Unsubscribe=One-Click/);
  const frame = page.locator('iframe.message-frame');
  assert.equal(await frame.getAttribute('sandbox'), '');
  await page.frameLocator('iframe.message-frame').locator('body').getByText('Hi Ada, we admire Analytical Engines.').waitFor();
  await shot('04-message');
  await page.getByRole('link', { name: 'Back to the outbox' }).waitFor();
  await page.getByRole('link', { name: 'Back to the candidate' }).click();
  await page.getByRole('heading', { name: /Ada Lovelace/, level: 1 }).waitFor();
});

step('the outbox and a message are Preact components (outbox.js, vendored Preact + htm), focused and accessible at both sizes', async () => {
  await page.getByRole('link', { name: 'Outbox', exact: true }).first().click();
  await page.getByRole('heading', { name: 'Outbox', level: 1 }).waitFor();
  const outbox = page.locator('main [data-component="outbox"]');
  assert.equal(await outbox.count(), 1, 'the outbox page is rendered by outbox.js');
  assert.equal(await page.evaluate(() => document.activeElement?.matches('main [data-component="outbox"] h1')), true, 'the heading has focus after the navigation');
  const loaded = await page.evaluate(() => performance.getEntriesByType('resource').map((e) => new URL(e.name).pathname));
  for (const file of ['/console/outbox.js', '/console/vendor/preact.module.js', '/console/vendor/hooks.module.js', '/console/vendor/htm.module.js']) {
    assert.ok(loaded.includes(file), `${file} was loaded: ${loaded.join(', ')}`);
  }
  assert.equal(await outbox.locator('table caption').innerText(), 'Sent messages, newest first');
  assert.equal(await outbox.locator('tbody td[data-label="To"]', { hasText: 'ada@engines.example' }).count(), 1);
  await expectAccessible('the outbox (components)');
  await page.getByRole('link', { name: /^View message to ada@engines\.example/ }).first().click();
  await page.getByRole('heading', { name: 'Hello Ada', level: 1 }).waitFor();
  assert.equal(await page.locator('main [data-component="outbox-message"]').count(), 1, 'the message page is rendered by outbox.js');
  assert.equal(await page.locator('iframe.message-frame').getAttribute('sandbox'), '');
  await expectAccessible('a message (components)');
  await page.setViewportSize({ width: 390, height: 844 });
  try {
    await noSidewaysScroll('a message (components)');
    await page.goto(`${BASE}/#/outbox`);
    await page.locator('main [data-component="outbox"] h1').waitFor();
    await noSidewaysScroll('the outbox (components)');
  } finally {
    await page.setViewportSize({ width: 1440, height: 900 });
  }
  // Back where the walk was: Ada's enrollment, through the message's own link.
  await page.getByRole('link', { name: /^View message to ada@engines\.example/ }).first().click();
  await page.getByRole('link', { name: 'Back to the candidate' }).click();
  await page.getByRole('heading', { name: /Ada Lovelace/, level: 1 }).waitFor();
});

step('a hard bounce posted to /dev/ses-events ends a single-address candidate "Bounced (Ended)"', async () => {
  const outbox = await dev('GET', '/dev/outbox');
  const sent = outbox.items.find((m) => m.to === 'ada@engines.example' && m.step_index === 1);
  assert.ok(sent, 'step 1 to Ada is in the outbox');
  const message = {
    eventType: 'Bounce',
    bounce: {
      bounceType: 'Permanent',
      bounceSubType: 'General',
      bouncedRecipients: [{ emailAddress: 'ada@engines.example', status: '5.1.1', action: 'failed' }],
      feedbackId: 'browser-test-bounce-1',
      timestamp: '2026-12-01T14:25:30.000Z',
    },
    mail: { messageId: sent.message_id, timestamp: sent.sent_at, source: 'alice@acme.example', destination: ['ada@engines.example'] },
  };
  await dev('POST', '/dev/ses-events', {
    Type: 'Notification',
    MessageId: 'sns-browser-test-1',
    TopicArn: 'arn:aws:sns:local:000000000000:outreach-ses-events',
    Message: JSON.stringify(message),
    Timestamp: '2026-12-01T14:25:30.000Z',
  });
  // A few minutes later (the re-send window), with no address left, it has ended.
  await page.getByLabel('To (UTC)').fill('2026-12-01T14:30');
  await page.getByRole('button', { name: 'Move clock' }).click();
  await page.locator('#clock-now', { hasText: '14:30' }).waitFor();
  await page.getByRole('heading', { name: /Ada Lovelace\s+Bounced \(Ended\)/, level: 1 }).waitFor();
  await page.getByRole('heading', { name: 'Retry with another address' }).waitFor();
  await page.getByRole('link', { name: 'Backend Q1' }).first().click();
  await row('Ada Lovelace').getByText('Bounced (Ended)').waitFor();
  await timelineRow('Ada Lovelace').locator('.mk-bounced[data-step="1"]').waitFor();
  await shot('05-bounced');
});

step('what comes back, from the console: a delivery and a reply', async () => {
  await page.getByRole('link', { name: 'Alan Turing', exact: true }).first().click();
  await page.getByRole('button', { name: /^Delivery for attempt 1/ }).click();
  await page.locator('#status', { hasText: 'Delivery posted.' }).waitFor();
  await page.getByRole('cell', { name: 'Delivered' }).first().waitFor();
  await page.getByRole('link', { name: 'Backend Q1' }).first().click();
  await page.getByRole('link', { name: 'Katherine Johnson', exact: true }).first().click();
  await page.getByRole('button', { name: /^Reply for attempt 1/ }).click();
  await page.getByRole('heading', { name: /Katherine Johnson\s+Replied \(Ended\)/, level: 1 }).waitFor();
  await page.getByRole('link', { name: 'Backend Q1' }).first().click();
  await row('Katherine Johnson').getByText('Replied (Ended)').waitFor();
  await timelineRow('Alan Turing').locator('.mk-delivered[data-step="1"]').waitFor();
  await timelineRow('Katherine Johnson').locator('.mk-replied[data-step="1"]').waitFor();
});

step('the replies inbox: the reply in its own words, its class, read, answered in place (R-11.2, R-12.2)', async () => {
  await page.getByRole('link', { name: 'Replies', exact: true }).click();
  await page.getByRole('heading', { name: 'Replies', level: 1 }).waitFor();
  const card = page.getByRole('article', { name: 'Reply from Katherine Johnson' });
  await card.locator('blockquote', { hasText: 'Thanks for reaching out, happy to talk this week.' }).waitFor();
  await card.locator('.badge.rc-interested', { hasText: 'Interested' }).waitFor();
  await card.locator('.badge.rc-unread', { hasText: 'Unread' }).waitFor();
  // The campaign by its name, never its id.
  await card.getByRole('link', { name: 'Backend Q1' }).waitFor();
  await expectAccessible('replies inbox');
  await shot('05b-replies');

  await card.getByRole('button', { name: 'Mark as read: Katherine Johnson' }).click();
  await page.locator('#status', { hasText: 'Marked as read.' }).waitFor();
  await card.getByRole('button', { name: 'Mark as unread: Katherine Johnson' }).waitFor();
  await page.getByLabel('Unread only').check();
  await page.getByText('No replies match.').waitFor();
  await page.getByLabel('Unread only').uncheck();
  await card.waitFor();

  // Another tab (or a colleague) answers after this page loaded: the page asks the service,
  // not its own copy of the reply, before another answer leaves (outside review).
  const token = await page.evaluate(() => sessionStorage.getItem('outreach.console.token'));
  const auth = { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' };
  const replies = await (await fetch(`${BASE}/v1/replies`, { headers: auth })).json();
  const theReply = replies.items.find((x) => /happy to talk this week/.test(x.text || ''));
  assert.ok(theReply && !theReply.answered_at, `an unanswered reply: ${JSON.stringify(replies.items)}`);
  const elsewhere = await fetch(`${BASE}/v1/candidates/${theReply.candidate_id}/messages`, {
    method: 'POST',
    headers: auth,
    body: JSON.stringify({ in_reply_to: theReply.id, body: '<p>From another tab.</p>' }),
  });
  assert.equal(elsewhere.status, 201, await elsewhere.text());

  await card.locator('summary', { hasText: 'Answer Katherine Johnson' }).click();
  await card.getByLabel('Your answer to Katherine Johnson').fill('Great, Thursday 3pm <works> for us.\n\nTalk soon & {{ bye }}');
  await card.getByRole('button', { name: 'Send answer' }).click();
  await card.getByText(/This reply was already answered \(.*\)\. Send another answer\?/).waitFor();
  await card.getByRole('button', { name: 'Yes, send another answer' }).click();
  await page.locator('#status', { hasText: 'Answer sent to katherine@nasa.example.' }).waitFor();
  const outbox = await dev('GET', '/dev/outbox');
  const answers = outbox.items.filter((m) => m.to === 'katherine@nasa.example' && /^Re: /.test(m.subject));
  assert.equal(answers.length, 2, `both answers left: ${JSON.stringify(outbox.items.map((m) => [m.to, m.subject]))}`);
  const raws = await Promise.all(answers.map(async (m) => (await fetch(`${BASE}/dev/outbox/${encodeURIComponent(m.id)}`)).text()));
  const raw = raws.find((r) => /Thursday 3pm/.test(r));
  assert.ok(raw, 'the console\'s answer is in the outbox');
  assert.match(raw, /^In-Reply-To: <console-/m, 'threaded under the reply');
  // Typed text, not HTML or a template: shown as typed, paragraphs kept.
  assert.match(raw, /Thursday 3pm (&#60;|&lt;)works(&#62;|&gt;) for us/);
  assert.doesNotMatch(raw, /<p>[^\n]*3pm <works>/);
  assert.match(raw, /<p>Talk soon (&#38;|&amp;) (&#123;|\{)(&#123;|\{) bye/);
  await shot('05c-replies-answered');
  // The card says it was answered; another answer is asked about first (issue 22).
  await card.locator('.badge.rc-answered', { hasText: 'Answered' }).waitFor();
  await card.locator('.answered', { hasText: /^Answered .*CET/ }).waitFor();
  await card.locator('summary', { hasText: 'Answer Katherine Johnson again' }).click();
  await card.getByLabel('Your answer to Katherine Johnson').fill('One more thing.');
  await card.getByRole('button', { name: 'Send answer' }).click();
  await card.getByText(/This reply was already answered \(.*\)\. Send another answer\?/).waitFor();
  await card.getByRole('button', { name: 'Cancel' }).click();
  assert.equal((await dev('GET', '/dev/outbox')).items.length, outbox.items.length, 'nothing more sent');
  // A class correction says at once whether the candidate can still be mailed.
  await card.locator('.mailable', { hasText: /^Can still be mailed at katherine@nasa\.example/ }).waitFor();
  const correct = async (cls) => {
    await card.getByLabel('Class', { exact: true }).selectOption(cls);
    await card.getByRole('button', { name: "Change class of Katherine Johnson's reply" }).click();
  };
  await correct('opt_out');
  await card.locator('.mailable', { hasText: /^Opted out: they asked not to be contacted, so no address of theirs is mailed again/ }).waitFor();
  // Nor is an answer offered that the service would refuse.
  await card.getByText('No answer can be sent: the address this reply came from asked not to be mailed.').waitFor();
  assert.equal(await card.locator('summary', { hasText: 'Answer Katherine Johnson' }).count(), 0);
  await correct('interested');
  await card.locator('.mailable', { hasText: /^Can still be mailed at katherine@nasa\.example/ }).waitFor();
  await card.locator('summary', { hasText: 'Answer Katherine Johnson' }).waitFor();
  await page.getByRole('link', { name: 'Backend Q1' }).first().click();
  await page.getByRole('heading', { name: /Backend Q1/, level: 1 }).waitFor();
});

step('pausing one candidate shows "Paused"; the timeline for the README', async () => {
  await page.getByRole('button', { name: 'Pause Grace Hopper' }).click();
  await row('Grace Hopper').getByText('Paused').waitFor();
  // A paused candidate's next step promises no time.
  assert.match(await row('Grace Hopper').innerText(), /Step 2 · On hold until resumed/);
  assert.doesNotMatch(await row('Grace Hopper').innerText(), /Scheduled/);
  assert.match(await row('Alan Turing').innerText(), /In Progress/);
  await page.getByRole('button', { name: 'Resume Grace Hopper' }).waitFor();
  await expectAccessible('campaign after pause');
  await shot('06-paused');
  const timeline = page.locator('figure.timeline');
  await timeline.scrollIntoViewIfNeeded();
  await page.locator('section', { has: page.getByRole('heading', { name: 'Timeline (Europe/Berlin)' }) }).screenshot({
    path: join(ARTIFACTS, 'timeline.png'),
    timeout: 20_000,
  });
  // A status filter, and several candidates at once (issue 22, gap 5).
  await page.getByLabel('Status', { exact: true }).selectOption('paused');
  await row('Alan Turing').waitFor({ state: 'detached' });
  assert.deepEqual(await page.locator('tbody tr[data-enrollment] th a').allInnerTexts(), ['Grace Hopper']);
  await page.getByRole('checkbox', { name: 'Select Grace Hopper' }).check();
  await page.getByRole('button', { name: 'Resume selected' }).click();
  await page.locator('#status', { hasText: '1 resumed.' }).waitFor();
  await page.getByLabel('Status', { exact: true }).selectOption('');
  await row('Alan Turing').waitFor();
  await page.getByRole('checkbox', { name: 'Select Grace Hopper' }).check();
  await page.getByRole('checkbox', { name: 'Select Alan Turing' }).check();
  await page.getByText('2 selected').waitFor();
  // Pausing the two pauses the one running; resuming brings Alan back, Grace stays paused.
  await page.getByRole('button', { name: 'Pause selected' }).click();
  await page.locator('#status', { hasText: '2 paused.' }).waitFor();
  await row('Alan Turing').getByText('Paused').waitFor();
  await page.getByRole('checkbox', { name: 'Select Alan Turing' }).check();
  await page.getByRole('button', { name: 'Resume selected' }).click();
  await page.locator('#status', { hasText: '1 resumed.' }).waitFor();
  await row('Alan Turing').getByText('In Progress').waitFor();
  await row('Grace Hopper').getByText('Paused').waitFor();
  await expectAccessible('campaign with a selection');
});

step('the Outreach view: counts per status and step, a sender notification, Re-link', async () => {
  // The sender account loses its verification; step 2 is due on 3 December.
  await dev('POST', '/dev/faults', { sender: 'alice@acme.example', error: 'not_verified' });
  await page.getByRole('button', { name: 'Advance the clock by 1 day' }).click();
  await page.locator('#clock-now', { hasText: '2 Dec' }).waitFor();
  await page.getByRole('button', { name: 'Advance the clock by 1 day' }).click();
  await page.locator('#clock-now', { hasText: '3 Dec' }).waitFor();
  await page.getByRole('heading', { name: /Backend Q1\s+Paused/ }).waitFor();
  await page.getByText(/paused by the service: the sender account has a connection error/).waitFor();
  await dev('POST', '/dev/faults', { sender: 'alice@acme.example', error: 'none' });

  // Home says what needs attention, and each campaign's rates.
  await page.getByRole('link', { name: 'Projects', exact: true }).first().click();
  const attention = page.locator('section.attention');
  await attention.getByText(/is paused by the service: the sender account has a connection error/).waitFor();
  assert.match(await attention.innerText(), /Backend Q1 is paused by the service/);
  assert.match(await attention.innerText(), /Backend hiring: /, 'the open notification, by project name');
  const rates = page.getByRole('table', { name: 'Rates per campaign over the last 30 days' });
  const q1 = rates.getByRole('row', { name: /Backend Q1/ });
  await q1.waitFor();
  assert.match(await q1.innerText(), /Backend Q1\s+4\s+1 \(25 %\)\s+1 \(25 %\)/, 'sent 4, replied 1 of 4, bounced 1 of 4');
  await expectAccessible('home with what needs attention');
  await shot('07a-home-attention');

  await page.getByRole('link', { name: 'Backend hiring' }).first().click();
  await page.getByRole('heading', { name: 'Backend hiring — Outreach' }).waitFor();
  const campaign = page.getByRole('row', { name: /Backend Q1/ });
  for (const chip of ['Bounced (Ended): 1', 'Replied (Ended): 1', 'Paused: 1', 'In Progress: 1']) {
    await campaign.getByText(chip, { exact: true }).waitFor();
  }
  assert.match(await campaign.innerText(), /Step 1: \d+ sent · 1 delivered · 1 bounced · 1 replied/);
  await page.getByRole('heading', { name: 'Notifications (1 open)' }).waitFor();
  await expectAccessible('outreach view');
  await shot('07-outreach-notification');
  await page.getByRole('button', { name: /^Re-link the sender account/ }).click();
  await page.getByRole('heading', { name: 'Notifications (0 open)' }).waitFor();
  // Paused by the service, so it resumes by itself once the account is connected again.
  await campaign.getByText('Running').waitFor();
  await shot('08-outreach-relinked');
});

step('adding candidates to a second campaign: who was refused and who was mailed before, by campaign name (R-5.6, R-3.8)', async () => {
  // On the project's Outreach view, where the previous step ended.
  await page.getByRole('heading', { name: 'Backend hiring — Outreach' }).waitFor();
  await page.getByLabel('Campaign name').fill('Backend Q2');
  await page.getByLabel('Template', { exact: true }).selectOption({ label: 'Intro (2 steps)' });
  await page.getByRole('button', { name: 'Create campaign' }).click();
  await page.getByRole('heading', { name: /Backend Q2\s+Draft/ }).waitFor();
  for (const name of ['Alan Turing', 'Katherine Johnson']) {
    await page.getByRole('checkbox', { name: new RegExp(`^${name}`) }).check();
  }
  await page.getByRole('button', { name: 'Add selected candidates' }).click();
  await page.locator('#status', { hasText: '1 added, 1 not added' }).waitFor();
  const refusal = page.getByRole('alert').filter({ hasText: 'Some candidates were not added' });
  await refusal.getByText('Alan Turing: already in a running campaign: “Backend Q1”', { exact: false }).waitFor();
  const notice = page.locator('.notice', { hasText: 'worth a look' });
  await notice.getByText(/Katherine Johnson: replied before \(interested\) in “Backend Q1”/).waitFor();
  assert.doesNotMatch(await page.locator('main').innerText(), /cmp_|campaign [0-9a-f]{6}/i, 'no campaign ids shown');
  await expectAccessible('add candidates with warnings');
  await shot('09-add-warnings');
});

step('a template with an unknown field is caught when saved; edited; its campaign reviewed and fixed before start (R-4.2, R-4.3, R-5.5)', async () => {
  await page.getByRole('link', { name: 'Templates', exact: true }).click();
  await page.getByRole('heading', { name: 'Messaging templates' }).waitFor();
  await page.getByLabel('Template name').fill('Follow-up');
  await page.getByLabel('Subject of step 1').fill('Hi {{ candidate.nickname }}');
  await page.getByLabel('Body of step 1 (HTML)').fill('<p>Hello </p>');
  // The picker puts a field where the cursor is.
  await page.getByLabel('Body of step 1 (HTML)').press('End');
  await page.getByLabel('Merge field for step 1').selectOption('sender.first_name');
  assert.equal(await page.getByLabel('Body of step 1 (HTML)').inputValue(), '<p>Hello </p>{{ sender.first_name }}');
  await page.getByRole('button', { name: 'Create template' }).click();
  const refused = page.getByRole('alert').filter({ hasText: 'candidate.nickname' });
  await refused.getByText(/Step 1, subject: “candidate.nickname” is not a merge field .*\{\{ custom.nickname \}\}/).waitFor();
  assert.equal((await refused.innerText()).match(/candidate\.nickname/g).length, 1, 'the error is said once');
  // Said at the field too: the subject is marked, described by the message, and focused.
  const subject1 = page.getByLabel('Subject of step 1');
  assert.equal(await subject1.getAttribute('aria-invalid'), 'true');
  assert.match(await page.locator('#tpl-subject-1-error').innerText(), /candidate\.nickname/);
  assert.match(await subject1.getAttribute('aria-describedby'), /tpl-subject-1-error/);
  assert.ok(await subject1.evaluate((el) => el === document.activeElement), 'the subject has the focus');
  assert.equal(await page.getByLabel('Body of step 1 (HTML)').getAttribute('aria-invalid'), null);
  // A misspelt root and a bare name are caught too (they would block every candidate, R-4.3).
  await page.getByLabel('Subject of step 1').fill('Hi {{ candidat.first_name }} {{ nickname | default("") }}');
  await page.getByRole('button', { name: 'Create template' }).click();
  const typos = page.getByRole('alert').filter({ hasText: 'candidat.first_name' });
  await typos.getByText(/“candidat\.first_name” is not a merge field: a field starts with/).waitFor();
  await typos.getByText(/“nickname” is not a merge field/).waitFor();
  await page.getByLabel('Subject of step 1').fill('Hi {{ custom.nickname }}');
  await page.getByRole('button', { name: 'Create template' }).click();
  await page.locator('#status', { hasText: 'Template “Follow-up” created.' }).waitFor();

  await page.locator('summary', { hasText: 'Follow-up — 1 step' }).click();
  await page.getByRole('button', { name: 'Edit Follow-up' }).click();
  const editor = page.getByRole('form', { name: 'Edit Follow-up' });
  await editor.getByLabel('Template name').fill('Follow-up v2');
  await editor.getByRole('button', { name: 'Save template' }).click();
  await page.locator('#status', { hasText: 'Template “Follow-up v2” saved.' }).waitFor();
  await page.locator('summary', { hasText: 'Follow-up v2 — 1 step' }).waitFor();

  await page.getByRole('link', { name: 'Projects', exact: true }).first().click();
  await page.getByRole('link', { name: 'Backend hiring' }).first().click();
  await page.getByLabel('Campaign name').fill('Backend Q3');
  await page.getByLabel('Template', { exact: true }).selectOption({ label: 'Follow-up v2 (1 step)' });
  await page.getByRole('button', { name: 'Create campaign' }).click();
  await page.getByRole('heading', { name: /Backend Q3\s+Draft/ }).waitFor();
  // An empty campaign cannot be started.
  assert.ok(await page.getByRole('button', { name: 'Start campaign' }).isDisabled());
  await page.getByText('Add candidates first.').waitFor();
  await page.getByRole('checkbox', { name: /^Katherine Johnson/ }).check();
  await page.getByRole('button', { name: 'Add selected candidates' }).click();
  await page.locator('#status', { hasText: '1 added' }).waitFor();
  const review = page.locator('section', { has: page.getByRole('heading', { name: 'Review before start' }) });
  await review.getByText('1 missing merge field').waitFor();
  await expectAccessible('campaign review with a missing field');
  await shot('09b-review-missing');
  await review.getByRole('textbox', { name: 'nickname for Katherine Johnson', exact: true }).fill('Kat');
  await review.getByRole('button', { name: 'Set' }).click();
  await review.getByText('Every merge field has a value for every candidate.').waitFor();
  await review.getByRole('cell', { name: 'Hi Kat' }).waitFor();
  await page.getByRole('button', { name: 'Start campaign' }).click();
  await page.getByRole('heading', { name: /Backend Q3\s+Running/ }).waitFor();
  await page.getByRole('link', { name: 'Backend hiring' }).first().click();
  await page.getByRole('heading', { name: 'Backend hiring — Outreach' }).waitFor();
});

step('importing a spreadsheet: columns chosen, every bad row reported by number, the rest imported into a campaign (R-3.7)', async () => {
  await page.getByRole('link', { name: 'Candidates', exact: true }).click();
  await page.getByRole('heading', { name: 'Candidates', level: 1 }).waitFor();
  const csv = [
    'Given Name;Surname;Employer;Contact',
    'Mary;Jackson;NASA;mary@nasa.example',
    'Ada;Lovelace;Analytical Engines;ada@engines.example',
    'Dorothy;Vaughan;NASA;not-an-address',
  ].join('\r\n');
  await page.getByLabel('CSV file').setInputFiles({ name: 'people.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) });
  await page.getByLabel('Choose what each column holds').check();
  // "Contact" is no header the service knows: the recruiter says it is an email.
  await page.getByLabel('Column 1: Given Name').waitFor();
  assert.equal(await page.getByLabel('Column 1: Given Name').inputValue(), 'first_name');
  assert.equal(await page.getByLabel('Column 3: Employer').inputValue(), 'company');
  assert.equal(await page.getByLabel('Column 4: Contact').inputValue(), '');
  await page.getByLabel('Column 4: Contact').selectOption('email:work');
  await page.getByLabel('Add the imported candidates to').selectOption({ label: 'Backend Q2 (Backend hiring)' });
  await expectAccessible('import');
  await page.getByRole('button', { name: 'Import', exact: true }).click();
  await page.locator('#status', { hasText: 'Import: 1 created, 0 updated, 1 skipped, 1 row not imported.' }).waitFor();
  const bad = page.getByRole('table', { name: 'Rows not imported' });
  const rows = await bad.locator('tbody tr').allInnerTexts();
  assert.equal(rows.length, 1, `one bad row: ${rows}`);
  assert.match(rows[0], /^3\tEmail \(business\)\t.*not-an-address/, 'reported by its data row number and field');
  // Every row not imported can be taken away as a CSV (only 200 are shown).
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'Download the row not imported (CSV)' }).click()]);
  const saved = readFileSync(await download.path(), 'utf8');
  assert.match(saved, /^Row,Field,Problem\r\n"3","Email \(business\)",".*not-an-address/, saved);
  // What the campaign did with them is said too, each refusal by its reason.
  const added = await page.locator('.import-campaign li').allInnerTexts();
  assert.deepEqual(added, ['2 candidates added to “Backend Q2”.', "2 candidates added with a warning (contacted, bounced or replied before): see the campaign's candidates."], JSON.stringify(added));
  await shot('09c-import');
  await row('Mary Jackson').waitFor();
  assert.match(await row('Mary Jackson').innerText(), /mary@nasa\.example \(Business\)/);
  await page.getByRole('link', { name: 'Projects', exact: true }).first().click();
  await page.getByRole('link', { name: 'Backend hiring' }).first().click();
  await page.getByRole('link', { name: 'Backend Q2' }).first().click();
  await row('Mary Jackson').waitFor();
  await page.getByRole('link', { name: 'Backend hiring' }).first().click();
  await page.getByRole('heading', { name: 'Backend hiring — Outreach' }).waitFor();
});

step('a lost answer: "Try again" repeats the action under the same Idempotency-Key, so it happens once (§13)', async () => {
  await page.getByRole('link', { name: 'Candidates', exact: true }).click();
  await page.getByRole('heading', { name: 'Candidates', level: 1 }).waitFor();
  const keys = [];
  await page.route('**/v1/candidates', async (route) => {
    if (route.request().method() !== 'POST') return route.fallback();
    keys.push(route.request().headers()['idempotency-key']);
    if (keys.length > 1) return route.fallback();
    // The service creates the candidate; its answer never comes back.
    await route.fetch();
    return route.abort('connectionreset');
  });
  await page.getByLabel('First name').fill('Annie');
  await page.getByLabel('Last name').fill('Easley');
  await page.getByRole('textbox', { name: 'Address' }).first().fill('annie@nasa.example');
  await page.getByRole('button', { name: 'Create candidate' }).click();
  await page.getByText('The service cannot be reached').waitFor();
  // The browser logs the dropped answer: that one error is this step's own.
  let reset = -1;
  for (let i = 0; i < 50 && reset < 0; i++) {
    reset = consoleErrors.findIndex((e) => /ERR_CONNECTION_RESET/.test(e));
    if (reset < 0) await new Promise((r) => setTimeout(r, 100));
  }
  assert.ok(reset >= 0, `the dropped answer is logged: ${consoleErrors}`);
  consoleErrors.splice(reset, 1);
  await page.getByRole('button', { name: 'Try again' }).click();
  await page.locator('#status', { hasText: 'Annie Easley added.' }).waitFor();
  await page.unroute('**/v1/candidates');
  assert.equal(keys.length, 2, `two sends: ${keys}`);
  assert.ok(keys[0] && keys[0] === keys[1], `one key for both: ${keys}`);
  const listed = await page.getByRole('link', { name: 'Annie Easley', exact: true }).count();
  assert.equal(listed, 1, 'the candidate exists once');
});

step('settings: a daily limit, a delegate added and revoked, the credits ledger; a campaign in each candidate\'s time zone with a limit (R-6.7, R-2.4, R-3.2, R-6.8)', async () => {
  await page.getByRole('link', { name: 'Accounts & profile' }).click();
  await page.getByRole('heading', { name: 'Accounts & profile', level: 1 }).waitFor();
  await page.locator('summary', { hasText: 'Manage alice@acme.example' }).click();
  await page.getByLabel('Messages a day from alice@acme.example').fill('40');
  await page.getByRole('button', { name: 'Save limit' }).click();
  await page.locator('#status', { hasText: 'alice@acme.example: at most 40 messages a day.' }).waitFor();
  await page.locator('summary', { hasText: 'Manage alice@acme.example' }).click();
  assert.equal(await page.getByLabel('Messages a day from alice@acme.example').inputValue(), '40', 'kept');
  await page.getByLabel('User id').fill('bob');
  await page.getByRole('button', { name: 'Add delegate' }).click();
  await page.locator('#status', { hasText: 'bob may now send from alice@acme.example.' }).waitFor();
  await page.locator('summary', { hasText: 'Manage alice@acme.example' }).click();
  await page.getByRole('button', { name: 'Revoke bob' }).click();
  await page.locator('#status', { hasText: 'bob may no longer send from alice@acme.example' }).waitFor();
  await page.locator('summary', { hasText: 'Manage alice@acme.example' }).click();
  await page.getByText('Nobody else sends from it.').waitFor();
  await page.getByLabel('Messages a day from alice@acme.example').fill('');
  await page.getByRole('button', { name: 'Save limit' }).click();
  await page.locator('#status', { hasText: 'alice@acme.example: no daily limit.' }).waitFor();
  // Credits: the balance and each reveal, by candidate name.
  const credits = page.getByRole('region', { name: 'Contact credits' });
  await credits.getByText(/^\d+ credits? left\.$/).waitFor();
  const ledger = await credits.getByRole('table', { name: 'Credit ledger' }).locator('tbody tr').allInnerTexts();
  assert.ok(ledger.some((r) => /Granted/.test(r)), ledger.join(' | '));
  await expectAccessible('settings');

  await page.getByRole('link', { name: 'Projects', exact: true }).first().click();
  await page.getByRole('link', { name: 'Backend hiring' }).first().click();
  await page.getByRole('heading', { name: 'Backend hiring — Outreach' }).waitFor();
  await page.getByLabel('Campaign name').fill('Backend Q4');
  await page.getByLabel('When to send').selectOption('specific_time');
  await page.getByLabel('Time of day').fill('10:30');
  await page.getByLabel('Send at the times above in').selectOption('recipient');
  await page.getByLabel('Daily limit (optional)').fill('25');
  await page.getByRole('button', { name: 'Create campaign' }).click();
  await page.getByRole('heading', { name: /Backend Q4\s+Draft/ }).waitFor();
  const facts = await page.locator('dl.facts').innerText();
  assert.match(facts, /each candidate’s own/, facts);
  assert.match(facts, /at 10:30.*at most 25 a day/, facts);
  // A draft's own steps are edited in place.
  await page.locator('summary', { hasText: /^Edit the \d+ steps?$/ }).click();
  await page.getByLabel('Subject of step 1').fill('Quick question, {{ candidat.first_name }}');
  await page.getByRole('button', { name: 'Save steps' }).click();
  await page.getByRole('alert').filter({ hasText: 'candidat.first_name' }).waitFor();
  assert.equal(await page.getByLabel('Subject of step 1').getAttribute('aria-invalid'), 'true');
  await page.getByLabel('Subject of step 1').fill('Quick question, {{ candidate.first_name }}');
  await page.getByRole('button', { name: 'Save steps' }).click();
  await page.locator('#status', { hasText: 'Steps saved' }).waitFor();
  await page.locator('.step-list li').first().getByText('Quick question, {{ candidate.first_name }} — first').waitFor();
  assert.equal(await page.locator('#steps-editor [aria-invalid]').count(), 0, 'the marks are gone once saved');
  await expectAccessible('campaign steps');
});

step('the candidates list: search, filter, sort, several added to a campaign; a candidate edited, their history, erased (issue 22, R-3.8, R-3.6)', async () => {
  await page.getByRole('link', { name: 'Candidates', exact: true }).click();
  await page.getByRole('heading', { name: 'Candidates', level: 1 }).waitFor();
  const names = () => page.locator('tbody tr[data-candidate] th a').allInnerTexts();
  const count = page.locator('#cand-count');
  const search = page.getByLabel('Search', { exact: true });
  await count.getByText('6 candidates.').waitFor();
  assert.deepEqual(await names(), ['Ada Lovelace', 'Alan Turing', 'Annie Easley', 'Grace Hopper', 'Katherine Johnson', 'Mary Jackson']);
  // Search: in names, companies and addresses (Annie has no company, only a NASA address); case and accents ignored.
  await search.fill('nasa');
  await count.getByText('3 of 6 candidates match.').waitFor();
  assert.deepEqual(await names(), ['Annie Easley', 'Katherine Johnson', 'Mary Jackson']);
  await search.fill('LOVÉLACE');
  await count.getByText('1 of 6 candidates match.').waitFor();
  assert.deepEqual(await names(), ['Ada Lovelace']);
  await search.fill('nobody here');
  await page.getByText('No candidate matches: change the search or the filter.').waitFor();
  await search.fill('');
  // Filters by what the service may mail: Ada's only address bounced.
  await page.getByLabel('Show', { exact: true }).selectOption('bounced');
  await count.getByText('1 of 6 candidates match.').waitFor();
  assert.deepEqual(await names(), ['Ada Lovelace']);
  assert.match(await row('Ada Lovelace').innerText(), /ada@engines\.example \(Business, bounced\)/);
  await page.getByLabel('Show', { exact: true }).selectOption('mailable');
  await count.getByText('5 of 6 candidates match.').waitFor();
  assert.ok(!(await names()).includes('Ada Lovelace'));
  await page.getByLabel('Show', { exact: true }).selectOption('');
  await page.getByLabel('Sort by').selectOption('company');
  assert.deepEqual(await names(), ['Ada Lovelace', 'Alan Turing', 'Katherine Johnson', 'Mary Jackson', 'Grace Hopper', 'Annie Easley']);
  await page.getByLabel('Sort by').selectOption('name');
  // Select all that match, on every page; the selection outlives the search.
  await search.fill('nasa');
  await page.getByLabel('Select all 3 that match (every page)').check();
  await page.getByText('3 selected').waitFor();
  await search.fill('');
  assert.ok(await page.getByRole('checkbox', { name: 'Select Mary Jackson' }).isChecked());
  await page.getByRole('button', { name: 'Clear selection' }).click();
  await page.getByText('Select candidates to add several to a campaign at once.').waitFor();

  // Several added to a draft campaign at once: who was refused and who was mailed before, by campaign name.
  for (const name of ['Ada Lovelace', 'Alan Turing']) await page.getByRole('checkbox', { name: `Select ${name}` }).check();
  await page.getByText('2 selected').waitFor();
  await page.getByLabel('Campaign to add them to').selectOption({ label: 'Backend Q4 (Backend hiring)' });
  await page.getByRole('button', { name: 'Add to campaign' }).click();
  await page.locator('#status', { hasText: '“Backend Q4”: 1 added, 1 not added' }).waitFor();
  const refusal = page.getByRole('alert').filter({ hasText: 'Some candidates were not added' });
  await refusal.getByText('Alan Turing: already in a running campaign: “Backend Q1”', { exact: false }).waitFor();
  await page.locator('.notice', { hasText: 'worth a look' }).getByText(/Ada Lovelace: an address bounced in “Backend Q1”/).waitFor();
  await page.locator('.added').getByRole('link', { name: 'Backend Q4' }).waitFor();
  // The one not added stays selected, to add with "allow duplicate" or to clear.
  await page.getByText('1 selected').waitFor();
  assert.ok(await page.getByRole('checkbox', { name: 'Select Alan Turing' }).isChecked());
  assert.doesNotMatch(await page.locator('main').innerText(), /cmp_|cand_/, 'no ids shown');
  await expectAccessible('candidates with a selection added to a campaign');
  await shot('12-candidates-added');
  await noSidewaysScrollOnPhone('candidates with a selection');
  await page.getByRole('button', { name: 'Clear selection' }).click();

  // Edit a candidate: a refused value is said at its field; then saved.
  await page.getByRole('link', { name: 'Annie Easley', exact: true }).click();
  await page.getByRole('heading', { name: 'Annie Easley', level: 1 }).waitFor();
  await page.locator('summary', { hasText: 'Edit Annie Easley’s details' }).click();
  const edit = page.getByRole('form', { name: 'Edit Annie Easley' });
  await edit.getByLabel('Title').fill('Computer scientist');
  await edit.getByLabel('Company').fill('NASA');
  await edit.getByLabel('Location').fill('Cleveland');
  await edit.getByLabel('Time zone').fill('Mars/Olympus');
  const logged = consoleErrors.length;
  await edit.getByRole('button', { name: 'Save changes' }).click();
  await edit.getByRole('alert').waitFor();
  // The browser logs the refused call itself (422): that one error is this step's own.
  for (let i = 0; i < 50 && consoleErrors.length === logged; i++) await new Promise((r) => setTimeout(r, 100));
  const refusedCall = consoleErrors.splice(logged);
  assert.ok(refusedCall.length === 1 && /status of 422/.test(refusedCall[0]), `only the 422 is logged: ${refusedCall}`);
  assert.equal(await edit.getByLabel('Time zone').getAttribute('aria-invalid'), 'true');
  assert.match(await page.locator('#edit-timezone-error').innerText(), /\S/, 'the problem is said at the field');
  assert.doesNotMatch(await edit.innerText(), /R-\d/, 'no rule numbers');
  await expectAccessible('candidate edit with a refused value');
  await noSidewaysScrollOnPhone('candidate edit with a refused value');
  await edit.getByLabel('Time zone').fill('America/New_York');
  await edit.getByRole('button', { name: 'Save changes' }).click();
  await page.locator('#status', { hasText: 'Annie Easley saved.' }).waitFor();
  const facts = page.locator('dl.facts');
  await facts.getByText('Cleveland').waitFor();
  assert.match(await facts.innerText(), /Computer scientist[\s\S]*NASA[\s\S]*Cleveland[\s\S]*America\/New_York/);

  // A candidate's history across campaigns, newest first.
  await page.getByRole('link', { name: 'Candidates', exact: true }).first().click();
  await page.getByRole('link', { name: 'Ada Lovelace', exact: true }).click();
  await page.getByRole('heading', { name: 'Ada Lovelace', level: 1 }).waitFor();
  const history = page.getByRole('table', { name: 'Contact history of Ada Lovelace' });
  const q1 = history.locator('tbody tr', { has: page.getByRole('link', { name: 'Backend Q1', exact: true }) });
  await q1.waitFor();
  assert.match(await q1.innerText(), /from alice@acme\.example[\s\S]*Step 1 “Hello \{\{ candidate\.first_name \}\}”|Step 1 .*to ada@engines\.example/);
  assert.match(await q1.innerText(), /Bounced \(Ended\)[\s\S]*Bounced on/);
  // Newest first: Backend Q1 mailed her first (Q2 and Q4 took her on the same service day, in either order).
  const campaignsListed = await history.locator('tbody th a').allInnerTexts();
  assert.deepEqual([...campaignsListed].sort(), ['Backend Q1', 'Backend Q2', 'Backend Q4'], campaignsListed.join(', '));
  assert.equal(campaignsListed.at(-1), 'Backend Q1', 'the earliest last');
  await expectAccessible('candidate history');
  await noSidewaysScrollOnPhone('candidate history');

  // Erasure, asked once more in plain words. (Annie is in no campaign: the credits
  // ledger of a candidate revealed and then erased looks their name up and logs a 404.)
  await page.getByRole('link', { name: 'Candidates', exact: true }).first().click();
  await page.getByRole('link', { name: 'Annie Easley', exact: true }).click();
  await page.getByRole('button', { name: 'Erase Annie Easley…' }).click();
  await page.getByText(/Erase Annie Easley for your whole organization\? .*cannot be undone/).waitFor();
  await expectAccessible('candidate erase question');
  await page.getByRole('button', { name: 'Yes, erase Annie Easley' }).click();
  await page.getByRole('heading', { name: 'Candidates', level: 1 }).waitFor();
  await page.locator('#status', { hasText: 'Annie Easley erased.' }).waitFor();
  await count.getByText('5 candidates.').waitFor();
  assert.equal(await page.getByRole('link', { name: 'Annie Easley', exact: true }).count(), 0);
});

step('keyboard: the skip link, visible focus, and buttons reached with Tab', async () => {
  await page.goto(`${BASE}/#/`);
  await page.reload();
  await page.getByRole('heading', { name: 'Projects', level: 1 }).waitFor();
  await page.keyboard.press('Tab');
  const first = await page.evaluate(() => ({
    text: document.activeElement.textContent,
    outline: getComputedStyle(document.activeElement).outlineStyle,
  }));
  assert.equal(first.text, 'Skip to content');
  assert.notEqual(first.outline, 'none');
  await page.keyboard.press('Enter');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'main');
  // Enter on a focused link opens the project.
  await page.getByRole('link', { name: 'Backend hiring' }).focus();
  await page.keyboard.press('Enter');
  await page.getByRole('heading', { name: 'Backend hiring — Outreach' }).waitFor();
});

step('a wrong token is refused in plain words, and signing in again works', async () => {
  const before = consoleErrors.length;
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByRole('heading', { name: 'Sign in' }).waitFor();
  await page.locator('summary', { hasText: 'Or paste a token' }).click();
  await page.getByLabel('Bearer token').fill('not-a-token');
  await page.getByRole('button', { name: 'Use this token' }).click();
  await page.getByText('the service did not accept your sign-in token').waitFor();
  const shown = await page.locator('main').innerText();
  assert.doesNotMatch(shown, /base64|invalid input length|jwt/i, 'no decoder error reaches the recruiter');
  // The browser logs the refused call itself (401); nothing else may be logged.
  const logged = consoleErrors.splice(before);
  assert.ok(logged.every((m) => /status of 401/.test(m)), `only the 401 is logged: ${logged}`);
  await page.getByLabel('Organization').fill('acme');
  await page.getByLabel('User').fill('alice');
  await page.getByRole('button', { name: 'Sign in' }).click();
  // Back where the recruiter was signed out: the project's Outreach view.
  await page.getByRole('heading', { name: 'Backend hiring — Outreach' }).waitFor();
  assert.match(await page.locator('#who').innerText(), /Alice Recruiter · acme/);
});

step('on a phone (390×844): no page scrolls sideways, the header stays small, colours still pass', async () => {
  // Long data too: a long name and address must wrap, not widen the page.
  const longName = ['Maximiliana-Bartholomea', 'Wolfeschlegelsteinhausenbergerdorff'];
  await page.getByRole('link', { name: 'Candidates', exact: true }).click();
  await page.getByRole('heading', { name: 'Candidates', level: 1 }).waitFor();
  await page.getByLabel('First name').fill(longName[0]);
  await page.getByLabel('Last name').fill(longName[1]);
  await page.getByRole('textbox', { name: 'Address' }).first().fill('maximiliana.bartholomea.wolfeschlegelsteinhausenbergerdorff@engineering-department.example');
  await page.getByRole('button', { name: 'Create candidate' }).click();
  await page.getByRole('link', { name: longName.join(' '), exact: true }).waitFor();
  const longPage = await page.getByRole('link', { name: longName.join(' '), exact: true }).getAttribute('href');
  await page.getByRole('link', { name: 'Projects', exact: true }).first().click();
  await page.getByRole('link', { name: 'Backend hiring' }).first().click();
  await page.getByRole('heading', { name: 'Backend hiring — Outreach' }).waitFor();
  await page.setViewportSize({ width: 390, height: 844 });
  try {
    const pages = [
      ['#/', 'Projects'],
      ['#/replies', 'Replies'],
      ['#/candidates', 'Candidates'],
      ['#/templates', 'Templates'],
      ['#/settings', null],
      ['#/outbox', null],
      [longPage.replace(/^\//, ''), longName.join(' ')],
    ];
    const project = `#${(await page.evaluate(() => location.hash)).replace(/^#/, '')}`;
    await page.getByRole('heading', { name: 'Backend hiring — Outreach' }).waitFor();
    for (const [hash, heading] of [[project, 'Backend hiring — Outreach'], [null, null], ...pages]) {
      if (hash === null) {
        await page.getByRole('link', { name: 'Backend Q1' }).first().click();
        await page.getByRole('heading', { name: /Backend Q1/, level: 1 }).waitFor();
      } else if (hash === project) {
        // The project page, with its new-campaign form.
      } else if (hash) {
        await page.goto(`${BASE}/${hash}`);
        if (heading) await page.getByRole('heading', { name: heading, level: 1 }).waitFor();
        else await page.locator('main h1').first().waitFor();
      }
      const where = hash || 'campaign Backend Q1';
      const layout = await page.evaluate(() => {
        const width = document.documentElement.clientWidth;
        const wide = [...document.querySelectorAll('body *')]
          .filter((el) => !el.closest('table') || el.tagName === 'TABLE')
          .filter((el) => el.getBoundingClientRect().right > width + 1 && getComputedStyle(el).position !== 'absolute')
          .slice(0, 5)
          .map((el) => `${el.tagName.toLowerCase()}.${el.className} ${Math.round(el.getBoundingClientRect().right)}px`);
        const chrome = document.querySelector('.top').getBoundingClientRect().height + document.querySelector('#clock').getBoundingClientRect().height;
        return { scroll: document.documentElement.scrollWidth, width, wide, chrome };
      });
      assert.ok(layout.scroll <= layout.width, `${where} scrolls sideways: ${layout.scroll} px > ${layout.width} px; ${layout.wide.join(', ')}`);
      assert.ok(layout.chrome <= 844 * 0.25, `${where}: header and clock take ${layout.chrome} px of 844`);
      await expectAccessible(`${where} on a phone`);
      if (hash === '#/replies') await shot('10-phone-replies');
      if (!hash) await shot('10-phone-campaign');
    }
  } finally {
    await page.setViewportSize({ width: 1440, height: 900 });
  }
});

step('the whole day on a phone (390×844): import, a campaign fixed before start, a reply read, classed and answered, a sender error fixed by relinking', async () => {
  await page.setViewportSize({ width: 390, height: 844 });
  try {
    // 1. Import a spreadsheet: the bad row is reported by number.
    await page.goto(`${BASE}/#/candidates`);
    await page.getByRole('heading', { name: 'Candidates', level: 1 }).waitFor();
    const csv = ['First Name,Last Name,Work Email,Time Zone', 'Hedy,Lamarr,hedy@phone.example,America/New_York', 'Joan,Clarke,joan@phone.example,', 'Bad,Row,not-an-address,', 'Grete,Hermann,,'].join('\n');
    await page.getByLabel('CSV file').setInputFiles({ name: 'phone.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) });
    await page.getByRole('button', { name: 'Import', exact: true }).click();
    await page.locator('#status', { hasText: 'Import: 3 created, 0 updated, 0 skipped, 1 row not imported.' }).waitFor();
    await noSidewaysScroll('import');
    // The clock's time field is wide enough for a 12-hour time with its AM/PM.
    const clockWidth = (await page.locator('#clock-to').boundingBox()).width;
    assert.ok(clockWidth >= 210, `the clock field is not cut off: ${clockWidth} px`);

    // 2. A campaign from the template with a field the candidates lack; a second step added.
    await page.getByRole('link', { name: 'Projects', exact: true }).first().click();
    await page.getByRole('link', { name: 'Backend hiring' }).first().click();
    await page.getByRole('heading', { name: 'Backend hiring — Outreach' }).waitFor();
    await page.getByLabel('Campaign name').fill('Phone Q1');
    await page.getByLabel('Template', { exact: true }).selectOption({ label: 'Follow-up v2 (1 step)' });
    await page.getByRole('button', { name: 'Create campaign' }).click();
    await page.getByRole('heading', { name: /Phone Q1\s+Draft/ }).waitFor();
    await page.locator('summary', { hasText: 'Edit the 1 step' }).click();
    await page.getByRole('button', { name: 'Add a step' }).click();
    await page.getByLabel('Body of step 2 (HTML)').fill('<p>Just checking in, {{ candidate.title }}.</p>');
    await page.getByLabel('Days after step 1').fill('1');
    await page.getByRole('button', { name: 'Save steps' }).click();
    await page.locator('#status', { hasText: 'Steps saved' }).waitFor();
    for (const name of ['Hedy Lamarr', 'Joan Clarke', 'Grete Hermann']) await page.getByRole('checkbox', { name: new RegExp(`^${name}`) }).check();
    await page.getByRole('button', { name: 'Add selected candidates' }).click();
    await page.locator('#status', { hasText: '3 added' }).waitFor();
    // Grete, imported without an address, would wait at start: the review says so first.
    const noAddress = page.locator('.no-address');
    await noAddress.getByText('1 candidate has no address to mail').waitFor();
    await noAddress.getByRole('button', { name: 'Remove Grete Hermann' }).click();
    await page.locator('#status', { hasText: 'Grete Hermann removed from this campaign.' }).waitFor();
    await noAddress.waitFor({ state: 'detached' });

    // 3. The review catches the missing field before start; fixed in place.
    const review = page.locator('section', { has: page.getByRole('heading', { name: 'Review before start' }) });
    // Who gets what when, in the campaign's zone and the candidate's own (issue 22).
    const when = review.getByRole('table', { name: 'Who gets what when' });
    assert.match(await when.getByRole('row', { name: /Hedy Lamarr/ }).innerText(), /Step 1: .* CET · their time .* \(New York\)[\s\S]*Time zone: America\/New_York/);
    assert.match(await when.getByRole('row', { name: /Joan Clarke/ }).innerText(), /No time zone of their own/);
    await review.getByText('2 missing merge fields').waitFor();
    await noSidewaysScroll('campaign review');
    for (const [name, nickname] of [['Hedy Lamarr', 'Hedy'], ['Joan Clarke', 'Jo']]) {
      await review.getByRole('textbox', { name: `nickname for ${name}`, exact: true }).fill(nickname);
      await review.locator('li', { hasText: `${name}: steps 1 and 2 use “nickname”` }).getByRole('button', { name: 'Set' }).click();
      await review.getByText(`Hi ${nickname}`, { exact: true }).waitFor();
    }
    // A field the step uses and a candidate lacks: its fix opens the step, at the field.
    await review.getByText('2 missing merge fields').waitFor();
    const titleFix = review.locator('li', { hasText: 'Hedy Lamarr: step 2 uses “candidate.title”' });
    await titleFix.getByRole('link', { name: 'Set Hedy Lamarr’s title' }).waitFor();
    await titleFix.getByRole('button', { name: 'Give “candidate.title” a default in step 2' }).click();
    assert.ok(await page.getByLabel('Body of step 2 (HTML)').evaluate((el) => el === document.activeElement), 'the step body has the focus');
    await page.getByLabel('Body of step 2 (HTML)').fill('<p>Just checking in, {{ candidate.title | default("friend") }}.</p>');
    await page.getByRole('button', { name: 'Save steps' }).click();
    await review.getByText('Every merge field has a value for every candidate.').waitFor();
    await page.getByRole('button', { name: 'Start campaign' }).click();
    await page.getByRole('heading', { name: /Phone Q1\s+Running/ }).waitFor();
    // Once started, the list gives the plan in the candidate's own time too.
    await row('Hedy Lamarr').getByText(/Step 1 · Pending · .* CET · their time .*\(New York\)/).waitFor();

    // 4. The clock moves; step 1 leaves; Hedy replies.
    await page.getByRole('button', { name: '+25 min: advance the clock by 25 minutes' }).click();
    await row('Hedy Lamarr').getByText('In Progress').waitFor();
    // On a phone the timeline is a list per candidate, readable without an axis.
    const byCandidate = page.getByRole('list', { name: 'Timeline by candidate' });
    await byCandidate.locator('li[data-enrollment]', { hasText: 'Hedy Lamarr' }).locator('ol li', { hasText: /Step 1 sent / }).waitFor();
    assert.ok(!(await page.getByRole('list', { name: 'Timeline rows' }).isVisible()), 'the axis view is hidden on a phone');
    await noSidewaysScroll('campaign timeline');
    await page.getByRole('link', { name: 'Hedy Lamarr', exact: true }).first().click();
    await page.getByRole('button', { name: /^Reply for attempt 1/ }).click();
    await page.getByRole('heading', { name: /Hedy Lamarr\s+Replied \(Ended\)/, level: 1 }).waitFor();

    // 5. The reply is read, classed and answered in the inbox.
    await page.getByRole('link', { name: 'Replies', exact: true }).click();
    await page.getByRole('heading', { name: 'Replies', level: 1 }).waitFor();
    const card = page.getByRole('article', { name: 'Reply from Hedy Lamarr' });
    await card.waitFor();
    await noSidewaysScroll('replies');
    await card.getByRole('button', { name: 'Mark as read: Hedy Lamarr' }).click();
    await card.getByRole('button', { name: 'Mark as unread: Hedy Lamarr' }).waitFor();
    await card.getByLabel('Class', { exact: true }).selectOption('interested');
    await card.getByRole('button', { name: "Change class of Hedy Lamarr's reply" }).click();
    await card.locator('.badge.rc-interested').waitFor();
    await card.locator('summary', { hasText: 'Answer Hedy Lamarr' }).click();
    await card.getByLabel('Your answer to Hedy Lamarr').fill('Lovely, talk tomorrow at 10?');
    await card.getByRole('button', { name: 'Send answer' }).click();
    await page.locator('#status', { hasText: 'Answer sent to hedy@phone.example.' }).waitFor();
    await card.locator('.answered').waitFor();

    // 6. Step 2 fails on the sender account: home says so; relinking fixes it.
    await dev('POST', '/dev/faults', { sender: 'alice@acme.example', error: 'not_verified' });
    await page.getByRole('button', { name: '+1 day: advance the clock by 1 day' }).click();
    await page.getByRole('button', { name: '+1 day: advance the clock by 1 day' }).click();
    await dev('POST', '/dev/faults', { sender: 'alice@acme.example', error: 'none' });
    await page.goto(`${BASE}/#/`);
    const attention = page.locator('section.attention');
    await attention.getByText(/Phone Q1 is paused by the service: the sender account has a connection error/).waitFor();
    await noSidewaysScroll('home with a sender error');
    await shot('11-phone-day-home');
    await page.getByRole('link', { name: 'Backend hiring' }).first().click();
    await page.getByRole('heading', { name: 'Backend hiring — Outreach' }).waitFor();
    const sendFrom = page.locator('#campaign-sender option').first();
    assert.match(await sendFrom.innerText(), /— error/);
    await page.getByRole('button', { name: /^Re-link the sender account/ }).click();
    await page.getByRole('heading', { name: 'Notifications (0 open)' }).waitFor();
    await page.getByRole('row', { name: /Phone Q1/ }).getByText('Running').waitFor();
    // The "Send from" choice follows at once, without a reload.
    await page.locator('#campaign-sender option', { hasText: '— connected' }).first().waitFor({ state: 'attached' });
    await noSidewaysScroll('project after the relink');

    // A candidate known by one name only: the last name may stay empty, as the API allows.
    await page.goto(`${BASE}/#/candidates`);
    assert.equal(await page.getByLabel('Last name').getAttribute('required'), null);
    await page.getByLabel('First name').fill('Plato');
    await page.getByRole('textbox', { name: 'Address' }).first().fill('plato@academy.example');
    await page.getByRole('button', { name: 'Create candidate' }).click();
    await page.getByRole('link', { name: 'Plato', exact: true }).waitFor();

    // 7. The answer in Hedy's history says what it was; then Hedy is erased: her reply
    // stays counted, but is no work (no answer, no link, not unread on home).
    await page.goto(`${BASE}/#/candidates`);
    await page.getByRole('link', { name: 'Hedy Lamarr', exact: true }).click();
    await page.getByRole('heading', { name: 'Hedy Lamarr', level: 1 }).waitFor();
    await page.getByRole('table', { name: 'Contact history of Hedy Lamarr' }).getByText('An answer to their reply').waitFor();
    const logged = consoleErrors.length;
    await page.getByRole('button', { name: 'Erase Hedy Lamarr…' }).click();
    await page.getByRole('button', { name: 'Yes, erase Hedy Lamarr' }).click();
    await page.locator('#status', { hasText: 'Hedy Lamarr erased.' }).waitFor();
    // Back to the page that is gone: plain words, not the service's.
    await page.goBack();
    await page.getByRole('heading', { name: 'A removed candidate', level: 1 }).waitFor();
    await page.getByText(/This candidate is not here: erased/).waitFor();
    await page.getByRole('link', { name: 'Replies', exact: true }).click();
    const gone = page.getByRole('article', { name: 'Reply from A removed candidate' });
    await gone.getByText('No answer can be sent: this candidate was erased').waitFor();
    assert.equal(await gone.getByRole('link', { name: 'A removed candidate' }).count(), 0, 'no link to a page that is gone');
    assert.equal(await gone.locator('summary').count(), 0, 'no answer form');
    await gone.getByRole('button', { name: 'Mark as unread: A removed candidate' }).click();
    await gone.locator('.badge.rc-unread').waitFor();
    await page.goto(`${BASE}/#/`);
    await page.locator('section.attention h2').waitFor();
    assert.doesNotMatch(await page.locator('section.attention').innerText(), /unread repl/, 'an erased candidate is no work');
    // The credits ledger names the erased candidate without a link.
    await page.getByRole('link', { name: 'Accounts & profile' }).click();
    const ledger = page.getByRole('table', { name: 'Credit ledger' });
    await ledger.getByText('A removed candidate').first().waitFor();
    assert.equal(await ledger.getByRole('link', { name: 'A removed candidate' }).count(), 0);
    // The browser logs each look-up of the erased candidate (404): those are this step's own.
    const lookups = consoleErrors.splice(logged);
    assert.ok(lookups.every((e) => /status of 404/.test(e)), `only 404s are logged: ${lookups}`);
  } finally {
    await page.setViewportSize({ width: 1440, height: 900 });
  }
});

test('the page made no script errors, no policy violations and no outside requests', () => {
  assert.deepEqual(pageErrors, []);
  assert.deepEqual(consoleErrors, []);
  assert.deepEqual(blockedRequests, []);
});
