//! The WebSocket constructor's URLs against the URL standard's own test data: every input of
//! the web-platform-tests' `urltestdata.json` (against its base), as it is and with its scheme
//! changed to ws, wss, http and https, and every host of `toascii.json` under those schemes
//! (4,803 cases). Each is run through [`WebSocketUrl::parse_with_base`], the constructor's URL
//! steps, and must give the standard's answer: the normalised URL, or a `SyntaxError`.
//!
//! The cases and their answers come from `scripts/url-cases.mjs`, which reads the data from
//! `../shared/wpt/` (never copied into the project) and computes each answer with whatwg-url,
//! the URL standard's reference implementation, after checking that it reproduces the data's
//! own answer for every entry. Natively the test runs the script with `node`; in the browser
//! the test script gives the cases to the test server, which hands them over a WebSocket.
//!
//! Natively the standard wins: every case must match. In Chromium, which parses the page's
//! URLs itself, each case where it departs from the standard is recorded below with the
//! reason; any other difference, or a recorded one that no longer happens, fails the test.

#[macro_use]
mod common;

use serde_json::Value;
use twinsock::WebSocketUrl;

#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

/// A line in the test's output (the browser runner's console natively has no stderr).
macro_rules! say {
    ($($arg:tt)*) => {{
        #[cfg(target_arch = "wasm32")]
        wasm_bindgen_test::console_log!($($arg)*);
        #[cfg(not(target_arch = "wasm32"))]
        eprintln!($($arg)*);
    }};
}

/// One case: the input, its base URL, and the standard's answer (`None`: a `SyntaxError`).
struct Case {
    from: String,
    input: String,
    base: Option<String>,
    expected: Option<String>,
}

fn cases_from(json: &str) -> Vec<Case> {
    let value: Value = serde_json::from_str(json).expect("the cases are JSON");
    let text = |v: &Value| v.as_str().map(str::to_string);
    value["cases"]
        .as_array()
        .expect("a list of cases")
        .iter()
        .map(|case| Case {
            from: text(&case["from"]).unwrap_or_default(),
            input: text(&case["input"]).expect("an input"),
            base: text(&case["base"]),
            expected: text(&case["expected"]),
        })
        .collect()
}

/// The base URL a case with none is parsed against. Natively, none. In a page there is always
/// one (the page's, as for `new WebSocket(url)`), and it would resolve inputs the standard
/// parses with no base (`http:x` against an `http:` page is relative), so the test gives
/// `about:blank`: a base that changes no answer, since nothing resolves against an opaque path
/// (a relative input fails as with no base, a `#` alone gives an `about:` URL, refused as a
/// scheme) and no scheme is relative to `about`.
const NO_BASE: Option<&str> = if cfg!(target_arch = "wasm32") {
    Some("about:blank")
} else {
    None
};

/// What the constructor's URL steps give for `case`: the URL, or `None` for a `SyntaxError`.
fn constructed(case: &Case) -> Option<String> {
    match WebSocketUrl::parse_with_base(&case.input, case.base.as_deref().or(NO_BASE)) {
        Ok(url) => Some(url.into_string()),
        Err(error) => {
            assert_eq!(
                error.dom_exception(),
                Some(twinsock::DomException::SyntaxError),
                "{:?}: {error:?}",
                case.input
            );
            None
        }
    }
}

/// A case where the answer is not the standard's: `(input, base, the answer)`.
type Difference = (String, Option<String>, Option<String>);

