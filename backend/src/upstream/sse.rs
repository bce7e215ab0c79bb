//! fal's log stream wire format (REFERENCE §5.2): one SSE event per log line with the line's
//! JSON as `data`; an event named `error` is fatal; comments and empty `data` are keep-alives.

use super::models::LogEntry;
use super::UpstreamError;
use bytes::Bytes;
use eventsource_stream::Eventsource;
use futures::stream::BoxStream;
use futures::{Stream, StreamExt};
use std::time::Duration;

/// A log stream with no bytes for this long is dead. fal does not say how often it sends
/// keep-alives (§0.1), so this is well above a minute: a quiet app's tail stays open.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(150);

/// Turns a response body into log entries. The stream ends with `Err` when fal reports an
/// error, the connection drops, or nothing (not even a keep-alive) arrives for `idle`.
pub fn log_events<S, E>(
    body: S,
    idle: Duration,
) -> BoxStream<'static, Result<LogEntry, UpstreamError>>
where
    S: Stream<Item = Result<Bytes, E>> + Send + 'static,
    E: std::fmt::Display + Send + 'static,
{
    let events = body.eventsource();
    futures::stream::unfold(
        (Box::pin(events), false),
        move |(mut events, done)| async move {
            if done {
                return None;
            }
            loop {
                let event = match tokio::time::timeout(idle, events.next()).await {
                    Err(_) => return Some((Err(UpstreamError::Timeout), (events, true))),
                    Ok(None) => {
                        let err = UpstreamError::Transport("the log stream ended".into());
                        return Some((Err(err), (events, true)));
                    }
                    Ok(Some(Err(e))) => {
                        let err = UpstreamError::Transport(format!("the log stream broke: {e}"));
                        return Some((Err(err), (events, true)));
                    }
                    Ok(Some(Ok(event))) => event,
                };
                if event.event == "error" {
                    let err = UpstreamError::Status {
                        status: 200,
                        kind: "stream_error".into(),
                        message: event.data,
                    };
                    return Some((Err(err), (events, true)));
                }
                if event.data.trim().is_empty() {
                    continue;
                }
                // fal does not document the event format (§5.2): one event that does not
                // decode is skipped and counted, not a reason to drop and reopen the stream.
                let de = &mut serde_json::Deserializer::from_str(&event.data);
                match serde_path_to_error::deserialize::<_, LogEntry>(de) {
                    Ok(entry) => return Some((Ok(entry), (events, false))),
                    Err(e) => {
                        tracing::warn!(path = %e.path(), error = %e.inner(), "skipped a log stream event that did not decode");
                        super::DECODE_ERRORS.add("logs_stream");
                    }
                }
            }
        },
    )
    .boxed()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(text: &'static str) -> impl Stream<Item = Result<Bytes, std::io::Error>> {
        futures::stream::iter(
            text.as_bytes()
                .chunks(7)
                .map(|c| Ok(Bytes::copy_from_slice(c)))
                .collect::<Vec<_>>(),
        )
    }

    #[tokio::test]
    async fn parses_lines_skips_keepalives_and_reports_the_end() {
        let text = ": keep-alive\n\ndata: {\"timestamp\":\"2024-11-09T10:30:45.123Z\",\"level\":\"info\",\"message\":\"hi\",\"app\":\"a\",\"revision\":\"r\"}\n\ndata:\n\n";
        let items: Vec<_> = log_events(body(text), Duration::from_secs(5))
            .collect()
            .await;
        assert_eq!(items.len(), 2);
        assert_eq!(items[0].as_ref().unwrap().message, "hi");
        assert!(matches!(items[1], Err(UpstreamError::Transport(_))));
    }

    #[tokio::test]
    async fn a_malformed_event_is_skipped_and_counted_not_fatal() {
        use crate::upstream::DecodeErrors;
        assert_eq!(DecodeErrors::counted_here("logs_stream"), 0);
        let text = "data: {\"not\":\"a line\"}\n\ndata: {\"timestamp\":\"2024-11-09T10:30:45.123Z\",\"level\":\"brand-new-level\",\"message\":\"hi\",\"app\":\"a\",\"revision\":\"r\",\"new_field\":1}\n\n";
        let items: Vec<_> = log_events(body(text), Duration::from_secs(5))
            .collect()
            .await;
        assert_eq!(items[0].as_ref().unwrap().message, "hi", "{items:?}");
        assert_eq!(
            DecodeErrors::counted_here("logs_stream"),
            1,
            "the event that did not decode, by this test"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_stream_quiet_for_over_a_minute_is_still_open() {
        let line = |m: &str| {
            let json = format!("data: {{\"timestamp\":\"2024-11-09T10:30:45.123Z\",\"level\":\"info\",\"message\":\"{m}\",\"app\":\"a\",\"revision\":\"r\"}}\n\n");
            Ok::<_, std::io::Error>(Bytes::from(json))
        };
        let later = futures::stream::once(async move {
            tokio::time::sleep(Duration::from_secs(119)).await;
            line("after two minutes")
        });
        let body = futures::stream::iter([line("first")]).chain(later);
        let items: Vec<_> = log_events(body, IDLE_TIMEOUT).take(2).collect().await;
        assert_eq!(
            items[1].as_ref().unwrap().message,
            "after two minutes",
            "{items:?}"
        );
    }

    #[tokio::test]
    async fn an_error_event_is_fatal() {
        let items: Vec<_> = log_events(
            body("event: error\ndata: stream failed: boom\n\n"),
            Duration::from_secs(5),
        )
        .collect()
        .await;
        assert_eq!(items.len(), 1);
        assert!(
            matches!(&items[0], Err(UpstreamError::Status { message, .. }) if message.contains("boom"))
        );
    }
}
