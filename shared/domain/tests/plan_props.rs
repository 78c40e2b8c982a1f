//! Properties of the send planner (SPEC §6, R-6.1– ), checked on the local
//! clock of the plan's zone over many starts (2024–2029), zones, modes, delays,
//! weekend settings and re-plans, with extra cases around daylight-saving
//! transitions, where the rules are easiest to get wrong.
//!
//! A DST gap moves a wall time forward by the gap's length, so the
//! windows below hold for the wall time a step *wanted*: either its local time
//! itself, or a non-existent wall time that [`resolve_local`] moved onto it.

use chrono::{
    DateTime, Datelike, Days, Duration, NaiveDate, NaiveDateTime, NaiveTime, Offset, TimeZone,
    Timelike, Utc, Weekday,
};
use outreach_domain::Zone;
use outreach_domain::campaign::WhenToSend;
use outreach_domain::plan::{PlanRequest, grace_end, plan, resolve_local};
use proptest::prelude::*;
use proptest::sample::Index;
use std::sync::OnceLock;

const ZONES: &[&str] = &[
    "America/New_York",
    "Europe/Berlin",
    "Australia/Lord_Howe",
    "Asia/Kolkata",
    "UTC",
    // DST changes at midnight: gaps and repeats right at the date boundary.
    "America/Santiago",
];

/// 2024-01-01T00:00:00Z and 2030-01-01T00:00:00Z.
const FROM: i64 = 1_704_067_200;
const UNTIL: i64 = 1_893_456_000;

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 512,
        ..ProptestConfig::default()
    }
}

/// One generated planning request, owning what [`PlanRequest`] borrows.
#[derive(Debug, Clone)]
struct Case {
    enrollment: String,
    start: DateTime<Utc>,
    zone: Zone,
    when: WhenToSend,
    skip_weekends: bool,
    delays: Vec<u32>,
    from_step: usize,
}

impl Case {
    fn request(&self) -> PlanRequest<'_> {
        PlanRequest {
            enrollment: &self.enrollment,
            start: self.start,
            zone: self.zone,
            when: self.when,
            skip_weekends: self.skip_weekends,
            delays: &self.delays,
            from_step: self.from_step,
        }
    }
}

// ---------------------------------------------------------------- strategies

fn zone() -> impl Strategy<Value = Zone> {
    prop::sample::select(ZONES).prop_map(|name| Zone::parse(name).unwrap())
}

fn when() -> impl Strategy<Value = WhenToSend> {
    let at = |minute: u32| WhenToSend::SpecificTime {
        time: NaiveTime::from_hms_opt(minute / 60, minute % 60, 0).unwrap(),
    };
    prop_oneof![
        Just(WhenToSend::WhenStarted),
        Just(WhenToSend::BestTime),
        (0..24 * 60u32).prop_map(at),
        // Times of day where the DST changes of these zones happen.
        (0..5 * 60u32).prop_map(at),
    ]
}

fn any_start() -> impl Strategy<Value = DateTime<Utc>> {
    (FROM..UNTIL, prop_oneof![Just(0u32), 0..1_000_000_000u32])
        .prop_map(|(secs, nanos)| DateTime::from_timestamp(secs, nanos).unwrap())
}

/// Instants (to the day) of every UTC-offset change of `zone` in 2024–2029.
fn transitions(zone: Zone) -> &'static [DateTime<Utc>] {
    static ALL: OnceLock<Vec<(Zone, Vec<DateTime<Utc>>)>> = OnceLock::new();
    let all = ALL.get_or_init(|| {
        ZONES
            .iter()
            .map(|name| {
                let zone = Zone::parse(name).unwrap();
                let days = (FROM..UNTIL).step_by(86_400);
                let changes = days
                    .map(|secs| DateTime::from_timestamp(secs, 0).unwrap())
                    .filter(|day| offset(zone, *day) != offset(zone, *day + Duration::days(1)))
                    .collect();
                (zone, changes)
            })
            .collect()
    });
    &all.iter().find(|(z, _)| *z == zone).unwrap().1
}

/// A start from 2.5 days before to 1.5 days after a DST change of `zone` (any start if it has none).
fn start_near_transition(zone: Zone) -> BoxedStrategy<DateTime<Utc>> {
    let changes = transitions(zone);
    if changes.is_empty() {
        return any_start().boxed();
    }
    (prop::sample::select(changes), -60 * 3600..36 * 3600i64)
        .prop_map(|(change, secs)| change + Duration::seconds(secs))
        .boxed()
}

