//! The decision rules of template 7.2, by name: a plain value, so that the
//! thresholds (which can switch a rule off) need nothing of the judge.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

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
    /// Every metric the thresholds require has data.
    RequiredMetricsMeasured,
    /// Only evaluated when the thresholds file sets `significance_blocks` on a metric.
    NoSignificantWorsening,
}

impl RuleId {
    pub const ALL: [RuleId; 9] = [
        RuleId::CanaryCompleted,
        RuleId::NoCriticalMetric,
        RuleId::NoCriticalOrOpenIncident,
        RuleId::PostLatencyDegradation,
        RuleId::KillSwitchChecksPassed,
        RuleId::NoRollback,
        RuleId::IndexVerified,
        RuleId::RequiredMetricsMeasured,
        RuleId::NoSignificantWorsening,
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
            RuleId::RequiredMetricsMeasured => "required_metrics_measured",
            RuleId::NoSignificantWorsening => "no_significant_worsening",
        }
    }

    pub fn from_key(key: &str) -> Option<RuleId> {
        RuleId::ALL.into_iter().find(|r| r.key() == key)
    }
}

impl Serialize for RuleId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.key())
    }
}

impl<'de> Deserialize<'de> for RuleId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let key = String::deserialize(d)?;
        RuleId::from_key(&key)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown rule `{key}`")))
    }
}

impl JsonSchema for RuleId {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "RuleId".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let keys: Vec<&str> = RuleId::ALL.iter().map(|r| r.key()).collect();
        schemars::json_schema!({ "type": "string", "enum": keys })
    }
}

impl RuleId {
    /// What the rule demands, as the template's 7.2 says it.
    pub fn requirement(self) -> &'static str {
        match self {
            RuleId::CanaryCompleted => "The canary ran as planned to the end",
            RuleId::NoCriticalMetric => "No metric is CRITICAL",
            RuleId::NoCriticalOrOpenIncident => "No critical incident and none left open",
            RuleId::PostLatencyDegradation => {
                "Latency after the change is not worse than the baseline beyond the allowed margin"
            }
            RuleId::KillSwitchChecksPassed => {
                "Every kill switch check answered and found both switches OFF"
            }
            RuleId::NoRollback => "No rollback was needed",
            RuleId::IndexVerified => {
                "The index exists, is used by EXPLAIN (ref/range), has the planned columns and type"
            }
            RuleId::RequiredMetricsMeasured => {
                "Every metric the decision needs was measured (no data is not health)"
            }
            RuleId::NoSignificantWorsening => {
                "No metric the thresholds file guards with significance_blocks got significantly worse than the baseline"
            }
        }
    }
}
