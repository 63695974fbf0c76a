//! The compression benchmark's payloads, generated deterministically (the same bytes in the
//! server process, in the client process and, fetched from the server, in the page):
//!
//! - `json`: a market-data feed as exchanges send it over WebSockets, text messages of a few
//!   hundred bytes to a few KB: order-book updates (1 to 12 price levels), trades (with
//!   random order ids, the part of a real feed that does not compress) and ticker batches
//!   (10 to 30 products), prices on a random walk, sequence numbers and timestamps rising;
//! - `random`: binary messages of random bytes, message `i` as long as JSON message `i`
//!   (what deflate cannot shrink: the cost of compressing for nothing).
//!
//! A feed is a cycle of [`CYCLE`] messages, repeated as long as a run needs.

use serde::Serialize;

/// Messages in one cycle of a feed.
pub const CYCLE: usize = 4096;
/// The generator's seed (any fixed value; this one spells "twinsock").
const SEED: u64 = 0x7477_696e_736f_636b;
const PRODUCTS: [&str; 12] = [
    "BTC-USD", "ETH-USD", "SOL-USD", "XRP-USD", "ADA-USD", "DOGE-USD", "AVAX-USD", "LINK-USD", "DOT-USD",
    "LTC-USD", "BCH-USD", "ETH-BTC",
];

/// Which payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Json,
    Random,
}

impl Kind {
    pub const ALL: [Kind; 2] = [Kind::Json, Kind::Random];

    pub fn name(self) -> &'static str {
        match self {
            Kind::Json => "json",
            Kind::Random => "random",
        }
    }

    pub fn from_name(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.name() == name)
    }

    /// Whether its messages are text (JSON) or binary (random bytes).
    pub fn is_text(self) -> bool {
        self == Kind::Json
    }
}

/// splitmix64: small, fast, and the same on every platform and version.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n`.
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// Uniform in `[0, 1)`.
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn uuid(&mut self) -> String {
        let (a, b) = (self.next(), self.next());
        format!(
            "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0xfff,
            (b >> 48) & 0x3fff | 0x8000,
            b & 0xffff_ffff_ffff
        )
    }
}

/// The feed's state: the time, the sequence number and each product's price.
struct Market {
    rng: Rng,
    sequence: u64,
    /// Microseconds since the Unix epoch.
    time_us: u64,
    prices: Vec<f64>,
}

impl Market {
    fn new() -> Market {
        let mut rng = Rng(SEED);
        let prices = PRODUCTS.iter().map(|_| 0.05 + rng.unit() * 50_000.0).collect();
        Market {
            rng,
            sequence: 88_231_412_007,
            // 2026-12-01T09:30:00Z
            time_us: 1_796_117_400_000_000,
            prices,
        }
    }

    fn time(&self) -> String {
        let secs = self.time_us / 1_000_000;
        let (day_secs, micros) = (secs % 86_400, self.time_us % 1_000_000);
        format!(
            "2026-12-01T{:02}:{:02}:{:02}.{micros:06}Z",
            day_secs / 3600,
            day_secs / 60 % 60,
            day_secs % 60
        )
    }

    /// Moves one product's price a little; returns its index.
    fn tick(&mut self) -> usize {
        let p = self.rng.below(PRODUCTS.len() as u64) as usize;
        self.prices[p] *= 1.0 + (self.rng.unit() - 0.5) * 0.001;
        self.sequence += 1;
        self.time_us += 50 + self.rng.below(4000);
        p
    }

    fn price(&self, p: usize) -> String {
        format!("{:.2}", self.prices[p])
    }

    fn size(&mut self) -> String {
        format!("{:.8}", self.rng.unit() * self.rng.unit() * 3.0)
    }

    fn l2update(&mut self) -> String {
        let p = self.tick();
        let levels = 1 + self.rng.below(12);
        let changes: Vec<String> = (0..levels)
            .map(|_| {
                let side = if self.rng.below(2) == 0 { "buy" } else { "sell" };
                let offset = (self.rng.unit() - 0.5) * self.prices[p] * 0.002;
                format!(
                    "[\"{side}\",\"{:.2}\",\"{}\"]",
                    self.prices[p] + offset,
                    self.size()
                )
            })
            .collect();
        format!(
            "{{\"type\":\"l2update\",\"product_id\":\"{}\",\"sequence\":{},\"changes\":[{}],\"time\":\"{}\"}}",
            PRODUCTS[p],
            self.sequence,
            changes.join(","),
            self.time()
        )
    }

    fn trade(&mut self) -> String {
        let p = self.tick();
        let side = if self.rng.below(2) == 0 { "buy" } else { "sell" };
        format!(
            "{{\"type\":\"match\",\"trade_id\":{},\"maker_order_id\":\"{}\",\"taker_order_id\":\"{}\",\
             \"side\":\"{side}\",\"size\":\"{}\",\"price\":\"{}\",\"product_id\":\"{}\",\"sequence\":{},\"time\":\"{}\"}}",
            self.sequence / 3,
            self.rng.uuid(),
            self.rng.uuid(),
            self.size(),
            self.price(p),
            PRODUCTS[p],
            self.sequence,
            self.time()
        )
    }

