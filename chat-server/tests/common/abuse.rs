//! The chat server under abuse, helpers shared by the abuse suites: the server process's
//! memory and descriptors from `/proc`, bounded waits on twinsock's client, well-behaved
//! chatters that count every message ([`Chatters`]), short-lived churn clients, and raw
//! WebSocket frames for hostile clients.

use std::future::Future;
use std::io::{ErrorKind, Read};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use twinsock::{CloseEvent, Event, Message, Socket, WebSocket};

use super::chat_server::ChatServer;
use super::WAIT;
impl ChatServer {
    /// The server's resident set size in KiB (`VmRSS` of `/proc/PID/status`).
    #[cfg(target_os = "linux")]
    pub fn rss_kib(&self) -> u64 {
        self.status_kib("VmRSS:")
    }

    /// The server's peak resident set size in KiB (`VmHWM` of `/proc/PID/status`).
    #[cfg(target_os = "linux")]
    pub fn peak_rss_kib(&self) -> u64 {
        self.status_kib("VmHWM:")
    }

    /// A field of `/proc/PID/status` in KiB.
    #[cfg(target_os = "linux")]
    fn status_kib(&self, field: &str) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .expect("read the server's /proc status");
        status
            .lines()
            .find_map(|line| line.strip_prefix(field))
            .and_then(|value| value.trim().strip_suffix("kB"))
            .and_then(|kib| kib.trim().parse().ok())
            .unwrap_or_else(|| panic!("no {field} in {status:?}"))
    }

    /// How many file descriptors the server has open (its listener, its runtime's, and one per
    /// connection).
    #[cfg(target_os = "linux")]
    pub fn open_fds(&self) -> usize {
        std::fs::read_dir(format!("/proc/{}/fd", self.child.id()))
            .expect("list the server's fds")
            .count()
    }

    /// Waits (at most [`WAIT`]) until the server has `fds` file descriptors open or fewer.
    #[cfg(target_os = "linux")]
    pub fn wait_for_fds(&self, fds: usize) {
        let deadline = Instant::now() + WAIT;
        while self.open_fds() > fds {
            assert!(
                Instant::now() < deadline,
                "the server still has {} fds open, {fds} expected",
                self.open_fds()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// Runs `future` to completion on a current-thread runtime with a timer (for the bounds).
pub fn run<F: Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("a tokio runtime")
        .block_on(future)
}

/// The next event, or a panic naming `what` after [`WAIT`].
pub async fn next(socket: &WebSocket, what: &str) -> Option<Event> {
    tokio::time::timeout(WAIT, socket.next_event())
        .await
        .unwrap_or_else(|_| panic!("no event within {WAIT:?} while waiting for {what}"))
}

/// Opens a chat client and waits until it is open.
pub async fn open(url: &str) -> WebSocket {
    let socket = WebSocket::open(url).expect("a valid URL");
    match next(&socket, "the open event").await {
        Some(Event::Open) => socket,
        other => panic!("expected the open event, got {other:?}"),
    }
}

/// Skips messages until the close event, and returns it.
pub async fn closed(socket: &WebSocket, what: &str) -> CloseEvent {
    loop {
        match next(socket, what).await {
            Some(Event::Close(close)) => return close,
            Some(Event::Message(_)) => {}
            other => panic!("{what}: expected messages then a close event, got {other:?}"),
        }
    }
}

/// Closes `socket` with 1000 and expects a clean closing handshake.
pub async fn close_cleanly(socket: &WebSocket, what: &str) {
    socket.close(Some(1000), None).unwrap();
    let close = closed(socket, what).await;
    assert_eq!((close.code, close.was_clean), (1000, true), "{what}: {close:?}");
}

/// Messages a chatter may have sent and not yet seen come back: with three chatters, at most
/// 3 × `WINDOW` of their messages wait in any client's queue, far below the server's `--queue`.
pub const WINDOW: usize = 8;

/// How often a chatter sends: 50 messages per second, under every `--rate-limit` used here.
pub const PACE: Duration = Duration::from_millis(20);

/// How many messages a chatter still sends once told to stop.
pub const TAIL: usize = 3;

/// Well-behaved chat clients exchanging numbered messages (`chat ME N`, then `chat ME end
/// COUNT`) until [`Chatters::finish`], each checking that it receives every chatter's messages
/// in order and complete. Messages of other clients are counted.
pub struct Chatters {
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<Tally>>,
    /// Set once every chatter is open: none sends before all can receive.
    go: tokio::sync::watch::Sender<bool>,
}

impl Chatters {
    /// Starts `count` chatters on `url` and returns once all are open.
    pub fn start(url: &str, count: usize) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let (ready_tx, ready_rx) = mpsc::channel();
        let go = tokio::sync::watch::Sender::new(false);
        let threads = (0..count)
            .map(|me| {
                let (url, stop, ready) = (url.to_string(), Arc::clone(&stop), ready_tx.clone());
                let go = go.subscribe();
                std::thread::spawn(move || run(chat(url, me, count, stop, ready, go)))
            })
            .collect();
        let chatters = Self { stop, threads, go };
        for _ in 0..count {
            if ready_rx.recv_timeout(WAIT).is_err() {
                let _ = chatters.finish();
                panic!("the chatters did not all open within {WAIT:?}");
            }
        }
        chatters.go.send_replace(true);
        chatters
    }

    /// Tells the chatters to end (each sends [`TAIL`] more messages first, so that their
    /// chat spans whatever happened since [`Chatters::start`]) and waits for them. Every
    /// chatter's wait is bounded, so this ends; a chatter's failure fails the test here.
    /// Returns how many messages of other clients each chatter received.
    pub fn finish(mut self) -> Vec<usize> {
        self.stop.store(true, Ordering::SeqCst);
        let tallies: Vec<Tally> = std::mem::take(&mut self.threads)
            .into_iter()
            .map(|thread| {
                thread
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect();
        let sent: Vec<usize> = tallies.iter().map(|tally| tally.sent).collect();
        let others: Vec<usize> = tallies.iter().map(|tally| tally.others).collect();
        eprintln!("chatters: sent {sent:?}, each received all in order, and {others:?} of others");
        others
    }
}

/// What a chatter did.
struct Tally {
    /// Messages it sent (all of which every chatter received).
    sent: usize,
    /// Messages of other clients it received.
    others: usize,
}

impl Drop for Chatters {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        self.go.send_replace(true);
    }
}

/// One chatter: sends `chat ME N` every [`PACE`] (at most [`WINDOW`] ahead of its own echo)
/// until `stop` (and [`TAIL`] more), then `chat ME end COUNT`; receives until every chatter's
/// end.
async fn chat(
    url: String,
    me: usize,
    count: usize,
    stop: Arc<AtomicBool>,
    ready: mpsc::Sender<()>,
    mut go: tokio::sync::watch::Receiver<bool>,
) -> Tally {
    let socket = open(&url).await;
    let _ = ready.send(());
    tokio::time::timeout(WAIT, go.wait_for(|&go| go))
        .await
        .unwrap_or_else(|_| panic!("chatter {me}: the others did not open in time"))
        .unwrap_or_else(|_| panic!("chatter {me}: the test ended before the chat began"));
    // Per sender: the next number expected, and whether its end came.
    let mut expected = vec![0usize; count];
    let mut ended = vec![false; count];
    let (mut sent, mut end_sent, mut last, mut others) = (0, false, None, 0);
    let mut due = tokio::time::Instant::now();
    while !ended.iter().all(|&ended| ended) {
        if last.is_none() && stop.load(Ordering::SeqCst) {
            last = Some(sent + TAIL);
        }
        if !end_sent && last.is_some_and(|last| sent >= last) {
            socket.send_text(format!("chat {me} end {sent}")).unwrap();
            end_sent = true;
        }
        let may_send = !end_sent && sent < expected[me] + WINDOW;
        if may_send && tokio::time::Instant::now() >= due {
            socket.send_text(format!("chat {me} {sent}")).unwrap();
            sent += 1;
            due = tokio::time::Instant::now() + PACE;
            continue;
        }
        let event = if may_send {
            tokio::select! {
                event = next(&socket, "the chat") => event,
                () = tokio::time::sleep_until(due) => continue,
            }
        } else {
            next(&socket, "the chat").await
        };
        let text = match event {
            Some(Event::Message(Message::Text(text))) => text,
            other => panic!("chatter {me}: expected a text message, got {other:?}"),
        };
        let Some(rest) = text.strip_prefix("chat ") else {
            others += 1;
            continue;
        };
        let fields: Vec<&str> = rest.split(' ').collect();
        let sender: usize = fields[0].parse().unwrap();
        match fields[1..] {
            ["end", total] => {
                assert_eq!(
                    total.parse::<usize>().unwrap(),
                    expected[sender],
                    "chatter {me}: chatter {sender} ended after sending more than arrived"
                );
                ended[sender] = true;
            }
            [number] => {
                assert!(
                    !ended[sender],
                    "chatter {me}: {text:?} after chatter {sender}'s end"
                );
                assert_eq!(
                    number.parse::<usize>().unwrap(),
                    expected[sender],
                    "chatter {me}: a message of chatter {sender} lost or out of order"
                );
                expected[sender] += 1;
            }
            _ => panic!("chatter {me}: unexpected {text:?}"),
        }
    }
    close_cleanly(&socket, &format!("chatter {me}'s close")).await;
    Tally { sent, others }
}

/// One short-lived client: opens, sends `churn ID`, waits for it to come back, closes cleanly.
pub async fn churn_one(url: &str, id: usize) {
    let socket = open(url).await;
    let mine = format!("churn {id}");
    socket.send_text(mine.clone()).unwrap();
    loop {
        match next(&socket, "the churn client's echo").await {
            Some(Event::Message(Message::Text(text))) if text == mine => break,
            Some(Event::Message(_)) => {}
            other => panic!("churn client {id}: expected messages, got {other:?}"),
        }
    }
    close_cleanly(&socket, &format!("churn client {id}'s close")).await;
}

/// `count` churn clients at once (ids from `first`), all done when it returns.
pub fn churn_batch(url: &str, first: usize, count: usize) {
    run(futures::future::join_all(
        (first..first + count).map(|id| churn_one(url, id)),
    ));
}

/// Polls `sample` every 100 ms for at most `limit` until `done` holds for it; returns the
/// last sample and whether `done` held.
#[cfg(target_os = "linux")]
pub fn poll_until<T: Copy>(
    limit: Duration,
    mut sample: impl FnMut() -> T,
    done: impl Fn(T) -> bool,
) -> (T, bool) {
    let deadline = Instant::now() + limit;
    loop {
        let value = sample();
        if done(value) {
            return (value, true);
        }
        if Instant::now() >= deadline {
            return (value, false);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A client's frame: `first` is the first byte (FIN, RSV bits, opcode); masked with a fixed
/// key if `masked`.
pub fn frame(first: u8, payload: &[u8], masked: bool) -> Vec<u8> {
    let mut frame = frame_head(first, payload.len() as u64, masked);
    const KEY: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];
    frame.extend(
        payload
            .iter()
            .enumerate()
            .map(|(i, byte)| if masked { byte ^ KEY[i % 4] } else { *byte }),
    );
    frame
}

/// The head of a client's frame of `len` bytes, with the mask key if `masked`.
pub fn frame_head(first: u8, len: u64, masked: bool) -> Vec<u8> {
    let mask_bit = if masked { 0x80 } else { 0 };
    let mut head = vec![first];
    match len {
        0..=125 => head.push(mask_bit | len as u8),
        126..=0xffff => {
            head.push(mask_bit | 126);
            head.extend((len as u16).to_be_bytes());
        }
        _ => {
            head.push(mask_bit | 127);
            head.extend(len.to_be_bytes());
        }
    }
    if masked {
        head.extend([0x37, 0xfa, 0x21, 0x3d]);
    }
    head
}

/// Reads one frame from the server: its opcode and payload (panics on a read error, such as
/// the stream's read timeout).
pub fn read_frame(stream: &mut impl Read) -> (u8, Vec<u8>) {
    let mut head = [0u8; 2];
    stream.read_exact(&mut head).expect("a frame from the server");
    assert_eq!(head[1] & 0x80, 0, "the server masked a frame");
    let len = match head[1] & 0x7f {
        126 => {
            let mut len = [0u8; 2];
            stream.read_exact(&mut len).unwrap();
            u64::from(u16::from_be_bytes(len))
        }
        127 => {
            let mut len = [0u8; 8];
            stream.read_exact(&mut len).unwrap();
            u64::from_be_bytes(len)
        }
        len => u64::from(len),
    };
    let mut payload = vec![0u8; usize::try_from(len).unwrap()];
    stream.read_exact(&mut payload).unwrap();
    (head[0] & 0x0f, payload)
}

/// Reads the server's frames (skipping data frames: the chat's broadcasts) until its close
/// frame; returns the close code (1005 for none).
pub fn read_close(stream: &mut TcpStream) -> u16 {
    let deadline = Instant::now() + WAIT;
    loop {
        assert!(Instant::now() < deadline, "no close frame within {WAIT:?}");
        match read_frame(stream) {
            (0x8, payload) if payload.len() >= 2 => return u16::from_be_bytes([payload[0], payload[1]]),
            (0x8, _) => return 1005,
            _ => {}
        }
    }
}

/// Expects the server to close the TCP connection (after whatever it still sends) within
/// [`WAIT`].
pub fn expect_eof(stream: &mut TcpStream, what: &str) {
    let deadline = Instant::now() + WAIT;
    let mut sink = [0u8; 4096];
    loop {
        match stream.read(&mut sink) {
            Ok(0) => return,
            Ok(_) => {}
            Err(error) if error.kind() == ErrorKind::ConnectionReset => return,
            Err(error) => panic!("{what}: the server kept the connection open: {error}"),
        }
        assert!(Instant::now() < deadline, "{what}: the server kept sending");
    }
}
