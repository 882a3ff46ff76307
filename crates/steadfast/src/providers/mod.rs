//! Provider implementations, one module and one cargo feature each.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::provider::Provider;

#[cfg(feature = "__http")]
pub(crate) mod common;
#[cfg(any(feature = "openai", feature = "cohere"))]
pub(crate) mod tool_calls;

/// The providers by name, as the registry holds them.
pub(crate) type Registry = BTreeMap<String, Arc<dyn Provider>>;

/// Registers the provider speaking `wire` over the shared HTTP transport, under the wire's name.
#[cfg(feature = "__http")]
pub(crate) fn register_wire<W: crate::transport::Wire>(map: &mut Registry, wire: W) {
    map.insert(
        wire.name().to_string(),
        Arc::new(crate::transport::HttpProvider::new(wire)),
    );
}

/// One line per built-in provider: its cargo feature and its module, which has a
/// `register(&mut Registry)` function. Adding a provider is its folder, this line and the feature.
macro_rules! builtin_providers {
    ($($feature:literal => $module:ident),* $(,)?) => {
        $(
            #[cfg(feature = $feature)]
            pub mod $module;
        )*

        /// Registers every built-in provider of the enabled features.
        #[allow(unused_variables, reason = "nothing to register without a provider feature")]
        pub(crate) fn register_builtin(map: &mut Registry) {
            $(
                #[cfg(feature = $feature)]
                $module::register(map);
            )*
        }
    };
}

builtin_providers! {
    "anthropic" => anthropic,
    "azure-inference" => azure_inference,
    "bedrock" => bedrock,
    "cohere" => cohere,
    "gemini" => gemini,
    "mistral" => mistral,
    "openai" => openai,
}

#[cfg(all(test, feature = "openai", feature = "anthropic"))]
mod fixture_tests;
