//! `rules::parse_url` and `rules::validate_protocols` on arbitrary text.
//!
//! A parsed URL is serialised as a browser does (`ws://` or `wss://`, no fragment, a resource
//! starting with `/`) and parsing its `href` again gives the same URL. Accepted subprotocol
//! lists (the input split on `,`) hold only non-empty ASCII names without spaces.
#![no_main]

use libfuzzer_sys::fuzz_target;
use twinsock::rules::{parse_url, validate_protocols};

fuzz_target!(|data: &[u8]| {
    let input = String::from_utf8_lossy(data);

    if let Ok(url) = parse_url(&input) {
        let scheme = if url.secure { "wss://" } else { "ws://" };
        assert!(url.href.starts_with(scheme), "{input:?} -> {url:?}");
        assert!(!url.href.contains('#'), "{input:?} -> {url:?}");
        assert!(url.resource.starts_with('/'), "{input:?} -> {url:?}");
        assert!(url.href.ends_with(&url.resource), "{input:?} -> {url:?}");
        assert!(!url.host.is_empty(), "{input:?} -> {url:?}");
        match parse_url(&url.href) {
            Ok(again) => {
                assert_eq!(again.href, url.href, "not idempotent: {input:?}");
                assert_eq!(again.host, url.host, "not idempotent: {input:?}");
                assert_eq!(again.port, url.port, "not idempotent: {input:?}");
                assert_eq!(again.secure, url.secure, "not idempotent: {input:?}");
                assert_eq!(again.resource, url.resource, "not idempotent: {input:?}");
            }
            Err(error) => panic!("{input:?} -> {:?}, which does not parse: {error}", url.href),
        }
    }

    let protocols: Vec<&str> = input.split(',').collect();
    if validate_protocols(&protocols).is_ok() {
        for name in &protocols {
            assert!(!name.is_empty(), "{protocols:?}");
            assert!(name.is_ascii(), "{protocols:?}");
            assert!(!name.contains(' '), "{protocols:?}");
        }
        for (i, name) in protocols.iter().enumerate() {
            assert!(
                !protocols[..i].iter().any(|p| p.eq_ignore_ascii_case(name)),
                "duplicate accepted: {protocols:?}"
            );
        }
    }
});
