//! The typed slot for a provider's own settings: what does not belong in the generic
//! [`ClientConfig`](super::ClientConfig) (Bedrock's region and SigV4 credentials, say) lives in
//! the provider's folder as a type implementing [`ProviderSettings`], kept in the client settings
//! by type.

use std::any::Any;
use std::fmt;

/// Settings a provider keeps beyond the generic client settings, stored in a
/// [`ClientConfig`](super::ClientConfig) by type ([`ClientConfig::provider_settings`](super::ClientConfig::provider_settings)).
///
/// The two methods let the generic layers treat them right without knowing them: what places a
/// request (part of a target's identity, for breakers and for the fallback's skip of an identical
/// backup) and which values are secrets (scrubbed from every error). `Debug` must not print a
/// secret.
///
/// ```
/// use steadfast::client::{ClientConfig, ProviderSettings};
///
/// #[derive(Debug, Clone, PartialEq, Default)]
/// struct Acme { datacenter: Option<String> }
///
/// impl ProviderSettings for Acme {
///     fn placement(&self) -> Option<&str> { self.datacenter.as_deref() }
/// }
///
/// let client = ClientConfig::default().with_provider_settings(Acme { datacenter: Some("fra".into()) });
/// assert_eq!(client.provider_settings::<Acme>().and_then(|a| a.datacenter.as_deref()), Some("fra"));
/// ```
pub trait ProviderSettings: fmt::Debug + Clone + PartialEq + Send + Sync + 'static {
    /// Where these settings send a request beyond the base URL (Bedrock: the region), if anywhere.
    fn placement(&self) -> Option<&str> {
        None
    }

    /// Calls `f` with every secret these settings hold.
    fn for_each_secret(&self, f: &mut dyn FnMut(&str)) {
        let _ = f;
    }
}

/// The object-safe face of [`ProviderSettings`], implemented for every such type.
trait Slot: Send + Sync {
    fn as_any(&self) -> &dyn Any;
    fn as_any_mut(&mut self) -> &mut dyn Any;
    fn clone_slot(&self) -> Box<dyn Slot>;
    fn eq_slot(&self, other: &dyn Slot) -> bool;
    fn debug(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result;
    fn placement(&self) -> Option<&str>;
    #[cfg_attr(
        not(feature = "__http"),
        allow(dead_code, reason = "only the HTTP transport scrubs errors")
    )]
    fn for_each_secret(&self, f: &mut dyn FnMut(&str));
}

impl<T: ProviderSettings> Slot for T {
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
    fn clone_slot(&self) -> Box<dyn Slot> {
        Box::new(self.clone())
    }
    fn eq_slot(&self, other: &dyn Slot) -> bool {
        other.as_any().downcast_ref::<T>() == Some(self)
    }
    fn debug(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
    fn placement(&self) -> Option<&str> {
        ProviderSettings::placement(self)
    }
    fn for_each_secret(&self, f: &mut dyn FnMut(&str)) {
        ProviderSettings::for_each_secret(self, f);
    }
}

/// The provider settings of one client configuration, at most one value per type.
#[derive(Default)]
pub(crate) struct SettingsSlot(Vec<Box<dyn Slot>>);

impl SettingsSlot {
    pub(crate) fn get<T: ProviderSettings>(&self) -> Option<&T> {
        self.0.iter().find_map(|s| s.as_any().downcast_ref::<T>())
    }

    /// Changes the `T` held (a default one when there is none) with `f`.
    pub(crate) fn update<T: ProviderSettings + Default>(&mut self, f: impl FnOnce(&mut T)) {
        for slot in &mut self.0 {
            if let Some(t) = slot.as_any_mut().downcast_mut::<T>() {
                f(t);
                return;
            }
        }
        let mut t = T::default();
        f(&mut t);
        self.0.push(Box::new(t));
    }

    pub(crate) fn set<T: ProviderSettings>(&mut self, value: T) {
        self.0.retain(|s| !s.as_any().is::<T>());
        self.0.push(Box::new(value));
    }

    /// Every placement, joined: the settings' part of a target's identity.
    pub(crate) fn placement(&self) -> String {
        let mut out = String::new();
        for p in self.0.iter().filter_map(|s| s.placement()) {
            if !out.is_empty() {
                out.push(',');
            }
            out.push_str(p);
        }
        out
    }

    #[cfg_attr(
        not(feature = "__http"),
        allow(dead_code, reason = "only the HTTP transport scrubs errors")
    )]
    pub(crate) fn for_each_secret(&self, f: &mut dyn FnMut(&str)) {
        for s in &self.0 {
            s.for_each_secret(f);
        }
    }
}

impl Clone for SettingsSlot {
    fn clone(&self) -> Self {
        SettingsSlot(self.0.iter().map(|s| s.clone_slot()).collect())
    }
}

impl PartialEq for SettingsSlot {
    fn eq(&self, other: &Self) -> bool {
        self.0.len() == other.0.len()
            && self
                .0
                .iter()
                .all(|s| other.0.iter().any(|o| s.eq_slot(o.as_ref())))
    }
}

impl fmt::Debug for SettingsSlot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        struct One<'a>(&'a dyn Slot);
        impl fmt::Debug for One<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.debug(f)
            }
        }
        f.debug_list()
            .entries(self.0.iter().map(|s| One(s.as_ref())))
            .finish()
    }
}
