// The outbox and its messages (local mode): the console's first page written
// as Preact function components with htm (README, "Preact and htm"). app.js
// loads this module when the page is first shown and hands it an element to
// render into, plus the few things of its own the page needs (ctx below).
//
// ctx: { local, request, seg, ApiProblem, fmtTime, titled } from app.js.
//
// Data is fetched before the first render, as app.js's pages do: the router
// shows "Loading…" meanwhile, turns a thrown problem into its error page and
// focuses the page's h1 once it is in place. htm escapes every value (text
// nodes and attributes, never HTML), like app.js's h().

import { h, render } from './vendor/preact.module.js';
import { useState } from './vendor/hooks.module.js';
import htm from './vendor/htm.module.js';
import { parseMessage } from './mime.js';

const html = htm.bind(h);

/** Renders the outbox into `root` (sent messages, newest first) and returns it. */
export async function showOutbox(root, ctx) {
  ctx.titled('Outbox');
  root.dataset.component = 'outbox';
  if (!ctx.local) {
    render(html`<${LocalOnly} title="Outbox" text="The outbox exists in local mode only." />`, root);
    return root;
  }
  const items = ((await ctx.request('GET', '/dev/outbox', { auth: false })).items || []).slice().reverse();
  render(html`<${Outbox} items=${items} ctx=${ctx} />`, root);
  return root;
}

/** Renders one sent message (by outbox id or Message-ID) into `root` and returns it. */
export async function showMessage(root, ctx, id) {
  ctx.titled('Message');
  root.dataset.component = 'outbox-message';
  if (!ctx.local) {
    const text = 'In AWS the service hands messages to SES and keeps no copy: a step’s attempts show the message ids. The console shows sent messages in local mode.';
    render(html`<${LocalOnly} title="Message" text=${text} />`, root);
    return root;
  }
  const items = (await ctx.request('GET', '/dev/outbox', { auth: false })).items || [];
  const item = items.find((i) => i.id === id || i.message_id === id);
  if (!item) throw new ctx.ApiProblem(404, { title: 'Not Found', detail: `no message ${id} in the outbox` });
  const msg = parseMessage(await ctx.request('GET', `/dev/outbox/${ctx.seg(item.id)}`, { auth: false, binary: true }));
  const subject = msg.get('Subject') || '(no subject)';
  ctx.titled(subject);
  render(html`<${Message} item=${item} msg=${msg} subject=${subject} seg=${ctx.seg} />`, root);
  return root;
}

function LocalOnly({ title, text }) {
  return html`
    <h1 tabindex="-1">${title}</h1>
    <p>${text}</p>
  `;
}

// ---------------------------------------------------------------- the outbox

function Outbox({ items, ctx }) {
  const row = (m) => [
    html`<${Time} ts=${m.sent_at} fmtTime=${ctx.fmtTime} />`,
    m.to,
    m.subject,
    m.step_index ?? '—',
    html`<a href=${`#/messages/${ctx.seg(m.id)}`} aria-label=${`View message to ${m.to}: ${m.subject}`}>View</a>`,
  ];
  return html`
    <h1 tabindex="-1">Outbox</h1>
    <p class="small muted">Every message local mode sent, as .eml files in the data folder.</p>
    <${Pager} label="Outbox" items=${items} pageSize=${20} empty="Nothing sent yet.">
      ${(page) => html`<${Table} caption="Sent messages, newest first" headers=${['Sent (UTC)', 'To', 'Subject', 'Step', '']} rows=${page.map(row)} />`}
    <//>
  `;
}

/** A time in UTC, or "—" (app.js's timeEl). */
function Time({ ts, fmtTime }) {
  return ts ? html`<time datetime=${ts}>${fmtTime(ts, 'UTC')}</time>` : '—';
}

/**
 * A list in hand, shown `pageSize` at a time with Previous/Next (the markup
 * and classes of app.js's pager, so style.css and the tests see one list).
 * Its child is a function that draws one page.
 */
function Pager({ label, items, pageSize, empty, children }) {
  const [start, setStart] = useState(0);
  const page = items.slice(start, start + pageSize);
  const number = Math.floor(start / pageSize) + 1;
  const last = start + pageSize >= items.length;
  const draw = Array.isArray(children) ? children[0] : children;
  return html`
    <div class="paged">
      <div class="pager-body">${page.length ? draw(page) : html`<p class="muted">${empty}</p>`}</div>
      <nav class="pager" aria-label=${`${label}: pages`} hidden=${number === 1 && last}>
        <button type="button" disabled=${number === 1} onClick=${() => setStart(start - pageSize)}>← Previous page</button>
        <span class="page-info">${`Page ${number}`}</span>
        <button type="button" disabled=${last} onClick=${() => setStart(start + pageSize)}>Next page →</button>
      </nav>
    </div>
  `;
}

