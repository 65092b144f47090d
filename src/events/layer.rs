//! A tracing layer that turns tracing events into [`Event`]s: the fields `phase`, `node`,
//! `step`, `status`, `duration_ms` (and `command`) come from the event or, when it lacks them,
//! from the spans it runs in, so an ordinary `tracing::info!` inside a node's step is
//! attributed to that node and step.

use std::fmt::Write as _;
use std::sync::Arc;

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id};
use tracing::{Event as TracingEvent, Subscriber};
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::registry::LookupSpan;

use super::model::{Event, Status, level_str};

/// Where converted events go.
pub type Handler = Arc<dyn Fn(Event) + Send + Sync>;

pub struct EventLayer {
    handler: Handler,
}

impl EventLayer {
    pub fn new(handler: Handler) -> EventLayer {
        EventLayer { handler }
    }
}

/// The fields this layer knows, as found on an event or a span.
#[derive(Debug, Default, Clone)]
struct Fields {
    command: Option<String>,
    phase: Option<String>,
    node: Option<String>,
    step: Option<String>,
    status: Option<String>,
    duration_ms: Option<u64>,
    nodes: Option<u64>,
    message: String,
    /// Other fields, as ` key=value` (the way the text log shows them).
    rest: String,
}

impl Fields {
    /// Fill what is still missing from an enclosing span's fields.
    fn inherit(&mut self, outer: &Fields) {
        for (mine, theirs) in [
            (&mut self.command, &outer.command),
            (&mut self.phase, &outer.phase),
            (&mut self.node, &outer.node),
            (&mut self.step, &outer.step),
        ] {
            if mine.is_none() {
                mine.clone_from(theirs);
            }
        }
    }
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.set(field, value.to_string());
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        if field.name() == "duration_ms" {
            self.duration_ms = Some(value);
        } else if field.name() == "nodes" {
            self.nodes = Some(value);
        } else {
            self.set(field, value.to_string());
        }
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        if field.name() == "duration_ms" {
            self.duration_ms = u64::try_from(value).ok();
        } else {
            self.set(field, value.to_string());
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.set(field, format!("{value:?}"));
    }
}

impl Fields {
    fn set(&mut self, field: &Field, value: String) {
        match field.name() {
            "message" => self.message = value,
            "command" => self.command = Some(value),
            "phase" => self.phase = Some(value),
            "node" => self.node = Some(value),
            "step" => self.step = Some(value),
            "status" => self.status = Some(value),
            "duration_ms" => self.duration_ms = value.parse().ok(),
            name => {
                let _ = write!(self.rest, " {name}={value}");
            }
        }
    }
}

impl<S> Layer<S> for EventLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let mut fields = Fields::default();
        attrs.record(&mut fields);
        if let Some(span) = ctx.span(id) {
            span.extensions_mut().insert(fields);
        }
    }

    fn on_event(&self, event: &TracingEvent<'_>, ctx: Context<'_, S>) {
        let mut fields = Fields::default();
        event.record(&mut fields);
        if let Some(scope) = ctx.event_scope(event) {
            for span in scope {
                if let Some(outer) = span.extensions().get::<Fields>() {
                    fields.inherit(outer);
                }
            }
        }
        let mut out = Event::now(level_str(event.metadata().level()), fields.message);
        out.message.push_str(&fields.rest);
        out.command = fields.command;
        out.phase = fields.phase;
        out.node = fields.node;
        out.step = fields.step;
        out.status = fields.status.as_deref().map_or(Status::Info, Status::parse);
        out.duration_ms = fields.duration_ms;
        out.nodes = fields.nodes;
        (self.handler)(out);
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::sync::Mutex;
    use tracing_subscriber::prelude::*;

    /// Run `f` under a subscriber with only this layer; return what it produced.
    pub(crate) fn capture(f: impl FnOnce()) -> Vec<Event> {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = seen.clone();
        let layer = EventLayer::new(Arc::new(move |e| sink.lock().unwrap().push(e)));
        let subscriber = tracing_subscriber::registry().with(layer);
        tracing::subscriber::with_default(subscriber, f);
        seen.lock().unwrap().clone()
    }

    #[test]
    fn fields_come_from_the_event_and_its_spans() {
        let events = capture(|| {
            let phase = tracing::info_span!("phase", phase = "etcd", command = "up");
            let _p = phase.enter();
            let step = tracing::info_span!("step", node = "node1", step = "etcd plane");
            let _s = step.enter();
            tracing::info!(addon = "dns", "created etcd");
            tracing::info!(status = "done", duration_ms = 42u64, "finished");
        });
        assert_eq!(events.len(), 2);
        let first = &events[0];
        assert_eq!(first.message, "created etcd addon=dns");
        assert_eq!(first.phase.as_deref(), Some("etcd"));
        assert_eq!(first.command.as_deref(), Some("up"));
        assert_eq!(first.node.as_deref(), Some("node1"));
        assert_eq!(first.step.as_deref(), Some("etcd plane"));
        assert_eq!(first.status, Status::Info);
        assert_eq!(events[1].status, Status::Done);
        assert_eq!(events[1].duration_ms, Some(42));
    }

    #[test]
    fn an_event_field_beats_the_span_field() {
        let events = capture(|| {
            let _s = tracing::info_span!("step", node = "outer").entered();
            tracing::warn!(node = "inner", "x");
        });
        assert_eq!(events[0].node.as_deref(), Some("inner"));
        assert_eq!(events[0].level, "warn");
    }
}