fn case_with(
    start: impl Strategy<Value = DateTime<Utc>>,
    zone: Zone,
    later_delays: std::ops::RangeInclusive<u32>,
) -> impl Strategy<Value = Case> {
    (
        "[a-z0-9_]{1,16}",
        start,
        when(),
        any::<bool>(),
        0..=365u32,
        prop::collection::vec(later_delays, 0..=4),
        prop_oneof![3 => Just(None), 1 => any::<Index>().prop_map(Some)],
    )
        .prop_map(
            move |(enrollment, start, when, skip_weekends, first, later, replan)| {
                // delays[0] (step 1's) is ignored by the planner: any value will do.
                let delays: Vec<u32> = std::iter::once(first).chain(later).collect();
                let from_step = replan.map_or(0, |i| i.index(delays.len()));
                Case {
                    enrollment,
                    start,
                    zone,
                    when,
                    skip_weekends,
                    delays,
                    from_step,
                }
            },
        )
}

/// Anything: any start of 2024–2029, delays of 1–365 days.
fn any_case() -> impl Strategy<Value = Case> {
    zone().prop_flat_map(|zone| case_with(any_start(), zone, 1..=365))
}

/// Around DST changes with short delays, so that later steps land on them too.
fn dst_case() -> impl Strategy<Value = Case> {
    zone().prop_flat_map(|zone| case_with(start_near_transition(zone), zone, 1..=3))
}

// ---------------------------------------------------------------- oracles

fn local(zone: Zone, at: DateTime<Utc>) -> NaiveDateTime {
    at.with_timezone(&zone.tz()).naive_local()
}

fn offset(zone: Zone, at: DateTime<Utc>) -> Duration {
    let seconds = zone.tz().offset_from_utc_datetime(&at.naive_utc()).fix();
    Duration::seconds(i64::from(seconds.local_minus_utc()))
}

fn exists(zone: Zone, wall: NaiveDateTime) -> bool {
    zone.tz().from_local_datetime(&wall).earliest().is_some()
}

/// The wall times that plan onto `at`: its own local time, and any time of a
/// spring-forward gap that moved forward onto it (by the gap's length,
/// the offset after minus the offset before).
fn wanted_walls(zone: Zone, at: DateTime<Utc>) -> Vec<NaiveDateTime> {
    let on_clock = local(zone, at);
    let after = offset(zone, at);
    let mut walls = vec![on_clock];
    for hours in 1..=24 {
        let gap = after - offset(zone, at - Duration::hours(hours));
        let wall = on_clock - gap;
        if gap > Duration::zero() && !exists(zone, wall) && !walls.contains(&wall) {
            walls.push(wall);
        }
    }
    walls
}

fn ceil_to_minute(at: DateTime<Utc>) -> DateTime<Utc> {
    let floor = DateTime::from_timestamp(at.timestamp().div_euclid(60) * 60, 0).unwrap();
    if floor == at {
        at
    } else {
        floor + Duration::minutes(1)
    }
}

/// where a date goes with the request's weekend setting.
fn moved(date: NaiveDate, skip_weekends: bool) -> NaiveDate {
    match date.weekday() {
        Weekday::Sat if skip_weekends => date + Days::new(2),
        Weekday::Sun if skip_weekends => date + Days::new(1),
        _ => date,
    }
}

fn hm(h: u32, m: u32) -> NaiveTime {
    NaiveTime::from_hms_opt(h, m, 0).unwrap()
}

