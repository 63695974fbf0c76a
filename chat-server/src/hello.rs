//! The tutorial's demo server (`/hello`): it greets whoever says their name.

/// What the client says to introduce itself.
const INTRODUCTION: &str = "My name is ";

/// The greeting for an introduction ("My name is NAME"), or `None` for any other text.
pub fn greeting(text: &str) -> Option<String> {
    text.strip_prefix(INTRODUCTION)
        .map(|name| format!("Hello from server, {name}!"))
}
