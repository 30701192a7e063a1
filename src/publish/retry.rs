//! Retrying a request: capped exponential backoff with jitter inside a total budget,
//! or the wait a server asked for (rate limits).

use std::future::Future;
use std::time::Duration;

use super::{PublishError, Retry};

/// How hard to try before giving up for now.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    /// The first backoff; each next one doubles, up to `cap`.
    pub first: Duration,
    pub cap: Duration,
    /// The most time spent waiting between attempts, in all.
    pub budget: Duration,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            first: Duration::from_millis(500),
            cap: Duration::from_secs(60),
            budget: Duration::from_secs(300),
        }
    }
}

/// The outcome of one attempt.
pub enum Attempt<T> {
    Done(T),
    /// A person must act; do not try again.
    Fatal(String),
    /// A passing fault: try again after backoff, or after the wait the server gave.
    Again {
        why: String,
        wait: Option<Duration>,
    },
}

/// Runs `attempt` until it is done, fatal, or the budget is spent.
pub async fn run<T, F, Fut>(
    publisher: &str,
    policy: Policy,
    mut attempt: F,
) -> Result<T, PublishError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Attempt<T>>,
{
    let mut waited = Duration::ZERO;
    let mut backoff = policy.first;
    loop {
        let (why, wait) = match attempt().await {
            Attempt::Done(value) => return Ok(value),
            Attempt::Fatal(message) => {
                return Err(PublishError::new(publisher, Retry::Never, message));
            }
            Attempt::Again { why, wait } => (why, wait),
        };
        // Full jitter: replicas that failed together do not retry together.
        let delay = wait.unwrap_or_else(|| backoff.mul_f64(0.5 + fastrand::f64() / 2.0));
        backoff = backoff.saturating_mul(2).min(policy.cap);
        // A server may ask for any wait (`Retry-After: 18446744073709551615`): it is
        // never trusted beyond the budget, and the sum is checked, not overflowed.
        let total = waited.checked_add(delay).filter(|t| *t <= policy.budget);
        let Some(total) = total else {
            return Err(PublishError::new(
                publisher,
                Retry::Later,
                if waited.is_zero() {
                    why
                } else {
                    format!("{why}; gave up after waiting {}s in all", waited.as_secs())
                },
            ));
        };
        tracing::warn!(
            publisher,
            retry_in_ms = delay.as_millis() as u64,
            "{why}; retrying"
        );
        tokio::time::sleep(delay).await;
        waited = total;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    #[tokio::test(start_paused = true)]
    async fn retries_then_succeeds() {
        let calls = Cell::new(0);
        let result = run("m", Policy::default(), || {
            calls.set(calls.get() + 1);
            let n = calls.get();
            async move {
                if n < 3 {
                    Attempt::Again {
                        why: "HTTP 500".into(),
                        wait: None,
                    }
                } else {
                    Attempt::Done(n)
                }
            }
        })
        .await;
        assert_eq!(result.unwrap(), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn gives_up_when_the_budget_is_spent() {
        let policy = Policy {
            first: Duration::from_secs(1),
            cap: Duration::from_secs(4),
            budget: Duration::from_secs(10),
        };
        let err = run::<(), _, _>("m", policy, || async {
            Attempt::Again {
                why: "HTTP 503".into(),
                wait: None,
            }
        })
        .await
        .unwrap_err();
        assert_eq!(err.retry, Retry::Later);
        assert!(err.to_string().starts_with("m: HTTP 503; gave up"), "{err}");
    }

    #[tokio::test(start_paused = true)]
    async fn fatal_stops_at_once() {
        let calls = Cell::new(0);
        let err = run::<(), _, _>("m", Policy::default(), || {
            calls.set(calls.get() + 1);
            async { Attempt::Fatal("bad token".into()) }
        })
        .await
        .unwrap_err();
        assert_eq!((calls.get(), err.retry), (1, Retry::Never));
    }

    #[tokio::test(start_paused = true)]
    async fn a_server_asking_for_forever_is_not_waited_for_and_does_not_overflow() {
        let start = tokio::time::Instant::now();
        let err = run::<(), _, _>("m", Policy::default(), || async {
            Attempt::Again {
                why: "rate limited".into(),
                wait: Some(Duration::from_secs(u64::MAX)),
            }
        })
        .await
        .unwrap_err();
        assert_eq!(err.retry, Retry::Later);
        assert_eq!(start.elapsed(), Duration::ZERO, "gave up at once");
    }

    #[tokio::test(start_paused = true)]
    async fn waits_as_long_as_the_server_says() {
        let start = tokio::time::Instant::now();
        let calls = Cell::new(0);
        run("m", Policy::default(), || {
            calls.set(calls.get() + 1);
            let n = calls.get();
            async move {
                if n == 1 {
                    Attempt::Again {
                        why: "rate limited".into(),
                        wait: Some(Duration::from_secs(42)),
                    }
                } else {
                    Attempt::Done(())
                }
            }
        })
        .await
        .unwrap();
        assert_eq!(start.elapsed().as_secs(), 42);
    }
}
