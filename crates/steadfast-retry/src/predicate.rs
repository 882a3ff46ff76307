//! Predicates over errors: which errors to retry, collect, or catch.

use std::fmt;
use std::sync::Arc;

/// A cheap-to-clone test on an error, built from a closure and combined with
/// [`or`](Predicate::or), [`and`](Predicate::and) and `!`.
///
/// Used by [`Retry::retry_if`](crate::Retry::retry_if) (which errors to retry),
/// [`Retry::collect_errors`](crate::Retry::collect_errors) (which errors to hand to the next
/// attempt) and [`Fallback`](crate::Fallback) (which errors move on to a backup).
///
/// ```
/// use steadfast_retry::Predicate;
///
/// let transient = Predicate::new(|e: &std::io::Error| e.kind() == std::io::ErrorKind::TimedOut)
///     .or(Predicate::new(|e: &std::io::Error| e.kind() == std::io::ErrorKind::ConnectionReset));
/// assert!(transient.test(&std::io::ErrorKind::TimedOut.into()));
/// assert!(!transient.test(&std::io::ErrorKind::NotFound.into()));
/// ```
pub struct Predicate<E>(Arc<dyn Fn(&E) -> bool + Send + Sync>);

impl<E> Predicate<E> {
    /// A predicate from a closure.
    pub fn new(f: impl Fn(&E) -> bool + Send + Sync + 'static) -> Self {
        Predicate(Arc::new(f))
    }

    /// Matches every error.
    #[must_use]
    pub fn always() -> Self
    where
        E: 'static,
    {
        Predicate::new(|_| true)
    }

    /// Matches no error.
    #[must_use]
    pub fn never() -> Self
    where
        E: 'static,
    {
        Predicate::new(|_| false)
    }

    /// Matches when `self` or `other` matches.
    #[must_use]
    pub fn or(self, other: impl Into<Predicate<E>>) -> Self
    where
        E: 'static,
    {
        let other = other.into();
        Predicate::new(move |e| self.test(e) || other.test(e))
    }

    /// Matches when both `self` and `other` match.
    #[must_use]
    pub fn and(self, other: impl Into<Predicate<E>>) -> Self
    where
        E: 'static,
    {
        let other = other.into();
        Predicate::new(move |e| self.test(e) && other.test(e))
    }

    /// Tests an error.
    #[must_use]
    pub fn test(&self, error: &E) -> bool {
        (self.0)(error)
    }
}

impl<E: 'static> std::ops::Not for Predicate<E> {
    type Output = Predicate<E>;

    /// Matches when `self` does not.
    fn not(self) -> Predicate<E> {
        Predicate::new(move |e| !self.test(e))
    }
}

impl<E> Clone for Predicate<E> {
    fn clone(&self) -> Self {
        Predicate(Arc::clone(&self.0))
    }
}

impl<E> fmt::Debug for Predicate<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Predicate(..)")
    }
}

impl<E, F> From<F> for Predicate<E>
where
    F: Fn(&E) -> bool + Send + Sync + 'static,
{
    fn from(f: F) -> Self {
        Predicate::new(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn combinators() {
        let even = Predicate::new(|n: &i32| n % 2 == 0);
        let big = Predicate::new(|n: &i32| *n > 10);
        let either = even.clone().or(big.clone());
        let both = even.clone().and(big);
        assert!(either.test(&2) && either.test(&11) && !either.test(&3));
        assert!(both.test(&12) && !both.test(&2) && !both.test(&11));
        assert!((!even.clone()).test(&3));
        assert!(Predicate::<i32>::always().test(&0));
        assert!(!Predicate::<i32>::never().test(&0));
        assert_eq!(format!("{even:?}"), "Predicate(..)");
    }

    #[test]
    fn closures_convert() {
        let p: Predicate<&str> = (|s: &&str| s.is_empty()).into();
        assert!(p.test(&""));
        let q = Predicate::new(|s: &&str| s.len() > 3).or(|s: &&str| s.starts_with('x'));
        assert!(q.test(&"xy") && q.test(&"long") && !q.test(&"ab"));
    }
}
