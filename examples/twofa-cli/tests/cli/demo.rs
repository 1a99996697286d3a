//! `twofa demo`: the scripted walkthrough on the in-memory stores and on
//! PostgreSQL, and the interactive enrollment.

use crate::{twofa, twofa_stdin};

/// The scenes in the order they play: name, the words of its heading, and
/// lines that show the article's feature in that scene.
const SCENES: [(&str, &str, &[&str]); 18] = [
    (
        "set-up-prompt",
        "the portal asks him to set up 2FA",
        &[
            "You must set up two-factor authentication.",
            "( ) Third-party authenticator app",
            "( ) Authy (push notification or token)",
            "( ) SMS / Voice",
            "( ) Passkey",
            "[ Remind me in 48 hours ]",
        ],
    ),
    (
        "qr-code",
        "scans the QR code",
        &["otpauth://totp/Partner%20Portal:Bob%20Baker?secret=", "▄"],
    ),
    (
        "activate-app",
        "2FA is active",
        &[
            "two-factor check passed: Authenticator app",
            "2FA is active. Save these recovery codes",
        ],
    ),
    (
        "replayed-code",
        "replays the code",
        &[
            "That code is not correct.",
            "check your device for a new code",
        ],
    ),
    (
        "push",
        "Hana sets up Authy",
        &[
            "Hana chooses Authy and scans the QR code",
            "two-factor check passed: Authy",
            "We sent a login request to your Authy app.",
            "Type the number on the login page:",
            "[ Deny ]",
            "the request was denied",
            "Hana's phone shows nothing.",
            "Authy still shows a token",
        ],
    ),
    (
        "sms-and-call",
        "Carol sets up SMS",
        &[
            "We sent a code to +44 ••• ••• 3456.",
            "SMS: Partner Portal verification code:",
            "Call: Hello. This is Partner Portal.",
            "two-factor check passed: SMS",
        ],
    ),
    (
        "not-a-mobile",
        "get the dialog",
        &[
            "Dave Dunn enters +44 121 234 5678 and chooses SMS",
            "This looks like a landline",
            "Erin Roy enters +1 506 234 5678 and chooses SMS",
            "We cannot tell whether this number is a mobile",
            "[ Use an app instead ]   [ Call me with the code instead ]",
        ],
    ),
    (
        "remind-me-later",
        "Remind me in 48 hours",
        &[
            "2FA set-up postponed until",
            "47 h 59 min 59 s later",
            "48 h later",
        ],
    ),
    (
        "email-resend",
        "she clicks Email",
        &[
            "Didn't get it?  [SMS] · [Phone call] · [Email]",
            "✉ Email to c•••@acme.example: Hello,",
            "We sent a code to c•••@acme.example.",
        ],
    ),
    (
        "change-details",
        "changes the name and the phone number",
        &[
            "Name used for 2FA:   Carol Chen-Park",
            "Confirm it is you",
            "📱 SMS to +44 ••• ••• 6810: Partner Portal verification code:",
            "📱 SMS to +44 ••• ••• 3456: Partner Portal: a new number is being set up",
            "✉ Email to c•••@acme.example: Partner Portal: your two-factor phone number is being changed",
            "📱 SMS to +44 ••• ••• 3456: Partner Portal: your two-factor phone number was changed",
            "Phone number:        +44 ••• ••• 6810",
        ],
    ),
    (
        "enforce",
        "requires 2FA for everyone",
        &[
            "Two-factor authentication is required for all users.",
            "(This cannot be turned off.)",
        ],
    ),
    (
        "trusted-network",
        "trusted network",
        &[
            "198.51.100.0/24   Head office   added by Alice Admin",
            "no prompt until",
            "21 days later",
        ],
    ),
    (
        "client-account",
        "an end-user client",
        &[
            "Grace chooses the authenticator app and scans the QR code",
            "An hour later, from the same trusted office network:",
        ],
    ),
    (
        "recovery-code",
        "recovery code",
        &["recovery code accepted", "unused codes left: 9"],
    ),
    (
        "status-report",
        "enrollment status",
        &[
            "2FA status",
            "Not enrolled",
            "Pending verification",
            "Do not apply (client account)",
            "Total 9",
        ],
    ),
    (
        "method-switched-off",
        "switches off authenticator apps",
        &["Your company no longer allows this method: after this check, set up another one."],
    ),
    (
        "another-method",
        "Bob picks SMS instead of the app",
        &["Use another method: [ SMS to +44 ••• ••• 4321 ]"],
    ),
    (
        "passkey",
        "Iris logs in with a passkey",
        &[
            "( ) Passkey (fingerprint, face or screen lock)",
            "navigator.credentials.create for relying party example.com",
            "two-factor check passed: Passkey",
            "2FA is active. Save these recovery codes",
            "Confirm it is you with your passkey.",
            "navigator.credentials.get for relying party example.com",
            "Your passkey was not accepted: try again, or use another method.",
            "https://login.example.co passes the portal's request to Iris's browser, which refuses",
            "https://old.example.com is under example.com, so the laptop signs",
        ],
    ),
];

