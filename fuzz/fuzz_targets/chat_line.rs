//! `twinsock_chat::cut_line` on arbitrary text: a prefix of the input of at most 50 characters, the
//! whole input when it is that short, exactly 50 characters otherwise.
#![no_main]

use libfuzzer_sys::fuzz_target;
use twinsock_chat::{cut_line, MAX_LINE_CHARS};

fuzz_target!(|data: &[u8]| {
    let input = String::from_utf8_lossy(data);
    let line = cut_line(&input);
    let chars = line.chars().count();
    assert!(input.starts_with(line), "{input:?} -> {line:?}");
    assert!(chars <= MAX_LINE_CHARS, "{input:?} -> {line:?}");
    if input.chars().count() <= MAX_LINE_CHARS {
        assert_eq!(line, input.as_ref());
    } else {
        assert_eq!(chars, MAX_LINE_CHARS, "{input:?} -> {line:?}");
    }
});
