//! Properties that must hold for any input, checked on random data with proptest:
//! percentiles, the classification of one metric and the decision.
//!
//! 256 cases per property (the default count, set explicitly so that the
//! suite's time stays put if proptest's default changes).

use canary_report::judge::analysis::{DataSource, MetricAnalysis, Span, TimeSource, Windows};
use canary_report::judge::checkpoints::{Checkpoint, CheckpointState};
use canary_report::judge::classify::{MetricVerdict, Status, classify_metric};
use canary_report::judge::rules::{LogFacts, Verdict, Verification, decide};
use canary_report::model::{DdlOutcome, Manifest, MetricId, Phase, RunStatus, Sample, Window};
use canary_report::stats::{quantile_sorted, quantiles, summarize};
use canary_report::thresholds::{BoundKind, Statistic, Thresholds};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::subsequence;

const CASES: u32 = 256;

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: CASES,
        // Failures are reported with their seed; nothing is written to disk.
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

// ------------------------------------------------------------------ statistics

/// A sample value: mostly any realistic number, often a repeated small one
/// (ties), sometimes a signed zero.
fn value() -> impl Strategy<Value = f64> {
    prop_oneof![
        6 => -1e12..1e12f64,
        3 => (0u8..6).prop_map(f64::from),
        1 => prop_oneof![Just(0.0), Just(-0.0)],
    ]
}

fn sorted(mut v: Vec<f64>) -> Vec<f64> {
    v.sort_by(f64::total_cmp);
    v
}

proptest! {
    #![proptest_config(config())]

    /// A percentile lies between the minimum and the maximum, and a higher p
    /// never gives a lower percentile.
    #[test]
    fn quantiles_lie_within_min_and_max_and_rise_with_p(
        values in vec(value(), 1..400),
        p1 in 0.0..=1.0f64,
        p2 in 0.0..=1.0f64,
    ) {
        let v = sorted(values);
        let (lo, hi) = if p1 <= p2 { (p1, p2) } else { (p2, p1) };
        let a = quantile_sorted(&v, lo).unwrap();
        let b = quantile_sorted(&v, hi).unwrap();
        let (min, max) = (v[0], v[v.len() - 1]);
        prop_assert!(min <= a && a <= max, "q({lo}) = {a} outside [{min}, {max}]");
        prop_assert!(min <= b && b <= max, "q({hi}) = {b} outside [{min}, {max}]");
        prop_assert!(a <= b, "q({lo}) = {a} > q({hi}) = {b}");
        prop_assert_eq!(quantile_sorted(&v, 0.0), Some(min));
        prop_assert_eq!(quantile_sorted(&v, 1.0), Some(max));
    }

    /// Over a grid of p, the percentiles never fall (the linear interpolation
    /// switches formula at the midpoint between two order statistics).
    #[test]
    fn quantiles_are_monotone_over_a_fine_grid(values in vec(value(), 1..60)) {
        let v = sorted(values);
        let mut last = f64::NEG_INFINITY;
        for i in 0..=1000 {
            let p = f64::from(i) / 1000.0;
            let q = quantile_sorted(&v, p).unwrap();
            prop_assert!(q >= last, "q({p}) = {q} < {last}");
            last = q;
        }
    }

    /// `summarize` (selection, no full sort) gives p50 ≤ p95 ≤ p99 within
    /// [min, max], exactly the percentiles of the sorted data, and a mean
    /// within [min, max].
    #[test]
    fn summary_percentiles_are_ordered_and_agree_with_the_sorted_data(
        values in vec(value(), 1..400),
    ) {
        let reference = sorted(values.clone());
        let mut work = values;
        let s = summarize(&mut work).unwrap();
        prop_assert_eq!(s.count as usize, reference.len());
        prop_assert!(s.min <= s.p50 && s.p50 <= s.p95 && s.p95 <= s.p99 && s.p99 <= s.max,
            "{s:?}");
        prop_assert_eq!(s.min, reference[0]);
        prop_assert_eq!(s.max, reference[reference.len() - 1]);
        for (got, q) in [(s.p50, 0.50), (s.p95, 0.95), (s.p99, 0.99)] {
            prop_assert_eq!(got, quantile_sorted(&reference, q).unwrap(), "q = {}", q);
        }
        // The mean may be off by rounding, never by more.
        let slack = 1e-9 * s.min.abs().max(s.max.abs()).max(1.0);
        prop_assert!(s.mean >= s.min - slack && s.mean <= s.max + slack, "{s:?}");
    }

    /// `quantiles` on unsorted data is `quantile_sorted` on the sorted data, for
    /// any qs in any order.
    #[test]
    fn selection_quantiles_equal_sorted_quantiles(
        values in vec(value(), 1..300),
        qs in [0.0..=1.0f64, 0.0..=1.0f64, 0.0..=1.0f64, 0.0..=1.0f64],
    ) {
        let reference = sorted(values.clone());
        let mut work = values;
        let got = quantiles(&mut work, qs).unwrap();
        for (g, q) in got.iter().zip(qs) {
            prop_assert_eq!(*g, quantile_sorted(&reference, q).unwrap(), "q = {}", q);
        }
    }
}

