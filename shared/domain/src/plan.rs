//! The send planner (SPEC §6, R-6.1– ): when each step of an enrollment leaves.
//!
//! Every rule is stated on the wall clock of the request's zone, so the planner
//! works with local dates and times of day and turns each step into an instant
//! only at the end, through [`resolve_local`], the one place that deals with
//! daylight saving. It is pure and deterministic: its only randomness is
//! the stable hash of [`crate::jitter`], keyed by (enrollment, step number, purpose),
//! so re-planning the same request always yields the same instants.
//!
//! Decisions where SPEC §6 leaves room:
//! - "The time of day of step 1" is the local time at which the first
//!   planned step actually goes out (after any grace, weekend or DST adjustment).
//! - A specific time T and the jittered T + 0–20 min are wall-clock times;
//!   T counts to the minute (its format is `HH:MM`).
//! - Jitter that would leave its calendar date is clamped to 00:00 or 23:59.

use crate::campaign::WhenToSend;
use crate::jitter::minutes_in;
use crate::zone::Zone;
use chrono::{
    DateTime, Datelike, Days, Duration, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, Offset,
    TimeZone, Timelike, Utc, Weekday,
};

/// What the planner needs to know to plan one enrollment.
#[derive(Debug, Clone, Copy)]
pub struct PlanRequest<'a> {
    /// The enrollment id: the seed of its deterministic jitter (with the step index).
    pub enrollment: &'a str,
    /// S: the moment the campaign started, the enrollment was added, or (on a
    /// re-plan of an overdue step, R-10.1) the resume moment.
    pub start: DateTime<Utc>,
    /// The zone whose wall clock the rules use.
    pub zone: Zone,
    pub when: WhenToSend,
    pub skip_weekends: bool,
    /// `delay_days` of every step of the campaign, index 0 being step 1.
    pub delays: &'a [u32],
    /// 0-based index of the step planned with the first-step rules; the steps
    /// after it follow from it. 0 for a fresh plan.
    pub from_step: usize,
}

/// The end of the grace period that starts at `start`.
pub fn grace_end(start: DateTime<Utc>) -> DateTime<Utc> {
    start + chrono::Duration::minutes(crate::campaign::GRACE_MINUTES)
}

/// The first whole minute at or after the grace period that starts at `start`.
pub fn earliest_send(start: DateTime<Utc>) -> DateTime<Utc> {
    ceil_to_minute(grace_end(start))
}

/// Planned instants of steps `from_step..delays.len()`, whole minutes, strictly increasing.
///
/// # Panics
/// Only if a date leaves chrono's range (hundreds of thousands of years away),
/// which validated delays (at most 365 days a step, R-4.1) cannot reach.
pub fn plan(req: &PlanRequest<'_>) -> Vec<DateTime<Utc>> {
    if req.from_step >= req.delays.len() {
        return Vec::new();
    }
    // Scheduler instants are whole minutes, so the earliest allowed one is S + 20 rounded up.
    let earliest = ceil_to_minute(grace_end(req.start));
    let first = first_step(req, earliest);
    let rule = LaterRule::for_request(req, first);

    let mut planned = Vec::with_capacity(req.delays.len() - req.from_step);
    planned.push(first);
    for index in req.from_step + 1..req.delays.len() {
        let previous = *planned.last().expect("the first step is planned");
        planned.push(later_step(req, index, previous, rule));
    }
    planned
}

/// Planned instants of steps `from_step..delays.len()` when the step before
/// them went out at `previous` (a re-send, R-9.2, R-9.4, or a user's retry):
/// each follows the one before it by its rule, the
/// time of day of `previous` standing for that of step 1.
pub fn plan_after(req: &PlanRequest<'_>, previous: DateTime<Utc>) -> Vec<DateTime<Utc>> {
    if req.from_step >= req.delays.len() {
        return Vec::new();
    }
    let rule = LaterRule::for_request(req, previous);
    let mut planned = Vec::with_capacity(req.delays.len() - req.from_step);
    let mut before = previous;
    for index in req.from_step..req.delays.len() {
        let at = later_step(req, index, before, rule);
        planned.push(at);
        before = at;
    }
    planned
}

