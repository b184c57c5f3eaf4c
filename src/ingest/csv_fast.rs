//! The fast path of long CSV reading: the file is read in blocks of whole
//! lines, blocks are parsed on every core, and their samples are appended in
//! file order. No allocation per row: fields are byte slices of the block,
//! numbers and timestamps are parsed from bytes.
//!
//! It takes the lines as the csv crate would, as long as there is no quote
//! character: a block with a `"` anywhere (where a quoted field could hold a
//! line feed, so that lines are no longer records) hands the rest of the file,
//! from that block's first byte, to the csv crate ([`Fast::Rest`]). Every
//! block before it was quote-free, so that byte starts a record.

use super::FileSamples;
use super::long_csv::{Columns, Fault, find_columns, parse_metric};
use super::progress::Progress;
use super::util::{UTF8_BOM, is_latency_key, is_plausible, parse_timestamp, parse_value, quote};
use crate::model::{InputMetric, Sample};
use memchr::{memchr, memchr_iter, memrchr};
use std::io::Read;
use std::panic::AssertUnwindSafe;
use std::sync::{Condvar, Mutex, PoisonError, mpsc};

/// Bytes per block (more when a line is longer): large enough that per-block
/// costs vanish, small enough that a few in flight per thread cost nothing.
pub(super) const BLOCK: usize = 1 << 20;

/// At most this many threads parse.
const MAX_THREADS: usize = 8;

/// How the fast path ended.
pub(super) enum Fast {
    /// The whole file was read.
    Done(FileSamples),
    /// The csv crate must read on from byte `from` (counted from where the
    /// input stood); `header` is `None` when it must read the header too.
    Rest {
        from: u64,
        header: Option<(Columns, usize)>,
        samples: FileSamples,
    },
}

/// Reads `input` to its end, or up to the first block with a quote, in
/// blocks of `size` bytes ([`BLOCK`]; tests use tiny ones).
pub(super) fn scan<R: Read>(input: R, progress: &Progress, size: usize) -> Result<Fast, Fault> {
    let mut blocks = Blocks {
        input,
        size: size.max(16),
        carry: Vec::new(),
        eof: false,
        offset: 0,
    };
    let Some((_, first)) = blocks.next(Vec::new()).map_err(Fault::Io)? else {
        return Err(empty_file());
    };
    progress.advance(first.len() as u64);

    // The header: the first line that is not blank.
    let mut pos = if first.starts_with(UTF8_BOM) {
        UTF8_BOM.len()
    } else {
        0
    };
    let mut line = 1u64;
    let header = loop {
        if pos >= first.len() {
            // Only blank lines in the first block: this is the whole file,
            // or a header line longer than a block (left to the csv crate).
            if blocks.eof {
                return Err(empty_file());
            }
            return Ok(rest_of_all());
        }
        let end = memchr(b'\n', &first[pos..]).map_or(first.len(), |i| pos + i);
        let text = &first[pos..end];
        pos = (end + 1).min(first.len());
        if !text.trim_ascii().is_empty() {
            break text;
        }
        line += 1;
    };
    if memchr(b'"', header).is_some() {
        return Ok(rest_of_all());
    }
    let fields: Vec<&[u8]> = header.split(|&b| b == b',').collect();
    let columns = find_columns(&fields).map_err(|m| Fault::Line {
        line: Some(line),
        field: None,
        message: m,
    })?;
    let width = fields.len();
    line += 1;

    let mut out = Reader {
        samples: FileSamples::default(),
        columns,
        width,
        line,
    };
    // The first block's data rows, here.
    let data_offset = pos as u64;
    let parsed = parse_block(&first[pos..], &columns, width, &mut Spare::new());
    if let Some(rest) = out.take(data_offset, parsed, &mut Spare::new())? {
        return Ok(rest);
    }
    if !blocks.eof {
        let threads = std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .clamp(1, MAX_THREADS);
        let rest = if threads == 1 {
            read_sequentially(&mut blocks, &mut out, progress, first)?
        } else {
            read_in_parallel(&mut blocks, &mut out, progress, first, threads)?
        };
        if let Some(rest) = rest {
            return Ok(rest);
        }
    }
    let mut samples = out.samples;
    if samples.rows == 0 {
        samples.notes.push("no data rows (header only)".to_owned());
    }
    Ok(Fast::Done(samples))
}

fn empty_file() -> Fault {
    Fault::Line {
        line: None,
        field: None,
        message: "empty file: expected a header row naming the columns timestamp, metric, value"
            .to_owned(),
    }
}

fn rest_of_all() -> Fast {
    Fast::Rest {
        from: 0,
        header: None,
        samples: FileSamples::default(),
    }
}

/// Whole lines of the input, a block at a time.
struct Blocks<R> {
    input: R,
    /// Bytes to read for a block.
    size: usize,
    /// The start of a line that the previous block cut.
    carry: Vec<u8>,
    eof: bool,
    /// Where the next block starts, in bytes from the input's start.
    offset: u64,
}