/// With two finite values of opposite sign beyond ±f64::MAX/2, `b - a`
/// overflows; the interpolation must still land within [min, max]. Reachable
/// from a CSV (`1.7e308` is a finite decimal).
#[test]
fn quantiles_of_extreme_values_stay_within_min_and_max() {
    let v = [-1.7e308, 1.7e308];
    for q in [0.25, 0.5, 0.75, 0.99] {
        let got = quantile_sorted(&v, q).unwrap();
        assert!((-1.7e308..=1.7e308).contains(&got), "q({q}) = {got}");
    }
}

// -------------------------------------------------------------- classification

/// Baseline [0, 100), during [100, 200), post [200, 400), one sample a second.
fn windows() -> Windows {
    Windows {
        baseline: Some(Span {
            start: 0.0,
            end: 100.0,
        }),
        during: Some(Span {
            start: 100.0,
            end: 200.0,
        }),
        post: Some(Span {
            start: 200.0,
            end: 400.0,
        }),
        after_rollback: None,
        settle_s: 0.0,
        source: TimeSource::Events,
    }
}

/// A metric as the analysis gives it: the timeline and each window's summary.
fn analysed(metric: MetricId, values: &[f64]) -> MetricAnalysis {
    let timeline: Vec<Sample> = values
        .iter()
        .enumerate()
        .map(|(t, &v)| Sample { t: t as f64, v })
        .collect();
    let w = windows();
    let summary = |span: Option<Span>| {
        let span = span.unwrap();
        let mut v: Vec<f64> = timeline
            .iter()
            .filter(|s| span.contains(s.t))
            .map(|s| s.v)
            .collect();
        summarize(&mut v)
    };
    MetricAnalysis {
        metric,
        source: DataSource::Series,
        baseline: summary(w.baseline),
        during: summary(w.during),
        post: summary(w.post),
        after_rollback: None,
        from_counts: None,
        timeline,
    }
}

const KINDS: [BoundKind; 5] = [
    BoundKind::Above,
    BoundKind::Below,
    BoundKind::IncreasePct,
    BoundKind::DecreasePct,
    BoundKind::AbovePctOfMaxConnections,
];

const STATISTICS: [Statistic; 8] = [
    Statistic::Mean,
    Statistic::Min,
    Statistic::Max,
    Statistic::P50,
    Statistic::P95,
    Statistic::P99,
    Statistic::Sum,
    Statistic::Count,
];

/// A bound in the kind's unit: absolute values around the data (0..200), or
/// percentages (negative ones and above 100 included, as a file may say).
fn bound() -> impl Strategy<Value = Option<f64>> {
    prop_oneof![1 => Just(None), 6 => (-60.0..260.0f64).prop_map(Some)]
}

/// An increment that makes a sample worse: often none, so that a single
/// sample or a few get worse as well as all of them.
fn worsening() -> impl Strategy<Value = f64> {
    prop_oneof![3 => Just(0.0), 2 => 0.0..80.0f64]
}

fn severity(s: Status) -> u8 {
    match s {
        Status::NoData => 0,
        Status::Ok => 1,
        Status::Warning => 2,
        Status::Critical => 3,
    }
}

