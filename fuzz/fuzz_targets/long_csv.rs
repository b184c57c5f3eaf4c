//! Long CSV (`timestamp,metric,value`), both ways it is read: quote-free
//! files by the fast block parser, files with a quote by the csv crate. The
//! input as given, and the same input with every field quoted (which sends
//! it down the csv crate's path), must read the same.
#![no_main]

use canary_fuzz::{INPUT, check_error, check_samples, sample_count};
use canary_report::ingest::{FileSamples, parse_long_csv};
use libfuzzer_sys::fuzz_target;
use std::io::Cursor;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let path = Path::new(INPUT);
    let direct = parse_long_csv(path, Cursor::new(data));
    match &direct {
        Ok(samples) => {
            check_samples(samples);
            assert_eq!(
                sample_count(samples),
                samples.rows,
                "one sample per data row"
            );
        }
        Err(e) => check_error(e, path),
    }
    if let Some(quoted) = quote_every_field(data) {
        let via_csv_crate = parse_long_csv(path, Cursor::new(&quoted));
        match (&direct, &via_csv_crate) {
            (Ok(a), Ok(b)) => {
                // The csv crate tells no time order; the fast path's telling
                // is checked by check_samples.
                let told = |s: &FileSamples| FileSamples {
                    in_time_order: Default::default(),
                    ..s.clone()
                };
                assert_eq!(
                    told(a),
                    told(b),
                    "the csv crate reads the quoted file otherwise"
                )
            }
            (Err(a), Err(b)) => assert_eq!(
                a.to_string(),
                b.to_string(),
                "the two paths fail differently"
            ),
            _ => panic!(
                "fast path {:?}, csv crate on the quoted file {:?}",
                direct.as_ref().map(|s| s.rows),
                via_csv_crate.as_ref().map(|s| s.rows)
            ),
        }
    }
});

/// The same CSV with each field of each non-blank line in double quotes,
/// which the csv crate reads back as the bare field. `None` when the input
/// already has a quote (then it took the csv crate's path already). A BOM
/// stays in front; blank lines stay as they are (quoted, they would be a
/// row of one empty field); a line's CR stays outside the quotes.
fn quote_every_field(data: &[u8]) -> Option<Vec<u8>> {
    if data.contains(&b'"') {
        return None;
    }
    const BOM: &[u8] = b"\xef\xbb\xbf";
    let (bom, body) = match data.strip_prefix(BOM) {
        Some(rest) => (BOM, rest),
        None => (&b""[..], data),
    };
    let mut out = bom.to_vec();
    for (i, line) in body.split(|&b| b == b'\n').enumerate() {
        if i > 0 {
            out.push(b'\n');
        }
        let (line, cr) = match line.strip_suffix(b"\r") {
            Some(l) => (l, &b"\r"[..]),
            None => (line, &b""[..]),
        };
        if line.trim_ascii().is_empty() {
            out.extend_from_slice(line);
        } else {
            for (j, field) in line.split(|&b| b == b',').enumerate() {
                if j > 0 {
                    out.push(b',');
                }
                out.push(b'"');
                out.extend_from_slice(field);
                out.push(b'"');
            }
        }
        out.extend_from_slice(cr);
    }
    Some(out)
}