/// A recorded departure of Chromium's: `(input, base, what Chromium gives)`.
#[cfg(target_arch = "wasm32")]
type Departure = (&'static str, Option<&'static str>, Option<&'static str>);

/// Runs every case; returns the ones that differ from the standard, with a line for each.
fn differences(cases: &[Case]) -> Vec<Difference> {
    let mut differ = Vec::new();
    for case in cases {
        let got = constructed(case);
        if got != case.expected {
            say!(
                "{}: {:?} (base {:?}): the standard gives {:?}, we give {:?}",
                case.from,
                case.input,
                case.base,
                case.expected,
                got
            );
            differ.push((case.input.clone(), case.base.clone(), got));
        }
    }
    differ
}

#[cfg(not(target_arch = "wasm32"))]
#[test]
fn every_case_of_the_url_standards_data_gives_the_standards_answer_natively() {
    let root = env!("CARGO_MANIFEST_DIR");
    let output = std::process::Command::new("node")
        .arg("scripts/url-cases.mjs")
        .current_dir(root)
        .output();
    let json = match output {
        Ok(output) if output.status.success() => String::from_utf8(output.stdout).expect("UTF-8 cases"),
        failed => {
            let why = match failed {
                Ok(output) => String::from_utf8_lossy(&output.stderr).into_owned(),
                Err(error) => format!("cannot run node: {error}"),
            };
            // In CI a missing tool or data file is a failure; elsewhere the test says so.
            assert!(
                std::env::var_os("CI").is_none(),
                "scripts/url-cases.mjs failed: {why}"
            );
            eprintln!(
                "SKIPPED: the URL conformance cases need node, npm's whatwg-url and ../shared/wpt: {why}"
            );
            return;
        }
    };
    let cases = cases_from(&json);
    assert!(cases.len() > 4_000, "only {} cases", cases.len());
    let differ = differences(&cases);
    say!(
        "{} URL cases, {} differ from the standard",
        cases.len(),
        differ.len()
    );
    assert!(
        differ.is_empty(),
        "{} cases differ from the URL standard (above)",
        differ.len()
    );
}

/// Where Chromium's own URL parser departs from the URL standard, recorded case by case and
/// grouped by why: `(why, [(input, base, what Chromium gives)])` (`None`: a `SyntaxError`). A
/// case with no base is parsed against [`NO_BASE`] in the browser.
#[cfg(target_arch = "wasm32")]
#[rustfmt::skip]
const CHROMIUM_DEPARTURES: &[(&str, &[Departure])] = &[
    ("Chromium accepts a space in a host and percent-encodes it (also U+00A0 and U+3000, which IDNA maps to a space, and a percent-encoded one); the standard refuses a space, a forbidden host code point", &[
        ("ws: foo.com  ", Some("http://example.org/foo/bar"), Some("ws://%20foo.com/")),
        ("wss: foo.com  ", Some("http://example.org/foo/bar"), Some("wss://%20foo.com/")),
        ("https: foo.com  ", Some("http://example.org/foo/bar"), Some("wss://%20foo.com/")),
        ("ws:\t foo.com", Some("http://example.org/foo/bar"), Some("ws://%20foo.com/")),
        ("wss:\t foo.com", Some("http://example.org/foo/bar"), Some("wss://%20foo.com/")),
        ("https:\t foo.com", Some("http://example.org/foo/bar"), Some("wss://%20foo.com/")),
        ("http://example example.com", Some("http://other.com/"), Some("ws://example%20example.com/")),
        ("ws://example example.com", Some("http://other.com/"), Some("ws://example%20example.com/")),
        ("wss://example example.com", Some("http://other.com/"), Some("wss://example%20example.com/")),
        ("https://example example.com", Some("http://other.com/"), Some("wss://example%20example.com/")),
        ("http://GOO\u{a0}\u{3000}goo.com", Some("http://other.com/"), Some("ws://goo%20%20goo.com/")),
        ("ws://GOO\u{a0}\u{3000}goo.com", Some("http://other.com/"), Some("ws://goo%20%20goo.com/")),
        ("wss://GOO\u{a0}\u{3000}goo.com", Some("http://other.com/"), Some("wss://goo%20%20goo.com/")),
        ("https://GOO\u{a0}\u{3000}goo.com", Some("http://other.com/"), Some("wss://goo%20%20goo.com/")),
        ("ws:opaque  ?hi", None, Some("ws://opaque%20%20/?hi")),
        ("wss:opaque  ?hi", None, Some("wss://opaque%20%20/?hi")),
        ("http:opaque  ?hi", None, Some("ws://opaque%20%20/?hi")),
        ("https:opaque  ?hi", None, Some("wss://opaque%20%20/?hi")),
        ("ws:opaque  x?hi", None, Some("ws://opaque%20%20x/?hi")),
        ("wss:opaque  x?hi", None, Some("wss://opaque%20%20x/?hi")),
        ("http:opaque  x?hi", None, Some("ws://opaque%20%20x/?hi")),
        ("https:opaque  x?hi", None, Some("wss://opaque%20%20x/?hi")),
        ("http://192.168.0.1 hello", Some("http://other.com/"), Some("ws://192.168.0.1%20hello/")),
        ("ws://192.168.0.1 hello", Some("http://other.com/"), Some("ws://192.168.0.1%20hello/")),
        ("wss://192.168.0.1 hello", Some("http://other.com/"), Some("wss://192.168.0.1%20hello/")),
        ("https://192.168.0.1 hello", Some("http://other.com/"), Some("wss://192.168.0.1%20hello/")),
        ("https://x x:12", None, Some("wss://x%20x:12/")),
        ("ws://x x:12", None, Some("ws://x%20x:12/")),
        ("wss://x x:12", None, Some("wss://x%20x:12/")),
        ("http://x x:12", None, Some("ws://x%20x:12/")),
        ("ws://a b/", None, Some("ws://a%20b/")),
        ("wss://a b/", None, Some("wss://a%20b/")),
        ("http://a b/", None, Some("ws://a%20b/")),
        ("https://a b/", None, Some("wss://a%20b/")),
        ("http://ho%20st/", None, Some("ws://ho%20st/")),
        ("ws://ho%20st/", None, Some("ws://ho%20st/")),
        ("wss://ho%20st/", None, Some("wss://ho%20st/")),
        ("https://ho%20st/", None, Some("wss://ho%20st/")),
        ("ws://www\u{a0}.lookout.net/x", None, Some("ws://www%20.lookout.net/x")),
        ("wss://www\u{a0}.lookout.net/x", None, Some("wss://www%20.lookout.net/x")),
        ("http://www\u{a0}.lookout.net/x", None, Some("ws://www%20.lookout.net/x")),
        ("https://www\u{a0}.lookout.net/x", None, Some("wss://www%20.lookout.net/x")),
    ]),
    ("Chromium percent-encodes `*` in a host; the standard keeps it", &[
        ("http://!\"$&'()*+,-.;=_`{}~/", None, Some("ws://!\"$&'()%2A+,-.;=_`{}~/")),
        ("ws://!\"$&'()*+,-.;=_`{}~/", None, Some("ws://!\"$&'()%2A+,-.;=_`{}~/")),
        ("wss://!\"$&'()*+,-.;=_`{}~/", None, Some("wss://!\"$&'()%2A+,-.;=_`{}~/")),
        ("https://!\"$&'()*+,-.;=_`{}~/", None, Some("wss://!\"$&'()%2A+,-.;=_`{}~/")),
        ("ws:a!@$*=/foo.html", Some("file:///some/dir/bar.html"), Some("ws://a!@$%2A=/foo.html")),
        ("wss:a!@$*=/foo.html", Some("file:///some/dir/bar.html"), Some("wss://a!@$%2A=/foo.html")),
        ("http:a!@$*=/foo.html", Some("file:///some/dir/bar.html"), Some("ws://a!@$%2A=/foo.html")),
        ("https:a!@$*=/foo.html", Some("file:///some/dir/bar.html"), Some("wss://a!@$%2A=/foo.html")),
    ]),
    ("Chromium percent-encodes `'` in user information; the standard's userinfo set leaves it", &[
        ("wss:// !\"$%&'()*+,-.;<=>@[]^_`{|}~@host/", None, Some("wss://%20!%22$%&%27()*+,-.%3B%3C%3D%3E%40%5B%5D%5E_%60%7B%7C%7D~@host/")),
        ("ws:// !\"$%&'()*+,-.;<=>@[]^_`{|}~@host/", None, Some("ws://%20!%22$%&%27()*+,-.%3B%3C%3D%3E%40%5B%5D%5E_%60%7B%7C%7D~@host/")),
        ("http:// !\"$%&'()*+,-.;<=>@[]^_`{|}~@host/", None, Some("ws://%20!%22$%&%27()*+,-.%3B%3C%3D%3E%40%5B%5D%5E_%60%7B%7C%7D~@host/")),
        ("https:// !\"$%&'()*+,-.;<=>@[]^_`{|}~@host/", None, Some("wss://%20!%22$%&%27()*+,-.%3B%3C%3D%3E%40%5B%5D%5E_%60%7B%7C%7D~@host/")),
        ("wss://joe: !\"$%&'()*+,-.:;<=>@[]^_`{|}~@host/", None, Some("wss://joe:%20!%22$%&%27()*+,-.%3A%3B%3C%3D%3E%40%5B%5D%5E_%60%7B%7C%7D~@host/")),
        ("ws://joe: !\"$%&'()*+,-.:;<=>@[]^_`{|}~@host/", None, Some("ws://joe:%20!%22$%&%27()*+,-.%3A%3B%3C%3D%3E%40%5B%5D%5E_%60%7B%7C%7D~@host/")),
        ("http://joe: !\"$%&'()*+,-.:;<=>@[]^_`{|}~@host/", None, Some("ws://joe:%20!%22$%&%27()*+,-.%3A%3B%3C%3D%3E%40%5B%5D%5E_%60%7B%7C%7D~@host/")),
        ("https://joe: !\"$%&'()*+,-.:;<=>@[]^_`{|}~@host/", None, Some("wss://joe:%20!%22$%&%27()*+,-.%3A%3B%3C%3D%3E%40%5B%5D%5E_%60%7B%7C%7D~@host/")),
    ]),
    ("Chromium percent-encodes `|` in a path; the standard's path set leaves it", &[
        ("ws://host/ !\"$%&'()*+,-./:;<=>@[\\]^_`{|}~", None, Some("ws://host/%20!%22$%&'()*+,-./:;%3C=%3E@[/]%5E_%60%7B%7C%7D~")),
        ("wss://host/ !\"$%&'()*+,-./:;<=>@[\\]^_`{|}~", None, Some("wss://host/%20!%22$%&'()*+,-./:;%3C=%3E@[/]%5E_%60%7B%7C%7D~")),
        ("http://host/ !\"$%&'()*+,-./:;<=>@[\\]^_`{|}~", None, Some("ws://host/%20!%22$%&'()*+,-./:;%3C=%3E@[/]%5E_%60%7B%7C%7D~")),
        ("https://host/ !\"$%&'()*+,-./:;<=>@[\\]^_`{|}~", None, Some("wss://host/%20!%22$%&'()*+,-./:;%3C=%3E@[/]%5E_%60%7B%7C%7D~")),
    ]),
    ("Chromium decodes a percent-encoded host before mapping full-width characters, so `％４１` (full-width `%41`) becomes `a`; the standard refuses the full-width `%` it finds after decoding", &[
        ("http://％４１.com", Some("http://other.com/"), Some("ws://a.com/")),
        ("ws://％４１.com", Some("http://other.com/"), Some("ws://a.com/")),
        ("wss://％４１.com", Some("http://other.com/"), Some("wss://a.com/")),
        ("https://％４１.com", Some("http://other.com/"), Some("wss://a.com/")),
        ("http://%ef%bc%85%ef%bc%94%ef%bc%91.com", Some("http://other.com/"), Some("ws://a.com/")),
        ("ws://%ef%bc%85%ef%bc%94%ef%bc%91.com", Some("http://other.com/"), Some("ws://a.com/")),
        ("wss://%ef%bc%85%ef%bc%94%ef%bc%91.com", Some("http://other.com/"), Some("wss://a.com/")),
        ("https://%ef%bc%85%ef%bc%94%ef%bc%91.com", Some("http://other.com/"), Some("wss://a.com/")),
    ]),
    ("Chromium percent-decodes a bracketed host before parsing it as IPv6 (`[::%31]`, `%5B::1]`); the standard refuses `%` in an IPv6 address and a host that does not start with `[`", &[
        ("http://[::%31]", Some("http://other.com/"), Some("ws://[::1]/")),
        ("ws://[::%31]", Some("http://other.com/"), Some("ws://[::1]/")),
        ("wss://[::%31]", Some("http://other.com/"), Some("wss://[::1]/")),
        ("https://[::%31]", Some("http://other.com/"), Some("wss://[::1]/")),
        ("http://%5B::1]", Some("http://other.com/"), Some("ws://[::1]/")),
        ("ws://%5B::1]", Some("http://other.com/"), Some("ws://[::1]/")),
        ("wss://%5B::1]", Some("http://other.com/"), Some("wss://[::1]/")),
        ("https://%5B::1]", Some("http://other.com/"), Some("wss://[::1]/")),
    ]),
    ("Chromium refuses U+226E and U+226F (`<` or `>` with a combining long solidus, as NFC composes them), which IDNA (UTS 46, since 15.1) maps to valid labels", &[
        ("ws://<\u{338}/x", None, None),
        ("wss://<\u{338}/x", None, None),
        ("http://<\u{338}/x", None, None),
        ("https://<\u{338}/x", None, None),
        ("ws://>\u{338}/x", None, None),
        ("wss://>\u{338}/x", None, None),
        ("http://>\u{338}/x", None, None),
        ("https://>\u{338}/x", None, None),
        ("ws://<\u{ad}\u{338}/x", None, None),
        ("wss://<\u{ad}\u{338}/x", None, None),
        ("http://<\u{ad}\u{338}/x", None, None),
        ("https://<\u{ad}\u{338}/x", None, None),
        ("ws://>\u{ad}\u{338}/x", None, None),
        ("wss://>\u{ad}\u{338}/x", None, None),
        ("http://>\u{ad}\u{338}/x", None, None),
        ("https://>\u{ad}\u{338}/x", None, None),
    ]),
];

#[cfg(target_arch = "wasm32")]
#[wasm_bindgen_test::wasm_bindgen_test]
async fn every_case_of_the_url_standards_data_gives_the_standards_answer_or_chromiums_recorded_one() {
    use twinsock::{Event, Message, Socket};
    let socket = common::open(&common::ws("/file?name=url-cases")).await;
    let json = match common::next(&socket).await {
        Some(Event::Message(Message::Text(json))) => json,
        other => panic!("the test server has no url-cases file (scripts/test.sh gives it one): {other:?}"),
    };
    socket.close(None, None).expect("close");
    let cases = cases_from(&json);
    assert!(cases.len() > 4_000, "only {} cases", cases.len());
    let differ = differences(&cases);
    let recorded: Vec<Difference> = CHROMIUM_DEPARTURES
        .iter()
        .flat_map(|(_, cases)| cases.iter())
        .map(|(input, base, got)| {
            (
                input.to_string(),
                base.map(str::to_string),
                got.map(str::to_string),
            )
        })
        .collect();
    say!(
        "{} URL cases, {} differ from the standard",
        cases.len(),
        differ.len()
    );
    let unrecorded: Vec<_> = differ.iter().filter(|d| !recorded.contains(d)).collect();
    let stale: Vec<_> = recorded.iter().filter(|r| !differ.contains(r)).collect();
    for (input, base, got) in &unrecorded {
        say!("    (\"?\", {input:?}, {base:?}, {got:?}),");
    }
    assert!(
        unrecorded.is_empty() && stale.is_empty(),
        "{} cases, {} Chromium departures recorded; {} differences not recorded, {} recorded ones no longer happen: {stale:?}",
        cases.len(),
        recorded.len(),
        unrecorded.len(),
        stale.len()
    );
}
