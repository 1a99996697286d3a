//! Identifiers are validated, and every public type is `Send + Sync`.

use super::*;

#[test]
fn identifiers_are_validated() {
    // User ids follow the one rule of `twofa-types`: inner spaces are fine.
    assert!(UserId::new("").is_err());
    assert!(UserId::new("a b").is_ok());
    assert!(UserId::new(" a").is_err());
    assert!(UserId::new("a\tb").is_err());
    assert!(UserId::new("x".repeat(129)).is_err());
    assert!(UserId::new("x".repeat(128)).is_ok());
    assert!(TransactionId::new("tx\n1").is_err());
}

#[test]
fn public_types_are_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<OobChallenge>();
    check::<PreparedSend>();
    check::<PushRequest>();
    check::<Outbox>();
    check::<ServerKey>();
    check::<MessageTemplates>();
    check::<NoticeTemplates>();
    check::<NoticeMessage>();
    check::<Box<dyn NoticeSender>>();
    check::<InMemoryCarrierLookup>();
    check::<Box<dyn SmsSender>>();
    check::<Box<dyn CarrierLookup>>();
}
