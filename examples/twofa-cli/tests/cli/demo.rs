//! `twofa demo`: the scripted walkthrough on the in-memory stores and on
//! PostgreSQL, and the interactive enrollment.

use crate::{twofa, twofa_stdin};

#[test]
fn demo_plays_every_portal_feature_and_exits_zero() {
    let run = twofa(&["demo"]);
    assert_eq!(run.status, 0, "{}{}", run.stdout, run.stderr);
    for screen in [
        "You must set up two-factor authentication.",
        "[ Remind me in 48 hours ]",
        "otpauth://totp/Partner%20Portal:Bob%20Baker?secret=",
        "▄",
        "2FA is active. Save these recovery codes",
        "That code is not correct.",
        "We sent a code to +44 ••• ••• 3456.",
        "Call: Hello. This is Partner Portal.",
        "This looks like a landline",
        "We cannot tell whether this number is a mobile",
        "47 h 59 min 59 s later",
        "Two-factor authentication is required for all users.",
        "no prompt until",
        "21 days later",
        "recovery code accepted",
        "2FA status",
        "Your company no longer allows this method: after this check, set up another one.",
        "Use another method: [ a text message to +44 ••• ••• 4321 ]",
        "checks passed: the portal behaved as it should.",
    ] {
        assert!(
            run.stdout.contains(screen),
            "missing {screen:?} in:\n{}",
            run.stdout
        );
    }
    assert!(!run.stdout.contains('✘'), "{}", run.stdout);
}

/// The throwaway PostgreSQL server of the store's tests (or `DATABASE_URL`).
#[path = "../../../../crates/twofa-store-postgres/tests/support/cluster.rs"]
#[allow(dead_code, reason = "the demo test uses only part of the harness")]
mod cluster;

#[tokio::test]
async fn demo_plays_every_portal_feature_on_postgresql_and_exits_zero() {
    let url = cluster::Cluster::shared()
        .unwrap()
        .database("demo")
        .await
        .unwrap();
    let run = twofa(&["demo", "--database-url", &url]);
    assert_eq!(run.status, 0, "{}{}", run.stdout, run.stderr);
    for screen in [
        "Stores: PostgreSQL",
        "2FA is active. Save these recovery codes",
        "21 days later",
        "checks passed: the portal behaved as it should.",
    ] {
        assert!(
            run.stdout.contains(screen),
            "missing {screen:?} in:\n{}",
            run.stdout
        );
    }
    assert!(!run.stdout.contains('✘'), "{}", run.stdout);

    // The demo's accounts exist now: a second run is refused up front.
    let again = twofa(&["demo", "--database-url", &url]);
    assert_eq!(again.status, 1, "{}{}", again.stdout, again.stderr);
    assert!(again.stdout.contains("empty database"), "{}", again.stdout);
}

#[test]
fn demo_on_an_unreachable_database_fails_without_playing() {
    let run = twofa(&[
        "demo",
        "--database-url",
        "postgresql://nobody@127.0.0.1:1/nothing?connect_timeout=2",
    ]);
    assert_eq!(run.status, 1, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout
            .contains("connecting to the database: database unavailable")
    );
    assert!(!run.stdout.contains("Bob logs in"), "{}", run.stdout);
    assert!(!run.stdout.contains("nobody"), "{}", run.stdout);
}

#[test]
fn interactive_demo_shows_the_qr_code_and_refuses_what_the_app_did_not_show() {
    let run = twofa_stdin(&["demo", "--interactive"], "abc\n");
    assert_ne!(run.status, 0);
    assert!(
        run.stdout.contains("otpauth://totp/Partner%20Portal:"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("Not accepted"), "{}", run.stdout);
}
