//! The tool-call tracker of the protocols that stream a call as fragments keyed by an index and
//! never say when one ends (OpenAI and its family, Mistral), or say it per call (Cohere): it
//! emits each call's start once, its argument fragments, and its end — every call still open when
//! the answer finishes is ended, in index order.

use std::collections::VecDeque;

use crate::provider::ProviderEvent;

/// The calls of one streamed answer that have started and not ended.
#[derive(Debug, Default)]
pub(crate) struct ToolCalls {
    open: Vec<usize>,
    /// Indices of entries that are not function calls (another `type`, or nothing to call):
    /// their later fragments are skipped too.
    #[cfg_attr(
        not(any(feature = "openai", feature = "mistral", feature = "azure-inference")),
        allow(dead_code, reason = "only the OpenAI family and Mistral skip entries")
    )]
    skipped: Vec<usize>,
}

impl ToolCalls {
    /// Whether a fragment of entry `index` is to be skipped: an entry whose `type` is not
    /// `function`, or whose first fragment carries neither an id nor a function, is not a function
    /// call (a kind of tool call this version does not know) and is never assembled as one, nor
    /// are its later fragments.
    #[cfg_attr(
        not(any(feature = "openai", feature = "mistral", feature = "azure-inference")),
        allow(dead_code, reason = "only the OpenAI family and Mistral skip entries")
    )]
    pub(crate) fn skips(&mut self, index: usize, kind: Option<&str>, callable: bool) -> bool {
        if self.skipped.contains(&index) {
            return true;
        }
        let foreign = kind.is_some_and(|k| k != "function");
        if !self.open.contains(&index) && (foreign || !callable) {
            self.skipped.push(index);
            return true;
        }
        foreign
    }

    /// A fragment of call `index`: its start the first time the index is seen (the id defaults to
    /// `call_{index}`, the name to empty), then its argument fragment when there is one.
    pub(crate) fn fragment(
        &mut self,
        index: usize,
        id: Option<String>,
        name: Option<String>,
        arguments: Option<String>,
        out: &mut VecDeque<ProviderEvent>,
    ) {
        if !self.open.contains(&index) {
            self.open.push(index);
            out.push_back(ProviderEvent::ToolCallStart {
                index,
                id: id.unwrap_or_else(|| format!("call_{index}")),
                name: name.unwrap_or_default(),
            });
        }
        Self::arguments(index, arguments, out);
    }

    /// An argument fragment of call `index`, when it is not empty.
    pub(crate) fn arguments(
        index: usize,
        arguments: Option<String>,
        out: &mut VecDeque<ProviderEvent>,
    ) {
        if let Some(arguments) = arguments.filter(|a| !a.is_empty()) {
            out.push_back(ProviderEvent::ToolCallDelta { index, arguments });
        }
    }

    /// Ends call `index` if it is open.
    #[cfg_attr(
        not(feature = "cohere"),
        allow(dead_code, reason = "only Cohere ends one call at a time")
    )]
    pub(crate) fn end(&mut self, index: usize, out: &mut VecDeque<ProviderEvent>) {
        if let Some(pos) = self.open.iter().position(|&i| i == index) {
            self.open.remove(pos);
            out.push_back(ProviderEvent::ToolCallEnd { index });
        }
    }

    /// Ends every open call, in index order.
    pub(crate) fn end_all(&mut self, out: &mut VecDeque<ProviderEvent>) {
        self.open.sort_unstable();
        for index in self.open.drain(..) {
            out.push_back(ProviderEvent::ToolCallEnd { index });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn starts_once_and_ends_in_index_order() {
        let mut calls = ToolCalls::default();
        let mut out = VecDeque::new();
        calls.fragment(
            1,
            Some("b".into()),
            Some("f".into()),
            Some("{".into()),
            &mut out,
        );
        calls.fragment(0, None, Some("g".into()), None, &mut out);
        calls.fragment(1, None, None, Some("}".into()), &mut out);
        calls.fragment(1, None, None, Some(String::new()), &mut out);
        calls.end_all(&mut out);
        calls.end_all(&mut out);
        let expected = [
            ProviderEvent::ToolCallStart {
                index: 1,
                id: "b".into(),
                name: "f".into(),
            },
            ProviderEvent::ToolCallDelta {
                index: 1,
                arguments: "{".into(),
            },
            ProviderEvent::ToolCallStart {
                index: 0,
                id: "call_0".into(),
                name: "g".into(),
            },
            ProviderEvent::ToolCallDelta {
                index: 1,
                arguments: "}".into(),
            },
            ProviderEvent::ToolCallEnd { index: 0 },
            ProviderEvent::ToolCallEnd { index: 1 },
        ];
        assert_eq!(out, expected);
    }

    #[test]
    fn entries_that_are_not_function_calls_are_skipped_with_their_fragments() {
        let mut calls = ToolCalls::default();
        assert!(calls.skips(0, Some("x_future_tool"), true));
        assert!(calls.skips(0, None, true), "later fragments of it too");
        assert!(calls.skips(1, None, false), "nothing to call");
        assert!(!calls.skips(2, Some("function"), true));
        assert!(!calls.skips(3, None, true));
        let mut out = VecDeque::new();
        calls.fragment(2, None, Some("f".into()), None, &mut out);
        assert!(!calls.skips(2, None, false), "a started call goes on");
        assert!(
            calls.skips(2, Some("other"), true),
            "an odd fragment of it is dropped"
        );
    }

    #[test]
    fn ending_one_call_leaves_the_others_open() {
        let mut calls = ToolCalls::default();
        let mut out = VecDeque::new();
        calls.fragment(0, None, None, None, &mut out);
        calls.fragment(1, None, None, None, &mut out);
        calls.end(0, &mut out);
        calls.end(0, &mut out);
        calls.end_all(&mut out);
        let ends: Vec<_> = out
            .iter()
            .filter_map(|e| match e {
                ProviderEvent::ToolCallEnd { index } => Some(*index),
                _ => None,
            })
            .collect();
        assert_eq!(ends, [0, 1]);
    }
}
