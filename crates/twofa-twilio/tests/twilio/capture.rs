//! A small `tracing` subscriber that keeps every event's level, target and
//! fields, so tests can read what the crate logs.

use std::cell::RefCell;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Once, PoisonError};

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Metadata, Subscriber};

/// One event: its level, target and fields (`message` included), each
/// value as `Debug` prints it (a `%`-field as `Display` does).
#[derive(Debug, Clone)]
pub(crate) struct Captured {
    pub(crate) level: Level,
    pub(crate) target: String,
    pub(crate) fields: Vec<(String, String)>,
}

impl Captured {
    pub(crate) fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }
}

impl fmt::Display for Captured {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.level, self.target)?;
        for (name, value) in &self.fields {
            write!(f, " {name}={value}")?;
        }
        Ok(())
    }
}

struct Fields<'a>(&'a mut Vec<(String, String)>);

impl Visit for Fields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0.push((field.name().to_owned(), format!("{value:?}")));
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.push((field.name().to_owned(), value.to_owned()));
    }
}

thread_local! {
    /// Where events of this thread go while a [`Capture`] is alive.
    static SINK: RefCell<Option<Arc<Mutex<Vec<Captured>>>>> = const { RefCell::new(None) };
}

/// The process-wide subscriber: it is interested in every event, and keeps
/// those of a thread that has a [`Capture`] running. One global subscriber
/// rather than one per test: a subscriber set per thread races with other
/// threads registering the same call sites, and could miss events.
struct Router {
    next_span: AtomicU64,
}

impl Subscriber for Router {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }

    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(
            self.next_span
                .fetch_add(1, Ordering::Relaxed)
                .saturating_add(1),
        )
    }

    fn record(&self, _: &Id, _: &Record<'_>) {}

    fn record_follows_from(&self, _: &Id, _: &Id) {}

    fn event(&self, event: &Event<'_>) {
        SINK.with(|sink| {
            let Some(events) = sink.borrow().clone() else {
                return;
            };
            let mut fields = Vec::new();
            event.record(&mut Fields(&mut fields));
            events
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(Captured {
                    level: *event.metadata().level(),
                    target: event.metadata().target().to_owned(),
                    fields,
                });
        });
    }

    fn enter(&self, _: &Id) {}

    fn exit(&self, _: &Id) {}
}

/// Keeps the events of the current thread (a `#[tokio::test]` runs its
/// requests and the stand-in on it) until dropped.
#[derive(Debug)]
pub(crate) struct Capture {
    events: Arc<Mutex<Vec<Captured>>>,
}

/// Installs the process-wide subscriber, once. Every test calls this
/// (through the stand-in and the client helpers) before any event can be
/// emitted, so no call site is ever registered without it.
pub(crate) fn install() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        tracing::subscriber::set_global_default(Router {
            next_span: AtomicU64::new(0),
        })
        .unwrap();
    });
}

impl Capture {
    pub(crate) fn start() -> Self {
        install();
        let events = Arc::new(Mutex::new(Vec::new()));
        SINK.with(|sink| *sink.borrow_mut() = Some(Arc::clone(&events)));
        Self { events }
    }

    pub(crate) fn events(&self) -> Vec<Captured> {
        self.events
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        SINK.with(|sink| *sink.borrow_mut() = None);
    }
}