impl<R: Read> Blocks<R> {
    /// The next block (its offset and bytes, in `buf`, reused): whole lines,
    /// the last one without its line feed only at the end of the input.
    fn next(&mut self, mut buf: Vec<u8>) -> std::io::Result<Option<(u64, Vec<u8>)>> {
        buf.clear();
        buf.append(&mut self.carry);
        let mut scanned = 0;
        loop {
            if !self.eof {
                let want = (self.size.max(buf.len() + self.size / 2) - buf.len()) as u64;
                buf.reserve(want as usize);
                let got = self.input.by_ref().take(want).read_to_end(&mut buf)?;
                self.eof = (got as u64) < want;
            }
            if self.eof {
                break;
            }
            match memrchr(b'\n', &buf[scanned..]) {
                Some(i) => {
                    self.carry.extend_from_slice(&buf[scanned + i + 1..]);
                    buf.truncate(scanned + i + 1);
                    break;
                }
                // A line longer than the block so far: read more.
                None => scanned = buf.len(),
            }
        }
        if buf.is_empty() {
            return Ok(None);
        }
        let offset = self.offset;
        self.offset += buf.len() as u64;
        Ok(Some((offset, buf)))
    }
}

/// What parsing one block found.
enum Parsed {
    Rows {
        /// Samples by metric, in block order, and whether in time order.
        series: Vec<(InputMetric, Vec<Sample>, bool)>,
        rows: u64,
        /// Line feeds in the block.
        lines: u64,
    },
    /// A quote character somewhere: left to the csv crate.
    Quote,
    /// The parser panicked (a bug): reported as a stopped thread.
    Died,
    /// The first faulty row, at `line` lines after the block's first.
    Fault {
        line: u64,
        field: Option<&'static str>,
        message: String,
    },
}

/// The samples so far, and where the next block starts.
struct Reader {
    samples: FileSamples,
    columns: Columns,
    width: usize,
    /// The 1-based line number of the next block's first line.
    line: u64,
}

impl Reader {
    /// Takes the next block's outcome (the block started `offset` bytes into
    /// the input): `Some` when the csv crate must go on from there.
    fn take(
        &mut self,
        offset: u64,
        parsed: Parsed,
        spare: &mut Spare,
    ) -> Result<Option<Fast>, Fault> {
        match parsed {
            Parsed::Rows {
                series,
                rows,
                lines,
            } => {
                for (metric, mut chunk, chunk_in_order) in series {
                    let all = self.samples.series.entry(metric).or_default();
                    let in_order = &mut self.samples.in_time_order;
                    if all.is_empty() {
                        if chunk_in_order {
                            in_order.insert(metric);
                        }
                        std::mem::swap(all, &mut chunk);
                    } else {
                        let follows =
                            matches!((all.last(), chunk.first()), (Some(a), Some(b)) if a.t <= b.t);
                        if !(chunk_in_order && follows) {
                            in_order.remove(&metric);
                        }
                        all.extend_from_slice(&chunk);
                    }
                    chunk.clear();
                    spare.push(chunk);
                }
                self.samples.rows += rows;
                self.line += lines;
                Ok(None)
            }
            Parsed::Died => Err(worker_died()),
            Parsed::Quote => Ok(Some(Fast::Rest {
                from: offset,
                header: Some((self.columns, self.width)),
                samples: std::mem::take(&mut self.samples),
            })),
            Parsed::Fault {
                line,
                field,
                message,
            } => Err(Fault::Line {
                line: Some(self.line + line),
                field,
                message,
            }),
        }
    }
}

fn read_sequentially<R: Read>(
    blocks: &mut Blocks<R>,
    out: &mut Reader,
    progress: &Progress,
    mut buf: Vec<u8>,
) -> Result<Option<Fast>, Fault> {
    let mut spare = Spare::new();
    while let Some((offset, block)) = blocks.next(buf).map_err(Fault::Io)? {
        progress.advance(block.len() as u64);
        let parsed = parse_block(&block, &out.columns, out.width, &mut spare);
        if let Some(rest) = out.take(offset, parsed, &mut spare)? {
            return Ok(Some(rest));
        }
        buf = block;
    }
    Ok(None)
}

