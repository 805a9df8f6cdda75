//! Fault injection per endpoint.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::rng::Draw;

/// What goes wrong.
#[derive(Clone, Debug, PartialEq)]
pub enum FaultKind {
    /// Answer with this status (e.g. 500, 502, 503) and a short error body; a 429 comes
    /// without `Retry-After` and without rate-limit headers.
    Status(u16),
    /// Answer 504 when the requested page size (`per_page` or `page[size]`) exceeds this.
    GatewayTimeoutAbove(u32),
    /// Wait this long (real time) before answering normally.
    Delay(Duration),
    /// Announce the full `Content-Length` but send only half of the body, then close.
    TruncatedBody,
    /// Announce the full `Content-Length`, send half of the body, then reset the connection
    /// (TCP RST).
    ResetMidBody,
    /// Answer 200 with a body that is not valid JSON.
    MalformedJson,
    /// Reset the connection (TCP RST) without answering.
    ConnectionReset,
    /// Answer normally, but pad the JSON body with whitespace to this many bytes (still
    /// valid JSON): announced in `Content-Length` when `announced`, else sent chunked.
    OversizedBody {
        /// The body's size in bytes.
        bytes: usize,
        /// Whether `Content-Length` announces it.
        announced: bool,
    },
    /// Send the head at once, then the body one byte per this interval.
    Trickle(Duration),
    /// Answer with `Content-Encoding: gzip` (whether or not the client accepts it) and a
    /// small gzip body that expands to the JSON page padded with whitespace to this many
    /// bytes.
    GzipBomb(u64),
    /// Answer 200 with an HTML error page (`Content-Type: text/html`), as a captive portal
    /// or a misrouted proxy does.
    HtmlPage,
}

/// When a fault fires.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum FaultTrigger {
    /// On each of the next N matching requests.
    Next(u32),
    /// On each matching request with this probability (drawn from the seeded generator).
    Probability(f64),
}

/// A fault and when it fires.
#[derive(Clone, Debug, PartialEq)]
pub struct Fault {
    /// What goes wrong.
    pub kind: FaultKind,
    /// When.
    pub trigger: FaultTrigger,
}

impl Fault {
    /// `kind` on each of the next `n` requests.
    pub fn next(n: u32, kind: FaultKind) -> Fault {
        Fault {
            kind,
            trigger: FaultTrigger::Next(n),
        }
    }

    /// `kind` on each request with probability `p`.
    pub fn probability(p: f64, kind: FaultKind) -> Fault {
        Fault {
            kind,
            trigger: FaultTrigger::Probability(p),
        }
    }
}

/// The faults set per endpoint name (`"*"` matches every endpoint).
#[derive(Debug)]
pub(crate) struct FaultTable {
    faults: BTreeMap<String, Vec<Fault>>,
    draw: Draw,
}

impl FaultTable {
    /// An empty table whose probabilities draw from `seed`.
    pub(crate) fn new(seed: u64) -> Self {
        FaultTable {
            faults: BTreeMap::new(),
            draw: Draw::new(seed, 0xFA17, 0),
        }
    }

    /// Adds a fault for `endpoint`.
    pub(crate) fn add(&mut self, endpoint: &str, fault: Fault) {
        self.faults
            .entry(endpoint.to_string())
            .or_default()
            .push(fault);
    }

    /// Removes every fault.
    pub(crate) fn clear(&mut self) {
        self.faults.clear();
    }

    /// The fault that fires for a request to `endpoint` asking for `page_size` items, if any.
    pub(crate) fn fire(&mut self, endpoint: &str, page_size: u32) -> Option<FaultKind> {
        for key in [endpoint, "*"] {
            let Some(list) = self.faults.get_mut(key) else {
                continue;
            };
            for fault in list.iter_mut() {
                if let FaultKind::GatewayTimeoutAbove(limit) = fault.kind {
                    if page_size <= limit {
                        continue;
                    }
                }
                let fires = match &mut fault.trigger {
                    FaultTrigger::Next(0) => false,
                    FaultTrigger::Next(n) => {
                        *n -= 1;
                        true
                    }
                    FaultTrigger::Probability(p) => self.draw.chance(*p),
                };
                if fires {
                    return Some(fault.kind.clone());
                }
            }
            list.retain(|f| f.trigger != FaultTrigger::Next(0));
        }
        None
    }
}

