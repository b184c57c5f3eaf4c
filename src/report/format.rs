//! How numbers, bounds and durations are written in a report: one place, so
//! that every section writes the same value the same way.

/// A number with the precision its size needs: `92.1`, `0.93`, `4557`.
pub fn num(v: f64) -> String {
    if let Some(s) = crate::model::too_large_to_spell(v) {
        s
    } else if v.fract() == 0.0 || v.abs() >= 100.0 {
        format!("{v:.0}")
    } else if v.abs() >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

/// A bound as people write it: `0.1`, not `0.10`.
pub fn bound_num(v: f64) -> String {
    let s = num(v);
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// A duration as people say it: `72 ms`, `33.7 s`, `18 min 30 s`, `1 h 05 min`.
pub fn duration(secs: f64) -> String {
    if secs < 1.0 {
        return format!("{:.0} ms", secs * 1000.0);
    }
    if secs < 60.0 {
        let t = format!("{secs:.1}");
        return format!("{} s", t.trim_end_matches(".0"));
    }
    let total = secs.round() as i64;
    let (h, m, s) = (total / 3600, total % 3600 / 60, total % 60);
    match (h, s) {
        (0, 0) => format!("{m} min"),
        (0, s) => format!("{m} min {s} s"),
        (h, _) => format!("{h} h {m:02} min"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_people_say_them() {
        assert_eq!(duration(0.072), "72 ms");
        assert_eq!(duration(33.7), "33.7 s");
        assert_eq!(duration(5.0), "5 s");
        assert_eq!(duration(1110.0), "18 min 30 s");
        assert_eq!(duration(120.0), "2 min");
        assert_eq!(duration(3900.0), "1 h 05 min");
    }
}