proptest! {
    #![proptest_config(config())]

    /// For every bound kind and statistic, making during/post samples worse
    /// (higher where higher is worse, lower where lower is) never gives the
    /// metric, or the during or post window, a better status. The baseline
    /// is kept, so relative bounds stay where they were.
    #[test]
    fn a_worse_value_never_gets_a_better_status(
        kind in prop::sample::select(KINDS.to_vec()),
        statistic in prop::sample::select(STATISTICS.to_vec()),
        warning in bound(),
        critical in bound(),
        sustained_for_s in prop_oneof![Just(0.0), Just(10.0), Just(60.0), 0.0..150.0f64],
        max_connections in 50u64..400,
        baseline_level in 0.0..200.0f64,
        canary_level in 0.0..220.0f64,
        noise in vec(-10.0..10.0f64, 400),
        worse_by in vec(worsening(), 300),
        shift in prop_oneof![Just(0.0), 0.0..60.0f64],
    ) {
        let mut th = Thresholds::default().for_metric(MetricId::CpuUsagePct).clone();
        th.kind = kind;
        th.statistic = statistic;
        th.warning = warning;
        th.critical = critical;
        th.sustained_for_s = sustained_for_s;
        let lower_is_worse = matches!(kind, BoundKind::Below | BoundKind::DecreasePct);

        // A level and some noise per window, so that the baseline can be
        // better or worse than the canary and the statistics spread out.
        let before: Vec<f64> = noise
            .iter()
            .enumerate()
            .map(|(t, n)| if t < 100 { baseline_level + n } else { canary_level + n })
            .collect();
        let after: Vec<f64> = before
            .iter()
            .enumerate()
            .map(|(t, &v)| {
                let d = if t < 100 { 0.0 } else { worse_by[t - 100] + shift };
                if lower_is_worse { v - d } else { v + d }
            })
            .collect();

        let judge = |values: &[f64]| {
            classify_metric(
                &analysed(MetricId::CpuUsagePct, values),
                &th,
                &windows(),
                Some(max_connections),
            )
            .verdict
        };
        let (a, b) = (judge(&before), judge(&after));
        for (what, x, y) in [
            ("status", a.status, b.status),
            ("during", a.during_status, b.during_status),
            ("post", a.post_status, b.post_status),
        ] {
            prop_assert!(
                severity(y) >= severity(x),
                "{what}: {x:?} became {y:?} for worse values ({kind:?}, {statistic:?}, \
                 warning {warning:?}, critical {critical:?}, bounds {:?}/{:?})",
                b.warning_bound, b.critical_bound
            );
        }
        // Same baseline, same resolved bounds and same pre-existing flag.
        prop_assert_eq!((a.warning_bound, a.critical_bound), (b.warning_bound, b.critical_bound));
        prop_assert_eq!(a.pre_existing, b.pre_existing);
    }
}

// -------------------------------------------------------------------- decision

fn manifest() -> Manifest {
    serde_json::from_value(serde_json::json!({
        "run_id": "PROP-1",
        "scope": {"actual": {"tenant": "t1", "connection": "c1", "database": "shop",
                              "table": "orders", "operation": "ADD_INDEX"}},
        "target": {"index_name": "idx_a_b", "columns": ["a", "b"]},
        "plan": {"start": "2026-11-20T19:00:00Z"}
    }))
    .unwrap()
}

/// One input of the rules, good (0) or one of its bad values (1..).
#[derive(Debug, Clone, Copy)]
enum Fact {
    RunStatus,
    DdlOutcome,
    MissingPhase,
    AbortedPhase,
    Rollback,
    NoKillSwitchCheck,
    KillSwitchFailed,
    CriticalIncident,
    OpenIncident,
    Verification,
}

const FACTS: [(Fact, u8); 10] = [
    (Fact::RunStatus, 2),
    (Fact::DdlOutcome, 3),
    (Fact::MissingPhase, 1),
    (Fact::AbortedPhase, 1),
    (Fact::Rollback, 1),
    (Fact::NoKillSwitchCheck, 1),
    (Fact::KillSwitchFailed, 1),
    (Fact::CriticalIncident, 1),
    (Fact::OpenIncident, 1),
    (Fact::Verification, 6),
];

/// The metrics the verdicts cover; the last is a latency metric (rule 4).
const METRICS: [MetricId; 4] = [
    MetricId::CpuUsagePct,
    MetricId::ReplicationLagS,
    MetricId::DiskWriteMbS,
    MetricId::QueryLatencyP99Ms,
];

const STATUSES: [Status; 4] = [
    Status::NoData,
    Status::Ok,
    Status::Warning,
    Status::Critical,
];

/// Everything `decide` reads, as plain numbers.
#[derive(Debug, Clone)]
struct Inputs {
    /// 0 = good, else which bad value, per FACTS entry.
    facts: Vec<u8>,
    /// Index into STATUSES, per METRICS entry.
    statuses: Vec<usize>,
    /// The latency metric's post-phase change, in percent.
    post_delta: f64,
    pre_existing: Vec<bool>,
}

fn check(state: CheckpointState, detail: &str) -> Checkpoint {
    Checkpoint {
        name: "Final Check".into(),
        planned: true,
        state,
        at: Some(0.0),
        detail: detail.into(),
    }
}