/// Blocks go round-robin to `threads` workers, at most two per worker in
/// flight. Each worker parses its block and then, when the blocks before it
/// are in, appends its samples ([`Reader::take`]): the copy into the
/// series, and the page faults of their growing vectors, are shared between
/// the workers, while this thread only reads.
fn read_in_parallel<R: Read>(
    blocks: &mut Blocks<R>,
    out: &mut Reader,
    progress: &Progress,
    buf: Vec<u8>,
    threads: usize,
) -> Result<Option<Fast>, Fault> {
    let (columns, width) = (out.columns, out.width);
    let turn = Turn {
        state: Mutex::new(TurnState {
            next: 0,
            reader: out,
            ended: None,
        }),
        changed: Condvar::new(),
    };
    let (free_tx, free_rx) = mpsc::channel::<Vec<u8>>();
    let read = std::thread::scope(|scope| {
        let mut jobs = Vec::with_capacity(threads);
        for _ in 0..threads {
            let (job_tx, job_rx) = mpsc::channel::<(u64, u64, Vec<u8>)>();
            let (turn, free_tx) = (&turn, free_tx.clone());
            scope.spawn(move || {
                // Emptied sample vectors are reused: no page is faulted twice.
                let mut spare = Spare::new();
                for (seq, offset, block) in job_rx {
                    let parsed = std::panic::catch_unwind(AssertUnwindSafe(|| {
                        parse_block(&block, &columns, width, &mut spare)
                    }))
                    .unwrap_or(Parsed::Died);
                    // The reader may be gone after a fault: nothing to return to.
                    let _ = free_tx.send(block);
                    turn.append(seq, offset, parsed, &mut spare);
                }
            });
            jobs.push(job_tx);
        }
        for _ in 0..2 * threads {
            let _ = free_tx.send(Vec::new());
        }
        let _ = free_tx.send(buf);
        let mut seq = 0u64;
        while !turn.ended() {
            let Ok(buf) = free_rx.recv() else {
                return Err(worker_died());
            };
            match blocks.next(buf).map_err(Fault::Io)? {
                Some((offset, block)) => {
                    progress.advance(block.len() as u64);
                    if jobs[seq as usize % threads]
                        .send((seq, offset, block))
                        .is_err()
                    {
                        return Err(worker_died());
                    }
                    seq += 1;
                }
                None => break,
            }
        }
        Ok(())
        // The workers finish their blocks as the scope ends.
    });
    let ended = turn
        .state
        .into_inner()
        .unwrap_or_else(PoisonError::into_inner)
        .ended;
    // A fault in a block read wins over the reading's own end.
    match ended {
        Some(outcome) => outcome,
        None => read.map(|()| None),
    }
}

/// Whose turn it is to append, in block order.
struct Turn<'a> {
    state: Mutex<TurnState<'a>>,
    changed: Condvar,
}

struct TurnState<'a> {
    /// The block whose samples go in next.
    next: u64,
    reader: &'a mut Reader,
    /// How the first block that ended the fast path ended it.
    ended: Option<Result<Option<Fast>, Fault>>,
}

impl Turn<'_> {
    /// Whether a block ended the fast path: read no more.
    fn ended(&self) -> bool {
        let state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.ended.is_some()
    }

    /// Waits for block `seq`'s turn and takes its outcome (after an ending,
    /// only passes the turn on).
    fn append(&self, seq: u64, offset: u64, parsed: Parsed, spare: &mut Spare) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        while state.next != seq {
            state = self
                .changed
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        }
        if state.ended.is_none() {
            let outcome = state.reader.take(offset, parsed, spare);
            if !matches!(outcome, Ok(None)) {
                state.ended = Some(outcome);
            }
        }
        state.next += 1;
        self.changed.notify_all();
    }
}

fn worker_died() -> Fault {
    Fault::Io(std::io::Error::other("a CSV parsing thread stopped"))
}

/// The metrics met in a block, with their samples.
struct Found {
    key: &'static [u8],
    /// `key` and a comma, to compare eight bytes at a time.
    pattern: Option<NamePattern>,
    metric: InputMetric,
    latency: bool,
    samples: Vec<Sample>,
}

/// Empty sample vectors to fill.
type Spare = Vec<Vec<Sample>>;

/// What a column holds.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Role {
    Timestamp,
    Metric,
    Value,
    Other,
}

/// A block being parsed.
struct Block<'a> {
    bytes: &'a [u8],
    roles: Vec<Role>,
    found: Vec<Found>,
    /// Index in `found` of the last metric met.
    last: usize,
    rows: u64,
    /// Lines done.
    line: u64,
    spare: &'a mut Spare,
    /// The last timestamp's whole seconds, for the next rows that share them.
    seconds: Option<Seconds>,
}

/// The leading bytes of a timestamp, its digits up to and including the
/// decimal point, as words under masks, with the value of those digits.
/// Consecutive rows share them for a second or more.
#[derive(Clone, Copy)]
struct Seconds {
    words: [u64; 2],
    masks: [u64; 2],
    value: u64,
    digits: usize,
}

