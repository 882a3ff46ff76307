//! Messages in the GenAI conventions' JSON schema (`gen_ai.input.messages`,
//! `gen_ai.output.messages`), for content capture (opt-in).

use serde_json::{Value, json};

use crate::message::{Message, Part, Role};
use crate::response::Response;

fn role(r: Role) -> &'static str {
    match r {
        Role::System => "system",
        Role::User => "user",
        Role::Assistant => "assistant",
    }
}

/// One part as the schema has it: `text`, `tool_call`, `tool_call_response`, `reasoning`, or a
/// generic part named by its type. Signatures and encrypted reasoning are left out: they are
/// opaque blobs, not content.
fn part(p: &Part) -> Value {
    match p {
        Part::Text { text } => json!({"type": "text", "content": text}),
        Part::Image { .. } => json!({"type": "image"}),
        Part::ToolCall(c) => {
            let arguments = serde_json::from_str::<Value>(&c.arguments)
                .unwrap_or_else(|_| Value::String(c.arguments.clone()));
            json!({"type": "tool_call", "id": c.id, "name": c.name, "arguments": arguments})
        }
        Part::ToolResult(r) => {
            json!({"type": "tool_call_response", "id": r.call_id, "response": r.content})
        }
        Part::Reasoning(r) => json!({"type": "reasoning", "content": r.text}),
        Part::Other(o) => json!({"type": o.kind}),
    }
}

/// The messages sent, in order.
pub(super) fn input_messages(messages: &[Message]) -> String {
    let list: Vec<Value> = messages
        .iter()
        .map(|m| json!({"role": role(m.role), "parts": m.parts.iter().map(part).collect::<Vec<_>>()}))
        .collect();
    Value::Array(list).to_string()
}

/// The answer, as one output message with its finish reason.
pub(super) fn output_messages(response: &Response) -> String {
    let message = response.to_message();
    let parts: Vec<Value> = message.parts.iter().map(part).collect();
    json!([{
        "role": "assistant",
        "parts": parts,
        "finish_reason": response.finish_reason().as_str(),
    }])
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::ToolCall;

    #[test]
    fn messages_in_the_schema_shape() {
        let call = ToolCall::new("c1", "get_weather", r#"{"city":"Paris"}"#);
        let msgs = vec![
            Message::system("Be brief."),
            Message::user("Weather in Paris?"),
            Message::new(Role::Assistant, vec![Part::ToolCall(call.clone())]),
            Message::tool_result(&call, "rainy", false),
        ];
        let v: Value = serde_json::from_str(&input_messages(&msgs)).unwrap();
        assert_eq!(
            v[0],
            json!({"role": "system", "parts": [{"type": "text", "content": "Be brief."}]})
        );
        assert_eq!(
            v[2]["parts"][0],
            json!({"type": "tool_call", "id": "c1", "name": "get_weather", "arguments": {"city": "Paris"}})
        );
        assert_eq!(
            v[3]["parts"][0],
            json!({"type": "tool_call_response", "id": "c1", "response": "rainy"})
        );
    }
}
