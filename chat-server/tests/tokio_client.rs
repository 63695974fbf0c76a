//! twinsock's native client inside a tokio runtime (it depends on no runtime: its own I/O
//! thread drives the connection, and its futures are plain wakers), against the chat server's
//! echo route.

mod common;

use common::chat_server::ChatServer;
use twinsock::{Event, Message, Socket, WebSocketBuilder};

#[test]
fn the_client_is_usable_from_a_tokio_runtime() {
    let server = ChatServer::start(&["--echo-route"]);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    runtime.block_on(async {
        let socket = WebSocketBuilder::new(server.url("/echo"))
            .connect()
            .await
            .unwrap();
        socket.send_binary(vec![1, 2, 3]).unwrap();
        let echoed = tokio::time::timeout(common::WAIT, socket.next_event())
            .await
            .unwrap();
        assert_eq!(
            echoed,
            Some(Event::Message(Message::Binary(vec![1, 2, 3].into())))
        );
    });
}
