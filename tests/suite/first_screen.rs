//! The report's first screen, read as the reviewer who signs it: what broke,
//! when, what was done, whether it recovered, what next; for an approval,
//! its conditions and who has signed. Every time and value on it traces to
//! the judgement in summary.json.

use super::samples::build;
use canary_report::model::Clock;
use serde_json::Value;

/// The decision box: the quoted block between the header and the contents.
fn first_screen(markdown: &str) -> String {
    let start = markdown.find("> ### ").expect("a decision box");
    let end = markdown[start..].find("\n---").expect("the box ends") + start;
    markdown[start..end].to_string()
}

fn clock_of(run: &str) -> Clock {
    let data = canary_report::ingest::read_run(std::path::Path::new(run)).unwrap();
    Clock::of(&data.manifest)
}

#[test]
fn a_stop_and_fix_tells_what_broke_when_what_was_done_and_whether_it_recovered() {
    let built = build("samples/run-002", &["--lang", "en"]);
    let screen = first_screen(&built.markdown);
    let clock = clock_of("samples/run-002");
    let s = &built.summary;
    assert!(screen.starts_with("> ### ⛔ STOP_AND_FIX"), "{screen}");

    // What broke: the replication lag episode, with its bound, start and peak
    // as the judgement has them.
    let lag = s["episodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["metric"] == "replication_lag_s" && e["level"] == "CRITICAL")
        .expect("a critical lag episode");
    let from = clock.hms(lag["critical_periods"][0][0].as_f64().unwrap());
    let peak_at = clock.hms(lag["peak_at"].as_f64().unwrap());
    assert!(
        screen.contains(&format!(
            "Replication Lag (s) beyond 60 s from {from} for 18 min 50 s, peak 92.1 s at {peak_at}"
        )),
        "{screen}"
    );
    assert!(screen.contains("5 metrics reached CRITICAL"), "{screen}");
    // Findings, not rule titles that read backwards.
    assert!(!screen.contains("No metric is CRITICAL"), "{screen}");
    assert!(!screen.contains("No rollback was needed"), "{screen}");

    // When, and what was done: the timeline in order.
    let lines: Vec<&str> = screen.lines().collect();
    let at = |what: &str| {
        lines
            .iter()
            .position(|l| l.contains(what))
            .unwrap_or_else(|| panic!("no `{what}` in:\n{screen}"))
    };
    let order = [
        at("DDL started"),
        at("Trouble began"),
        at("First alert fired"),
        at("DDL ended: success"),
        at("Rollback decided (automatic)"),
        at("Rollback done: the index verified absent"),
        at("Recovered: every critical metric back within its bound"),
    ];
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{screen}");
    assert!(
        screen.contains("> - 03:11:46 Rollback decided (automatic)"),
        "{screen}"
    );
    // How long it stayed critical before anything acted: the run's lesson.
    assert!(
        screen.contains("Critical for 21 min 26 s before the rollback was decided"),
        "{screen}"
    );
    assert!(screen.contains("the rollback took 3.6 s"), "{screen}");

    // What next, and who has signed.
    assert!(screen.contains("**Next step:** Fix the blockers (7.4), then run the canary again"));
    assert!(
        screen.contains("a DRAFT until the Tech Lead signs"),
        "{screen}"
    );
    assert!(
        screen.contains("The team recorded 2 blockers (7.4)"),
        "{screen}"
    );
}

#[test]
fn an_approval_names_its_conditions_and_its_sign_off_state() {
    let built = build("samples/run-001", &["--lang", "en"]);
    let screen = first_screen(&built.markdown);
    assert!(
        screen.starts_with("> ### ✅ APPROVED_FOR_LIMITED_PROD"),
        "{screen}"
    );
    assert!(!screen.contains("What failed"), "{screen}");
    // Each condition by name, as the manifest gives them.
    let manifest: Value =
        serde_json::from_str(&std::fs::read_to_string("samples/run-001/manifest.json").unwrap())
            .unwrap();
    let conditions = manifest["human"]["conditions"].as_array().unwrap();
    assert!(!conditions.is_empty());
    for c in conditions {
        let text = c["condition"].as_str().unwrap();
        assert!(
            screen.contains(&format!("> - {text}")),
            "{text} in:\n{screen}"
        );
    }
    assert!(screen.contains(&format!(
        "once the {} conditions above are met and the Tech Lead signs",
        conditions.len()
    )));
    assert!(
        screen
            .contains("Signed by Canary Lead (Somchai Wongsakul), DBA (Nattapong Srisuk); a DRAFT"),
        "{screen}"
    );
    assert!(
        screen.contains("DDL ended: success after 4 min 28 s"),
        "{screen}"
    );
}

#[test]
fn the_html_decision_box_tells_the_same_story() {
    let built = build("samples/run-002", &["--lang", "en"]);
    let html = std::fs::read_to_string(built.out.join("report.html")).unwrap();
    let start = html.find("<section class=\"decision").unwrap();
    let end = html[start..].find("</section>").unwrap() + start;
    let box_ = &html[start..end];
    for what in [
        "What failed",
        "Trouble began",
        "<tr><th scope=\"row\">03:11:46</th><td>Rollback decided (automatic)",
        "Critical for 21 min 26 s before the rollback was decided",
        "Fix the blockers (7.4), then run the canary again",
    ] {
        assert!(
            box_.contains(what),
            "no `{what}` in the decision box:\n{box_}"
        );
    }
}

#[test]
fn after_a_rollback_the_verification_tells_the_past() {
    let built = build("samples/run-002", &["--lang", "en"]);
    let md = &built.markdown;
    assert!(
        md.contains(
            "_Verified at 02:56:13 (UTC+7). The rollback dropped the index at 03:11:49: these \
             checks tell the index as it was then; it is not in place now._"
        ),
        "6.1"
    );
    let rule = built.summary["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["rule"] == "index_verified")
        .unwrap();
    assert_eq!(rule["passed"], true);
    assert!(
        rule["detail"]
            .as_str()
            .unwrap()
            .ends_with("; dropped since by the rollback: not in place now"),
        "{rule}"
    );
    // Without a rollback, verification is told in its time and nothing more.
    let approved = build("samples/run-001", &["--lang", "en"]);
    assert!(approved.markdown.contains("_Verified at "));
    assert!(!approved.markdown.contains("not in place now"));
}
