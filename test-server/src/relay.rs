//! `/relay?room=R`: two clients talk to each other through the server, each over
//! permessage-deflate, so that a page and a native program are seen exchanging compressed
//! messages.
//!
//! The first connection of room R waits (up to [`PAIR_WAIT`]) for the second; then both get the
//! text message `paired`. From then on every message one sends is inflated, relayed as it came
//! (text or binary) and compressed again for the other. The 101 accepts `permessage-deflate`
//! (no parameter) when the client offers it, and declines otherwise (its frames then count as
//! uncompressed).
//!
//! When one client closes, its close frame is answered with code 1000 and the reason
//! `you: C of N compressed; peer: D of M compressed` (how its own messages arrived, and how the
//! other's did), and the other gets a close frame 1000 `peer left; ` followed by its own such
//! report. A message before `paired` gets close 1008; one that does not inflate, close 1002.

use std::collections::HashMap;
use std::sync::mpsc::{channel, Receiver, Sender, TryRecvError};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::compressed::{fit, Tally};
use crate::conn::Conn;
use crate::deflate::{self, Codec, Params};
use crate::frame_layer::{close_payload, FrameConn, Incoming, Kind, ReadError};
use crate::handshake::{self, Request};
use crate::lock;

/// The longest the first client of a room waits for the second.
const PAIR_WAIT: Duration = Duration::from_secs(300);
/// The longest a pair may talk.
const TALK_WAIT: Duration = Duration::from_secs(120);
/// The longest a client may take to answer our close frame.
const CLOSE_WAIT: Duration = Duration::from_secs(10);
/// How often a client's thread looks at what the other sent while it reads its own client.
const POLL: Duration = Duration::from_millis(10);

/// The rooms' waiting clients: what the first client of a room leaves for the second, and the
/// number of the next seat.
#[derive(Default)]
pub struct Rooms(Mutex<(u64, HashMap<String, Seat>)>);

/// The first client's half of a pair: the way to its thread, and the inbox of the second.
struct Seat {
    /// Which first client left it.
    number: u64,
    to_first: Sender<Relayed>,
    inbox: Receiver<Relayed>,
}

/// What one client's thread tells the other's.
enum Relayed {
    /// The second client came.
    Paired,
    /// A message from the other client, inflated, and whether it came compressed.
    Message {
        kind: Kind,
        payload: Vec<u8>,
        compressed: bool,
    },
    /// The other client is gone.
    Left,
}

impl Rooms {
    /// Takes the seat of room `room`, or leaves one.
    fn join(&self, room: &str) -> Peer {
        let mut rooms = lock(&self.0);
        let (next, seats) = &mut *rooms;
        if let Some(seat) = seats.remove(room) {
            let _ = seat.to_first.send(Relayed::Paired);
            return Peer {
                inbox: seat.inbox,
                to_other: seat.to_first,
                seat: None,
                paired: true,
            };
        }
        let (to_first, first_inbox) = channel();
        let (to_second, second_inbox) = channel();
        *next += 1;
        seats.insert(
            room.to_owned(),
            Seat {
                number: *next,
                to_first,
                inbox: second_inbox,
            },
        );
        Peer {
            inbox: first_inbox,
            to_other: to_second,
            seat: Some((room.to_owned(), *next)),
            paired: false,
        }
    }
}

/// One client's end of the pair.
struct Peer {
    inbox: Receiver<Relayed>,
    to_other: Sender<Relayed>,
    /// The seat this client left in its room, while no one took it.
    seat: Option<(String, u64)>,
    /// `paired` was sent to this client.
    paired: bool,
}

impl Peer {
    /// Gives up the seat this client left in its room, if no one took it: true when it did
    /// (no pair was made, nor will be).
    fn give_up_seat(&mut self, rooms: &Rooms) -> bool {
        let Some((room, number)) = self.seat.take() else {
            return false;
        };
        let mut rooms = lock(&rooms.0);
        let free = rooms.1.get(&room).is_some_and(|seat| seat.number == number);
        if free {
            rooms.1.remove(&room);
        }
        free
    }

    /// This client leaves: its seat goes if no one took it; otherwise the other is told.
    fn leave(&mut self, rooms: &Rooms) {
        if !self.give_up_seat(rooms) {
            let _ = self.to_other.send(Relayed::Left);
        }
    }
}

