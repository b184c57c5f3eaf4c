//! The report's fixed text in its two languages: Thai with English as the
//! template writes it (`th`), and all-English (`en`).

use std::collections::BTreeMap;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Lang {
    /// Thai headings with English, as the template is written.
    #[default]
    Th,
    /// All English.
    En,
}

impl FromStr for Lang {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "th" => Ok(Lang::Th),
            "en" => Ok(Lang::En),
            _ => Err(format!("unknown language `{s}`: use th or en")),
        }
    }
}

/// (key, Thai-with-English, English).
const LABELS: &[(&str, &str, &str)] = &[
    (
        "title",
        "Canary Run Outcome Report - Executor v1",
        "Canary Run Outcome Report - Executor v1",
    ),
    ("report_date", "วันที่รายงาน", "Report date"),
    ("toc", "สารบัญ (Table of Contents)", "Table of Contents"),
    ("s1", "Executive Summary", "Executive Summary"),
    ("s2", "สรุปสิ่งที่รันทดสอบจริง", "What Was Actually Run"),
    (
        "s3",
        "Metrics ก่อน/ระหว่าง/หลัง Canary",
        "Metrics Before/During/After the Canary",
    ),
    ("s4", "Incident / Warning", "Incident / Warning"),
    ("s5", "Rollback Event", "Rollback Event"),
    ("s6", "Verification Results", "Verification Results"),
    ("s7", "Final Decision", "Final Decision"),
    ("s8", "Action Items ถัดไป", "Next Action Items"),
    ("s9", "Sign-off Section", "Sign-off Section"),
    ("appendices", "Appendices", "Appendices"),
    (
        "s2_1",
        "Target Table และ Index Information",
        "Target Table and Index Information",
    ),
    ("run_date", "วันที่รัน", "Run date"),
    ("start_time", "เวลาเริ่มต้น", "Start time"),
    ("end_time", "เวลาสิ้นสุด", "End time"),
    ("total_duration", "ระยะเวลารวม", "Total duration"),
    ("lead", "ผู้ดำเนินการ (Canary Lead)", "Canary Lead"),
    ("team", "ทีมงาน", "Team"),
    (
        "exec_decision",
        "ผลลัพธ์โดยสรุป (Executive Decision)",
        "Executive Decision",
    ),
    ("final_status", "สถานะสุดท้าย", "Final status"),
    (
        "ddl_executed",
        "DDL Statement ที่ Execute",
        "DDL Statement Executed",
    ),
    (
        "ddl_comment",
        "DDL Statement ที่รันจริง",
        "DDL statement as run",
    ),
    ("result", "ผลลัพธ์", "Result"),
    (
        "ks_state",
        "Kill Switch State ระหว่างการรัน",
        "Kill Switch State During the Run",
    ),
    ("col_baseline", "ก่อน (Baseline)", "Before (Baseline)"),
    ("col_during", "ระหว่าง (During)", "During"),
    ("col_post", "หลัง (Post)", "After (Post)"),
    (
        "assessment",
        "สรุปการประเมิน metrics โดยรวม",
        "Overall metrics assessment",
    ),
    ("good", "ข้อที่ดี", "Good"),
    ("watch", "ข้อที่ต้องระวัง", "Watch"),
    ("improve", "ข้อที่ต้องปรับปรุง", "Improve"),
    (
        "episodes_title",
        "Breach episodes ที่พบในข้อมูล (found in the data, one per continuous breach)",
        "Breach episodes found in the data (one per continuous breach)",
    ),
    (
        "no_episode",
        "✅ ไม่พบ breach episode ในข้อมูล",
        "✅ No breach episode in the data",
    ),
    ("pre_existing", "มีอยู่ก่อน DDL", "pre-existing, before the DDL"),
    (
        "no_incident",
        "✅ ไม่มี incident/warning ตลอดการรัน Canary",
        "✅ No incident or warning during the whole canary run",
    ),
    (
        "incident_notes",
        "บันทึกเพิ่มเติมเกี่ยวกับ incidents",
        "Further notes on incidents",
    ),
    (
        "no_rollback",
        "✅ ไม่มี rollback เกิดขึ้น - Index ยังคงอยู่บน Production",
        "✅ No rollback happened - the index remains in production",
    ),
    (
        "rollback_details",
        "Rollback Details (ถ้ามี)",
        "Rollback Details",
    ),
    (
        "rollback_ddl_comment",
        "Rollback DDL ที่รันจริง",
        "Rollback DDL as run",
    ),
    (
        "rollback_verify_comment",
        "Verification after rollback",
        "Verification after rollback",
    ),
    (
        "index_gone",
        "Empty - ยืนยันว่า index ถูกลบ",
        "Empty - the index is confirmed removed",
    ),
    ("verify_result", "ผลลัพธ์", "Result"),
    (
        "explain_hint",
        "ควรเห็น type=ref หรือ range",
        "expect type=ref or range",
    ),
    ("choose_one", "เลือกอย่างใดอย่างหนึ่ง", "Choose one"),
    ("what_failed", "อะไรไม่ผ่าน (What failed)", "What failed"),
    (
        "what_happened",
        "เกิดอะไรขึ้น (What happened)",
        "What happened",
    ),
    (
        "what_to_watch",
        "สิ่งที่ต้องเฝ้าดู (What to watch)",
        "What to watch",
    ),
    ("conditions_short", "เงื่อนไข (Conditions)", "Conditions"),
    ("sign_off_state", "สถานะการลงนาม (Sign-off)", "Sign-off"),
    ("next_step", "ขั้นต่อไป (Next step)", "Next step"),
    (
        "approved_desc",
        "พร้อมใช้งานใน limited production",
        "ready for limited production",
    ),
    (
        "stop_desc",
        "ต้องหยุดและแก้ไขก่อน",
        "must stop and be fixed first",
    ),
    (
        "justification",
        "เหตุผลประกอบการตัดสินใจ",
        "Reasons for the decision",
    ),
    (
        "conditions",
        "Conditions (ถ้า APPROVED)",
        "Conditions (if APPROVED)",
    ),
    (
        "conditions_note",
        "เงื่อนไขที่ต้องปฏิบัติก่อนขยาย scope ต่อไป",
        "Conditions to meet before widening the scope",
    ),
    (
        "blockers",
        "Blockers (ถ้า STOP_AND_FIX)",
        "Blockers (if STOP_AND_FIX)",
    ),
    (
        "blockers_note",
        "สิ่งที่ต้องแก้ไขก่อนรัน canary อีกครั้ง",
        "What must be fixed before running the canary again",
    ),
    (
        "actions_approved",
        "Action Items (APPROVED Scenario)",
        "Action Items (APPROVED Scenario)",
    ),
    (
        "actions_stop",
        "Action Items (STOP_AND_FIX Scenario)",
        "Action Items (STOP_AND_FIX Scenario)",
    ),
    (
        "actions_note_approved",
        "ถ้า decision เป็น APPROVED_FOR_LIMITED_PROD",
        "When the decision is APPROVED_FOR_LIMITED_PROD",
    ),
    (
        "actions_note_stop",
        "ถ้า decision เป็น STOP_AND_FIX",
        "When the decision is STOP_AND_FIX",
    ),
    (
        "final_notes",
        "หมายเหตุสุดท้ายจากทีม",
        "Final notes from the team",
    ),
    (
        "log_summary",
        "สรุป log ที่สำคัญระหว่าง canary run",
        "Key log lines of the canary run",
    ),
    ("raw_data", "ข้อมูล metrics ดิบ", "Raw metrics data"),
    ("missing", "_(ไม่มีข้อมูล)_", "_(not recorded)_"),
    ("unassigned", "ยังไม่ได้กำหนด (unassigned)", "unassigned"),
    ("suggested", "💡 ข้อเสนอแนะ (Suggestion)", "💡 Suggestion"),
    (
        "actions_suggested_note",
        "ข้อเสนอแนะจาก template: ยังไม่มีผู้รับผิดชอบและวันกำหนดเสร็จ (ใส่ใน manifest: human.actions)",
        "Suggested follow-ups from the template: no owner or due date until the team sets them (manifest: human.actions)",
    ),
    ("none_recorded", "_(ไม่มีบันทึก)_", "_(none recorded)_"),
    (
        "ks_sources",
        "Kill switch ที่อ่าน (ที่อยู่และวิธีอ่าน)",
        "Kill switches read (address and how)",
    ),
    ("metric_sources", "แหล่งที่มาของ metrics", "Metrics read from"),
    (
        "ks_declared_none",
        "_ไม่มี kill switch: ทีมแจ้งไว้ว่าไม่มี (plan.no_kill_switch) จึงไม่มีการตรวจ_",
        "_No kill switch: the team declared none (plan.no_kill_switch), so nothing was checked._",
    ),
    ("yes", "Yes", "Yes"),
    ("no", "No", "No"),
    (
        "derived_note",
        "คำนวณโดย canary-report จากข้อมูลที่บันทึก",
        "derived by canary-report from the recorded data",
    ),
    ("thresholds_used", "Thresholds ที่ใช้", "Thresholds used"),
    (
        "incomplete_banner",
        "⚠️ บันทึกของการรันนี้ไม่ครบ (ไม่มี run_end): รายงานนี้สร้างจากข้อมูลเท่าที่มี",
        "⚠️ This run's record is incomplete (no run_end): the report is built from what was recorded",
    ),
    ("charts", "กราฟ (Charts)", "Charts"),
];

/// The labels of one language, keyed for templates (`L.key`).
pub fn labels(lang: Lang) -> BTreeMap<&'static str, &'static str> {
    LABELS
        .iter()
        .map(|(k, th, en)| (*k, if lang == Lang::Th { *th } else { *en }))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_unique_and_both_languages_filled() {
        let mut keys: Vec<_> = LABELS.iter().map(|l| l.0).collect();
        keys.sort_unstable();
        let n = keys.len();
        keys.dedup();
        assert_eq!(keys.len(), n, "duplicate label key");
        assert!(
            LABELS
                .iter()
                .all(|(_, th, en)| !th.is_empty() && !en.is_empty())
        );
        // English has no Thai script.
        assert!(
            labels(Lang::En)
                .values()
                .all(|s| !s.chars().any(|c| ('\u{0E00}'..='\u{0E7F}').contains(&c)))
        );
    }
}
