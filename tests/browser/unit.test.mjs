// Unit tests of the console's pure modules (message parsing, time zones and
// the timeline model), run by node without a browser.

import { test } from 'node:test';
import assert from 'node:assert/strict';

import { decodeWords, parseContentType, parseMessage } from '../../shared/app/src/console/mime.js';
import { CANDIDATE_FILTERS, candidateMatches, chunks, distinctNames, folded, sortCandidates, textToHtml, unknownFields, withoutRules } from '../../shared/app/src/console/text.js';
import { buildTimeline, midnights, position, ticks, timelineRow, zonedToUtc } from '../../shared/app/src/console/timeline.js';

const CRLF = (lines) => lines.join('\r\n');

test('a multipart/alternative message: headers, text and HTML parts', () => {
  const raw = CRLF([
    'Message-ID: <out_1@outbox.outreach.localhost>',
    'From: "Alice Recruiter" <alice@acme.example>',
    'To: <ada@engines.example>',
    'Subject: =?utf-8?B?SGVsbG8gQWRhIOKAlCDDqXTDqQ==?=',
    'List-Unsubscribe: <http://127.0.0.1:3000/v1/unsubscribe/abc>',
    'Content-Type: multipart/alternative; ',
    '\tboundary="b1"',
    '',
    '--b1',
    'Content-Type: text/plain; charset="utf-8"',
    'Content-Transfer-Encoding: quoted-printable',
    '',
    'Hi Ada, caf=C3=A9 =',
    'soon.',
    '--b1',
    'Content-Type: text/html; charset="utf-8"',
    'Content-Transfer-Encoding: base64',
    '',
    Buffer.from('<p>Hi <b>Ada</b> — café</p>').toString('base64'),
    '--b1--',
    '',
  ]);
  const msg = parseMessage(raw);
  assert.equal(msg.get('subject'), 'Hello Ada — été');
  assert.equal(msg.get('From'), '"Alice Recruiter" <alice@acme.example>');
  assert.equal(msg.text, 'Hi Ada, café soon.');
  assert.equal(msg.html, '<p>Hi <b>Ada</b> — café</p>');
  assert.equal(msg.parts.length, 2);
  assert.equal(msg.headers[0].name, 'Message-ID');
});

test('nested multiparts, attachments and a plain single-part message', () => {
  const raw = CRLF([
    'Subject: Re: Hello',
    'Content-Type: multipart/mixed; boundary=outer',
    '',
    '--outer',
    'Content-Type: multipart/alternative; boundary="inner"',
    '',
    '--inner',
    'Content-Type: text/html',
    '',
    '<p>inner</p>',
    '--inner--',
    '--outer',
    'Content-Type: application/pdf; name="cv.pdf"',
    'Content-Disposition: attachment; filename="cv.pdf"',
    'Content-Transfer-Encoding: base64',
    '',
    'JVBERi0=',
    '--outer--',
  ]);
  const msg = parseMessage(raw);
  assert.equal(msg.html, '<p>inner</p>');
  assert.equal(msg.text, null);
  assert.deepEqual(
    msg.parts.map((p) => [p.contentType, p.attachment, p.filename]),
    [
      ['text/html', false, null],
      ['application/pdf', true, 'cv.pdf'],
    ],
  );
  const plain = parseMessage('Subject: hi\n\nbody line\n');
  assert.equal(plain.text, 'body line\n');
  assert.equal(parseContentType('Text/HTML; Charset="ISO-8859-1"').params.charset, 'ISO-8859-1');
  assert.equal(decodeWords('=?iso-8859-1?Q?caf=E9_au?= =?iso-8859-1?Q?_lait?='), 'café au lait');
});

test('wall-clock times in a zone, across daylight saving (R-6.6)', () => {
  // 2026-03-29 02:30 does not exist in Berlin: it moves forward by the gap.
  assert.equal(new Date(zonedToUtc(2026, 3, 29, 2, 30, 'Europe/Berlin')).toISOString(), '2026-03-29T01:30:00.000Z');
  // 2026-10-25 02:30 happens twice: the earlier instant.
  assert.equal(new Date(zonedToUtc(2026, 10, 25, 2, 30, 'Europe/Berlin')).toISOString(), '2026-10-25T00:30:00.000Z');
  assert.equal(new Date(zonedToUtc(2026, 12, 1, 9, 0, 'Asia/Kolkata')).toISOString(), '2026-12-01T03:30:00.000Z');
  const days = midnights(Date.parse('2026-12-01T14:00:00Z'), Date.parse('2026-12-04T00:00:00Z'), 'America/New_York');
  assert.deepEqual(
    days.map((t) => new Date(t).toISOString()),
    ['2026-12-02T05:00:00.000Z', '2026-12-03T05:00:00.000Z'],
  );
});

