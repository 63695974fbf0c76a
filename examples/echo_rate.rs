//! Echo rate through one socket, twinsock's native client next to raw (blocking) tungstenite
//! against the same echo server, alternating A, B, A, B so both see the same machine noise.
//!
//! `cargo run --release --example echo_rate -- ws://127.0.0.1:PORT/echo [MESSAGES] [ROUNDS]`
//!
//! Two patterns, 32-byte text messages: sequential round trips (send one, wait for its echo)
//! and windowed (100 in flight). Prints messages per second for each run and the medians.

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    use std::time::{Duration, Instant};

    let mut args = std::env::args().skip(1);
    let url = args.next().expect("usage: echo_rate URL [MESSAGES] [ROUNDS]");
    let messages: usize = args.next().map_or(100_000, |n| n.parse().expect("MESSAGES"));
    let rounds: usize = args.next().map_or(3, |n| n.parse().expect("ROUNDS"));
    let payload = "x".repeat(32);

    type Run = fn(&str, &str, usize, usize) -> Duration;
    let clients: [(&str, Run); 2] = [("twinsock", twinsock_run), ("tungstenite", tungstenite_run)];
    for (pattern, window) in [("sequential round trips", 1), ("windowed, 100 in flight", 100)] {
        let count = if window == 1 { messages / 5 } else { messages };
        println!("{pattern}: {count} messages of 32 bytes, {rounds} rounds");
        let mut rates: Vec<Vec<f64>> = vec![Vec::new(); clients.len()];
        for _ in 0..rounds {
            for (i, (name, run)) in clients.iter().enumerate() {
                let elapsed = run(&url, &payload, count, window);
                let rate = count as f64 / elapsed.as_secs_f64();
                println!("  {name:<12} {rate:>10.0} msg/s");
                rates[i].push(rate);
            }
        }
        let medians: Vec<f64> = rates.iter_mut().map(|r| median(r)).collect();
        println!(
            "  median: twinsock {:.0} msg/s, tungstenite {:.0} msg/s, ratio {:.2}",
            medians[0],
            medians[1],
            medians[0] / medians[1]
        );
    }

    fn median(values: &mut [f64]) -> f64 {
        values.sort_by(f64::total_cmp);
        values[values.len() / 2]
    }

    fn twinsock_run(url: &str, payload: &str, count: usize, window: usize) -> Duration {
        use twinsock::{Event, Socket, WebSocketBuilder};
        futures::executor::block_on(async {
            let socket = WebSocketBuilder::new(url).connect().await.expect("connect");
            let started = Instant::now();
            let mut sent = 0;
            for _ in 0..window.min(count) {
                socket.send_text(payload).expect("send");
                sent += 1;
            }
            for _ in 0..count {
                match socket.next_event().await {
                    Some(Event::Message(_)) => {}
                    other => panic!("unexpected {other:?}"),
                }
                if sent < count {
                    socket.send_text(payload).expect("send");
                    sent += 1;
                }
            }
            let elapsed = started.elapsed();
            socket.close(Some(1000), None).expect("close");
            while socket.next_event().await.is_some() {}
            elapsed
        })
    }

    fn tungstenite_run(url: &str, payload: &str, count: usize, window: usize) -> Duration {
        use tungstenite::Message;
        let (mut ws, _) = tungstenite::connect(url).expect("connect");
        if let tungstenite::stream::MaybeTlsStream::Plain(tcp) = ws.get_mut() {
            tcp.set_nodelay(true).expect("nodelay");
        }
        let started = Instant::now();
        let mut sent = 0;
        for _ in 0..window.min(count) {
            ws.write(Message::text(payload)).expect("write");
            sent += 1;
        }
        ws.flush().expect("flush");
        for _ in 0..count {
            match ws.read().expect("read") {
                Message::Text(_) => {}
                other => panic!("unexpected {other:?}"),
            }
            if sent < count {
                ws.send(Message::text(payload)).expect("send");
                sent += 1;
            }
        }
        let elapsed = started.elapsed();
        let _ = ws.close(None);
        while ws.read().is_ok() {}
        elapsed
    }
}

/// Native only: this example measures the native client.
#[cfg(target_arch = "wasm32")]
fn main() {}