fn facts_of(inputs: &Inputs) -> LogFacts {
    let good = Verification {
        index_exists: true,
        columns: vec!["a".into(), "b".into()],
        index_type: Some("BTREE".into()),
        explain_type: Some("ref".into()),
        explain_key: Some("idx_a_b".into()),
    };
    let mut f = LogFacts {
        run_status: Some(RunStatus::Completed),
        ddl_outcome: Some(DdlOutcome::Success),
        checkpoints: vec![check(CheckpointState::Passed, "")],
        verification: Some(good.clone()),
        ..LogFacts::default()
    };
    for ((fact, _), &bad) in FACTS.iter().zip(&inputs.facts) {
        if bad == 0 {
            continue;
        }
        match fact {
            Fact::RunStatus => {
                f.run_status = [None, Some(RunStatus::Aborted)][usize::from(bad - 1)];
            }
            Fact::DdlOutcome => {
                f.ddl_outcome = [None, Some(DdlOutcome::Failed), Some(DdlOutcome::Killed)]
                    [usize::from(bad - 1)];
            }
            Fact::MissingPhase => f.missing_phases = vec![Phase::Monitoring],
            Fact::AbortedPhase => f.aborted_phases = vec![Phase::Execute],
            Fact::Rollback => f.rollback = true,
            Fact::NoKillSwitchCheck => f.checkpoints.clear(),
            Fact::KillSwitchFailed => f
                .checkpoints
                .push(check(CheckpointState::Failed, "global ON, connection OFF")),
            Fact::CriticalIncident => f.incidents_critical = 1,
            Fact::OpenIncident => f.incidents_open = 1,
            Fact::Verification => {
                let mut v = good.clone();
                match bad {
                    1 => v.index_exists = false,
                    2 => v.explain_type = Some("ALL".into()),
                    3 => v.explain_key = Some("PRIMARY".into()),
                    4 => v.columns = vec!["b".into(), "a".into()],
                    5 => v.index_type = Some("HASH".into()),
                    _ => {}
                }
                f.verification = (bad != 6).then_some(v);
            }
        }
    }
    f
}

/// The rules over facts and verdicts alone (no episodes, significance or windows).
fn decide_plain(
    manifest: &Manifest,
    facts: &LogFacts,
    verdicts: &[MetricVerdict],
    th: &Thresholds,
) -> canary_report::judge::rules::Decision {
    let windows = Windows {
        baseline: None,
        during: None,
        post: None,
        after_rollback: None,
        settle_s: 0.0,
        source: TimeSource::Events,
    };
    decide(
        &canary_report::judge::rules::Evidence {
            manifest,
            facts,
            verdicts,
            episodes: &[],
            significance: &[],
            windows: &windows,
        },
        th,
    )
}

fn verdicts_of(inputs: &Inputs) -> Vec<MetricVerdict> {
    METRICS
        .iter()
        .zip(&inputs.statuses)
        .zip(&inputs.pre_existing)
        .map(|((&metric, &s), &pre)| {
            let status = STATUSES[s];
            let latency = metric.is_latency();
            MetricVerdict {
                metric,
                status,
                baseline_value: Some(10.0),
                during_value: Some(11.0),
                post_value: Some(10.0),
                during_delta_pct: Some(10.0),
                post_delta_pct: Some(if latency { inputs.post_delta } else { 1.0 }),
                baseline_status: if pre { Status::Warning } else { Status::Ok },
                during_status: status,
                post_status: Status::Ok,
                pre_existing: pre.then_some(Status::Warning),
                warning_bound: Some(12.0),
                critical_bound: Some(20.0),
                after_rollback_value: None,
                after_rollback_delta_pct: None,
                after_rollback_status: Status::NoData,
                window_breaches: vec![],
                required: false,
                no_data_reason: (status == Status::NoData).then(|| "nothing recorded".into()),
                method: None,
            }
        })
        .collect()
}

fn inputs() -> impl Strategy<Value = Inputs> {
    let facts = FACTS
        .iter()
        .map(|&(_, bad_values)| prop_oneof![4 => Just(0u8), 1 => 1..=bad_values].boxed())
        .collect::<Vec<_>>();
    (
        facts,
        vec(
            prop_oneof![1 => Just(0usize), 6 => Just(1usize), 2 => Just(2usize), 1 => Just(3usize)],
            METRICS.len(),
        ),
        -30.0..30.0f64,
        vec(prop::bool::weighted(0.1), METRICS.len()),
    )
        .prop_map(|(facts, statuses, post_delta, pre_existing)| Inputs {
            facts,
            statuses,
            post_delta,
            pre_existing,
        })
}