/// The output cut at the scene headings: the text before the first, then
/// each scene's number, heading and text.
fn scenes(stdout: &str) -> (String, Vec<(usize, String, String)>) {
    let mut intro = String::new();
    let mut found: Vec<(usize, String, String)> = Vec::new();
    for line in stdout.lines() {
        if let Some(rest) = line.strip_prefix("━━ ") {
            let (number, title) = rest.split_once(". ").unwrap();
            let title = title.split(" ━━").next().unwrap();
            found.push((number.parse().unwrap(), title.to_owned(), String::new()));
        } else if let Some((_, _, text)) = found.last_mut() {
            text.push_str(line);
            text.push('\n');
        } else {
            intro.push_str(line);
            intro.push('\n');
        }
    }
    (intro, found)
}

/// The `N` of "all N checks passed" at the end of the output.
fn checks_reported(stdout: &str) -> usize {
    let (_, after) = stdout.rsplit_once("ll ").unwrap();
    after.split(' ').next().unwrap().parse().unwrap()
}

fn ticks(text: &str) -> usize {
    text.lines().filter(|line| line.starts_with("  ✔ ")).count()
}

#[test]
fn demo_shows_every_feature_of_the_article_scene_by_scene() {
    let run = twofa(&["demo"]);
    assert_eq!(run.status, 0, "{}{}", run.stdout, run.stderr);
    assert!(!run.stdout.contains('✘'), "{}", run.stdout);
    let (_, played) = scenes(&run.stdout);
    assert_eq!(played.len(), SCENES.len(), "{}", run.stdout);
    for (index, ((number, title, text), (name, heading, lines))) in
        played.iter().zip(SCENES).enumerate()
    {
        assert_eq!(*number, index + 1, "{name}");
        assert!(title.contains(heading), "scene {name}: heading {title:?}");
        assert!(ticks(text) > 0, "scene {name} checked nothing:\n{text}");
        for line in lines {
            assert!(
                text.contains(line),
                "scene {name} does not show {line:?}:\n{text}"
            );
        }
    }
    // The count at the end is the number of checks shown.
    assert!(
        run.stdout.contains(&format!(
            "All 18 scenes played. All {} checks passed: the portal behaved as it should.",
            ticks(&run.stdout)
        )),
        "{}",
        run.stdout
    );
    assert_eq!(checks_reported(&run.stdout), ticks(&run.stdout));
}

#[test]
fn demo_push_scene_asks_for_the_login_page_number_and_shows_the_login_origin() {
    let run = twofa(&["demo", "--scene", "push"]);
    assert_eq!(run.status, 0, "{}{}", run.stdout, run.stderr);
    // Each prompt on the phone asks for the number the login page showed
    // just before it, without showing it, and says where the login
    // comes from.
    let mut shown: Option<String> = None;
    let mut matched = 0;
    for line in run.stdout.lines() {
        if let Some(rest) = line.split("To approve it, type ").nth(1) {
            shown = Some(rest.split(' ').next().unwrap().to_owned());
        } else if line.contains("Type the number on the login page:") {
            let number = shown.take().expect("a prompt without a number on the page");
            assert_eq!(number.len(), 2, "{number}");
            let prompt = line.split(" Type the number").next().unwrap();
            assert!(!prompt.contains(&number), "{line}");
            assert!(
                line.contains(" from 203.0.113.") || line.contains(" from 192.0.2."),
                "{line}"
            );
            assert!(line.contains("[ Deny ]"), "{line}");
            matched += 1;
        }
    }
    // The approved push and the denied one reach the phone; the third
    // does not (the phone is offline).
    assert_eq!(matched, 2, "{}", run.stdout);
    assert_eq!(
        run.stdout
            .matches("Type the number on the login page:")
            .count(),
        2,
        "{}",
        run.stdout
    );
}

