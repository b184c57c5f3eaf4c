//! The decision rules of template section 7.2.

/// A decision rule, by its stable key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RuleId {
    CanaryCompleted,
    NoCriticalMetric,
    NoCriticalOrOpenIncident,
    PostLatencyDegradation,
    KillSwitchChecksPassed,
    NoRollback,
    IndexVerified,
}

impl RuleId {
    pub const ALL: [RuleId; 7] = [
        RuleId::CanaryCompleted,
        RuleId::NoCriticalMetric,
        RuleId::NoCriticalOrOpenIncident,
        RuleId::PostLatencyDegradation,
        RuleId::KillSwitchChecksPassed,
        RuleId::NoRollback,
        RuleId::IndexVerified,
    ];

    pub fn key(self) -> &'static str {
        match self {
            RuleId::CanaryCompleted => "canary_completed",
            RuleId::NoCriticalMetric => "no_critical_metric",
            RuleId::NoCriticalOrOpenIncident => "no_critical_or_open_incident",
            RuleId::PostLatencyDegradation => "post_latency_degradation",
            RuleId::KillSwitchChecksPassed => "kill_switch_checks_passed",
            RuleId::NoRollback => "no_rollback",
            RuleId::IndexVerified => "index_verified",
        }
    }

    pub fn from_key(key: &str) -> Option<RuleId> {
        RuleId::ALL.into_iter().find(|r| r.key() == key)
    }
}