/// whether step `from_step`, planned at `planned`, keeps its spacing
/// from the step before it that actually left at `previous`: its date (in the
/// request's zone) is not earlier than that send's date plus its delay in days.
/// Dates, not 24-hour periods: a best-time step at 07:00 after a 16:00 send
/// the day before is spaced.
pub fn is_spaced(req: &PlanRequest<'_>, previous: DateTime<Utc>, planned: DateTime<Utc>) -> bool {
    let Some(delay) = req.delays.get(req.from_step) else {
        return true;
    };
    let earliest = local(req.zone, previous)
        .date()
        .checked_add_days(Days::new(u64::from(*delay)))
        .expect("a planned date stays within chrono's range");
    local(req.zone, planned).date() >= earliest && planned > previous
}

/// Planned instants of steps `from_step..delays.len()` when step `from_step`
/// moves to `date` at the local time of day `time` (an out-of-office hold,
/// or the daily limit, R-6.7): with `skip_weekends` a Saturday or Sunday
/// becomes the following Monday, and the later steps follow it by their
/// rules, its time of day standing for that of step 1.
pub fn plan_moved(req: &PlanRequest<'_>, date: NaiveDate, time: NaiveTime) -> Vec<DateTime<Utc>> {
    if req.from_step >= req.delays.len() {
        return Vec::new();
    }
    let wall = skip_weekend(req, at_minute(date, minute_of_day(time)));
    let first = ceil_to_minute(resolve_local(req.zone, wall));
    let rule = LaterRule::for_request(req, first);
    let mut planned = Vec::with_capacity(req.delays.len() - req.from_step);
    planned.push(first);
    for index in req.from_step + 1..req.delays.len() {
        let previous = *planned.last().expect("the first step is planned");
        planned.push(later_step(req, index, previous, rule));
    }
    planned
}

/// The instant of a wall-clock time in `zone`: a time inside a
/// spring-forward gap moves forward by the gap's length; an ambiguous one takes
/// the earlier instant.
pub fn resolve_local(zone: Zone, local: NaiveDateTime) -> DateTime<Utc> {
    let tz = zone.tz();
    match tz.from_local_datetime(&local) {
        LocalResult::Single(at) => at.with_timezone(&Utc),
        LocalResult::Ambiguous(a, b) => a.min(b).with_timezone(&Utc),
        // Reading the wall time with the offset in force before the gap lands it
        // exactly the gap's length later on the clock after the gap.
        LocalResult::None => (local - offset_before_gap(zone, local)).and_utc(),
    }
}

/// How far back [`offset_before_gap`] looks for a wall time that exists. The
/// longest real gap is a whole day (Samoa skipping 2011-12-30).
const MAX_GAP_MINUTES: i64 = 2 * 24 * 60;

/// The UTC offset in force just before the spring-forward gap that contains `local`.
fn offset_before_gap(zone: Zone, local: NaiveDateTime) -> Duration {
    let tz = zone.tz();
    (1..=MAX_GAP_MINUTES)
        .find_map(|back| {
            // `latest`: if that wall time is itself ambiguous, the later instant is the one next to the gap.
            tz.from_local_datetime(&(local - Duration::minutes(back)))
                .latest()
        })
        .map(|at| Duration::seconds(i64::from(at.offset().fix().local_minus_utc())))
        // No real zone has such a gap; reading the time as UTC keeps the planner total.
        .unwrap_or_else(Duration::zero)
}

/// The first planned step (index `from_step`), from S.
fn first_step(req: &PlanRequest<'_>, earliest: DateTime<Utc>) -> DateTime<Utc> {
    let step = step_number(req.from_step);
    let wall = match req.when {
        // step 1 at S + 20 min.
        WhenToSend::WhenStarted => local(req.zone, earliest),
        WhenToSend::SpecificTime { time } => specific_time_first(req, earliest, time, step),
        WhenToSend::BestTime => best_time_first(req, earliest, step),
    };
    let wall = skip_weekend(req, wall);
    // wins over everything: a fall-back wall time resolves to its earlier
    // instant, which may precede the grace end it was read from.
    ceil_to_minute(resolve_local(req.zone, wall)).max(earliest)
}

/// 0–20 minutes after the first occurrence of T at or after the grace end,
/// clipped to that date.
fn specific_time_first(
    req: &PlanRequest<'_>,
    earliest: DateTime<Utc>,
    time: NaiveTime,
    step: u32,
) -> NaiveDateTime {
    let t = minute_of_day(time);
    let today = local(req.zone, earliest).date();
    let date = if resolve_local(req.zone, at_minute(today, t)) >= earliest {
        today
    } else {
        next_day(today)
    };
    let jitter = minutes_in(req.enrollment, step, FIRST_STEP_JITTER, 0, 20);
    at_minute(date, t + jitter)
}