#[test]
fn demo_passkey_scene_lets_in_only_the_portal_origin() {
    let run = twofa(&["demo", "--scene", "passkey"]);
    assert_eq!(run.status, 0, "{}{}", run.stdout, run.stderr);
    let (_, played) = scenes(&run.stdout);
    assert_eq!(played.len(), 1, "{}", run.stdout);
    let text = &played[0].2;
    // Iris passes with her passkey three times: at set-up, at her next
    // login and on the portal's own origin after the look-alikes.
    assert_eq!(
        text.matches("two-factor check passed: Passkey").count(),
        3,
        "{text}"
    );
    // Nobody passes while the answer is replayed and the look-alike pages
    // try: the used login says to start over, the other two answers are
    // refused as passkey answers.
    let replay = text.find("Someone who copied the answer").unwrap();
    let real = text
        .find("Iris opens https://login.example.com herself")
        .unwrap();
    let attacks = &text[replay..real];
    assert!(!attacks.contains("two-factor check passed"), "{attacks}");
    assert_eq!(
        attacks.matches("Please log in again.").count(),
        1,
        "{attacks}"
    );
    assert_eq!(
        attacks
            .matches("Your passkey was not accepted: try again, or use another method.")
            .count(),
        2,
        "{attacks}"
    );
    // The look-alike domain gets no signature to post; the forgotten
    // subdomain gets one, which the portal refuses.
    let look_alike = attacks.find("which refuses: login.example.co").unwrap();
    let forgotten = attacks
        .find("the laptop signs; the attacker posts")
        .unwrap();
    assert!(look_alike < forgotten, "{attacks}");
    assert_eq!(ticks(text), 8, "{text}");
}

#[test]
fn demo_introduces_everyone_in_the_status_report_before_it() {
    let run = twofa(&["demo"]);
    assert_eq!(run.status, 0, "{}{}", run.stdout, run.stderr);
    let report = run
        .stdout
        .find("━━ 15. Alice reads the employees' enrollment status")
        .unwrap();
    let (before, after) = run.stdout.split_at(report);
    let names: Vec<&str> = after
        .lines()
        .skip_while(|line| !line.contains("│ Name "))
        .skip(1)
        .take_while(|line| !line.trim_matches([' ', '│']).is_empty())
        .map(|line| {
            let cells = line.trim_start_matches("  │ ");
            cells.split("  ").next().unwrap().trim()
        })
        .collect();
    assert_eq!(names.len(), 9, "{after}");
    for name in names {
        assert!(
            before.contains(name),
            "{name} appears in the report but not before it"
        );
    }
}

#[test]
fn demo_prints_no_internal_identifiers() {
    let run = twofa(&["demo"]);
    assert_eq!(run.status, 0, "{}{}", run.stdout, run.stderr);
    for word in run
        .stdout
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
    {
        assert!(
            !(word.contains('_') && word.chars().any(|c| c.is_ascii_lowercase())),
            "{word:?} printed"
        );
    }
    for identifier in [
        "AuthenticatorApp",
        "PushApp",
        "IncorrectCode",
        "NotEnrolled",
    ] {
        assert!(!run.stdout.contains(identifier), "{identifier} printed");
    }
}

#[test]
fn demo_list_names_the_scenes_in_the_order_they_play() {
    let run = twofa(&["demo", "--list"]);
    assert_eq!(run.status, 0, "{}", run.stderr);
    let listed: Vec<(String, String)> = run
        .stdout
        .lines()
        .map(|line| {
            let (_, rest) = line.split_once(". ").unwrap();
            let (name, title) = rest.split_once(' ').unwrap();
            (name.to_owned(), title.trim().to_owned())
        })
        .collect();
    let names: Vec<&str> = listed.iter().map(|(name, _)| name.as_str()).collect();
    let expected: Vec<&str> = SCENES.iter().map(|(name, _, _)| *name).collect();
    assert_eq!(names, expected);
    // The titles are the headings the walkthrough plays under.
    let (_, played) = scenes(&twofa(&["demo"]).stdout);
    let headings: Vec<&str> = played.iter().map(|(_, title, _)| title.as_str()).collect();
    let titles: Vec<&str> = listed.iter().map(|(_, title)| title.as_str()).collect();
    assert_eq!(titles, headings);
    assert!(
        run.stdout
            .lines()
            .next()
            .unwrap()
            .starts_with(" 1. set-up-prompt ")
    );
}

