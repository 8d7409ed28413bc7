//! Polling with a liveness limit that fails with what it last saw.

use std::time::Duration;

use crate::Error;

/// How often conditions are polled: often enough that a 1 s limit is measured to ~5%.
const POLL: Duration = Duration::from_millis(50);

/// One observation of a polled condition.
#[derive(Debug)]
pub enum Check<T> {
    /// The condition holds; here is what the caller wanted.
    Done(T),
    /// Not yet; a description of what was seen, reported if the limit passes.
    NotYet(String),
}

/// Polls `probe` until it is [`Check::Done`] or `timeout` passes; then fails with `desc` and the
/// last observation. Errors from `probe` end the wait at once.
pub async fn wait_until<T>(
    desc: &str,
    timeout: Duration,
    mut probe: impl AsyncFnMut() -> Result<Check<T>, Error>,
) -> Result<T, Error> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let last = match probe().await? {
            Check::Done(value) => return Ok(value),
            Check::NotYet(last) => last,
        };
        if tokio::time::Instant::now() >= deadline {
            return Err(Error::Timeout { desc: desc.to_owned(), timeout, last });
        }
        tokio::time::sleep(POLL).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn returns_the_value_once_the_condition_holds() {
        let mut n = 0;
        let value = wait_until("n reaches 3", Duration::from_secs(5), async || {
            n += 1;
            Ok(if n >= 3 { Check::Done(n) } else { Check::NotYet(format!("n = {n}")) })
        })
        .await
        .unwrap();
        assert_eq!(value, 3);
    }

    #[tokio::test]
    async fn fails_with_the_description_and_last_observation() {
        let error = wait_until("never", Duration::from_millis(120), async || {
            Ok::<_, Error>(Check::<()>::NotYet("still nothing".into()))
        })
        .await
        .unwrap_err();
        let message = error.to_string();
        assert!(message.contains("never") && message.contains("still nothing"), "{message}");
    }
}