/// One step that makes the run worse.
#[derive(Debug, Clone)]
enum Worse {
    /// A good fact becomes its `n`-th bad value (1-based, wrapped).
    Fact(usize, u8),
    /// A metric's status rises by `n` levels of NO_DATA, OK, WARNING, CRITICAL
    /// (NO_DATA to OK changes nothing the rules read).
    Metric(usize, usize),
    /// The latency's post-phase change grows by this many points.
    Latency(f64),
}

fn worse() -> impl Strategy<Value = Worse> {
    prop_oneof![
        (0..FACTS.len(), 1u8..=6).prop_map(|(i, n)| Worse::Fact(i, n)),
        (0..METRICS.len(), 1usize..=3).prop_map(|(i, n)| Worse::Metric(i, n)),
        (0.0..40.0f64).prop_map(Worse::Latency),
    ]
}

fn apply(inputs: &Inputs, step: &Worse) -> Inputs {
    let mut w = inputs.clone();
    match *step {
        Worse::Fact(i, n) => {
            if w.facts[i] == 0 {
                let bad_values = FACTS[i].1;
                w.facts[i] = (n - 1) % bad_values + 1;
            }
        }
        Worse::Metric(i, n) => {
            // NO_DATA < OK < WARNING < CRITICAL by severity.
            w.statuses[i] = (w.statuses[i] + n).min(STATUSES.len() - 1);
        }
        Worse::Latency(d) => w.post_delta += d,
    }
    w
}

proptest! {
    #![proptest_config(config())]

    /// Making one input worse never turns STOP_AND_FIX into APPROVED, and never
    /// makes a failing rule pass; with any rules disabled and with
    /// warnings_block on or off.
    #[test]
    fn a_worse_fact_never_turns_stop_into_approved(
        start in inputs(),
        step in worse(),
        disabled in subsequence(
            vec!["canary_completed", "no_critical_metric", "no_critical_or_open_incident",
                 "post_latency_degradation", "kill_switch_checks_passed", "no_rollback",
                 "index_verified"],
            0..3,
        ),
        warnings_block in prop::bool::weighted(0.3),
    ) {
        let mut th = Thresholds::default();
        th.rules.disabled = disabled.iter().map(|s| s.to_string()).collect();
        th.rules.warnings_block = warnings_block;
        let m = manifest();
        let worse = apply(&start, &step);
        let before = decide_plain(&m, &facts_of(&start), &verdicts_of(&start), &th);
        let after = decide_plain(&m, &facts_of(&worse), &verdicts_of(&worse), &th);
        let stopped = before.verdict == Verdict::StopAndFix;
        let approved = after.verdict == Verdict::ApprovedForLimitedProd;
        prop_assert!(
            !(stopped && approved),
            "{step:?} turned STOP_AND_FIX into APPROVED: {:#?}", before.blockers
        );
        for r in before.rules.iter().filter(|r| !r.passed) {
            let now = after.rules.iter().find(|x| x.rule == r.rule).unwrap();
            prop_assert!(!now.passed, "{:?} passed after {step:?}", r.rule);
        }
    }

    /// The decision is APPROVED exactly when no enabled rule fails and, with
    /// warnings_block, no metric is WARNING or was already beyond a bound.
    #[test]
    fn approved_exactly_when_nothing_blocks(start in inputs(), warnings_block in any::<bool>()) {
        let mut th = Thresholds::default();
        th.rules.warnings_block = warnings_block;
        let verdicts = verdicts_of(&start);
        let d = decide_plain(&manifest(), &facts_of(&start), &verdicts, &th);
        let rules_fail = d.rules.iter().any(|r| !r.passed && !r.disabled);
        let conditions = verdicts
            .iter()
            .any(|v| v.status == Status::Warning || v.pre_existing.is_some());
        let blocked = rules_fail || (warnings_block && conditions);
        prop_assert_eq!(d.verdict == Verdict::ApprovedForLimitedProd, !blocked);
        prop_assert_eq!(d.blockers.is_empty(), !blocked);
    }
}

#[test]
fn the_windows_used_above_are_the_ones_classify_reads() {
    // Guards the synthetic metric of the classification property: every
    // window holds samples, so its statuses are judged, not NO_DATA.
    let m = analysed(MetricId::CpuUsagePct, &[1.0; 400]);
    for w in [Window::Baseline, Window::During, Window::Post] {
        assert!(m.summary(w).is_some_and(|s| s.count > 0), "{w:?}");
    }
    assert_eq!(m.summary(Window::Post).unwrap().count, 200);
}