/// A gzip member whose content is `prefix` followed by spaces up to `expanded` bytes in
/// all: the prefix in stored blocks, the spaces as back-references of 258 bytes each (13
/// bits apiece, so the member weighs about a 160th of what it expands to).
pub(crate) fn gzip_bomb(prefix: &[u8], expanded: u64) -> Vec<u8> {
    let padding = expanded.saturating_sub(prefix.len() as u64);
    let mut bits = BitWriter::default();
    bits.out
        .extend_from_slice(&[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff]);
    for chunk in prefix.chunks(u16::MAX as usize) {
        // A stored block, not the last: BFINAL 0, BTYPE 00, then LEN and NLEN.
        bits.put(0, 3);
        bits.align();
        let len = chunk.len() as u16;
        bits.out.extend_from_slice(&len.to_le_bytes());
        bits.out.extend_from_slice(&(!len).to_le_bytes());
        bits.out.extend_from_slice(chunk);
    }
    // The last block, with the fixed Huffman codes: BFINAL 1, BTYPE 01.
    bits.put(0b011, 3);
    let space = || (0x30 + u32::from(b' '), 8);
    let mut left = padding;
    if left > 0 {
        let (code, len) = space();
        bits.put_code(code, len);
        left -= 1;
    }
    while left >= 258 {
        // Length 258 (symbol 285, no extra bits), distance 1 (code 0, no extra bits).
        bits.put_code(0xc0 + 285 - 280, 8);
        bits.put_code(0, 5);
        left -= 258;
    }
    for _ in 0..left {
        let (code, len) = space();
        bits.put_code(code, len);
    }
    // End of block (symbol 256).
    bits.put_code(0, 7);
    bits.align();
    let mut crc = Crc32::default();
    crc.update(prefix);
    let spaces = [b' '; 4096];
    let mut left = padding;
    while left > 0 {
        let n = left.min(spaces.len() as u64) as usize;
        crc.update(&spaces[..n]);
        left -= n as u64;
    }
    bits.out.extend_from_slice(&crc.finish().to_le_bytes());
    bits.out
        .extend_from_slice(&((prefix.len() as u64 + padding) as u32).to_le_bytes());
    bits.out
}

/// DEFLATE's bit order: fields from their least significant bit, Huffman codes from their
/// most significant.
#[derive(Default)]
struct BitWriter {
    out: Vec<u8>,
    pending: u64,
    count: u32,
}

impl BitWriter {
    fn put(&mut self, value: u32, len: u32) {
        self.pending |= u64::from(value) << self.count;
        self.count += len;
        while self.count >= 8 {
            self.out.push(self.pending as u8);
            self.pending >>= 8;
            self.count -= 8;
        }
    }

    fn put_code(&mut self, code: u32, len: u32) {
        self.put(code.reverse_bits() >> (32 - len), len);
    }

    fn align(&mut self) {
        if self.count > 0 {
            self.put(0, 8 - self.count);
        }
    }
}

/// The CRC-32 of gzip (IEEE, reflected).
struct Crc32 {
    table: [u32; 256],
    value: u32,
}

impl Default for Crc32 {
    fn default() -> Self {
        let mut table = [0u32; 256];
        for (n, entry) in table.iter_mut().enumerate() {
            let mut c = n as u32;
            for _ in 0..8 {
                c = if c & 1 == 1 {
                    0xedb8_8320 ^ (c >> 1)
                } else {
                    c >> 1
                };
            }
            *entry = c;
        }
        Crc32 {
            table,
            value: u32::MAX,
        }
    }
}

impl Crc32 {
    fn update(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.value =
                self.table[((self.value ^ u32::from(b)) & 0xff) as usize] ^ (self.value >> 8);
        }
    }

    fn finish(&self) -> u32 {
        !self.value
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gzip_bombs_are_small_and_say_how_far_they_expand() {
        let page = br#"{"tickets":[]}"#;
        let bomb = gzip_bomb(page, 1 << 20);
        assert_eq!(&bomb[..3], &[0x1f, 0x8b, 8], "gzip, deflate");
        assert!(bomb.len() < 8 << 10, "{} bytes", bomb.len());
        let size = u32::from_le_bytes(bomb[bomb.len() - 4..].try_into().unwrap());
        assert_eq!(size, 1 << 20);
        let mut crc = Crc32::default();
        crc.update(b"123456789");
        assert_eq!(crc.finish(), 0xcbf4_3926, "the CRC-32 check value");
    }

    #[test]
    fn counted_faults_fire_exactly_n_times_and_only_on_their_endpoint() {
        let mut t = FaultTable::new(1);
        t.add("tickets", Fault::next(2, FaultKind::Status(503)));
        assert_eq!(t.fire("users", 100), None);
        assert_eq!(t.fire("tickets", 100), Some(FaultKind::Status(503)));
        assert_eq!(t.fire("tickets", 100), Some(FaultKind::Status(503)));
        assert_eq!(t.fire("tickets", 100), None);
    }

    #[test]
    fn gateway_timeout_depends_on_page_size_and_wildcard_matches_all() {
        let mut t = FaultTable::new(1);
        t.add(
            "*",
            Fault::probability(1.0, FaultKind::GatewayTimeoutAbove(100)),
        );
        assert_eq!(t.fire("anything", 100), None);
        assert_eq!(
            t.fire("anything", 101),
            Some(FaultKind::GatewayTimeoutAbove(100))
        );
    }

    #[test]
    fn probability_is_roughly_respected() {
        let mut t = FaultTable::new(9);
        t.add("x", Fault::probability(0.25, FaultKind::MalformedJson));
        let hits = (0..4000).filter(|_| t.fire("x", 1).is_some()).count();
        assert!((800..1200).contains(&hits), "{hits}");
    }
}