/// the first step by the bucket of S's local time of day.
fn best_time_first(req: &PlanRequest<'_>, earliest: DateTime<Utc>, step: u32) -> NaiveDateTime {
    let start = local(req.zone, req.start);
    match BestTimeBucket::of(start.time()) {
        BestTimeBucket::Night => {
            // Evening starts wait for the next morning; small-hours starts for this one.
            let date = if start.hour() >= 19 {
                next_day(start.date())
            } else {
                start.date()
            };
            let jitter = minutes_in(req.enrollment, step, FIRST_STEP_JITTER, 0, 20);
            at_minute(date, 7 * 60 + jitter)
        }
        BestTimeBucket::Morning => local(req.zone, earliest),
        BestTimeBucket::Midday => {
            let four_pm = at_minute(start.date(), 16 * 60);
            if resolve_local(req.zone, four_pm) >= earliest {
                four_pm
            } else {
                local(req.zone, earliest)
            }
        }
    }
}

/// Step `index` (> `from_step`): its delay after the previous step's date, at the
/// time its rule gives, strictly after the previous step.
fn later_step(
    req: &PlanRequest<'_>,
    index: usize,
    previous: DateTime<Utc>,
    rule: LaterRule,
) -> DateTime<Utc> {
    let step = step_number(index);
    let date = local(req.zone, previous)
        .date()
        .checked_add_days(Days::new(u64::from(req.delays[index])))
        .expect("a planned date stays within chrono's range");
    let minute = match rule {
        LaterRule::AroundTimeOfDay(base) => {
            base + minutes_in(req.enrollment, step, TIME_OF_DAY_JITTER, -20, 20)
        }
        LaterRule::MorningWindow => {
            7 * 60 + minutes_in(req.enrollment, step, MORNING_WINDOW, 0, 120)
        }
    };
    let wall = skip_weekend(req, at_minute(date, minute));
    // A DST gap move or a zero delay could otherwise put it at or before the previous step.
    ceil_to_minute(resolve_local(req.zone, wall)).max(previous + Duration::minutes(1))
}

/// Jitter purposes, one per kind of random choice.
const FIRST_STEP_JITTER: &str = "plan.first_step";
const TIME_OF_DAY_JITTER: &str = "plan.time_of_day";
const MORNING_WINDOW: &str = "plan.morning_window";

/// the buckets of S's local time of day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BestTimeBucket {
    /// 19:00 ≤ t or t < 06:00.
    Night,
    /// 06:00 ≤ t < 10:00.
    Morning,
    /// 10:00 ≤ t < 19:00.
    Midday,
}

impl BestTimeBucket {
    fn of(t: NaiveTime) -> Self {
        match t.hour() {
            0..6 | 19.. => BestTimeBucket::Night,
            6..10 => BestTimeBucket::Morning,
            _ => BestTimeBucket::Midday,
        }
    }
}

/// How the time of day of the steps after the first is chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LaterRule {
    /// the first step's local time of day (minute of day) ± 0–20 minutes.
    AroundTimeOfDay(i64),
    /// R-6.4 (10:00 ≤ t < 19:00): a random time between 07:00 and 09:00.
    MorningWindow,
}

impl LaterRule {
    fn for_request(req: &PlanRequest<'_>, first: DateTime<Utc>) -> Self {
        let midday = req.when == WhenToSend::BestTime
            && BestTimeBucket::of(local(req.zone, req.start).time()) == BestTimeBucket::Midday;
        if midday {
            LaterRule::MorningWindow
        } else {
            LaterRule::AroundTimeOfDay(minute_of_day(local(req.zone, first).time()))
        }
    }
}

/// with `skip_weekends`, a Saturday or Sunday moves to the following Monday, same time of day.
fn skip_weekend(req: &PlanRequest<'_>, wall: NaiveDateTime) -> NaiveDateTime {
    let days = match wall.weekday() {
        Weekday::Sat if req.skip_weekends => 2,
        Weekday::Sun if req.skip_weekends => 1,
        _ => return wall,
    };
    wall + Days::new(days)
}

/// The jitter key of the step at 0-based `index`: its real step number.
fn step_number(index: usize) -> u32 {
    u32::try_from(index + 1).unwrap_or(u32::MAX)
}

/// The wall-clock time of `at` in `zone`.
fn local(zone: Zone, at: DateTime<Utc>) -> NaiveDateTime {
    at.with_timezone(&zone.tz()).naive_local()
}

fn next_day(date: NaiveDate) -> NaiveDate {
    date.succ_opt()
        .expect("a planned date stays within chrono's range")
}

