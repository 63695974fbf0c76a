//! `--redis`: two `chat-server` processes sharing one chat through one `redis-server`
//! (Debian's, started on a free loopback port per test, stopped by PID): each message reaches
//! every client once, in each sender's order; killing Redis leaves each server's own clients
//! chatting, and restarting it joins the chats again.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::chat_server::ChatServer;
use common::{text, WAIT};
use futures::executor::block_on;
use twinsock::{Socket, WebSocket};

/// A `redis-server` on 127.0.0.1, killed (and reaped) when dropped.
struct RedisServer {
    child: Child,
    port: u16,
}

impl RedisServer {
    /// Starts one on a free port.
    fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free port")
            .port();
        Self::start_on(port)
    }

    /// Starts one on `port` and waits until it accepts connections.
    fn start_on(port: u16) -> Self {
        let mut child = Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server (Debian's redis-server package; scripts/setup.sh installs it)");
        let stdout = child.stdout.take().unwrap();
        let (ready, wait) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if line.contains("Ready to accept connections") {
                    let _ = ready.send(());
                }
            }
        });
        if wait.recv_timeout(WAIT).is_err() {
            let _ = child.kill();
            panic!("redis-server on port {port} was not ready within {WAIT:?}");
        }
        Self { child, port }
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl ChatServer {
    /// Waits (at most [`WAIT`]) until `/health` says the Redis link is `state`.
    fn wait_for_redis(&self, state: &str) {
        let deadline = Instant::now() + WAIT;
        loop {
            let (_, body) = self.get("/health");
            if body.contains(&format!("\"redis\":\"{state}\"")) {
                return;
            }
            assert!(Instant::now() < deadline, "the Redis link is not {state}: {body}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

fn chat(server: &ChatServer) -> WebSocket {
    block_on(common::open(&server.url("/ws")))
}

/// Receives until every sender's `SENDER:0` .. `SENDER:count-1` have come, in order, each
/// once.
fn receive_all(client: &WebSocket, senders: &[&str], count: usize) {
    let mut next = vec![0; senders.len()];
    while next.iter().any(|&n| n < count) {
        let got = block_on(text(client));
        let (sender, n) = got
            .split_once(':')
            .unwrap_or_else(|| panic!("unexpected {got:?}"));
        let index = senders
            .iter()
            .position(|s| *s == sender)
            .unwrap_or_else(|| panic!("from whom? {got:?}"));
        assert_eq!(
            n.parse::<usize>().unwrap(),
            next[index],
            "the messages of {sender} (one twice, or lost?)"
        );
        next[index] += 1;
    }
}

/// `from` sends `marker`; it is the next message of every one of `clients`: nothing came
/// twice or late before it.
fn marker_is_next(from: &WebSocket, clients: &[&WebSocket], marker: &str) {
    from.send_text(marker).unwrap();
    for &client in clients {
        assert_eq!(block_on(text(client)), marker);
    }
}

#[test]
fn clients_on_two_servers_chat_through_redis_each_message_once_in_each_senders_order() {
    const COUNT: usize = 50;
    let redis = RedisServer::start();
    let args = ["--redis", &redis.url()];
    let (a, b) = (ChatServer::start(&args), ChatServer::start(&args));
    a.wait_for_redis("up");
    b.wait_for_redis("up");
    let clients = [chat(&a), chat(&a), chat(&b), chat(&b)];
    let names = ["a1", "a2", "b1", "b2"];
    for n in 0..COUNT {
        for (client, name) in clients.iter().zip(names) {
            client.send_text(format!("{name}:{n}")).unwrap();
        }
    }
    for client in &clients {
        receive_all(client, &names, COUNT);
    }
    let all: Vec<&WebSocket> = clients.iter().collect();
    marker_is_next(&clients[3], &all, "b2:end");
    assert_eq!((a.health_number("clients"), b.health_number("clients")), (2, 2));
}

#[test]
fn killing_redis_leaves_each_servers_clients_chatting_and_restarting_it_joins_them_again() {
    let mut redis = RedisServer::start();
    let port = redis.port;
    let args = ["--redis", &redis.url()];
    let (a, b) = (ChatServer::start(&args), ChatServer::start(&args));
    a.wait_for_redis("up");
    b.wait_for_redis("up");
    let (a1, a2, b1) = (chat(&a), chat(&a), chat(&b));
    marker_is_next(&a1, &[&a1, &a2, &b1], "a1:joined");

    // Redis dies: each server says so and keeps its own clients chatting.
    let _ = redis.child.kill();
    let _ = redis.child.wait();
    a.wait_for_redis("down");
    b.wait_for_redis("down");
    marker_is_next(&a1, &[&a1, &a2], "a1:while Redis is away");
    // b1 never gets it: its own next message comes first.
    marker_is_next(&b1, &[&b1], "b1:alone");

    // Redis comes back on the same port: the servers reconnect by themselves.
    redis = RedisServer::start_on(port);
    a.wait_for_redis("up");
    b.wait_for_redis("up");
    marker_is_next(&b1, &[&b1, &a1, &a2], "b1:together again");
    marker_is_next(&a2, &[&a1, &a2, &b1], "a2:once each");
    drop(redis);
}

#[test]
fn without_redis_at_start_a_server_serves_its_own_clients_and_says_the_link_is_down() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let server = ChatServer::start(&["--redis", &format!("redis://127.0.0.1:{port}/")]);
    server.wait_for_redis("down");
    let (one, two) = (chat(&server), chat(&server));
    marker_is_next(&one, &[&one, &two], "one:local");
}

#[test]
fn a_redis_option_that_is_not_a_redis_url_is_a_clear_error_at_start() {
    let output = Command::new(env!("CARGO_BIN_EXE_chat-server"))
        .args(["--listen", "127.0.0.1:0", "--redis", "http://example/"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("--redis"), "{stderr}");
}
