//! The native side of the page-and-native test (`tests/page_and_native.rs`): joins the test
//! server's relay room `page-and-native` with twinsock's native client, sends back every
//! message the page sends, and checks, at the end, the server's report that every message
//! went compressed both ways. `scripts/test.sh` starts it next to the browser run, with the
//! test server's start-up line:
//!
//! `cargo run --example relay_peer -- "$TWINSOCK_TEST_SERVER"`
//!
//! Prints one line, `relay peer: ...`; exits 0 when the page came, its messages were sent
//! back and the report says all of them (at least one) were compressed both ways; 1 otherwise;
//! 2 for bad arguments. It gives up after [`GIVE_UP`] (the relay itself gives up after 5 min
//! without a peer).

#[cfg(not(target_arch = "wasm32"))]
mod peer {
    use std::process::ExitCode;
    use std::time::Duration;

    use futures::future::{select, Either};
    use twinsock::{Event, Socket, WebSocket};

    /// The room the page joins too.
    const ROOM: &str = "page-and-native";
    /// How long the peer waits for the page and the conversation, at most.
    pub const GIVE_UP: Duration = Duration::from_secs(330);

    /// How the conversation went: the number of messages sent back and the server's last word.
    async fn converse(url: &str) -> Result<(u64, String), String> {
        let socket = WebSocket::open(url).map_err(|err| format!("{url}: {err}"))?;
        let mut echoed = 0u64;
        let mut paired = false;
        loop {
            match socket.next_event().await {
                Some(Event::Open) if socket.extensions() != "permessage-deflate" => {
                    return Err(format!("extensions() is {:?}", socket.extensions()))
                }
                Some(Event::Open) => {}
                Some(Event::Message(message)) if !paired => match message {
                    twinsock::Message::Text(text) if text == "paired" => paired = true,
                    other => return Err(format!("expected \"paired\" first, got {other:?}")),
                },
                Some(Event::Message(message)) => {
                    socket
                        .send(message)
                        .map_err(|err| format!("sending back: {err}"))?;
                    echoed += 1;
                }
                Some(Event::Error(cause)) => return Err(format!("error: {cause}")),
                Some(Event::Close(close)) => {
                    let all = format!(
                        "you: {echoed} of {echoed} compressed; peer: {echoed} of {echoed} compressed"
                    );
                    let expected = format!("peer left; {all}");
                    return if echoed > 0 && (close.code, close.reason.as_str()) == (1000, &expected) {
                        Ok((echoed, close.reason))
                    } else {
                        Err(format!(
                            "after {echoed} messages, close {close:?}, not 1000 {expected:?}"
                        ))
                    };
                }
                None => return Err("the events ended without a close event".into()),
            }
        }
    }

    /// Runs the peer against the test server's start-up line `line` (its `ws=ADDR` field).
    pub fn run(line: &str) -> ExitCode {
        let Some(address) = line
            .split_whitespace()
            .find_map(|field| field.strip_prefix("ws="))
        else {
            eprintln!("relay peer: no ws=ADDR in {line:?}");
            return ExitCode::from(2);
        };
        let url = format!("ws://{address}/relay?room={ROOM}");
        let outcome = twinsock::block_on(async {
            let conversation = std::pin::pin!(converse(&url));
            let timer = std::pin::pin!(futures_timer::Delay::new(GIVE_UP));
            match select(conversation, timer).await {
                Either::Left((outcome, _)) => outcome,
                Either::Right(_) => Err(format!("no page came within {GIVE_UP:?}")),
            }
        });
        match outcome {
            Ok((echoed, report)) => {
                println!("relay peer: sent back {echoed} messages from the page; the server: {report}");
                ExitCode::SUCCESS
            }
            Err(why) => {
                println!("relay peer: FAILED: {why}");
                ExitCode::FAILURE
            }
        }
    }
}

#[cfg(not(target_arch = "wasm32"))]
fn main() -> std::process::ExitCode {
    let Some(line) = std::env::args().nth(1) else {
        eprintln!("usage: relay_peer \"TEST-SERVER-LINE\" (the line test-server prints)");
        return std::process::ExitCode::from(2);
    };
    peer::run(&line)
}

#[cfg(target_arch = "wasm32")]
fn main() {}