/// Parses a block of whole lines (blank ones skipped): rows as the csv crate
/// gives them when no field is quoted. Sample vectors come from `spare` first.
///
/// Each line first takes the fast lane ([`Block::fast_line`]), which reads
/// the fields in place and only accepts the plain shape; any other line
/// (blank, padded, CRLF, RFC 3339 times, a new metric, an error) is split
/// into fields and parsed as such ([`Block::line`]).
fn parse_block(bytes: &[u8], columns: &Columns, width: usize, spare: &mut Spare) -> Parsed {
    let roles = (0..width)
        .map(|i| match i {
            _ if i == columns.timestamp => Role::Timestamp,
            _ if i == columns.metric => Role::Metric,
            _ if i == columns.value => Role::Value,
            _ => Role::Other,
        })
        .collect();
    let mut block = Block {
        bytes,
        roles,
        found: Vec::new(),
        last: 0,
        rows: 0,
        line: 0,
        spare,
        seconds: None,
    };
    // The layout every exporter writes: a lane without the per-column loop.
    let standard = block.roles == [Role::Timestamp, Role::Metric, Role::Value];
    // A quote anywhere hands the block to the csv crate. The standard lane
    // takes only digits, dots, signs, commas and metric names met on earlier
    // lines, never a quote, so there only the other lines need a look (and,
    // on a fault, the rest of the block, where a quote still wins). Other
    // layouts skip columns unread: the whole block is looked at first.
    if !standard && memchr(b'"', bytes).is_some() {
        return Parsed::Quote;
    }
    let mut at = 0;
    while at < bytes.len() {
        let fast = if standard {
            block.fast_standard_line(at)
        } else {
            block.fast_line(at)
        };
        at = match fast {
            Some(next) => next,
            None => {
                let end = memchr(b'\n', &bytes[at..]).map_or(bytes.len(), |i| at + i);
                if standard && memchr(b'"', &bytes[at..end]).is_some() {
                    return Parsed::Quote;
                }
                if let Err((field, message)) = block.line(&bytes[at..end], columns) {
                    if standard && memchr(b'"', &bytes[end..]).is_some() {
                        return Parsed::Quote;
                    }
                    return Parsed::Fault {
                        line: block.line,
                        field,
                        message,
                    };
                }
                end + 1
            }
        };
    }
    Parsed::Rows {
        series: block
            .found
            .into_iter()
            .map(|f| {
                // Here, on the parsing threads, while the samples are in cache.
                let in_order = f.samples.is_sorted_by(|a, b| a.t <= b.t);
                (f.metric, f.samples, in_order)
            })
            .collect(),
        rows: block.rows,
        lines: block.line,
    }
}

