//! Rule matching: per-rule request counters and seeded probability draws.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::action::Action;
use crate::provider::Dialect;
use crate::quota::Quotas;
use crate::scenario::Scenario;

/// What a request looks like to the rule filters.
#[derive(Debug)]
pub(crate) struct MatchInput<'a> {
    pub(crate) provider: Dialect,
    pub(crate) model: &'a str,
    pub(crate) path: &'a str,
    pub(crate) stream: bool,
}

/// A scenario plus its live counters.
#[derive(Debug)]
pub(crate) struct Engine {
    pub(crate) scenario: Scenario,
    counters: Vec<AtomicU64>,
    default_action: Action,
    pub(crate) quotas: Quotas,
}

impl Engine {
    pub(crate) fn new(scenario: Scenario) -> Self {
        let counters = scenario.rules.iter().map(|_| AtomicU64::new(0)).collect();
        Engine {
            quotas: Quotas::new(scenario.quotas.clone()),
            scenario,
            counters,
            default_action: Action::model(),
        }
    }

    /// Counts the request for every rule whose filters it passes and returns the first rule
    /// whose request numbers and probability also match (or the default model action).
    pub(crate) fn decide(&self, input: &MatchInput<'_>) -> (Option<usize>, &Action) {
        let mut winner = None;
        for (i, rule) in self.scenario.rules.iter().enumerate() {
            if !rule.providers.is_empty() && !rule.providers.contains(&input.provider) {
                continue;
            }
            if !rule.models.is_empty() && !rule.models.iter().any(|m| m == input.model) {
                continue;
            }
            if let Some(prefix) = &rule.path {
                if !input.path.starts_with(prefix.as_str()) {
                    continue;
                }
            }
            if rule.stream.is_some_and(|s| s != input.stream) {
                continue;
            }
            let n = self
                .counters
                .get(i)
                .map_or(1, |c| c.fetch_add(1, Ordering::Relaxed) + 1);
            if winner.is_some() {
                continue;
            }
            if rule.requests.as_ref().is_some_and(|set| !set.contains(n)) {
                continue;
            }
            if let Some(p) = rule.probability {
                if draw(self.scenario.seed, i as u64, n) >= p {
                    continue;
                }
            }
            winner = Some(i);
        }
        match winner.and_then(|i| self.scenario.rules.get(i).map(|r| (i, r))) {
            Some((i, rule)) => (Some(i), &rule.action),
            None => (None, &self.default_action),
        }
    }
}

/// A uniform draw in [0, 1) from (seed, rule, request number) — splitmix64.
pub(crate) fn draw(seed: u64, rule: u64, n: u64) -> f64 {
    let mut z = seed
        .wrapping_add(rule.wrapping_mul(0x9E37_79B9_7F4A_7C15))
        .wrapping_add(n.wrapping_mul(0xBF58_476D_1CE4_E5B9));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::Rule;

    fn input(provider: Dialect, model: &str) -> MatchInput<'_> {
        MatchInput {
            provider,
            model,
            path: "/x",
            stream: false,
        }
    }

    #[test]
    fn requests_count_among_filtered() {
        let s = Scenario::new()
            .rule(
                Rule::new()
                    .provider(Dialect::OpenAi)
                    .requests([2])
                    .action(Action::rate_limit()),
            )
            .rule(Rule::new().model("m2").action(Action::text("hi")));
        let e = Engine::new(s);
        assert_eq!(e.decide(&input(Dialect::Anthropic, "m1")).0, None);
        assert_eq!(e.decide(&input(Dialect::OpenAi, "m1")).0, None);
        assert_eq!(e.decide(&input(Dialect::OpenAi, "m2")).0, Some(0));
        assert_eq!(e.decide(&input(Dialect::OpenAi, "m2")).0, Some(1));
    }

    #[test]
    fn draws_are_uniformish_and_deterministic() {
        let hits = (1..=10_000).filter(|n| draw(7, 0, *n) < 0.3).count();
        assert!((2700..3300).contains(&hits), "{hits}");
        assert_eq!(draw(1, 2, 3), draw(1, 2, 3));
        assert_ne!(draw(1, 2, 3), draw(2, 2, 3));
    }
}
