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