#[test]
fn readme_lists_the_scenes_the_demo_plays() {
    let readme = include_str!("../../README.md");
    let rows: Vec<&str> = readme
        .lines()
        .skip_while(|line| *line != "### `twofa demo`")
        .take_while(|line| !line.starts_with("## "))
        .filter_map(|line| {
            let rest = line.strip_prefix("| ")?;
            let (number, rest) = rest.split_once(" | `")?;
            number.parse::<usize>().ok()?;
            rest.split_once('`').map(|(name, _)| name)
        })
        .collect();
    let expected: Vec<&str> = SCENES.iter().map(|(name, _, _)| *name).collect();
    assert_eq!(rows, expected);
}

#[test]
fn demo_scene_plays_one_scene_after_the_ones_before_it_ran_silently() {
    for (argument, number, name) in [
        ("change-details", 10, "change-details"),
        ("15", 15, "status-report"),
        ("set-up-prompt", 1, "set-up-prompt"),
    ] {
        let run = twofa(&["demo", "--scene", argument]);
        assert_eq!(run.status, 0, "{}{}", run.stdout, run.stderr);
        let (_, played) = scenes(&run.stdout);
        assert_eq!(played.len(), 1, "{}", run.stdout);
        assert_eq!(played[0].0, number);
        let (_, heading, lines) = SCENES[number - 1];
        assert!(played[0].1.contains(heading));
        for line in lines {
            assert!(
                run.stdout.contains(line),
                "{line:?} missing:\n{}",
                run.stdout
            );
        }
        assert!(
            run.stdout.contains(&format!(
                "Scene {number} ({name}): all {} checks passed",
                ticks(&run.stdout)
            )),
            "{}",
            run.stdout
        );
        if number > 1 {
            assert!(
                run.stdout.contains(&format!(
                    "(The {} scenes before it ran silently:",
                    number - 1
                )),
                "{}",
                run.stdout
            );
        }
    }
}

#[test]
fn demo_scene_refuses_a_name_that_is_no_scene() {
    for name in ["webauthn", "0", "19", ""] {
        let run = twofa(&["demo", "--scene", name]);
        assert_eq!(run.status, 2, "{name}: {}", run.stdout);
        assert_eq!(run.stdout, "");
        assert_eq!(
            run.stderr,
            "error: --scene: no such scene (see twofa demo --list)\n"
        );
    }
    let both = twofa(&["demo", "--scene", "push", "--interactive"]);
    assert_eq!(both.status, 2, "{}", both.stdout);
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
fn interactive_demo_plays_the_scenes_one_at_a_time_and_jumps_ahead() {
    let run = twofa_stdin(&["demo", "--interactive"], "\n\n6\nfoo\n3\nq\n");
    assert_eq!(run.status, 0, "{}{}", run.stdout, run.stderr);
    let (intro, played) = scenes(&run.stdout);
    assert!(intro.contains(" 1. set-up-prompt "), "{intro}");
    let numbers: Vec<usize> = played.iter().map(|(number, _, _)| *number).collect();
    assert_eq!(numbers, [1, 2, 6], "{}", run.stdout);
    assert!(
        run.stdout.contains("(3 scenes ran silently: "),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("No scene has that name or number"));
    assert!(
        run.stdout
            .contains("Scene 3 has played: scenes play once, in order.")
    );
    assert!(
        run.stdout.contains("6 of 18 scenes played; "),
        "{}",
        run.stdout
    );
}

#[test]
fn interactive_demo_enrolls_an_app_and_refuses_what_the_app_did_not_show() {
    let run = twofa_stdin(&["demo", "--interactive"], "app\nabc\n");
    assert_ne!(run.status, 0);
    assert!(
        run.stdout
            .contains("otpauth://totp/Partner%20Portal:demo%20user?"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("✘ Not accepted: That code is not correct. Please try again."),
        "{}",
        run.stdout
    );
}