impl Block<'_> {
    /// The plain row at `at`: every field followed at once by a comma, the
    /// last by a line feed (or CRLF, or the block's end); times and values
    /// plain decimals, the time plausible, the metric one met before, a
    /// latency not negative. Takes it and returns where the next line starts;
    /// `None` (nothing taken) for any other line.
    #[inline]
    fn fast_line(&mut self, at: usize) -> Option<usize> {
        let bytes = self.bytes;
        let mut pos = at;
        let mut t = 0.0;
        let mut v = 0.0;
        let mut metric = self.last;
        for (column, &role) in self.roles.iter().enumerate() {
            if column > 0 {
                if bytes.get(pos) != Some(&b',') {
                    return None;
                }
                pos += 1;
            }
            pos = match role {
                Role::Timestamp => {
                    let (value, end) = decimal_at(bytes, pos)?;
                    t = value;
                    end
                }
                Role::Value => {
                    let (negative, from) = match bytes.get(pos) {
                        Some(b'-') => (true, pos + 1),
                        _ => (false, pos),
                    };
                    let (value, end) = decimal_at(bytes, from)?;
                    v = if negative { -value } else { value };
                    end
                }
                Role::Metric => {
                    let is_at = |f: &Found| {
                        bytes
                            .get(pos..pos + f.key.len())
                            .is_some_and(|name| same_name(name, f.key))
                            && matches!(
                                bytes.get(pos + f.key.len()),
                                Some(b',' | b'\n' | b'\r') | None
                            )
                    };
                    if !self.found.get(metric).is_some_and(is_at) {
                        metric = self.found.iter().position(is_at)?;
                    }
                    pos + self.found[metric].key.len()
                }
                Role::Other => {
                    memchr::memchr2(b',', b'\n', &bytes[pos..]).map_or(bytes.len(), |i| pos + i)
                }
            };
        }
        self.take_row(pos, metric, t, v)
    }

    /// [`Block::fast_line`] for the columns `timestamp,metric,value`, in
    /// that order and no others: the same rows taken, the same values.
    #[inline]
    fn fast_standard_line(&mut self, at: usize) -> Option<usize> {
        let bytes = self.bytes;
        let (t, pos) = self.timestamp_at(at)?;
        if bytes.get(pos) != Some(&b',') {
            return None;
        }
        let pos = pos + 1;
        let is_at = |f: &Found| {
            bytes
                .get(pos..pos + f.key.len())
                .is_some_and(|name| same_name(name, f.key))
                && bytes.get(pos + f.key.len()) == Some(&b',')
        };
        // Exporters interleave their metrics row by row, so guessing "the
        // same as the last row" mispredicts half the time: with a few
        // metrics, every name is compared at once, without a branch.
        let matched = match bytes.get(pos..pos + NAME_WINDOW) {
            Some(window) if self.found.len() <= BRANCHLESS_METRICS => {
                let window = NamePattern::window(window);
                let mut hit = usize::MAX;
                for (i, f) in self.found.iter().enumerate() {
                    if f.pattern.is_some_and(|p| p.matches(&window)) {
                        hit = i;
                    }
                }
                hit
            }
            _ => usize::MAX,
        };
        let metric = if matched != usize::MAX {
            matched
        } else if self.found.get(self.last).is_some_and(is_at) {
            self.last
        } else {
            self.found.iter().position(is_at)?
        };
        let pos = pos + self.found[metric].key.len() + 1;
        let (negative, from) = match bytes.get(pos) {
            Some(b'-') => (true, pos + 1),
            _ => (false, pos),
        };
        let (value, end) = decimal_at(bytes, from)?;
        self.take_row(end, metric, t, if negative { -value } else { value })
    }

    /// [`decimal_at`] for a timestamp, the same value and end: when its
    /// whole seconds are the last timestamp's (compared as two words), only
    /// the decimals are read.
    #[inline(always)]
    fn timestamp_at(&mut self, at: usize) -> Option<(f64, usize)> {
        let Some(window) = bytes_at(self.bytes, at) else {
            return decimal_at(self.bytes, at);
        };
        if let Some(seconds) = self.seconds {
            let words = [word_at(window, 0), word_at(window, 8)];
            let differ = ((words[0] ^ seconds.words[0]) & seconds.masks[0])
                | ((words[1] ^ seconds.words[1]) & seconds.masks[1]);
            if differ == 0 {
                let (fraction, decimals) = word_digits(word_at(window, seconds.digits + 1));
                let digits = seconds.digits + decimals;
                let mantissa = seconds.value * POWERS_OF_TEN_U64[decimals] + fraction;
                if decimals < 8 && digits <= 18 && mantissa <= 1 << 53 {
                    let t = mantissa as f64 / POWERS_OF_TEN_F64[decimals];
                    return Some((t, at + seconds.digits + 1 + decimals));
                }
            }
        }
        let (t, end) = decimal_at(self.bytes, at)?;
        self.seconds = Seconds::of(window);
        Some((t, end))
    }

    /// The end of a fast-lane row whose last field ends at `pos`: takes the
    /// sample if the line ends there and the values pass, and returns where
    /// the next line starts.
    #[inline]
    fn take_row(&mut self, pos: usize, metric: usize, t: f64, v: f64) -> Option<usize> {
        let next = match self.bytes.get(pos..) {
            Some([]) => pos,
            Some([b'\n', ..]) => pos + 1,
            Some([b'\r', b'\n', ..]) => pos + 2,
            _ => return None,
        };
        let into = &mut self.found[metric];
        if (into.latency && v < 0.0) || !is_plausible(t) {
            return None;
        }
        into.samples.push(Sample { t, v });
        self.last = metric;
        self.rows += 1;
        self.line += 1;
        Some(next)
    }

    /// Any line (without its line feed), split into fields and parsed as the
    /// csv crate's records are: a blank line is skipped; the first fault is
    /// returned with its field.
    fn line(
        &mut self,
        text: &[u8],
        columns: &Columns,
    ) -> Result<(), (Option<&'static str>, String)> {
        let width = self.roles.len();
        // Split into fields, keeping the three that matter.
        let mut picked: [&[u8]; 3] = [&[]; 3];
        let mut count = 0usize;
        let mut field_start = 0usize;
        for comma in memchr_iter(b',', text).chain(std::iter::once(text.len())) {
            let field = &text[field_start..comma];
            if count == columns.timestamp {
                picked[0] = field;
            } else if count == columns.metric {
                picked[1] = field;
            } else if count == columns.value {
                picked[2] = field;
            }
            count += 1;
            field_start = comma + 1;
        }
        if count == 1 && text.trim_ascii().is_empty() {
            self.line += 1;
            return Ok(());
        }
        if count != width {
            return Err((
                None,
                format!("{count} columns where the header has {width}"),
            ));
        }
        let [t_field, m_field, v_field] = picked.map(<[u8]>::trim_ascii);

        let t = parse_timestamp(t_field).map_err(|m| (Some("timestamp"), m))?;
        match self.found.iter().position(|f| f.key == m_field) {
            Some(i) => self.last = i,
            None => {
                let metric = parse_metric(m_field).map_err(|m| (Some("metric"), m))?;
                let capacity = self.bytes.len() / 64;
                self.found.push(Found {
                    key: metric.key().as_bytes(),
                    pattern: NamePattern::new(metric.key().as_bytes()),
                    metric,
                    latency: is_latency_key(metric.key()),
                    samples: self
                        .spare
                        .pop()
                        .unwrap_or_else(|| Vec::with_capacity(capacity)),
                });
                self.last = self.found.len() - 1;
            }
        }
        let v = parse_value(v_field).map_err(|m| (Some("value"), m))?;
        let into = &mut self.found[self.last];
        if into.latency && v < 0.0 {
            let message = format!(
                "negative latency `{}` for `{}`",
                quote(v_field),
                into.metric.key()
            );
            return Err((Some("value"), message));
        }
        into.samples.push(Sample { t, v });
        self.rows += 1;
        self.line += 1;
        Ok(())
    }
}

