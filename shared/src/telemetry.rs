//! Structured JSON logs on stdout (CloudWatch reads them as-is).
//!
//! One flat JSON object per line: `timestamp`, `level`, `message`, then the fields of
//! every span the event happened in (outermost first), then the event's own fields; a
//! later field replaces an earlier one of the same name. `http::context::track` runs
//! each request inside a span holding its `requestId` and `traceId`, so every line
//! logged while a request is served carries them, without each call site repeating
//! them. Flat, because
//! CloudWatch Logs Insights and metric filters address top-level fields
//! (`$.event_type`), and tracing-subscriber's own JSON nests spans under `span`.
//!
//! lambda_runtime's invocation span names the X-Ray trace id `xrayTraceId`; it is
//! written as `traceId`, the one name our lines use for it.

use std::{fmt, io};

use serde_json::Value;
use tracing::{
    Event, Subscriber,
    field::{Field, Visit},
};
use tracing_subscriber::{
    EnvFilter,
    fmt::{
        FmtContext, FormatEvent, FormattedFields, MakeWriter,
        format::{JsonFields, Writer},
    },
    registry::LookupSpan,
};

/// Installs the JSON subscriber once per process; `RUST_LOG` filters (default `info`).
pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    // A second call (tests, or a binary that initialises twice) keeps the first subscriber.
    let _ = tracing::subscriber::set_global_default(subscriber(filter, io::stdout));
}

/// The subscriber `init` installs, writing to `writer` (tests capture the lines).
pub(crate) fn subscriber<W>(filter: EnvFilter, writer: W) -> impl Subscriber + Send + Sync
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    tracing_subscriber::fmt()
        // Span fields are kept as JSON text, which `FlatJson` merges into each line.
        .fmt_fields(JsonFields::new())
        .event_format(FlatJson)
        .with_env_filter(filter)
        .with_writer(writer)
        .finish()
}

struct FlatJson;

impl<S> FormatEvent<S, JsonFields> for FlatJson
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, JsonFields>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let mut own = Fields::default();
        event.record(&mut own);

        let mut line = Fields::default();
        let now = time::OffsetDateTime::now_utc();
        if let Ok(timestamp) = now.format(&time::format_description::well_known::Rfc3339) {
            line.set("timestamp", Value::from(timestamp));
        }
        line.set("level", Value::from(event.metadata().level().as_str()));
        if let Some(message) = own.get("message") {
            line.set("message", message.clone());
        }
        if let Some(scope) = ctx.event_scope() {
            for span in scope.from_root() {
                let extensions = span.extensions();
                let Some(fields) = extensions.get::<FormattedFields<JsonFields>>() else {
                    continue;
                };
                // A span without fields is formatted as "", not as an object.
                if let Ok(Value::Object(fields)) = serde_json::from_str(fields) {
                    for (name, value) in fields {
                        let name = if name == "xrayTraceId" {
                            "traceId"
                        } else {
                            &name
                        };
                        line.set(name, value);
                    }
                }
            }
        }
        for (name, value) in own.0 {
            line.set(&name, value);
        }
        line.write(&mut writer)
    }
}

/// Fields in first-seen order (readable lines: timestamp and level lead), a later
/// value replacing an earlier one in place.
#[derive(Default)]
struct Fields(Vec<(String, Value)>);

impl Fields {
    fn set(&mut self, name: &str, value: Value) {
        match self.0.iter_mut().find(|(existing, _)| existing == name) {
            Some((_, slot)) => *slot = value,
            None => self.0.push((name.to_owned(), value)),
        }
    }

    fn get(&self, name: &str) -> Option<&Value> {
        self.0
            .iter()
            .find(|(existing, _)| existing == name)
            .map(|(_, value)| value)
    }

