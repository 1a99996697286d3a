//! The simulated device side: the outbox (what would have been texted,
//! called or emailed), a phone that answers push prompts, and the demo
//! clock. It stands in for providers and phones that the example does not
//! connect to; it has its own session (for its CSRF token) and never sees
//! the portal's login session.

use axum::extract::rejection::FormRejection;
use axum::extract::{Form, State};
use axum::http::HeaderMap;
use axum::response::Response;
use chrono::TimeDelta;
use serde::Deserialize;
use twofa::delivery::{ChallengeId, MatchNumber, PushResponse};
use twofa::types::UserId;

use crate::Portal;
use crate::outbox::Entry;
use crate::views::{Chrome, ClockPage, OutboxPage, OutboxRow, PhonePage, PushRow};
use crate::web::{Current, Jar, not_found_page, refused, render, unavailable};

macro_rules! device_session {
    ($portal:expr, $headers:expr) => {
        match Current::load(&$portal, &$headers, Jar::Device).await {
            Ok(current) => current,
            Err(response) => return response,
        }
    };
}

fn chrome(current: &mut Current, title: &'static str) -> Chrome {
    Chrome {
        title,
        csrf: current.session.csrf.expose().to_owned(),
        who: None,
        admin: false,
        notice: current.session.flash.take(),
    }
}

/// The messages of the simulated outbox, oldest first (every server's,
/// with a database).
async fn entries(portal: &Portal) -> Option<Vec<Entry>> {
    portal.inner().demo_senders.as_ref()?.entries().await
}

/// `GET /device/outbox`: every message the portal would have sent.
pub(crate) async fn outbox(State(portal): State<Portal>, headers: HeaderMap) -> Response {
    let mut current = device_session!(portal, headers);
    let Some(entries) = entries(&portal).await else {
        return current.respond(unavailable());
    };
    let messages = entries
        .into_iter()
        .rev()
        .map(|entry| match entry {
            Entry::Message {
                channel,
                to,
                subject,
                body,
            } => OutboxRow {
                channel,
                to,
                subject,
                body,
            },
            Entry::Push {
                user,
                request,
                issuer,
                ..
            } => OutboxRow {
                channel: "push".to_owned(),
                to: user,
                subject: String::new(),
                body: format!("{issuer} asks to approve a login (request {request})."),
            },
        })
        .collect();
    let page = chrome(&mut current, "Outbox");
    current.save(&portal).await;
    current.respond(render(&OutboxPage {
        page,
        messages,
        clock: portal.demo_clock().is_some(),
    }))
}

/// `GET /device/phone`: the push prompts still open.
pub(crate) async fn phone(State(portal): State<Portal>, headers: HeaderMap) -> Response {
    let mut current = device_session!(portal, headers);
    let now = portal.twofa().now();
    let Some(entries) = entries(&portal).await else {
        return current.respond(unavailable());
    };
    let prompts = entries
        .into_iter()
        .rev()
        .filter_map(|entry| match entry {
            Entry::Push {
                user,
                request,
                issuer,
                from,
                at,
                expires_at,
            } if expires_at > now => Some(PushRow {
                user,
                request,
                issuer,
                from,
                at: at.format("%H:%M:%S UTC").to_string(),
                expires: expires_at.format("%H:%M:%S UTC").to_string(),
            }),
            _ => None,
        })
        .collect();
    let page = chrome(&mut current, "Phone");
    current.save(&portal).await;
    current.respond(render(&PhonePage {
        page,
        prompts,
        clock: portal.demo_clock().is_some(),
    }))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct AnswerForm {
    csrf: String,
    user: String,
    request: String,
    answer: String,
    number: String,
}

/// `POST /device/phone`: approve with a number, or deny.
pub(crate) async fn answer_push(
    State(portal): State<Portal>,
    headers: HeaderMap,
    form: Result<Form<AnswerForm>, FormRejection>,
) -> Response {
    let mut current = device_session!(portal, headers);
    let form = match form {
        Ok(Form(form)) if current.csrf_ok(&form.csrf) => form,
        _ => return current.respond(refused()),
    };
    let (Ok(user), Ok(request)) = (
        UserId::new(form.user.as_str()),
        form.request.parse::<ChallengeId>(),
    ) else {
        return current.respond(refused());
    };
    let response = if form.answer == "deny" {
        Some(PushResponse::Deny)
    } else {
        MatchNumber::parse(&form.number)
            .ok()
            .map(|number| PushResponse::Approve { number })
    };
    let Some(response) = response else {
        return current.respond(refused());
    };
    let approving = matches!(response, PushResponse::Approve { .. });
    current.session.flash = Some(
        match portal
            .twofa()
            .respond_to_push(&user, request, response)
            .await
        {
            Ok(()) if approving => "Answer sent: approved.".to_owned(),
            Ok(()) => "Answer sent: denied.".to_owned(),
            Err(_) => "This request can no longer be answered.".to_owned(),
        },
    );
    current.save(&portal).await;
    current.redirect("/device/phone")
}

/// `GET /device/clock` (only with the demo clock).
pub(crate) async fn clock(State(portal): State<Portal>, headers: HeaderMap) -> Response {
    if portal.demo_clock().is_none() {
        return not_found_page();
    }
    let mut current = device_session!(portal, headers);
    let page = chrome(&mut current, "Demo clock");
    current.save(&portal).await;
    current.respond(render(&ClockPage {
        page,
        now: portal
            .twofa()
            .now()
            .format("%Y-%m-%d %H:%M:%S UTC")
            .to_string(),
        clock: true,
    }))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct ClockForm {
    csrf: String,
    hours: String,
}

/// Longest single move of the demo clock: a year.
const MAX_HOURS: i64 = 24 * 366;

/// `POST /device/clock`: move the demo clock forward.
pub(crate) async fn move_clock(
    State(portal): State<Portal>,
    headers: HeaderMap,
    form: Result<Form<ClockForm>, FormRejection>,
) -> Response {
    let Some(clock) = portal.demo_clock() else {
        return not_found_page();
    };
    let mut current = device_session!(portal, headers);
    let form = match form {
        Ok(Form(form)) if current.csrf_ok(&form.csrf) => form,
        _ => return current.respond(refused()),
    };
    let hours = form
        .hours
        .trim()
        .parse::<i64>()
        .ok()
        .filter(|h| (1..=MAX_HOURS).contains(h));
    current.session.flash = Some(match hours.and_then(TimeDelta::try_hours) {
        Some(delta) => {
            let now = clock.advance(delta);
            format!(
                "The clock moved to {}.",
                now.format("%Y-%m-%d %H:%M:%S UTC")
            )
        }
        None => format!("Enter a whole number of hours from 1 to {MAX_HOURS}."),
    });
    current.save(&portal).await;
    current.redirect("/device/clock")
}
