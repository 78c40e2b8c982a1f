// Time zones and the campaign timeline's model: pure functions, no DOM, so
// that node tests them and the console only draws what they return.

/** The grace period before a first message. */
export const GRACE_MS = 20 * 60 * 1000;

const partsFormatters = new Map();

function partsFormatter(tz) {
  let f = partsFormatters.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: tz,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    partsFormatters.set(tz, f);
  }
  return f;
}

/** Whether `tz` is an IANA zone this browser knows. */
export function validZone(tz) {
  try {
    partsFormatter(tz);
    return true;
  } catch {
    return false;
  }
}

/** The wall-clock fields of instant `ms` in `tz`. */
export function zoneParts(ms, tz) {
  const out = {};
  for (const p of partsFormatter(tz).formatToParts(new Date(ms))) {
    if (p.type !== 'literal') out[p.type] = Number(p.value);
  }
  return out;
}

/** The offset of `tz` from UTC at instant `ms`, in milliseconds. */
export function offsetMs(ms, tz) {
  const p = zoneParts(ms, tz);
  const wall = Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second);
  return wall - Math.floor(ms / 1000) * 1000;
}

/**
 * The instant of a wall-clock time in `tz`. A time that does not exist
 * (spring forward) moves forward by the gap; an ambiguous one takes the
 * earlier instant.
 */
export function zonedToUtc(year, month, day, hour, minute, tz) {
  const wall = Date.UTC(year, month - 1, day, hour, minute);
  const candidates = new Set();
  for (const probe of [wall - 14 * 3600e3, wall, wall + 14 * 3600e3]) {
    candidates.add(wall - offsetMs(probe, tz));
  }
  const exact = [...candidates]
    .filter((t) => t + offsetMs(t, tz) === wall)
    .sort((a, b) => a - b);
  if (exact.length) return exact[0];
  // In a gap: the offset before the gap, applied to the wall time.
  return wall - offsetMs(wall - 14 * 3600e3, tz);
}

/** Local midnights in `tz` strictly after `from` and up to `to`. */
export function midnights(from, to, tz, limit = 400) {
  const out = [];
  const p = zoneParts(from, tz);
  let date = Date.UTC(p.year, p.month - 1, p.day);
  for (let i = 0; i < limit; i++) {
    date += 86400e3;
    const d = new Date(date);
    const t = zonedToUtc(d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate(), 0, 0, tz);
    if (t > to) break;
    if (t > from) out.push(t);
  }
  return out;
}

/** Axis ticks between `start` and `end`: hours for a short span, else days. */
export function ticks(start, end, tz) {
  const span = end - start;
  if (span <= 36 * 3600e3) {
    const every = span <= 8 * 3600e3 ? 1 : span <= 16 * 3600e3 ? 2 : 3;
    const out = [];
    const first = Math.ceil(start / 3600e3) * 3600e3;
    for (let t = first; t <= end && out.length < 60; t += 3600e3) {
      const p = zoneParts(t, tz);
      if (p.minute === 0 && p.hour % every === 0) out.push({ t, day: p.hour === 0 });
    }
    return out;
  }
  const days = midnights(start, end, tz);
  const stride = Math.max(1, Math.ceil(days.length / 14));
  const out = days.filter((_, i) => i % stride === 0).map((t) => ({ t, day: true }));
  if (span <= 5 * 86400e3) {
    // Up to five days: 06:00, 12:00 and 18:00 too.
    const first = Math.ceil(start / 3600e3) * 3600e3;
    for (let t = first; t <= end; t += 3600e3) {
      const p = zoneParts(t, tz);
      if (p.minute === 0 && p.hour !== 0 && p.hour % 6 === 0) out.push({ t, day: false });
    }
    out.sort((a, b) => a.t - b.t);
  }
  return out;
}

const PLANNED = new Set(['pending', 'scheduled']);

/** The colour class of a step or attempt status. */
export function markKind(status) {
  if (PLANNED.has(status)) return 'planned';
  if (status === 'soft_bounced') return 'bounced';
  if (status === 'claimed') return 'sent';
  return status;
}

