//! The Autobahn|Testsuite client driver: runs every case of a `wstest -m fuzzingserver` against
//! twinsock's native client, echoing each message back with the same kind, then asks the server
//! to write its reports. `scripts/autobahn.sh` starts the server, runs this and checks the
//! results against `autobahn/expected-client.json`.
//!
//! `cargo run --release --example autobahn_client -- ws://127.0.0.1:PORT`
//!
//! Exits 0 when every case ran and the reports were updated, 1 when the server could not be
//! reached (no case count or no report update), 2 for bad arguments, 3 when some case hung and
//! was abandoned (the reports are still updated).

#[cfg(not(target_arch = "wasm32"))]
mod driver {
    use std::future::Future;
    use std::sync::mpsc;
    use std::time::{Duration, Instant};

    use futures::channel::oneshot;
    use futures::future::{select, Either};
    use twinsock::{Event, Message, Socket, WebSocket, WebSocketBuilder};

    /// The agent name the reports are filed under.
    const AGENT: &str = "twinsock";
    /// How long one case (or the count and report requests) may take before it is abandoned,
    /// unless `AUTOBAHN_CASE_TIMEOUT` gives another number of seconds.
    const CASE_TIMEOUT: Duration = Duration::from_secs(60);
    /// The largest message accepted; the biggest Autobahn cases send 16 MiB.
    const MAX_MESSAGE_SIZE: usize = 64 << 20;

    /// Runs `future` to completion, or gives up after `limit` and returns `None`. The timer is
    /// a thread that waits on a channel: it exits as soon as the future finishes, so no
    /// sleeping thread outlives its case.
    async fn with_timeout<F: Future>(limit: Duration, future: F) -> Option<F::Output> {
        let (fired_tx, fired_rx) = oneshot::channel::<()>();
        let (done_tx, done_rx) = mpsc::channel::<()>();
        let timer = std::thread::spawn(move || {
            if let Err(mpsc::RecvTimeoutError::Timeout) = done_rx.recv_timeout(limit) {
                let _ = fired_tx.send(());
            }
        });
        let outcome = match select(Box::pin(future), fired_rx).await {
            Either::Left((output, _)) => Some(output),
            Either::Right(_) => None,
        };
        drop(done_tx);
        let _ = timer.join();
        outcome
    }

    /// Opens `url` and echoes every message back with the same kind until the close event.
    /// Returns the text messages received (only `getCaseCount` sends any that matter) and the
    /// close event's code.
    async fn echo(url: &str, echo_back: bool) -> Result<(Vec<String>, u16), twinsock::Error> {
        let socket: WebSocket = WebSocketBuilder::new(url)
            .max_message_size(Some(MAX_MESSAGE_SIZE))
            .open()?;
        let mut texts = Vec::new();
        while let Some(event) = socket.next_event().await {
            match event {
                Event::Open => {}
                Event::Message(Message::Text(text)) => {
                    if echo_back {
                        // A send after the close started is dropped, as in browsers; not an error.
                        if let Err(e) = socket.send_text(text.as_str()) {
                            eprintln!("send_text failed on {url}: {e}");
                        }
                    }
                    texts.push(text);
                }
                Event::Message(Message::Binary(data)) => {
                    if echo_back {
                        if let Err(e) = socket.send_binary(data) {
                            eprintln!("send_binary failed on {url}: {e}");
                        }
                    }
                }
                Event::Error(_) => {}
                Event::Close(close) => return Ok((texts, close.code)),
            }
        }
        Ok((texts, 1006))
    }

    /// The program; returns the exit code.
    pub fn run() -> i32 {
        let mut args = std::env::args().skip(1);
        let base = match (args.next(), args.next()) {
            (Some(base), None) if base.starts_with("ws://") || base.starts_with("wss://") => {
                base.trim_end_matches('/').to_string()
            }
            _ => {
                eprintln!("usage: autobahn_client ws://127.0.0.1:PORT");
                return 2;
            }
        };
        let limit = std::env::var("AUTOBAHN_CASE_TIMEOUT")
            .ok()
            .and_then(|secs| secs.parse().ok())
            .map_or(CASE_TIMEOUT, Duration::from_secs);
        futures::executor::block_on(async {
            let started = Instant::now();
            let count_url = format!("{base}/getCaseCount");
            let count = match with_timeout(limit, echo(&count_url, false)).await {
                Some(Ok((texts, _))) => texts.first().and_then(|t| t.trim().parse::<u32>().ok()),
                Some(Err(e)) => {
                    eprintln!("cannot open {count_url}: {e}");
                    None
                }
                None => {
                    eprintln!("{count_url} timed out");
                    None
                }
            };
            let Some(count) = count else {
                eprintln!("no case count from {count_url}");
                return 1;
            };
            println!("autobahn client: running {count} cases against {base}");

            let mut hung = Vec::new();
            for case in 1..=count {
                let url = format!("{base}/runCase?case={case}&agent={AGENT}");
                match with_timeout(limit, echo(&url, true)).await {
                    Some(Ok(_)) => {}
                    Some(Err(e)) => eprintln!("case {case}: cannot open: {e}"),
                    None => {
                        eprintln!("case {case}: no close after {limit:?}, abandoned");
                        hung.push(case);
                    }
                }
                if case % 50 == 0 || case == count {
                    println!("  {case}/{count} cases, {:.1} s", started.elapsed().as_secs_f64());
                }
            }

            let report_url = format!("{base}/updateReports?agent={AGENT}");
            let updated = match with_timeout(limit, echo(&report_url, false)).await {
                Some(Ok(_)) => true,
                Some(Err(e)) => {
                    eprintln!("cannot open {report_url}: {e}");
                    false
                }
                None => {
                    eprintln!("{report_url} timed out");
                    false
                }
            };
            if !updated {
                return 1;
            }
            println!(
                "autobahn client: {count} cases run in {:.1} s",
                started.elapsed().as_secs_f64()
            );
            if hung.is_empty() {
                0
            } else {
                eprintln!("autobahn client: cases abandoned after {limit:?}: {hung:?}");
                3
            }
        })
    }
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    std::process::exit(driver::run());
}

/// Autobahn drives a native client; there is nothing to run in a page.
#[cfg(target_arch = "wasm32")]
fn main() {}