/// Bytes compared at a metric field's start by [`NamePattern`].
const NAME_WINDOW: usize = 32;

/// Up to this many metrics in a block, the standard lane compares the metric
/// field with every name; past that, with the last row's first.
const BRANCHLESS_METRICS: usize = 4;

/// A metric name followed by a comma, as words to compare with the
/// [`NAME_WINDOW`] bytes at a field's start: they match, under the mask,
/// exactly when the field is that name.
#[derive(Clone, Copy)]
struct NamePattern {
    words: [u64; NAME_WINDOW / 8],
    masks: [u64; NAME_WINDOW / 8],
}

impl NamePattern {
    /// `None` for a name too long to fit the window with its comma.
    fn new(name: &[u8]) -> Option<Self> {
        if name.len() >= NAME_WINDOW {
            return None;
        }
        let mut bytes = [0u8; NAME_WINDOW];
        let mut mask = [0u8; NAME_WINDOW];
        bytes[..name.len()].copy_from_slice(name);
        bytes[name.len()] = b',';
        mask[..=name.len()].fill(0xff);
        Some(Self {
            words: Self::window(&bytes),
            masks: Self::window(&mask),
        })
    }

    /// The [`NAME_WINDOW`] bytes of `window` as words.
    #[inline(always)]
    fn window(window: &[u8]) -> [u64; NAME_WINDOW / 8] {
        std::array::from_fn(|i| word_at(window, 8 * i))
    }

    #[inline(always)]
    fn matches(&self, window: &[u64; NAME_WINDOW / 8]) -> bool {
        let mut diff = 0;
        for ((w, p), m) in window.iter().zip(&self.words).zip(&self.masks) {
            diff |= (w ^ p) & m;
        }
        diff == 0
    }
}

/// `a == b` for two metric names of the same length, eight bytes at a time
/// (a slice comparison calls `memcmp`, slow for so few bytes).
#[inline]
fn same_name(a: &[u8], b: &[u8]) -> bool {
    let word = |s: &[u8], at: usize| {
        s.get(at..at + 8)
            .map(|w| u64::from_le_bytes(w.try_into().unwrap_or_default()))
    };
    let n = a.len();
    if n != b.len() || n < 8 {
        return a == b;
    }
    // Words at 0, 8, ... and one ending at the last byte (overlapping).
    (0..n - 8)
        .step_by(8)
        .chain(std::iter::once(n - 8))
        .all(|at| word(a, at) == word(b, at))
}

/// A plain decimal (`digits[.digits]`, no sign) starting at `at`: its value
/// and the position of the first byte after it. The value is the nearest
/// f64, as `str::parse` gives it: `None` unless Clinger's fast path applies
/// (the digits as an integer up to 2⁵³, at most 22 decimals: both operands
/// of the one division exact, so IEEE division rounds correctly).
#[inline(always)]
fn decimal_at(bytes: &[u8], at: usize) -> Option<(f64, usize)> {
    if let Some(window) = bytes_at(bytes, at)
        && let Some((value, len)) = short_decimal(window)
    {
        return Some((value, at + len));
    }
    decimal_at_general(bytes, at)
}

/// [`decimal_at`] for the common shape, read from a fixed window without a
/// loop: at most 15 integer digits, at most 7 decimals, 18 digits in all.
/// `None` for anything else, which the general reader then takes.
#[inline(always)]
fn short_decimal(window: &[u8; 32]) -> Option<(f64, usize)> {
    let (int, int_digits) = leading_integer(window)?;
    let (mantissa, digits, decimals, end) = if window[int_digits] == b'.' {
        let (fraction, decimals) = word_digits(word_at(window, int_digits + 1));
        if decimals == 8 || int_digits + decimals > 18 {
            return None;
        }
        (
            int * POWERS_OF_TEN_U64[decimals] + fraction,
            int_digits + decimals,
            decimals,
            int_digits + 1 + decimals,
        )
    } else {
        (int, int_digits, 0, int_digits)
    };
    if digits == 0 || mantissa > 1 << 53 {
        return None;
    }
    Some((mantissa as f64 / POWERS_OF_TEN_F64[decimals], end))
}

/// The leading ASCII digits of `window`, at most 15 of them: their value and
/// count (`None` past 15).
#[inline(always)]
fn leading_integer(window: &[u8; 32]) -> Option<(u64, usize)> {
    let (high, high_digits) = word_digits(word_at(window, 0));
    if high_digits < 8 {
        return Some((high, high_digits));
    }
    let (low, low_digits) = word_digits(word_at(window, 8));
    (low_digits < 8).then(|| (high * POWERS_OF_TEN_U64[low_digits] + low, 8 + low_digits))
}