test('axis ticks: hours over a short span, days over a long one', () => {
  const start = Date.parse('2026-12-01T13:30:00Z');
  const short = ticks(start, start + 4 * 3600e3, 'Europe/Berlin');
  assert.deepEqual(
    short.map((t) => new Date(t.t).toISOString().slice(11, 16)),
    ['14:00', '15:00', '16:00', '17:00'],
  );
  const long = ticks(start, start + 6 * 86400e3, 'Europe/Berlin');
  assert.equal(long.length, 6);
  assert.ok(long.every((t) => t.day));
  assert.equal(new Date(long[0].t).toISOString(), '2026-12-01T23:00:00.000Z');
  assert.ok(ticks(start, start + 400 * 86400e3, 'UTC').length <= 15);
  // Up to five days: midnights, and 06:00, 12:00, 18:00 between them.
  const mid = ticks(start, start + 2 * 86400e3, 'Europe/Berlin');
  assert.deepEqual(
    mid.map((t) => `${t.day ? 'day' : 'hour'} ${new Date(t.t).toISOString().slice(8, 16)}`),
    ['hour 01T17:00', 'day 01T23:00', 'hour 02T05:00', 'hour 02T11:00', 'hour 02T17:00', 'day 02T23:00', 'hour 03T05:00', 'hour 03T11:00'],
  );
});

test('a timeline row: grace, the latest attempt per step, earlier attempts, the end', () => {
  const enrollment = {
    id: 'enr_1',
    status: 'bounced',
    plan_start: '2026-12-01T14:00:00Z',
    ended_at: '2026-12-01T14:30:00Z',
    steps: [
      {
        index: 1,
        status: 'bounced',
        sent_at: '2026-12-01T14:25:00Z',
        scheduled_at: '2026-12-01T14:20:00Z',
        address: 'b@x.example',
        attempts: [
          { number: 1, status: 'bounced', sent_at: '2026-12-01T14:20:00Z', address: 'a@x.example' },
          { number: 2, status: 'bounced', sent_at: '2026-12-01T14:25:00Z', address: 'b@x.example' },
        ],
      },
      { index: 2, status: 'cancelled', sent_at: null, scheduled_at: '2026-12-03T14:20:00Z', attempts: [] },
      { index: 3, status: 'cancelled', sent_at: null, scheduled_at: null, attempts: [] },
    ],
  };
  const row = timelineRow(enrollment);
  assert.deepEqual(row.grace, { from: Date.parse('2026-12-01T14:00:00Z'), to: Date.parse('2026-12-01T14:20:00Z') });
  assert.deepEqual(
    row.marks.map((m) => [m.step, m.kind, m.earlier]),
    [
      [1, 'bounced', true],
      [1, 'bounced', false],
      [2, 'cancelled', false],
    ],
  );
  assert.deepEqual(row.end, { t: Date.parse('2026-12-01T14:30:00Z'), kind: 'bounced' });
  const replied = timelineRow({
    ...enrollment,
    status: 'replied',
    steps: [
      { index: 1, status: 'delivered', sent_at: '2026-12-01T14:20:00Z', attempts: [{ number: 1, status: 'delivered', sent_at: '2026-12-01T14:20:00Z' }] },
      { index: 2, status: 'cancelled', scheduled_at: '2026-12-03T14:20:00Z', attempts: [] },
    ],
  });
  assert.deepEqual(replied.marks.map((m) => m.kind), ['replied', 'cancelled']);
});

test('the timeline range covers every mark and now, with a margin', () => {
  const e = (id, at) => ({ id, status: 'not_started', plan_start: at, steps: [{ index: 1, status: 'pending', scheduled_at: at, attempts: [] }] });
  const now = Date.parse('2026-12-01T14:00:00Z');
  const model = buildTimeline([e('a', '2026-12-01T14:00:00Z'), e('b', '2026-12-02T10:00:00Z')], 'UTC', now);
  assert.ok(model.start < now);
  assert.ok(model.end > Date.parse('2026-12-02T10:20:00Z'));
  assert.equal(model.rows.length, 2);
  assert.ok(position(now, model.start, model.end) > 0 && position(now, model.start, model.end) < 5);
  assert.equal(buildTimeline([], 'UTC', NaN).start, null);
});

test('an answer is typed text: escaped, paragraphs at blank lines, line breaks kept (R-12.2)', () => {
  assert.equal(textToHtml('Hi <b>Ada</b> & {{ x }}'), '<p>Hi &#60;b&#62;Ada&#60;/b&#62; &#38; &#123;&#123; x &#125;&#125;</p>');
  assert.equal(textToHtml('One\nline\r\n\r\n  \nTwo'), '<p>One<br>line</p>\n<p>Two</p>');
  assert.equal(textToHtml('{% if x %}'), '<p>&#123;&#37; if x &#37;&#125;</p>');
});

test('service messages lose their rule numbers, and nothing else', () => {
  assert.equal(withoutRules('the campaign has no candidates: add candidates before starting it (R-5.2)'), 'the campaign has no candidates: add candidates before starting it');
  assert.equal(withoutRules('only its owner and its delegates may send from it (R-12.2, R-2.4)'), 'only its owner and its delegates may send from it');
  assert.equal(withoutRules('(it is on the suppression list, R-9.5), so nothing was sent'), '(it is on the suppression list), so nothing was sent');
  assert.equal(withoutRules('Version 2 of R&D'), 'Version 2 of R&D');
  assert.equal(withoutRules(null), null);
});