/// `t` shifted by `minutes`, clipped to its date (00:00..=23:59).
fn shifted(t: NaiveTime, minutes: i64) -> NaiveTime {
    let minute = i64::from(t.hour() * 60 + t.minute()) + minutes;
    let minute = u32::try_from(minute.clamp(0, 24 * 60 - 1)).unwrap();
    hm(minute / 60, minute % 60)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Bucket {
    Night,
    Morning,
    Midday,
}

/// R-6.4's buckets of S's local time of day.
fn bucket(t: NaiveTime) -> Bucket {
    if t >= hm(19, 0) || t < hm(6, 0) {
        Bucket::Night
    } else if t < hm(10, 0) {
        Bucket::Morning
    } else {
        Bucket::Midday
    }
}

/// The first step planned at `anchor`, an instant whose wall time is `wall`
/// (R-6.2, R-6.4 morning and midday): exactly there, or at the same time of day
/// on Monday if that date is a weekend one skipped.
fn at_anchor(
    case: &Case,
    first: DateTime<Utc>,
    anchor: DateTime<Utc>,
    wall: NaiveDateTime,
) -> Result<(), TestCaseError> {
    let monday = moved(wall.date(), case.skip_weekends);
    if monday == wall.date() {
        prop_assert_eq!(first, anchor);
    } else {
        let wanted = monday.and_time(wall.time());
        let walls = wanted_walls(case.zone, first);
        prop_assert!(walls.contains(&wanted), "{wanted} not in {walls:?}");
    }
    Ok(())
}

/// The first step wanted some wall time on `date` within `lo..=hi` (R-6.3, R-6.4 night).
fn in_window(
    case: &Case,
    first: DateTime<Utc>,
    date: NaiveDate,
    lo: NaiveTime,
    hi: NaiveTime,
) -> bool {
    wanted_walls(case.zone, first)
        .iter()
        .any(|w| w.date() == date && (lo..=hi).contains(&w.time()))
}

/// Whether the steps after the first take R-6.4's 07:00–09:00 window.
fn midday(case: &Case) -> bool {
    case.when == WhenToSend::BestTime
        && bucket(local(case.zone, case.start).time()) == Bucket::Midday
}

// ---------------------------------------------------------------- properties

/// SPEC §6 precision, R-6.6 order and determinism.
fn check_general(case: &Case, planned: &[DateTime<Utc>]) -> Result<(), TestCaseError> {
    prop_assert_eq!(planned.len(), case.delays.len() - case.from_step);
    prop_assert!(
        planned[0] >= grace_end(case.start),
        "R-6.1: {} too early",
        planned[0]
    );
    for at in planned {
        prop_assert_eq!(at.second(), 0, "whole minutes: {}", at);
        prop_assert_eq!(at.nanosecond(), 0, "whole minutes: {}", at);
    }
    for pair in planned.windows(2) {
        prop_assert!(
            pair[0] < pair[1],
            "R-6.6 order: {} then {}",
            pair[0],
            pair[1]
        );
    }
    let again = case.clone();
    prop_assert_eq!(plan(&again.request()), planned.to_vec(), "deterministic");
    Ok(())
}

/// for the first planned step.
fn check_first_step(case: &Case, first: DateTime<Utc>) -> Result<(), TestCaseError> {
    let zone = case.zone;
    let grace = ceil_to_minute(grace_end(case.start));
    let start = local(zone, case.start);
    match case.when {
        // S + 20 rounded up.
        WhenToSend::WhenStarted => at_anchor(case, first, grace, local(zone, grace)),
        WhenToSend::BestTime => match bucket(start.time()) {
            // night: 07:00–07:20 the next morning, or the same one in the small hours.
            Bucket::Night => {
                let date = if start.hour() >= 19 {
                    start.date().succ_opt().unwrap()
                } else {
                    start.date()
                };
                let date = moved(date, case.skip_weekends);
                prop_assert!(in_window(case, first, date, hm(7, 0), hm(7, 20)));
                Ok(())
            }
            // morning: S + 20 rounded up.
            Bucket::Morning => at_anchor(case, first, grace, local(zone, grace)),
            // midday: 16:00 or S + 20, whichever is later.
            Bucket::Midday => {
                let four = start.date().and_time(hm(16, 0));
                let four_at = resolve_local(zone, four);
                if four_at >= grace {
                    at_anchor(case, first, four_at, four)
                } else {
                    at_anchor(case, first, grace, local(zone, grace))
                }
            }
        },
        // T + 0–20 min (clipped to the date) on the first date whose T is not
        // before S + 20. The one exception: T is in a DST gap (moved later) but the
        // jitter took T + j out of the gap to before S + 20, where wins.
        WhenToSend::SpecificTime { time } => {
            let today = local(zone, grace).date();
            let date = if resolve_local(zone, today.and_time(time)) >= grace {
                today
            } else {
                today.succ_opt().unwrap()
            };
            let date = moved(date, case.skip_weekends);
            let windowed = in_window(case, first, date, time, shifted(time, 20));
            let grace_wins = first == grace && !exists(zone, date.and_time(time));
            prop_assert!(
                windowed || grace_wins,
                "R-6.3: {} for T = {}",
                local(zone, first),
                time
            );
            Ok(())
        }
    }
}

/// midday: each later step's time of day on its date.
fn check_later_times(case: &Case, planned: &[DateTime<Utc>]) -> Result<(), TestCaseError> {
    let zone = case.zone;
    let base = local(zone, planned[0]).time();
    let (lo, hi) = if midday(case) {
        (hm(7, 0), hm(9, 0))
    } else {
        (shifted(base, -20), shifted(base, 20))
    };
    for at in &planned[1..] {
        let date = local(zone, *at).date();
        let fits = wanted_walls(zone, *at)
            .iter()
            .any(|w| w.date() == date && (lo..=hi).contains(&w.time()));
        prop_assert!(fits, "{} outside {lo}..={hi}", local(zone, *at));
    }
    Ok(())
}

/// each later step's date is the previous step's date plus the
/// delay, moved to Monday if it is a skipped weekend day.
fn check_later_dates(case: &Case, planned: &[DateTime<Utc>]) -> Result<(), TestCaseError> {
    let zone = case.zone;
    for (offset, pair) in planned.windows(2).enumerate() {
        let delay = case.delays[case.from_step + 1 + offset];
        let date = local(zone, pair[0]).date() + Days::new(u64::from(delay));
        prop_assert_eq!(local(zone, pair[1]).date(), moved(date, case.skip_weekends));
    }
    Ok(())
}

/// no step on a weekend when weekends are skipped.
fn check_no_weekends(case: &Case, planned: &[DateTime<Utc>]) -> Result<(), TestCaseError> {
    if case.skip_weekends {
        for at in planned {
            let day = local(case.zone, *at).weekday();
            prop_assert!(
                !matches!(day, Weekday::Sat | Weekday::Sun),
                "{at} is a {day}"
            );
        }
    }
    Ok(())
}

fn check_all(case: &Case) -> Result<(), TestCaseError> {
    let planned = plan(&case.request());
    check_general(case, &planned)?;
    check_first_step(case, planned[0])?;
    check_later_times(case, &planned)?;
    check_later_dates(case, &planned)?;
    check_no_weekends(case, &planned)
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn plans_follow_the_rules_for_any_start(case in any_case()) {
        check_all(&case)?;
    }

    #[test]
    fn plans_follow_the_rules_around_dst_changes(case in dst_case()) {
        check_all(&case)?;
    }

    /// an existing wall time resolves to itself (the earlier instant when it
    /// happens twice); a missing one moves forward by the gap's length.
    #[test]
    fn resolve_local_follows_r_6_6(
        zone in zone(),
        anchor in any_start(),
        near in any::<bool>(),
        minutes in -180..180i64,
    ) {
        let changes = transitions(zone);
        let center = if near && !changes.is_empty() {
            // The change instant is only known to the day: sweep the whole day.
            changes[anchor.timestamp().rem_euclid(changes.len() as i64) as usize]
                + Duration::hours(anchor.timestamp().rem_euclid(24))
        } else {
            anchor
        };
        let wall = local(zone, center).with_second(0).unwrap() + Duration::minutes(minutes);
        let at = resolve_local(zone, wall);
        match zone.tz().from_local_datetime(&wall) {
            chrono::LocalResult::Single(t) => prop_assert_eq!(at, t.with_timezone(&Utc)),
            chrono::LocalResult::Ambiguous(a, b) => {
                prop_assert_eq!(at, a.min(b).with_timezone(&Utc));
                prop_assert_eq!(local(zone, at), wall);
            }
            chrono::LocalResult::None => {
                let gap = offset(zone, at) - offset(zone, at - Duration::days(1));
                prop_assert!(gap > Duration::zero());
                prop_assert_eq!(local(zone, at), wall + gap);
            }
        }
    }
}

/// The DST cases do reach the gaps: some later step moved forward by one.
#[test]
fn dst_cases_exercise_gap_moves() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let strategy = dst_case();
    let moved_steps = (0..2000)
        .map(|_| strategy.new_tree(&mut runner).unwrap().current())
        .filter(|case| {
            plan(&case.request())
                .iter()
                .any(|at| wanted_walls(case.zone, *at).len() > 1)
        })
        .count();
    assert!(moved_steps > 0, "no generated plan hit a DST gap");
}
