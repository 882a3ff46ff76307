//! What a call takes: a [`Prompt`], written in any of four styles.
//!
//! 1. **A plain string** — one user message: `call.send("What is 2 + 2?")`.
//! 2. **Message builders** — `[Message::system("Be terse."), Message::user("2 + 2?")]`.
//! 3. **A string template** — [`Template`] with `SYSTEM:` / `USER:` / `ASSISTANT:` sections and
//!    `{name}`, `{name:list}`, `{name:lists}` variables, rendered with [`Vars`].
//! 4. **A raw message list** — `vec![Message::new(Role::User, vec![Part::text("2 + 2?")])]`.
//!
//! All four convert into [`Prompt`] with `Into`, so every call method accepts them directly.

mod template;

pub use template::{Template, Value, Vars};

use crate::error::Error;
use crate::message::{Message, Role};

/// The messages a call sends. Build it from any of the four prompt styles (see the module docs).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Prompt {
    messages: Vec<Message>,
}

impl Prompt {
    /// A prompt of the given messages.
    pub fn new(messages: Vec<Message>) -> Self {
        Prompt { messages }
    }

    /// The messages, in order.
    pub fn messages(&self) -> &[Message] {
        &self.messages
    }

    /// Consumes the prompt, returning its messages.
    pub fn into_messages(self) -> Vec<Message> {
        self.messages
    }

    /// Appends a message (used by conversational error reinsertion and tool loops).
    pub fn push(&mut self, message: Message) {
        self.messages.push(message);
    }

    /// Checks that the prompt can be sent: at least one non-system message.
    ///
    /// # Errors
    /// [`ErrorKind::Config`](crate::ErrorKind::Config) when the prompt is empty or holds only
    /// system messages.
    pub fn validate(&self) -> Result<(), Error> {
        validate_messages(&self.messages)
    }
}

/// [`Prompt::validate`] on a message slice (no copy).
pub(crate) fn validate_messages(messages: &[Message]) -> Result<(), Error> {
    if !messages.iter().any(|m| m.role != Role::System) {
        return Err(Error::config(
            "the prompt has no user or assistant message to send",
        ));
    }
    Ok(())
}

impl From<&str> for Prompt {
    fn from(s: &str) -> Self {
        Prompt::new(vec![Message::user(s)])
    }
}

impl From<String> for Prompt {
    fn from(s: String) -> Self {
        Prompt::new(vec![Message::user(s)])
    }
}

impl From<&String> for Prompt {
    fn from(s: &String) -> Self {
        Prompt::new(vec![Message::user(s.as_str())])
    }
}

impl From<Message> for Prompt {
    fn from(m: Message) -> Self {
        Prompt::new(vec![m])
    }
}

impl From<Vec<Message>> for Prompt {
    fn from(messages: Vec<Message>) -> Self {
        Prompt::new(messages)
    }
}

impl From<&[Message]> for Prompt {
    fn from(messages: &[Message]) -> Self {
        Prompt::new(messages.to_vec())
    }
}

impl<const N: usize> From<[Message; N]> for Prompt {
    fn from(messages: [Message; N]) -> Self {
        Prompt::new(messages.into())
    }
}

impl From<&Prompt> for Prompt {
    fn from(p: &Prompt) -> Self {
        p.clone()
    }
}

/// Renders collected errors for a prompt: one `Previous Error: <message>` line per error, oldest
/// first, or an empty list when there are none — so `{errors:list}` in a template disappears on the
/// first attempt.
///
/// For validation errors the message is the validator's text; for others it is the error's
/// `Display`.
pub fn render_errors(errors: &[Error]) -> Vec<String> {
    errors
        .iter()
        .map(|e| match e.validation_failure() {
            Some(v) => format!("Previous Error: {}", v.message),
            None => format!("Previous Error: {e}"),
        })
        .collect()
}
