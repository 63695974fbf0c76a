//! The wasm32 entry points of the `www/` demo pages: each finds its elements and drives the
//! page from the shared demo code ([`crate::Chat`], [`crate::hello`]).
//! The pages open relative URLs (`/ws`, `/hello`), which the browser resolves against the page
//! (`ws://` for `http://`, `wss://` for `https://`), so they work behind any host and port.

use std::rc::Rc;

use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{Document, Element, HtmlFormElement, HtmlInputElement};

use twinsock::{BrowserWebSocket, ReconnectError};

use crate::{Chat, ChatEnd, ChatEvent};

fn document() -> Result<Document, JsValue> {
    web_sys::window()
        .and_then(|w| w.document())
        .ok_or_else(|| "no document".into())
}

fn element(document: &Document, id: &str) -> Result<Element, JsValue> {
    document
        .get_element_by_id(id)
        .ok_or_else(|| format!("the page has no #{id}").into())
}

/// A new `<div class="CLASS">` with `text` as its text (never parsed as HTML).
fn line(document: &Document, class: &str, text: &str) -> Result<Element, JsValue> {
    let div = document.create_element("div")?;
    div.set_class_name(class);
    div.set_text_content(Some(text));
    Ok(div)
}

/// Starts the chat page (`www/index.html`): the `publish` form sends its `message` input
/// (queued while reconnecting), each received message is prepended to `#messages`, `#status`
/// shows the connection's state (`open`, `reconnecting in 1.3 s (attempt 2)`, ...), and a last
/// line says how the chat ended, if it ever does (the page reconnects by itself after a loss).
#[wasm_bindgen]
pub fn start_chat_page() -> Result<(), JsValue> {
    let document = document()?;
    let status = element(&document, "status")?;
    let messages = element(&document, "messages")?;
    let form: HtmlFormElement = document
        .query_selector("form[name=publish]")?
        .ok_or("the page has no form named publish")?
        .dyn_into()?;
    let input: HtmlInputElement = form
        .query_selector("input[name=message]")?
        .ok_or("the publish form has no message input")?
        .dyn_into()?;
    let chat = Rc::new(Chat::<BrowserWebSocket>::connect("/ws").map_err(page_error)?);
    status.set_text_content(Some(&chat.status().to_string()));

    let sender = chat.clone();
    let field = input.clone();
    let on_submit = Closure::<dyn FnMut(web_sys::Event)>::new(move |event: web_sys::Event| {
        event.prevent_default();
        // A refused line (queue full while reconnecting) stays in the field.
        if sender.send(&field.value()).is_ok() {
            field.set_value("");
        }
    });
    form.set_onsubmit(Some(on_submit.as_ref().unchecked_ref()));

    wasm_bindgen_futures::spawn_local(async move {
        // The submit handler lives as long as the chat.
        let _on_submit = on_submit;
        while let Some(event) = chat.next().await {
            status.set_text_content(Some(&chat.status().to_string()));
            let shown = match event {
                ChatEvent::Connected { .. }
                | ChatEvent::Reconnecting { .. }
                | ChatEvent::Connecting { .. } => continue,
                ChatEvent::Line(text) => line(&document, "message", &text),
                ChatEvent::Ended { end, unsent } => {
                    input.set_disabled(true);
                    let class = if matches!(end, ChatEnd::Closed { .. }) {
                        "closed"
                    } else {
                        "died"
                    };
                    let mut text = format!("— {end}");
                    if !unsent.is_empty() {
                        text.push_str(&format!(" (not sent: {})", unsent.join(" | ")));
                    }
                    line(&document, class, &text)
                }
            };
            if let Ok(shown) = shown {
                let _ = messages.prepend_with_node_1(&shown);
            }
        }
        form.set_onsubmit(None);
    });
    Ok(())
}

/// Why the chat could not start, for the page's caller. Only the socket's own errors can
/// happen (the chat's options are fixed and valid), and only they are formatted: the options'
/// messages would bring float formatting into the page's module.
fn page_error(error: ReconnectError) -> JsValue {
    match error {
        ReconnectError::Socket(error) => error.to_string().into(),
        _ => "the chat's reconnect options are invalid".into(),
    }
}

/// Starts the hello page (`www/hello.html`): the tutorial's first demo against `/hello`, each
/// line appended to `#log` and written to the console.
#[wasm_bindgen]
pub fn start_hello_page() -> Result<(), JsValue> {
    let document = document()?;
    let log = element(&document, "log")?;
    wasm_bindgen_futures::spawn_local(async move {
        let show = |text: &str| {
            web_sys::console::log_1(&text.into());
            if let Ok(shown) = line(&document, "line", text) {
                let _ = log.append_with_node_1(&shown);
            }
        };
        if let Err(e) = crate::hello::hello::<BrowserWebSocket>("/hello", show).await {
            web_sys::console::error_1(&e.to_string().into());
        }
    });
    Ok(())
}
