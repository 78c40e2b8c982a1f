// The console's text rules, pure and without the page, so node tests them
// (tests/browser/unit.test.mjs): what a recruiter types becomes a mail's
// HTML, service messages lose their rule numbers, templates are checked for
// merge fields no candidate has.

/**
 * Plain text as the HTML body of a mail: every character shown as typed
 * (`<`, `&` and the merge-field braces escaped), blank lines as paragraphs,
 * single line breaks kept.
 */
export function textToHtml(text) {
  const escape = (s) => s.replace(/[&<>"'{}%]/g, (c) => `&#${c.charCodeAt(0)};`);
  return text
    .split(/\r?\n(?:[ \t]*\r?\n)+/)
    .map((p) => `<p>${escape(p).replace(/\r?\n/g, '<br>')}</p>`)
    .join('\n');
}

/** A service message without the spec's rule numbers ("(R-5.2)", ", R-2.4"), which mean nothing to a recruiter. */
export function withoutRules(text) {
  if (!text) return text;
  return String(text)
    .replace(/,?\s*(?:\bR-\d+(?:\.\d+)?|§\s?\d+)(?:\s*(?:,|and)\s*(?:\bR-\d+(?:\.\d+)?|§\s?\d+))*/g, '')
    .replace(/\s*\(\s*\)/g, '')
    .replace(/\s+([.,;:])/g, '$1');
}

export const MERGE_FIELDS = [
  ['candidate.first_name', 'Candidate: first name'],
  ['candidate.last_name', 'Candidate: last name'],
  ['candidate.full_name', 'Candidate: full name'],
  ['candidate.title', 'Candidate: title'],
  ['candidate.company', 'Candidate: company'],
  ['candidate.location', 'Candidate: location'],
  ['sender.first_name', 'Sender: first name'],
  ['sender.full_name', 'Sender: full name'],
  ['sender.email', 'Sender: email'],
  ['campaign.name', 'Campaign name'],
];
export const KNOWN_FIELDS = new Set(MERGE_FIELDS.map(([f]) => f));

/** Fields a template names that no candidate, sender or campaign has (`candidate.nickname`). */
export function unknownFields(text) {
  const unknown = new Set();
  const source = String(text);
  // Names a template defines itself ({% for x in … %}, {% set x = … %}).
  const own = new Set([...source.matchAll(/\{%-?\s*(?:for|set)\s+([A-Za-z_]\w*)/g)].map((m) => m[1]));
  const roots = new Set(['candidate', 'sender', 'campaign', 'custom', 'true', 'false', 'none', 'loop', 'if', 'else', 'and', 'or', 'not', 'in', 'is', ...own]);
  for (const block of source.matchAll(/\{\{([\s\S]*?)\}\}/g)) {
    // The value before its filters, string literals left out.
    const expr = block[1].split('|')[0].replace(/"[^"]*"|'[^']*'/g, '');
    for (const m of expr.matchAll(/(?<![\w.])([A-Za-z_]\w*)(?:\.([A-Za-z_]\w*))?/g)) {
      const [name, root, key] = m;
      if (!roots.has(root)) unknown.add(name);
      else if ((root === 'candidate' || root === 'sender' || root === 'campaign') && (!key || !KNOWN_FIELDS.has(name))) unknown.add(name);
    }
  }
  return [...unknown];
}

/** Why a name is not a merge field, and what to write instead. */
export function unknownFieldHint(name) {
  const [root, key] = name.split('.');
  if (['candidate', 'sender', 'campaign'].includes(root)) {
    const has = MERGE_FIELDS.filter(([k]) => k.startsWith(`${root}.`)).map(([k]) => k.split('.')[1]);
    return `“${name}” is not a merge field (${root} has ${has.join(', ')}); for a value you set per candidate in a campaign, write {{ custom.${key || 'name'} }}`;
  }
  return `“${name}” is not a merge field: a field starts with candidate., sender., campaign. or custom. (for example {{ candidate.first_name }}, or {{ custom.${key || root} }} for a value you set per candidate in a campaign)`;
}

// ---------------------------------------------------------------- the candidates list (issue 22)

/** Text as a search compares it: lower case, accents and extra spaces left out ("Lovélace" → "lovelace"). */
export function folded(text) {
  return String(text ?? '')
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .replace(/\s+/g, ' ')
    .trim();
}

/** Whether a candidate matches every word of a search, in their name, title, company, location or an address. */
export function candidateMatches(c, query) {
  const words = folded(query).split(' ').filter(Boolean);
  if (!words.length) return true;
  const hay = folded([c.first_name, c.last_name, c.full_name, c.title, c.company, c.location, ...(c.emails || []).map((e) => e.address)].filter(Boolean).join(' '));
  return words.every((w) => hay.includes(w));
}

/** Whether the service may mail a candidate at one address at least (not opted out, one address neither bounced nor suppressed). */
export function canBeMailed(c) {
  return !c.opted_out && (c.emails || []).some((e) => e.status === 'valid');
}

/** The candidates list's filters, each a test of one candidate. */
export const CANDIDATE_FILTERS = {
  '': ['Every candidate', () => true],
  mailable: ['Can be mailed', canBeMailed],
  unmailable: ['Cannot be mailed (no address left to mail)', (c) => !canBeMailed(c)],
  bounced: ['An address bounced', (c) => (c.emails || []).some((e) => e.status === 'bounced')],
  opted_out: ['Asked not to be contacted', (c) => c.opted_out || (c.emails || []).some((e) => e.status === 'suppressed')],
};

/**
 * The candidates in the order asked: `name` or `company` alphabetically
 * (accents ignored; no company last). No "newest": a candidate has no
 * creation time, and neither its id nor the list's order is one (README).
 */
export function sortCandidates(items, key) {
  const indexed = items.map((c, i) => [c, i]);
  const name = (c) => folded(c.full_name || `${c.first_name || ''} ${c.last_name || ''}`);
  const compare = {
    name: ([a, i], [b, j]) => name(a).localeCompare(name(b)) || i - j,
    company: ([a, i], [b, j]) => {
      const [x, y] = [folded(a.company), folded(b.company)];
      if (!x !== !y) return x ? -1 : 1;
      return x.localeCompare(y) || name(a).localeCompare(name(b)) || i - j;
    },
  }[key];
  return compare ? indexed.sort(compare).map(([c]) => c) : items.slice();
}

/** `items` in slices of at most `size` (a call takes at most 1,000 candidate ids, §13). */
export function chunks(items, size) {
  const out = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/**
 * Names that tell people apart: `people` is [{ id, name, company, address }];
 * answers a Map from id to the name, followed where two share it by their
 * company, else their first address, else "another candidate N".
 */
export function distinctNames(people) {
  const count = new Map();
  for (const p of people) count.set(p.name, (count.get(p.name) || 0) + 1);
  const out = new Map();
  const used = new Set();
  let n = 0;
  for (const p of people) {
    if (out.has(p.id)) continue;
    let label = p.name;
    if (count.get(p.name) > 1) {
      const detail = [p.company, p.address].find((d) => d && !used.has(`${p.name} (${d})`));
      label = detail ? `${p.name} (${detail})` : `${p.name} (another candidate ${++n})`;
    }
    used.add(label);
    out.set(p.id, label);
  }
  return out;
}
