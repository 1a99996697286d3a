//! Delivery receipts: an "undelivered" report marks its own challenge until
//! the next re-send, and nothing else changes a record.

use super::*;

fn other_id() -> ChallengeId {
    "ab".repeat(16).parse().unwrap()
}

#[test]
fn an_undelivered_receipt_marks_its_own_challenge_only() {
    let policy = ChallengePolicy::default();
    let (challenge, code) = issued(&policy, 150);
    assert!(!challenge.undelivered());

    let elsewhere = DeliveryReceipt::new(other_id(), DeliveryStatus::Undelivered);
    assert_ne!(other_id(), challenge.id());
    assert_eq!(challenge.with_receipt(&elsewhere), challenge);

    for status in [DeliveryStatus::InProgress, DeliveryStatus::Delivered] {
        let receipt = DeliveryReceipt::new(challenge.id(), status);
        assert_eq!(challenge.with_receipt(&receipt), challenge, "{status:?}");
    }

    let receipt = DeliveryReceipt::new(challenge.id(), DeliveryStatus::Undelivered);
    let marked = challenge.with_receipt(&receipt);
    assert!(marked.undelivered());
    assert!(!challenge.undelivered(), "the method is pure");
    // A later progress report does not undo a final "undelivered".
    let later = marked.with_receipt(&DeliveryReceipt::new(
        challenge.id(),
        DeliveryStatus::InProgress,
    ));
    assert!(later.undelivered());
    // The flag is advice: the code still verifies.
    assert!(marked.check(&code, &policy, &key(), t0()).is_ok());
}

#[test]
fn a_resend_clears_the_undelivered_mark() {
    let policy = ChallengePolicy::default();
    let (challenge, _) = issued(&policy, 151);
    let marked = challenge.with_receipt(&DeliveryReceipt::new(
        challenge.id(),
        DeliveryStatus::Undelivered,
    ));
    assert!(marked.undelivered());
    let resent = marked
        .resend(
            CodeChannel::VoiceCall,
            &policy,
            &templates(),
            &key(),
            t0() + TimeDelta::minutes(1),
            &mut rng(152),
        )
        .unwrap()
        .commit();
    assert!(!resent.undelivered());
    assert_eq!(resent.sends(), 2);
}

#[cfg(feature = "serde")]
#[test]
fn records_saved_before_receipts_existed_still_load() {
    let policy = ChallengePolicy::default();
    let (challenge, code) = issued(&policy, 153);
    let marked = challenge.with_receipt(&DeliveryReceipt::new(
        challenge.id(),
        DeliveryStatus::Undelivered,
    ));
    let json = serde_json::to_value(&marked).unwrap();
    assert_eq!(json["undelivered"], serde_json::Value::Bool(true));
    let back: OobChallenge = serde_json::from_value(json.clone()).unwrap();
    assert_eq!(back, marked);

    let mut old = json;
    old.as_object_mut().unwrap().remove("undelivered").unwrap();
    let loaded: OobChallenge = serde_json::from_value(old).unwrap();
    assert!(!loaded.undelivered());
    assert_eq!(loaded, challenge);
    assert!(loaded.check(&code, &policy, &key(), t0()).is_ok());
}