function parse(ts) {
  if (!ts) return null;
  const t = Date.parse(ts);
  return Number.isNaN(t) ? null : t;
}

const ENDINGS = new Set(['replied', 'bounced', 'unsubscribed', 'removed']);

/**
 * One row per enrollment: its grace period, a mark per step (the latest
 * attempt, or the planned time) plus earlier attempts, and how it ended.
 */
export function timelineRow(enrollment) {
  const marks = [];
  const planStart = parse(enrollment.plan_start);
  for (const step of enrollment.steps || []) {
    const attempts = step.attempts || [];
    attempts.slice(0, -1).forEach((a) => {
      const t = parse(a.sent_at);
      if (t !== null) {
        marks.push({ t, step: step.index, kind: markKind(a.status), status: a.status, address: a.address, earlier: true });
      }
    });
    const t = parse(step.sent_at) ?? parse(step.scheduled_at);
    if (t === null) continue;
    const kind = markKind(step.status);
    marks.push({ t, step: step.index, kind, status: step.status, address: step.address, earlier: false });
  }
  // A reply ends the sequence at the step it answered: the last one sent.
  if (enrollment.status === 'replied') {
    const answered = marks.filter((m) => !m.earlier && m.kind !== 'planned' && m.kind !== 'cancelled').pop();
    if (answered) answered.kind = 'replied';
  }
  const ended = parse(enrollment.ended_at);
  return {
    id: enrollment.id,
    grace: planStart === null ? null : { from: planStart, to: planStart + GRACE_MS },
    marks,
    end: ended !== null && ENDINGS.has(enrollment.status) ? { t: ended, kind: enrollment.status } : null,
  };
}

/** The zoom levels of the timeline: the whole plan, or a window in ms. */
export const ZOOMS = {
  plan: { label: 'Whole plan' },
  start: { label: 'First 2 hours (grace period)', from: 'start', before: 10 * 60e3, after: 110 * 60e3 },
  now: { label: '6 hours around now', from: 'now', before: 60 * 60e3, after: 5 * 3600e3 },
  day: { label: '2 days around now', from: 'now', before: 12 * 3600e3, after: 36 * 3600e3 },
};

/**
 * The timeline of a page of enrollments: rows, the time range to draw and its
 * ticks. `now` (ms) is drawn as a line when it falls inside the range. With a
 * zoom other than `plan`, the range is a window around the first plan start or
 * now, and marks outside it are left out by the caller (see `inRange`).
 */
export function buildTimeline(enrollments, tz, now, zoom = 'plan') {
  const rows = enrollments.map(timelineRow);
  const window = ZOOMS[zoom];
  if (window && window.from) {
    const starts = rows.filter((r) => r.grace).map((r) => r.grace.from);
    const anchor = window.from === 'start' && starts.length ? Math.min(...starts) : now;
    if (Number.isFinite(anchor)) {
      const start = anchor - window.before;
      const end = anchor + window.after;
      return { rows, start, end, ticks: ticks(start, end, tz) };
    }
  }
  const times = [];
  for (const r of rows) {
    if (r.grace) times.push(r.grace.from, r.grace.to);
    for (const m of r.marks) times.push(m.t);
    if (r.end) times.push(r.end.t);
  }
  if (Number.isFinite(now)) times.push(now);
  if (!times.length) return { rows, start: null, end: null, ticks: [] };
  let start = Math.min(...times);
  let end = Math.max(...times);
  const pad = Math.max(30 * 60e3, (end - start) * 0.04);
  start -= pad;
  end += pad;
  return { rows, start, end, ticks: ticks(start, end, tz) };
}

export function inRange(t, model) {
  return t >= model.start && t <= model.end;
}

/** Position of instant `t` on the axis, in percent. */
export function position(t, start, end) {
  if (end <= start) return 0;
  return Math.min(100, Math.max(0, ((t - start) / (end - start)) * 100));
}