    fn write(&self, writer: &mut Writer<'_>) -> fmt::Result {
        writer.write_char('{')?;
        for (index, (name, value)) in self.0.iter().enumerate() {
            if index > 0 {
                writer.write_char(',')?;
            }
            // `Value`'s Display is compact JSON with proper escaping.
            write!(writer, "{}:{value}", Value::from(name.as_str()))?;
        }
        writer.write_str("}\n")
    }
}

impl Visit for Fields {
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.set(field.name(), Value::from(value));
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.set(field.name(), Value::from(value));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.set(field.name(), Value::from(value));
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.set(field.name(), Value::from(value));
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.set(field.name(), Value::from(value));
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.set(field.name(), Value::from(value.to_string()));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.set(field.name(), Value::from(format!("{value:?}")));
    }
}

/// Log lines written to memory, for tests of what is logged.
#[cfg(test)]
#[derive(Clone, Default)]
pub(crate) struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

#[cfg(test)]
impl Captured {
    /// Every line so far, parsed (a line that is not JSON becomes `Value::Null`).
    pub(crate) fn lines(&self) -> Vec<Value> {
        let bytes = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        String::from_utf8_lossy(&bytes)
            .lines()
            .map(|line| serde_json::from_str(line).unwrap_or(Value::Null))
            .collect()
    }
}

#[cfg(test)]
impl io::Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        let mut buffer = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        buffer.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
impl<'w> MakeWriter<'w> for Captured {
    type Writer = Self;

    fn make_writer(&'w self) -> Self {
        self.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn capture(log: impl FnOnce()) -> Vec<Value> {
        let captured = Captured::default();
        let subscriber = subscriber(EnvFilter::new("info"), captured.clone());
        tracing::subscriber::with_default(subscriber, log);
        captured.lines()
    }

    #[test]
    fn lines_are_flat_with_the_span_fields_beside_the_event_fields() {
        let lines = capture(|| {
            let outer = tracing::info_span!("invoke", requestId = "lambda-id", xrayTraceId = "x");
            let _outer = outer.enter();
            let inner = tracing::error_span!("request", requestId = "api-id");
            let _inner = inner.enter();
            tracing::warn!(status = 503_u16, latencyMs = 1.5, ok = false, "slow");
        });
        let [line] = lines.as_slice() else {
            panic!("one line expected: {lines:?}");
        };
        assert_eq!(line["level"], "WARN");
        assert_eq!(line["message"], "slow");
        // The innermost span wins; the outer span's other fields stay.
        assert_eq!(line["requestId"], "api-id");
        assert_eq!(line["traceId"], "x");
        assert!(line.get("xrayTraceId").is_none());
        assert_eq!(line["status"], 503);
        assert_eq!(line["latencyMs"], 1.5);
        assert_eq!(line["ok"], false);
        assert!(line.get("span").is_none() && line.get("spans").is_none());
        let keys: Vec<&str> = line
            .as_object()
            .map(|o| o.keys().map(String::as_str).collect())
            .unwrap_or_default();
        assert!(keys.contains(&"timestamp"), "{keys:?}");
    }

    #[test]
    fn a_line_starts_with_timestamp_level_and_message() {
        let captured = Captured::default();
        let subscriber = subscriber(EnvFilter::new("info"), captured.clone());
        tracing::subscriber::with_default(subscriber, || tracing::info!(a = 1, "hello"));
        let bytes = captured
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let text = String::from_utf8_lossy(&bytes);
        assert!(text.starts_with("{\"timestamp\":\""), "{text}");
        assert!(
            text.contains("\"level\":\"INFO\",\"message\":\"hello\",\"a\":1}"),
            "{text}"
        );
    }

    #[test]
    fn events_outside_any_span_and_below_the_filter() {
        let lines = capture(|| {
            tracing::debug!("hidden");
            tracing::info!(text = "quote \" and newline \n", "shown");
        });
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert_eq!(lines[0]["text"], "quote \" and newline \n");
        assert!(lines[0].get("requestId").is_none());
    }
}