test("a template's merge fields: the known ones pass, typos and bare names are caught (R-4.2, R-4.3)", () => {
  assert.deepEqual(unknownFields('Hi {{ candidate.first_name }} from {{ sender.first_name }} at {{ campaign.name }}'), []);
  assert.deepEqual(unknownFields('{{ custom.nickname | default("there") }} {{ candidate.title | default("") }}'), []);
  assert.deepEqual(unknownFields('{% for s in custom.skills %}{{ s }}{% endfor %} {{ loop }}'), []);
  assert.deepEqual(unknownFields('{{ "a.b" }} {{ x if candidate.company else "y" }}'), ['x']);
  assert.deepEqual(unknownFields('{{ candidate.nickname }} {{ candidat.first_name }} {{ nickname }} {{ candidate }}'), ['candidate.nickname', 'candidat.first_name', 'nickname', 'candidate']);
});

test('the candidates list: search ignores case and accents, in names, title, company, location and addresses (issue 22)', () => {
  const ada = { id: 'a', first_name: 'Ada', last_name: 'Lovelace', full_name: 'Ada Lovelace', title: 'Analyst', company: 'Analytical Engines', location: 'Londres', emails: [{ address: 'ada@engines.example', status: 'valid' }] };
  const zoe = { id: 'z', first_name: 'Zoë', last_name: 'Ångström', full_name: 'Zoë Ångström', title: null, company: 'Crème  Brûlée Ltd', location: null, emails: [] };
  assert.equal(folded('  Zoë   ÅNGSTRÖM '), 'zoe angstrom');
  assert.ok(candidateMatches(ada, 'LOVÉLACE'));
  assert.ok(candidateMatches(ada, 'engines ada'), 'every word, anywhere');
  assert.ok(candidateMatches(ada, 'londres'));
  assert.ok(candidateMatches(ada, '@engines.example'));
  assert.ok(!candidateMatches(ada, 'ada navy'));
  assert.ok(candidateMatches(zoe, 'zoe angstrom'));
  assert.ok(candidateMatches(zoe, 'creme brulee'));
  assert.ok(candidateMatches(zoe, '   '), 'an empty search matches all');
});

test('the candidates list: filters by what the service may mail, sorts by name or company, and slices ids by 1,000', () => {
  const c = (id, name, company, emails, opted_out = false) => ({ id, full_name: name, company, emails, opted_out });
  const items = [
    c('1', 'Grace Hopper', 'Navy', [{ status: 'valid' }]),
    c('2', 'Ada Lovelace', 'Analytical Engines', [{ status: 'bounced' }]),
    c('3', 'Émile Borel', null, [{ status: 'suppressed' }, { status: 'valid' }]),
    c('4', 'Alan Turing', 'navy', [{ status: 'valid' }], true),
    c('5', 'No Address', 'Acme', []),
  ];
  const shown = (key) => items.filter(CANDIDATE_FILTERS[key][1]).map((x) => x.id);
  assert.deepEqual(shown(''), ['1', '2', '3', '4', '5']);
  assert.deepEqual(shown('mailable'), ['1', '3']);
  assert.deepEqual(shown('unmailable'), ['2', '4', '5']);
  assert.deepEqual(shown('bounced'), ['2']);
  assert.deepEqual(shown('opted_out'), ['3', '4']);
  const ids = (key) => sortCandidates(items, key).map((x) => x.id);
  assert.deepEqual(ids('name'), ['2', '4', '3', '1', '5']);
  assert.deepEqual(ids('company'), ['5', '2', '4', '1', '3'], 'no company last; case ignored, then by name');
  assert.deepEqual(ids('unknown'), ['1', '2', '3', '4', '5'], 'an unknown order keeps the list as it came');
  assert.deepEqual(items.map((x) => x.id), ['1', '2', '3', '4', '5'], 'the list itself is left as it was');
  assert.deepEqual(chunks([1, 2, 3, 4, 5], 2), [[1, 2], [3, 4], [5]]);
  assert.deepEqual(chunks([], 1000), []);
});

test('two candidates of one name are told apart by company, else address (issue 22)', () => {
  const names = distinctNames([
    { id: 'a', name: 'Ana Nach', company: '', address: 'ana@one.example' },
    { id: 'b', name: 'Ana Nach', company: 'Acme', address: 'ana@two.example' },
    { id: 'c', name: 'Bo Li', company: 'Acme', address: null },
    { id: 'd', name: 'Ana Nach', company: '', address: null },
  ]);
  assert.equal(names.get('a'), 'Ana Nach (ana@one.example)');
  assert.equal(names.get('b'), 'Ana Nach (Acme)');
  assert.equal(names.get('c'), 'Bo Li');
  assert.equal(names.get('d'), 'Ana Nach (another candidate 1)');
});
