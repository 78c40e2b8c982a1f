// Reads a raw RFC 5322 / MIME message (a local-mode outbox .eml) well enough
// to show it as the candidate sees it: headers (unfolded, RFC 2047 words
// decoded), multipart bodies, quoted-printable and base64, charsets.
// Pure functions, no DOM: the console renders the result, and node tests it.

const MAX_DEPTH = 8;

/** Bytes (Uint8Array) to a "binary string" of one char per byte. */
export function bytesToBinary(bytes) {
  let out = '';
  for (let i = 0; i < bytes.length; i += 0x8000) {
    out += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  }
  return out;
}

function binaryToBytes(binary) {
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i) & 0xff;
  return bytes;
}

/** Decodes a binary string in `charset`, falling back to UTF-8. */
export function decodeCharset(binary, charset) {
  const bytes = binaryToBytes(binary);
  let label = (charset || 'utf-8').trim().toLowerCase();
  if (label === 'us-ascii' || label === 'ascii') label = 'utf-8';
  try {
    return new TextDecoder(label).decode(bytes);
  } catch {
    return new TextDecoder('utf-8').decode(bytes);
  }
}

export function decodeBase64(text) {
  const clean = text.replace(/[^A-Za-z0-9+/=]/g, '');
  try {
    return atob(clean);
  } catch {
    return '';
  }
}

export function decodeQuotedPrintable(text) {
  return text
    .replace(/=\r?\n/g, '')
    .replace(/=([0-9A-Fa-f]{2})/g, (_, hex) => String.fromCharCode(parseInt(hex, 16)));
}

/** RFC 2047 encoded words (`=?utf-8?B?...?=`, `=?utf-8?Q?...?=`) in a header value. */
export function decodeWords(value) {
  const word = /=\?([^?\s]+)\?([BbQq])\?([^?\s]*)\?=/g;
  // Whitespace between two adjacent encoded words is not part of the text.
  const joined = value.replace(/(\?=)\s+(=\?)/g, '$1$2');
  return joined.replace(word, (_, charset, encoding, text) => {
    const binary =
      encoding.toUpperCase() === 'B'
        ? decodeBase64(text)
        : decodeQuotedPrintable(text.replace(/_/g, ' '));
    return decodeCharset(binary, charset.split('*')[0]);
  });
}

/** Splits a binary string into its header block and body. */
function splitHead(binary) {
  const m = /\r?\n\r?\n/.exec(binary);
  if (!m) return [binary, ''];
  return [binary.slice(0, m.index), binary.slice(m.index + m[0].length)];
}

/** Header lines, unfolded, in order: [{name, value}] (values decoded). */
export function parseHeaders(head) {
  const headers = [];
  for (const line of head.split(/\r?\n/)) {
    if (/^[ \t]/.test(line) && headers.length) {
      headers[headers.length - 1].raw += ' ' + line.trim();
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    headers.push({ name: line.slice(0, colon).trim(), raw: line.slice(colon + 1).trim() });
  }
  return headers.map(({ name, raw }) => ({
    name,
    // Raw UTF-8 is allowed in headers (RFC 6532); encoded words are decoded.
    value: decodeWords(decodeCharset(raw, 'utf-8')),
  }));
}

function headerValue(headers, name) {
  const lower = name.toLowerCase();
  const found = headers.find((h) => h.name.toLowerCase() === lower);
  return found ? found.value : null;
}

/** `text/html; charset="utf-8"` → {type: 'text/html', params: {charset: 'utf-8'}}. */
export function parseContentType(value) {
  const [type, ...rest] = (value || 'text/plain').split(';');
  const params = {};
  for (const part of rest) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    const key = part.slice(0, eq).trim().toLowerCase();
    let val = part.slice(eq + 1).trim();
    if (val.startsWith('"') && val.endsWith('"') && val.length >= 2) {
      val = val.slice(1, -1).replace(/\\(.)/g, '$1');
    }
    params[key] = val;
  }
  return { type: type.trim().toLowerCase() || 'text/plain', params };
}

function decodeBody(body, encoding) {
  switch ((encoding || '').trim().toLowerCase()) {
    case 'base64':
      return decodeBase64(body);
    case 'quoted-printable':
      return decodeQuotedPrintable(body);
    default:
      return body;
  }
}

function splitMultipart(body, boundary) {
  const parts = [];
  const delimiter = '--' + boundary;
  const lines = body.split(/\r?\n/);
  let current = null;
  for (const line of lines) {
    const trimmed = line.trimEnd();
    if (trimmed === delimiter + '--') {
      if (current) parts.push(current.join('\r\n'));
      current = null;
      break;
    }
    if (trimmed === delimiter) {
      if (current) parts.push(current.join('\r\n'));
      current = [];
      continue;
    }
    if (current) current.push(line);
  }
  if (current && current.length) parts.push(current.join('\r\n'));
  return parts;
}

function parseEntity(binary, depth, leaves) {
  const [head, body] = splitHead(binary);
  const headers = parseHeaders(head);
  const ct = parseContentType(headerValue(headers, 'Content-Type'));
  const disposition = (headerValue(headers, 'Content-Disposition') || '').toLowerCase();
  if (ct.type.startsWith('multipart/') && ct.params.boundary && depth < MAX_DEPTH) {
    for (const part of splitMultipart(body, ct.params.boundary)) {
      parseEntity(part, depth + 1, leaves);
    }
    return headers;
  }
  const decoded = decodeBody(body, headerValue(headers, 'Content-Transfer-Encoding'));
  const textual = ct.type.startsWith('text/');
  leaves.push({
    contentType: ct.type,
    charset: ct.params.charset || null,
    attachment: disposition.startsWith('attachment'),
    filename: ct.params.name || null,
    size: decoded.length,
    text: textual ? decodeCharset(decoded, ct.params.charset) : null,
  });
  return headers;
}

/**
 * A raw message (Uint8Array or string) → {headers, get(name), parts, html, text}.
 * `html` and `text` are the first inline text/html and text/plain parts.
 */
export function parseMessage(raw) {
  const binary =
    typeof raw === 'string' ? bytesToBinary(new TextEncoder().encode(raw)) : bytesToBinary(raw);
  const parts = [];
  const headers = parseEntity(binary, 0, parts);
  const inline = (type) => parts.find((p) => p.contentType === type && !p.attachment);
  return {
    headers,
    get: (name) => headerValue(headers, name),
    parts,
    html: inline('text/html')?.text ?? null,
    text: inline('text/plain')?.text ?? null,
  };
}