/// The leading ASCII digits of eight bytes (the first in the lowest byte):
/// their value and count.
#[inline(always)]
fn word_digits(word: u64) -> (u64, usize) {
    let below = word.wrapping_sub(ZEROS);
    let above = word.wrapping_add(0x4646_4646_4646_4646);
    let flags = (below | above) & 0x8080_8080_8080_8080;
    let k = (flags.trailing_zeros() / 8) as usize;
    let value = match k {
        0 => 0,
        8 => eight_digit_values(below),
        _ => eight_digit_values(below << (8 * (8 - k))),
    };
    (value, k)
}

impl Seconds {
    /// The whole seconds that `window` starts with: one to fifteen digits
    /// and a decimal point (`None` for any other start).
    fn of(window: &[u8; 32]) -> Option<Self> {
        let (value, digits) = leading_integer(window)?;
        if digits == 0 || window[digits] != b'.' {
            return None;
        }
        // The digits and the point, as two words under masks.
        let mut mask = [0u8; 16];
        mask[..=digits].fill(0xff);
        let masks = [word_at(&mask, 0), word_at(&mask, 8)];
        let words = [word_at(window, 0) & masks[0], word_at(window, 8) & masks[1]];
        Some(Self {
            words,
            masks,
            value,
            digits,
        })
    }
}

/// The 32 bytes of `bytes` from `at`, if there are that many.
#[inline(always)]
fn bytes_at(bytes: &[u8], at: usize) -> Option<&[u8; 32]> {
    bytes.get(at..at + 32)?.try_into().ok()
}

/// The eight bytes of `bytes` at `at` as a little-endian word.
#[inline(always)]
fn word_at(bytes: &[u8], at: usize) -> u64 {
    let mut word = [0u8; 8];
    word.copy_from_slice(&bytes[at..at + 8]);
    u64::from_le_bytes(word)
}

/// [`decimal_at`] anywhere in a block, for any length of digits.
fn decimal_at_general(bytes: &[u8], at: usize) -> Option<(f64, usize)> {
    let (int, int_digits, end) = digits_at(bytes, at, 0, 0)?;
    let (mantissa, digits, decimals, end) = if bytes.get(end) == Some(&b'.') {
        let (m, d, frac_end) = digits_at(bytes, end + 1, int, int_digits)?;
        (m, d, frac_end - end - 1, frac_end)
    } else {
        (int, int_digits, 0, end)
    };
    if digits == 0 || mantissa > 1 << 53 {
        return None;
    }
    Some((mantissa as f64 / POWERS_OF_TEN_F64[decimals], end))
}

/// ASCII '0' in every byte.
const ZEROS: u64 = 0x3030_3030_3030_3030;

const POWERS_OF_TEN_U64: [u64; 9] = [
    1,
    10,
    100,
    1_000,
    10_000,
    100_000,
    1_000_000,
    10_000_000,
    100_000_000,
];

/// Exactly representable powers of ten (up to 18 decimals are read).
const POWERS_OF_TEN_F64: [f64; 19] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18,
];

/// Reads the run of ASCII digits at `at` onto `acc` (which holds `count`
/// digits already): the new value, digit count and end. Eight bytes at a
/// time (SWAR) where the slice has them. `None` past 18 digits in all.
#[inline]
fn digits_at(
    bytes: &[u8],
    mut at: usize,
    mut acc: u64,
    mut count: usize,
) -> Option<(u64, usize, usize)> {
    loop {
        let Some(word) = bytes.get(at..at + 8) else {
            // Near the end of the block: a byte at a time.
            while let Some(&b) = bytes.get(at)
                && b.is_ascii_digit()
            {
                if count == 18 {
                    return None;
                }
                acc = acc * 10 + u64::from(b - b'0');
                count += 1;
                at += 1;
            }
            return Some((acc, count, at));
        };
        let word = u64::from_le_bytes(word.try_into().ok()?);
        let below = word.wrapping_sub(ZEROS);
        let above = word.wrapping_add(0x4646_4646_4646_4646);
        // The lowest flagged byte is the first non-digit: a borrow or carry
        // only ever spreads to higher bytes.
        let flags = (below | above) & 0x8080_8080_8080_8080;
        let k = (flags.trailing_zeros() / 8) as usize;
        if count + k > 18 {
            return None;
        }
        if k > 0 {
            // The k digit values to the word's top, zeros below them.
            let digits = if k == 8 {
                below
            } else {
                below << (8 * (8 - k))
            };
            acc = acc * POWERS_OF_TEN_U64[k] + eight_digit_values(digits);
            count += k;
            at += k;
        }
        if k < 8 {
            return Some((acc, count, at));
        }
    }
}