/**
 * A table whose cells carry their column's name (data-label): on a phone the
 * rows become labelled cards (style.css). `rowHeader` makes each row's first
 * cell its header.
 */
function Table({ caption, headers, rows, rowHeader = false }) {
  const cell = (value, i) => {
    const label = headers[i] || null;
    return rowHeader && i === 0 ? html`<th scope="row" data-label=${label}>${value}</th>` : html`<td data-label=${label}>${value}</td>`;
  };
  return html`
    <table>
      ${caption ? html`<caption class="sr-only">${caption}</caption>` : null}
      <thead>
        <tr>${headers.map((t) => html`<th scope="col">${t}</th>`)}</tr>
      </thead>
      <tbody>${rows.map((cells) => html`<tr>${cells.map(cell)}</tr>`)}</tbody>
    </table>
  `;
}

// ---------------------------------------------------------------- one message

const SHOWN_HEADERS = ['From', 'To', 'Reply-To', 'Subject', 'Date', 'Message-ID', 'In-Reply-To', 'References', 'List-Unsubscribe', 'List-Unsubscribe-Post'];

/** The message document for the sandboxed frame: the sent HTML, a readable default font. */
function frameDocument(body) {
  return `<!doctype html><html><head><meta charset="utf-8"><style>body{font-family:system-ui,sans-serif;font-size:15px;line-height:1.5;color:#1a1a1a;background:#fff;margin:1rem}</style></head><body>${body}</body></html>`;
}

function Message({ item, msg, subject, seg }) {
  const shown = SHOWN_HEADERS.map((name) => [name, msg.get(name)]).filter(([, value]) => value !== null);
  const attachments = msg.parts.filter((p) => p.attachment);
  return html`
    <p class="crumbs"><${Back} item=${item} seg=${seg} /></p>
    <h1 tabindex="-1">${subject}</h1>
    <section class="card" aria-labelledby="headers-h">
      <h2 id="headers-h">Headers</h2>
      <dl class="headers">${shown.map(([name, value]) => html`<dt>${name}</dt><dd>${value}</dd>`)}</dl>
      <details>
        <summary>${`All headers (${msg.headers.length})`}</summary>
        <${Table} caption="All headers" headers=${['Name', 'Value']} rowHeader=${true} rows=${msg.headers.map((x) => [x.name, x.value])} />
      </details>
    </section>
    ${msg.html !== null ? html`<${AsSent} html=${msg.html} subject=${subject} />` : null}
    ${msg.text !== null
      ? html`
          <details open=${msg.html === null}>
            <summary>Plain-text part</summary>
            <pre class="message-text">${msg.text}</pre>
          </details>
        `
      : null}
    ${attachments.length ? html`<p>${`Attachments: ${attachments.map((p) => p.filename || p.contentType).join(', ')}`}</p>` : null}
  `;
}

/** Back to the candidate the message went to, and to the outbox. */
function Back({ item, seg }) {
  const outbox = html`<a href="#/outbox">Back to the outbox</a>`;
  if (item.campaign_id && item.enrollment_id) {
    return html`<a href=${`#/campaigns/${seg(item.campaign_id)}/enrollments/${seg(item.enrollment_id)}`}>Back to the candidate</a> · ${outbox}`;
  }
  return outbox;
}

/**
 * The sent HTML in an `<iframe sandbox="">` (no scripts, no same origin; the
 * CSP keeps remote images out). `sandbox` comes before `srcdoc`, so the frame
 * never holds the document unsandboxed.
 */
function AsSent({ html: body, subject }) {
  return html`
    <section aria-labelledby="html-h">
      <h2 id="html-h">As the candidate sees it</h2>
      <p class="small muted">Shown in a sandbox: no scripts run and remote images are not loaded.</p>
      <iframe
        sandbox=""
        class="message-frame"
        title=${`The message “${subject}” as the candidate sees it`}
        referrerpolicy="no-referrer"
        loading="lazy"
        srcdoc=${frameDocument(body)}
      ></iframe>
    </section>
  `;
}