    fn ticker_batch(&mut self) -> String {
        let count = 10 + self.rng.below(21);
        let tickers: Vec<String> = (0..count)
            .map(|_| {
                let p = self.tick();
                let price = self.prices[p];
                format!(
                    "{{\"product_id\":\"{}\",\"price\":\"{:.2}\",\"best_bid\":\"{:.2}\",\"best_ask\":\"{:.2}\",\
                     \"volume_24h\":\"{:.8}\",\"low_24h\":\"{:.2}\",\"high_24h\":\"{:.2}\",\"sequence\":{},\"time\":\"{}\"}}",
                    PRODUCTS[p],
                    price,
                    price * 0.9999,
                    price * 1.0001,
                    self.rng.unit() * 20_000.0,
                    price * 0.97,
                    price * 1.03,
                    self.sequence,
                    self.time()
                )
            })
            .collect();
        format!("{{\"type\":\"tickers\",\"tickers\":[{}]}}", tickers.join(","))
    }
}

/// One cycle of a feed: its messages, in order.
pub struct Feed {
    pub kind: Kind,
    pub messages: Vec<Vec<u8>>,
}

/// What the report says about a feed.
#[derive(Debug, Clone, Serialize)]
pub struct FeedFacts {
    pub kind: Kind,
    pub messages: usize,
    pub bytes: usize,
    pub min_size: usize,
    pub mean_size: f64,
    pub max_size: usize,
}

impl Feed {
    /// The feed of `kind`: always the same [`CYCLE`] messages.
    pub fn new(kind: Kind) -> Feed {
        let mut market = Market::new();
        let json: Vec<Vec<u8>> = (0..CYCLE)
            .map(|_| {
                match market.rng.below(10) {
                    0..=5 => market.l2update(),
                    6..=8 => market.trade(),
                    _ => market.ticker_batch(),
                }
                .into_bytes()
            })
            .collect();
        let messages = match kind {
            Kind::Json => json,
            Kind::Random => {
                let mut rng = Rng(SEED ^ 0xffff_ffff);
                json.iter()
                    .map(|m| (0..m.len()).map(|_| rng.next() as u8).collect())
                    .collect()
            }
        };
        Feed { kind, messages }
    }

    /// Message `i` of the endless feed (the cycle repeated).
    pub fn message(&self, i: usize) -> &[u8] {
        &self.messages[i % self.messages.len()]
    }

    pub fn facts(&self) -> FeedFacts {
        let sizes = self.messages.iter().map(Vec::len);
        let bytes: usize = sizes.clone().sum();
        FeedFacts {
            kind: self.kind,
            messages: self.messages.len(),
            bytes,
            min_size: sizes.clone().min().unwrap_or(0),
            mean_size: bytes as f64 / self.messages.len() as f64,
            max_size: sizes.max().unwrap_or(0),
        }
    }

    /// The cycle as one blob, for the page: each message as a 4-byte little-endian length and
    /// its bytes.
    pub fn blob(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.facts().bytes + 4 * self.messages.len());
        for m in &self.messages {
            out.extend_from_slice(&(m.len() as u32).to_le_bytes());
            out.extend_from_slice(m);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_messages_are_valid_json_of_a_few_hundred_bytes_to_a_few_kb() {
        let feed = Feed::new(Kind::Json);
        for m in &feed.messages {
            serde_json::from_slice::<serde_json::Value>(m).expect("valid JSON");
        }
        let facts = feed.facts();
        assert!(facts.min_size >= 100 && facts.max_size <= 8192, "{facts:?}");
        assert!((300.0..2000.0).contains(&facts.mean_size), "{facts:?}");
    }

    #[test]
    fn random_messages_have_the_json_sizes_and_do_not_compress() {
        let (json, random) = (Feed::new(Kind::Json), Feed::new(Kind::Random));
        assert!(json
            .messages
            .iter()
            .zip(&random.messages)
            .all(|(j, r)| j.len() == r.len()));
        let all: Vec<u8> = random.messages.concat();
        let mut deflate = flate2::Compress::new(flate2::Compression::default(), false);
        let mut out = Vec::with_capacity(all.len() + 1024);
        deflate
            .compress_vec(&all, &mut out, flate2::FlushCompress::Finish)
            .unwrap();
        assert!(out.len() >= all.len(), "{} of {}", out.len(), all.len());
    }

    #[test]
    fn the_feed_is_the_same_every_time() {
        assert_eq!(Feed::new(Kind::Json).messages, Feed::new(Kind::Json).messages);
        assert_eq!(
            Feed::new(Kind::Json).message(CYCLE + 7),
            Feed::new(Kind::Json).message(7)
        );
    }
}