/// Serves `/relay` (the request was checked to be an upgrade).
pub fn relay(mut conn: Conn, leftover: Vec<u8>, request: &Request, rooms: &Rooms) -> String {
    let offered = deflate::offered(request.header_values("sec-websocket-extensions"));
    let answer = offered.then_some("permessage-deflate");
    if let Err(err) = handshake::accept_with_extensions(&mut conn, request, answer) {
        return format!("writing the 101 failed: {err}");
    }
    if let Err(err) = conn.set_read_timeout(POLL) {
        return format!("cannot set a read timeout: {err}");
    }
    let codec = offered.then(|| Codec::new(&Params::default()));
    let room = request.param("room").unwrap_or("").to_owned();
    let peer = rooms.join(&room);
    let second = peer.paired;
    let mut talk = Talk {
        frames: FrameConn::new(conn, leftover, codec),
        peer,
        own: Tally::default(),
        other: Tally::default(),
        deadline: Instant::now() + if second { TALK_WAIT } else { PAIR_WAIT },
        closing: false,
    };
    let outcome = match second {
        // The second client is paired as it comes; the first is told by its inbox.
        true => match talk.frames.send(Kind::Text, b"paired") {
            Ok(()) => talk.run(rooms),
            Err(err) => {
                talk.peer.leave(rooms);
                format!("writing to the client failed: {err}")
            }
        },
        false => talk.run(rooms),
    };
    talk.frames.into_conn().finish(Duration::from_secs(5));
    format!("room {room:?}: {outcome}")
}

/// One client's side of the conversation, owned by its connection's thread.
struct Talk {
    frames: FrameConn,
    peer: Peer,
    /// How this client's messages arrived.
    own: Tally,
    /// How the other client's messages arrived.
    other: Tally,
    /// When waiting (for the other client, for the talk to end, for this client's answer to
    /// our close frame) gives up.
    deadline: Instant,
    /// Our close frame (the other client left) was sent.
    closing: bool,
}

impl Talk {
    /// Relays until either client leaves or time is up; how it ended.
    fn run(&mut self, rooms: &Rooms) -> String {
        loop {
            if Instant::now() > self.deadline {
                if self.closing {
                    return "the client never answered our close frame".into();
                }
                if !self.peer.paired && self.peer.give_up_seat(rooms) {
                    self.close(1013, "no peer came");
                    return "no peer came".into();
                }
                // Unpaired with the seat taken: the `Paired` waiting in the inbox comes next.
                if self.peer.paired {
                    self.peer.leave(rooms);
                    self.close(1013, "time is up");
                    return "time is up".into();
                }
            }
            if let Err(err) = self.relay_inbox() {
                self.peer.leave(rooms);
                return format!("writing to the client failed: {err}");
            }
            match self.frames.read() {
                Err(ReadError::TimedOut) => {}
                Ok(Incoming::Message {
                    kind,
                    payload,
                    compressed,
                }) => {
                    if !self.peer.paired {
                        self.peer.leave(rooms);
                        self.close(1008, "a message before the peer came");
                        return "a message before the peer came".into();
                    }
                    self.own.count(compressed);
                    let _ = self.peer.to_other.send(Relayed::Message {
                        kind,
                        payload,
                        compressed,
                    });
                }
                Ok(Incoming::Close(_)) => {
                    self.peer.leave(rooms);
                    let report = report(&self.own, &self.other);
                    if !self.closing {
                        self.close(1000, &report);
                    }
                    return format!("client closed; {report}");
                }
                Ok(Incoming::Ended) => {
                    self.peer.leave(rooms);
                    return "client closed TCP without a close frame".into();
                }
                Err(err) => {
                    self.peer.leave(rooms);
                    if let ReadError::Protocol(why) = &err {
                        self.close(1002, &format!("message {}: {why}", self.own.messages + 1));
                    }
                    return format!("reading failed: {err}");
                }
            }
        }
    }

    /// Hands this client what the other sent.
    fn relay_inbox(&mut self) -> std::io::Result<()> {
        loop {
            let relayed = match self.peer.inbox.try_recv() {
                Ok(relayed) => relayed,
                Err(TryRecvError::Empty) => return Ok(()),
                Err(TryRecvError::Disconnected) => Relayed::Left,
            };
            match relayed {
                Relayed::Paired => {
                    self.peer.paired = true;
                    self.peer.seat = None;
                    self.deadline = Instant::now() + TALK_WAIT;
                    self.frames.send(Kind::Text, b"paired")?;
                }
                Relayed::Message {
                    kind,
                    payload,
                    compressed,
                } => {
                    self.other.count(compressed);
                    self.frames.send(kind, &payload)?;
                }
                Relayed::Left if self.closing => return Ok(()),
                Relayed::Left => {
                    self.closing = true;
                    self.deadline = Instant::now() + CLOSE_WAIT;
                    let reason = format!("peer left; {}", report(&self.own, &self.other));
                    self.frames
                        .send_close(&close_payload(Some(1000), fit(&reason).as_bytes()))?;
                    return Ok(());
                }
            }
        }
    }

    /// Sends our close frame (errors are left to the next read).
    fn close(&mut self, code: u16, reason: &str) {
        let _ = self
            .frames
            .send_close(&close_payload(Some(code), fit(reason).as_bytes()));
    }
}

/// The close reason's report: how this client's messages and the other's arrived.
fn report(own: &Tally, other: &Tally) -> String {
    format!(
        "you: {} of {} compressed; peer: {} of {} compressed",
        own.compressed, own.messages, other.compressed, other.messages
    )
}