/// The number that eight digit values (0 to 9, one per byte, the first in
/// the lowest byte) make, as the standard library's float parser computes it.
#[inline(always)]
fn eight_digit_values(v: u64) -> u64 {
    const MASK: u64 = 0x0000_00ff_0000_00ff;
    const MUL1: u64 = 0x000f_4240_0000_0064;
    const MUL2: u64 = 0x0000_2710_0000_0001;
    let v = v.wrapping_mul(10) + (v >> 8);
    let v1 = (v & MASK).wrapping_mul(MUL1);
    let v2 = ((v >> 16) & MASK).wrapping_mul(MUL2);
    u64::from((v1.wrapping_add(v2) >> 32) as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Timestamps read through the whole-seconds cache are those of
    /// `decimal_at`, value and end, whatever came before: the same seconds,
    /// the next second, other lengths, more decimals, no point, a point alone.
    #[test]
    fn cached_seconds_read_as_decimal_at_reads() {
        let shapes = [
            "1795201200.180339",
            "1795201200.180340",
            "1795201200.5",
            "1795201200.",
            "1795201200",
            "1795201201.000001",
            "1795201201.12345678",
            "1795201201.1234567",
            "179520120.5",
            "1795201201123456.7",
            "17952012011234567.8",
            "9007199254.7409931",
            "9007199254.7409935",
            "1795201201.x",
            "7.25",
            "7.250",
            ".5",
        ];
        let mut next = crate::stats::xorshift(0x51f1_5eed);
        let mut text = Vec::new();
        let mut starts = Vec::new();
        for _ in 0..5_000 {
            starts.push(text.len());
            text.extend_from_slice(shapes[(next() % shapes.len() as u64) as usize].as_bytes());
            text.extend_from_slice(b",query_latency_ms,1\n");
        }
        let mut spare = Spare::new();
        let mut block = Block {
            bytes: &text,
            roles: vec![Role::Timestamp, Role::Metric, Role::Value],
            found: Vec::new(),
            last: 0,
            rows: 0,
            line: 0,
            spare: &mut spare,
            seconds: None,
        };
        // The whole seconds and point of the timestamp at `at`, if it has a point.
        let seconds_of = |at: usize| {
            let field = &text[at..at + memchr(b',', &text[at..]).unwrap_or(0)];
            memchr(b'.', field).map(|dot| &field[..=dot])
        };
        let (mut shared, mut previous) = (0, None);
        for at in starts {
            let got = block.timestamp_at(at);
            assert_eq!(got, decimal_at(&text, at), "at {at}");
            let seconds = seconds_of(at);
            shared += usize::from(seconds.is_some() && seconds == previous);
            previous = seconds;
        }
        // The cache is met, not only filled: many rows share their seconds.
        assert!(shared > 500, "{shared} rows share the last row's seconds");
    }

    /// The loop-free reader takes exactly what the general one takes, to the
    /// bit and to the byte, or leaves the number to it.
    #[test]
    fn the_short_decimal_reader_agrees_with_the_general_one() {
        let mut cases = Vec::new();
        for int in 0..=19 {
            for fraction in [
                None,
                Some(0),
                Some(1),
                Some(3),
                Some(6),
                Some(7),
                Some(8),
                Some(12),
            ] {
                for end in [",", "\n", "\r\n", "x", ".", "-"] {
                    let digits = |n: usize, from: usize| -> String {
                        (0..n)
                            .map(|i| char::from(b'0' + ((i * 7 + from) % 10) as u8))
                            .collect()
                    };
                    let mut text = digits(int, 3);
                    if let Some(f) = fraction {
                        text.push('.');
                        text.push_str(&digits(f, 5));
                    }
                    text.push_str(end);
                    cases.push(text);
                }
            }
        }
        cases.extend(
            [
                "1795201200.180339,",
                "24.773\n",
                "0.5,",
                ".5,",
                "5.,",
                "9007199254740993,",
            ]
            .map(String::from),
        );
        let padded = |text: &str| -> Vec<u8> {
            let mut bytes = text.as_bytes().to_vec();
            bytes.resize(40, b'7');
            bytes
        };
        // The shapes exporters write take the loop-free reader.
        for (text, want, len) in [
            ("1795201200.180339,", 1795201200.180339, 17),
            ("24.773\n", 24.773, 6),
            ("3,", 3.0, 1),
        ] {
            let bytes = padded(text);
            let window: &[u8; 32] = bytes[..32].try_into().unwrap();
            assert_eq!(short_decimal(window), Some((want, len)), "{text:?}");
        }
        for text in cases {
            let bytes = padded(&text);
            let window: &[u8; 32] = bytes[..32].try_into().unwrap();
            let general = decimal_at_general(&bytes, 0);
            if let Some((value, len)) = short_decimal(window) {
                let (want, want_len) = general.expect("the general reader takes it too");
                assert_eq!(
                    (value.to_bits(), len),
                    (want.to_bits(), want_len),
                    "{text:?}"
                );
                let parsed: f64 = text[..len].parse().unwrap();
                assert_eq!(value.to_bits(), parsed.to_bits(), "{text:?}");
            }
            let via_entry = decimal_at(&bytes, 0).map(|(v, n)| (v.to_bits(), n));
            assert_eq!(
                via_entry,
                general.map(|(v, n)| (v.to_bits(), n)),
                "{text:?}"
            );
        }
    }
}
