//! The shared vocabulary at the facade's edge: one id rule, one parse of
//! the typed code for every method, and the deferral deadline the screen
//! showed.

use chrono::TimeDelta;
use twofa::types::AccountKind;
use twofa::{AllowedBy, LoginStep, RetryAdvice};

use crate::{Now, Portal, challenge, home, into_allowed, set_up, start, totp_code};

#[tokio::test]
async fn a_user_id_with_an_inner_space_is_provisioned_and_logs_in() {
    let portal = Portal::new().await;
    let john = portal
        .add_user("john smith", AccountKind::PartnerEmployee)
        .await;
    let (uri, _) = portal.enroll_app(&john).await;
    portal.advance(TimeDelta::minutes(1));
    let screen = challenge(portal.twofa.begin_login(&john, &home()).await.unwrap());
    let code = totp_code(&uri, portal.clock.now());
    into_allowed(
        portal
            .twofa
            .submit_code(&john, &screen.ticket, &code)
            .await
            .unwrap(),
    );
}

#[tokio::test]
async fn an_app_code_typed_in_groups_is_read_as_sms_codes_are() {
    let portal = Portal::new().await;
    let bob = portal.add_user("bob", AccountKind::PartnerEmployee).await;
    let (uri, _) = portal.enroll_app(&bob).await;
    for (minutes, shape) in [(1, " "), (2, "-")] {
        portal.advance(TimeDelta::minutes(minutes));
        let screen = challenge(portal.twofa.begin_login(&bob, &home()).await.unwrap());
        let code = totp_code(&uri, portal.clock.now());
        let grouped = format!("{}{shape}{}", &code[..3], &code[3..]);
        into_allowed(
            portal
                .twofa
                .submit_code(&bob, &screen.ticket, &grouped)
                .await
                .unwrap(),
        );
    }
    // Text that is no code at all is refused before anything is read.
    portal.advance(TimeDelta::minutes(1));
    let screen = challenge(portal.twofa.begin_login(&bob, &home()).await.unwrap());
    let refused = portal
        .twofa
        .submit_code(&bob, &screen.ticket, "12 34 56 78 90 12")
        .await
        .unwrap_err();
    assert_eq!(refused.advice(), RetryAdvice::IncorrectCode);
    assert_eq!(crate::consecutive_failures(&portal, &bob).await, 0);
}

#[tokio::test]
async fn a_late_click_defers_to_the_deadline_the_screen_showed() {
    let portal = Portal::new().await;
    let bob = portal.add_user("bob", AccountKind::PartnerEmployee).await;
    let screen = set_up(portal.twofa.begin_login(&bob, &home()).await.unwrap());
    let shown = screen.remind_me_until.expect("remind me later is offered");
    assert_eq!(shown, start() + TimeDelta::hours(48));
    // The user reads the screen for 20 minutes before clicking.
    portal.advance(TimeDelta::minutes(20));
    let allowed = portal.twofa.defer(&bob, &screen.ticket).await.unwrap();
    assert_eq!(allowed.by, AllowedBy::Deferred { until: shown });
    // A repeated click neither moves the deadline nor defers again.
    portal.advance(TimeDelta::seconds(1));
    assert!(portal.twofa.defer(&bob, &screen.ticket).await.is_err());
    portal.clock.set(shown - TimeDelta::seconds(1));
    let step = portal.twofa.begin_login(&bob, &home()).await.unwrap();
    assert!(
        matches!(step, LoginStep::Allowed(ref a) if a.by == AllowedBy::DeferralRunning { until: shown }),
        "{step:?}"
    );
    portal.clock.set(shown);
    set_up(portal.twofa.begin_login(&bob, &home()).await.unwrap());
}