/// Whole minutes since midnight (seconds are below the planner's precision).
fn minute_of_day(t: NaiveTime) -> i64 {
    i64::from(t.hour() * 60 + t.minute())
}

/// `minute` minutes after midnight on `date`, clipped to that date (00:00..=23:59):
/// jitter never moves a message to another calendar date.
fn at_minute(date: NaiveDate, minute: i64) -> NaiveDateTime {
    date.and_time(NaiveTime::MIN) + Duration::minutes(minute.clamp(0, 24 * 60 - 1))
}

/// `at` rounded up to a whole minute (EventBridge Scheduler's precision).
fn ceil_to_minute(at: DateTime<Utc>) -> DateTime<Utc> {
    let floor = at
        .with_second(0)
        .and_then(|t| t.with_nanosecond(0))
        .expect("second 0 and nanosecond 0 are valid");
    if floor == at {
        at
    } else {
        floor + Duration::minutes(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ENR: &str = "enr_plan_example";
    const STARTED: WhenToSend = WhenToSend::WhenStarted;
    const BEST: WhenToSend = WhenToSend::BestTime;

    fn zone(name: &str) -> Zone {
        Zone::parse(name).unwrap()
    }

    fn utc(at: &str) -> DateTime<Utc> {
        at.parse().unwrap()
    }

    fn wall(at: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(at, "%Y-%m-%d %H:%M").unwrap()
    }

    fn hm(h: u32, m: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(h, m, 0).unwrap()
    }

    /// The plan of ENR's `delays` from `start` (an RFC 3339 instant) in `zone`.
    fn request<'a>(
        zone: Zone,
        start: &str,
        when: WhenToSend,
        delays: &'a [u32],
    ) -> PlanRequest<'a> {
        PlanRequest {
            enrollment: ENR,
            start: utc(start),
            zone,
            when,
            skip_weekends: false,
            delays,
            from_step: 0,
        }
    }

    fn jitter(step: u32, purpose: &str, lo: i64, hi: i64) -> Duration {
        Duration::minutes(minutes_in(ENR, step, purpose, lo, hi))
    }

    fn around(step: u32) -> Duration {
        jitter(step, TIME_OF_DAY_JITTER, -20, 20)
    }

    fn first_jitter(step: u32) -> Duration {
        jitter(step, FIRST_STEP_JITTER, 0, 20)
    }

    /// A plan of step 1 alone, at `at` plus its 0–20 min jitter.
    fn jittered_first(at: &str) -> Vec<DateTime<Utc>> {
        vec![utc(at) + first_jitter(1)]
    }

    fn specific(h: u32, m: u32) -> WhenToSend {
        WhenToSend::SpecificTime { time: hm(h, m) }
    }

    #[test]
    fn resolve_local_keeps_ordinary_times() {
        let berlin = zone("Europe/Berlin");
        assert_eq!(
            resolve_local(berlin, wall("2026-06-01 12:00")),
            utc("2026-06-01T10:00:00Z")
        );
    }

    #[test]
    fn resolve_local_moves_spring_forward_times_by_the_gap() {
        // spring forward: New York skips 02:00–03:00 on 2026-03-08; 02:30 goes out at 03:30 EDT.
        let ny = zone("America/New_York");
        assert_eq!(
            resolve_local(ny, wall("2026-03-08 02:30")),
            utc("2026-03-08T07:30:00Z")
        );
        // spring forward by 30 minutes: Lord Howe skips 02:00–02:30 on 2026-10-04
        // (+10:30 → +11); 02:15 goes out at 02:45 LHDT.
        let lord_howe = zone("Australia/Lord_Howe");
        let at = resolve_local(lord_howe, wall("2026-10-04 02:15"));
        assert_eq!(at, utc("2026-10-03T15:45:00Z"));
        assert_eq!(local(lord_howe, at), wall("2026-10-04 02:45"));
    }

    #[test]
    fn resolve_local_takes_the_earlier_instant_when_the_clock_falls_back() {
        // fall back: 01:30 happens twice in New York on 2026-11-01; EDT (05:30Z) comes first.
        let ny = zone("America/New_York");
        assert_eq!(
            resolve_local(ny, wall("2026-11-01 01:30")),
            utc("2026-11-01T05:30:00Z")
        );
        // Lord Howe falls back by 30 minutes on 2026-04-05: 01:45 LHDT (+11) first.
        let lord_howe = zone("Australia/Lord_Howe");
        assert_eq!(
            resolve_local(lord_howe, wall("2026-04-05 01:45")),
            utc("2026-04-04T14:45:00Z")
        );
    }

    #[test]
    fn when_started_sends_after_the_grace_then_around_the_same_time_of_day() {
        // step 1 at S + 20 min rounded up to the minute; later steps on
        // previous date + delay at step 1's time of day ± 20 min.
        let delays = [0, 2, 3];
        let req = request(Zone::UTC, "2026-03-02T10:00:30Z", STARTED, &delays);
        let first = utc("2026-03-02T10:21:00Z");
        let second = utc("2026-03-04T10:21:00Z") + around(2);
        let third = utc("2026-03-07T10:21:00Z") + around(3);
        assert_eq!(plan(&req), vec![first, second, third]);
    }

    #[test]
    fn when_started_uses_the_grace_end_as_is_when_it_is_a_whole_minute() {
        // grace: exactly S + 20 min.
        let delays = [0];
        let req = request(Zone::UTC, "2026-03-02T10:00:00Z", STARTED, &delays);
        assert_eq!(plan(&req), vec![utc("2026-03-02T10:20:00Z")]);
        // The first step's delay is ignored.
        let delays = [7];
        assert_eq!(
            plan(&PlanRequest {
                delays: &delays,
                ..req
            }),
            vec![utc("2026-03-02T10:20:00Z")]
        );
    }

    #[test]
    fn jitter_is_clipped_to_the_calendar_date() {
        // SPEC §6: jitter never moves a message to another date. Steps 1 at 23:50 and
        // 00:05 stay within 23:59 and 00:00 of their dates, for many enrollments.
        for n in 0..60 {
            let enrollment = format!("enr_clip_{n}");
            for (start, base) in [
                ("2026-03-02T23:30:00Z", 23 * 60 + 50),
                ("2026-03-01T23:45:00Z", 5),
            ] {
                let delays = [0, 1];
                let req = PlanRequest {
                    enrollment: &enrollment,
                    ..request(Zone::UTC, start, STARTED, &delays)
                };
                let planned = plan(&req);
                let date = planned[0].date_naive().succ_opt().unwrap();
                let j = minutes_in(&enrollment, 2, TIME_OF_DAY_JITTER, -20, 20);
                let expected = at_minute(date, (base + j).clamp(0, 1439)).and_utc();
                assert_eq!(planned[1], expected, "{enrollment} from {start}");
            }
        }
    }

    #[test]
    fn specific_time_before_t_goes_the_same_day() {
        // before T: S + 20 (08:20) is before 09:30, so today 09:30 + 0–20 min.
        let delays = [0, 1];
        let req = request(Zone::UTC, "2026-03-03T08:00:00Z", specific(9, 30), &delays);
        let first = utc("2026-03-03T09:30:00Z") + first_jitter(1);
        let planned = plan(&req);
        assert_eq!(planned[0], first);
        // for later steps, around the time step 1 actually went out.
        assert_eq!(planned[1], first + Duration::days(1) + around(2));
    }

    #[test]
    fn specific_time_after_t_goes_the_next_day() {
        // after T: S + 20 (09:35) is past 09:30, so tomorrow's 09:30 + 0–20 min.
        let delays = [0];
        let req = request(Zone::UTC, "2026-03-03T09:15:00Z", specific(9, 30), &delays);
        assert_eq!(plan(&req), jittered_first("2026-03-04T09:30:00Z"));
        // exactly at T: S + 20 = 09:30 leaves room, so today.
        let req = PlanRequest {
            start: utc("2026-03-03T09:10:00Z"),
            ..req
        };
        assert_eq!(plan(&req), jittered_first("2026-03-03T09:30:00Z"));
    }

    #[test]
    fn specific_time_jitter_stays_on_its_date() {
        // clipped: T = 23:50 + up to 20 min stays at or before 23:59.
        let delays = [0];
        let req = request(Zone::UTC, "2026-03-03T08:00:00Z", specific(23, 50), &delays);
        let expected = utc("2026-03-03T23:50:00Z") + first_jitter(1).min(Duration::minutes(9));
        assert_eq!(plan(&req), vec![expected]);
    }

    #[test]
    fn best_time_evening_waits_for_the_next_morning() {
        // evening bucket: 20:00 in Berlin → 07:00–07:20 the next morning.
        let berlin = zone("Europe/Berlin");
        let delays = [0, 2];
        let req = request(berlin, "2026-03-03T19:00:00Z", BEST, &delays);
        let first = resolve_local(berlin, wall("2026-03-04 07:00")) + first_jitter(1);
        let second = first + Duration::days(2) + around(2);
        assert_eq!(plan(&req), vec![first, second]);
    }

    #[test]
    fn best_time_small_hours_wait_for_the_same_morning() {
        // night bucket (t < 06:00): 03:00 → 07:00–07:20 the same morning.
        let berlin = zone("Europe/Berlin");
        let delays = [0];
        let req = request(berlin, "2026-03-04T02:00:00Z", BEST, &delays);
        let first = resolve_local(berlin, wall("2026-03-04 07:00")) + first_jitter(1);
        assert_eq!(plan(&req), vec![first]);
    }

    #[test]
    fn best_time_morning_sends_after_the_grace() {
        // morning bucket: 08:00 → S + 20 min; later steps as.
        let berlin = zone("Europe/Berlin");
        let delays = [0, 1];
        let req = request(berlin, "2026-03-04T07:00:00Z", BEST, &delays);
        let first = utc("2026-03-04T07:20:00Z");
        assert_eq!(
            plan(&req),
            vec![first, first + Duration::days(1) + around(2)]
        );
    }

    #[test]
    fn best_time_midday_sends_at_four_then_early_mornings() {
        // midday bucket: 11:00 → 16:00; later steps between 07:00 and 09:00 on their date.
        let berlin = zone("Europe/Berlin");
        let delays = [0, 1, 3];
        let req = request(berlin, "2026-03-04T10:00:00Z", BEST, &delays);
        let planned = plan(&req);
        assert_eq!(planned[0], resolve_local(berlin, wall("2026-03-04 16:00")));
        let morning = |date: &str, step: u32| {
            resolve_local(berlin, wall(&format!("{date} 07:00")))
                + jitter(step, MORNING_WINDOW, 0, 120)
        };
        assert_eq!(planned[1], morning("2026-03-05", 2));
        assert_eq!(planned[2], morning("2026-03-08", 3));
        for at in &planned[1..] {
            let t = local(berlin, *at).time();
            assert!((hm(7, 0)..=hm(9, 0)).contains(&t), "{at}");
        }
        // midday bucket: at 18:50, S + 20 (19:10) is later than 16:00.
        let req = PlanRequest {
            start: utc("2026-03-04T17:50:00Z"),
            ..req
        };
        assert_eq!(
            plan(&req)[0],
            resolve_local(berlin, wall("2026-03-04 19:10"))
        );
    }

    #[test]
    fn a_moved_step_and_the_ones_after_it_skip_weekends() {
        // a hold or a postponement goes through the planner.
        let berlin = zone("Europe/Berlin");
        let delays = [0, 1, 1, 1];
        let mut req = request(berlin, "2026-12-01T08:00:00Z", STARTED, &delays);
        req.skip_weekends = true;
        req.from_step = 1;
        // Friday 2026-12-18 at 09:40: later steps would fall on the weekend.
        let date = NaiveDate::from_ymd_opt(2026, 12, 18).unwrap();
        let planned = plan_moved(&req, date, hm(9, 40));
        assert_eq!(planned.len(), 3);
        assert_eq!(planned[0], utc("2026-12-18T08:40:00Z"));
        for pair in planned.windows(2) {
            assert!(pair[0] < pair[1], "{planned:?}");
        }
        for at in &planned {
            let weekday = at.with_timezone(&berlin.tz()).weekday();
            assert!(!matches!(weekday, Weekday::Sat | Weekday::Sun), "{at}");
        }
        // A Saturday itself moves to Monday, same time of day.
        let saturday = NaiveDate::from_ymd_opt(2026, 12, 19).unwrap();
        assert_eq!(
            plan_moved(&req, saturday, hm(9, 40))[0],
            utc("2026-12-21T08:40:00Z")
        );
    }

    #[test]
    fn the_steps_after_a_resend_follow_it() {
        // nothing goes out with or before the re-send.
        let delays = [0, 2, 3];
        let mut req = request(zone("UTC"), "2026-12-01T08:00:00Z", STARTED, &delays);
        req.from_step = 1;
        let resent = utc("2026-12-09T14:47:00Z");
        let planned = plan_after(&req, resent);
        assert_eq!(planned.len(), 2);
        assert_eq!(
            planned[0].date_naive(),
            NaiveDate::from_ymd_opt(2026, 12, 11).unwrap()
        );
        assert_eq!(
            planned[1].date_naive(),
            NaiveDate::from_ymd_opt(2026, 12, 14).unwrap()
        );
        assert!(resent < planned[0] && planned[0] < planned[1]);
        req.skip_weekends = true;
        for at in plan_after(&req, resent) {
            assert!(!matches!(at.weekday(), Weekday::Sat | Weekday::Sun), "{at}");
        }
    }

    #[test]
    fn skip_weekends_moves_the_first_step_to_monday() {
        // step 1 due Saturday 10:20 moves to Monday 10:20.
        let delays = [0];
        let saturday = request(Zone::UTC, "2026-03-07T10:00:00Z", STARTED, &delays);
        assert_eq!(plan(&saturday), vec![utc("2026-03-07T10:20:00Z")]);
        let skipping = PlanRequest {
            skip_weekends: true,
            ..saturday
        };
        assert_eq!(plan(&skipping), vec![utc("2026-03-09T10:20:00Z")]);
        // with evening bucket: Friday evening → Monday 07:00–07:20.
        let friday_evening = PlanRequest {
            start: utc("2026-03-06T20:00:00Z"),
            when: WhenToSend::BestTime,
            ..skipping
        };
        assert_eq!(
            plan(&friday_evening),
            jittered_first("2026-03-09T07:00:00Z")
        );
    }

    #[test]
    fn skip_weekends_moves_later_steps_and_counts_from_the_moved_date() {
        // Thursday + 2 = Saturday → Monday; step 3 counts from Monday: + 1 = Tuesday.
        let delays = [0, 2, 1];
        let req = PlanRequest {
            skip_weekends: true,
            ..request(Zone::UTC, "2026-03-05T10:00:00Z", STARTED, &delays)
        };
        let first = utc("2026-03-05T10:20:00Z");
        let second = utc("2026-03-09T10:20:00Z") + around(2);
        let third = utc("2026-03-10T10:20:00Z") + around(3);
        assert_eq!(plan(&req), vec![first, second, third]);
    }

    #[test]
    fn spring_forward_moves_a_specific_time_by_the_gap() {
        // spring forward: T = 02:30 on 2026-03-08 in New York does not exist; 03:30 EDT.
        let ny = zone("America/New_York");
        let delays = [0];
        let req = request(ny, "2026-03-07T17:00:00Z", specific(2, 30), &delays);
        assert_eq!(plan(&req), jittered_first("2026-03-08T07:30:00Z"));
        // 30-minute gap: T = 02:00 on 2026-10-04 at Lord Howe → 02:30 LHDT + jitter.
        let lord_howe = zone("Australia/Lord_Howe");
        let req = request(lord_howe, "2026-10-03T02:00:00Z", specific(2, 0), &delays);
        assert_eq!(plan(&req), jittered_first("2026-10-03T15:30:00Z"));
    }

    #[test]
    fn spring_forward_moves_a_later_step_by_the_gap() {
        // spring forward: step 1 at 02:10 EST on 03-07, step 2 at 02:10 ± 20 on 03-08:
        // before 02:00 it exists (EST), from 02:00 on it moves an hour later (EDT).
        let ny = zone("America/New_York");
        let (mut before_gap, mut in_gap) = (0, 0);
        for n in 0..40 {
            let enrollment = format!("enr_gap_{n}");
            let delays = [0, 1];
            let req = PlanRequest {
                enrollment: &enrollment,
                ..request(ny, "2026-03-07T06:50:00Z", STARTED, &delays)
            };
            let planned = plan(&req);
            assert_eq!(planned[0], utc("2026-03-07T07:10:00Z"));
            let j = minutes_in(&enrollment, 2, TIME_OF_DAY_JITTER, -20, 20);
            let wanted = wall("2026-03-08 02:10") + Duration::minutes(j);
            let on_the_clock = if wanted < wall("2026-03-08 02:00") {
                before_gap += 1;
                wanted
            } else {
                in_gap += 1;
                wanted + Duration::hours(1)
            };
            assert_eq!(local(ny, planned[1]), on_the_clock, "{enrollment}");
            // Either way the instant is the wall time read with EST (UTC-5).
            assert_eq!(planned[1], wanted.and_utc() + Duration::hours(5));
        }
        assert!(before_gap > 0 && in_gap > 0, "both cases are exercised");
    }

    #[test]
    fn fall_back_takes_the_earlier_instant() {
        // fall back: T = 01:30 on 2026-11-01 in New York happens twice; the EDT one (05:30Z).
        let ny = zone("America/New_York");
        let delays = [0];
        let req = request(ny, "2026-10-31T16:00:00Z", specific(1, 30), &delays);
        assert_eq!(plan(&req), jittered_first("2026-11-01T05:30:00Z"));
    }

    #[test]
    fn fall_back_never_puts_the_first_step_before_the_grace_end() {
        // over: S + 20 = 01:25 EST (the second 01:25); reading 01:25 back would
        // give the EDT instant an hour earlier, so the grace end itself is kept.
        let ny = zone("America/New_York");
        let delays = [0];
        let req = request(ny, "2026-11-01T06:05:00Z", STARTED, &delays);
        assert_eq!(plan(&req), vec![utc("2026-11-01T06:25:00Z")]);
    }

    #[test]
    fn replan_from_a_later_step_uses_the_first_step_rules_and_real_step_numbers() {
        // with: re-planning from step 3 (index 2) at a 20:00 resume moment:
        // step 3 takes the evening rule, step 4 follows it; jitter keys are 3 and 4.
        let delays = [0, 3, 2, 4];
        let req = PlanRequest {
            from_step: 2,
            ..request(Zone::UTC, "2026-03-03T20:00:00Z", BEST, &delays)
        };
        let third = utc("2026-03-04T07:00:00Z") + first_jitter(3);
        let fourth = third + Duration::days(4) + around(4);
        assert_eq!(plan(&req), vec![third, fourth]);
        // Nothing left to plan.
        assert!(
            plan(&PlanRequest {
                from_step: 4,
                ..req
            })
            .is_empty()
        );
    }

    #[test]
    fn jitter_windows_are_covered_end_to_end() {
        // SPEC §6 jitter ranges, over many enrollments: first steps 0–20 min
        // after their time, R-6.2 later steps ± 20 min, R-6.4 midday 07:00–09:00, both
        // ends reached and never passed.
        let (mut first, mut around, mut morning) = (vec![], vec![], vec![]);
        for n in 0..2000 {
            let enrollment = format!("enr_range_{n}");
            let delays = [0, 1];
            let with = |when, start| PlanRequest {
                enrollment: &enrollment,
                ..request(Zone::UTC, start, when, &delays)
            };
            let minutes = |a: DateTime<Utc>, b: DateTime<Utc>| (a - b).num_minutes();
            let specific = plan(&with(specific(12, 0), "2026-03-03T08:00:00Z"));
            first.push(minutes(specific[0], utc("2026-03-03T12:00:00Z")));
            around.push(minutes(specific[1], specific[0] + Duration::days(1)));
            let midday = plan(&with(WhenToSend::BestTime, "2026-03-03T11:00:00Z"));
            morning.push(minutes(midday[1], utc("2026-03-04T07:00:00Z")));
        }
        for (name, values, lo, hi) in [
            ("first step", first, 0, 20),
            ("around step 1's time", around, -20, 20),
            ("morning window", morning, 0, 120),
        ] {
            let (min, max) = (values.iter().min(), values.iter().max());
            assert_eq!((min, max), (Some(&lo), Some(&hi)), "{name}");
        }
    }

    #[test]
    fn a_zero_delay_still_plans_strictly_later() {
        // order: a (not validated) zero delay on the midday rule would land before step 1.
        let delays = [0, 0];
        let req = request(Zone::UTC, "2026-03-04T10:00:00Z", BEST, &delays);
        let first = utc("2026-03-04T16:00:00Z");
        assert_eq!(plan(&req), vec![first, first + Duration::minutes(1)]);
    }

    #[test]
    fn spacing_counts_dates_in_the_zone_not_24_hour_periods() {
        // a best-time step at 07:00 after a 16:00 send the day before is spaced.
        let delays = [0, 1];
        let req = PlanRequest {
            from_step: 1,
            ..request(zone("Europe/Berlin"), "2026-12-01T10:00:00Z", BEST, &delays)
        };
        let sent = utc("2026-12-01T15:00:00Z"); // 16:00 in Berlin
        assert!(is_spaced(&req, sent, utc("2026-12-02T06:00:00Z")));
        // Step 1 deferred to the next day, step 2 left on that same day: not spaced.
        let deferred = utc("2026-12-02T13:00:00Z");
        assert!(!is_spaced(&req, deferred, utc("2026-12-02T13:35:00Z")));
        // Re-planned from the actual send, it is.
        let after = plan_after(&req, deferred);
        assert!(is_spaced(&req, deferred, after[0]), "{after:?}");
        assert_eq!(
            local(req.zone, after[0]).date(),
            NaiveDate::from_ymd_opt(2026, 12, 3).unwrap()
        );
    }
}
