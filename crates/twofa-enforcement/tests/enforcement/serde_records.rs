//! Serde records: the JSON export's shape, round trips, and records that
//! are validated when read.

use serde_json::{Value, json};

use super::*;

#[test]
fn json_export_has_the_documented_shape() {
    let report = EnrollmentReport::build(&enforced(), roster(), t0()).unwrap();
    let value: Value = serde_json::from_str(&report.to_json().unwrap()).unwrap();
    assert_eq!(value["company"], json!("acme"));
    assert_eq!(value["generated_at"], json!("2026-03-01T09:00:00Z"));
    assert_eq!(
        value["enforcement"],
        json!({"state": "enforced", "by": "alice", "at": "2026-03-01T09:00:00Z"})
    );
    assert_eq!(
        value["totals"],
        json!({"not_enrolled": 2, "deferred": 1, "pending_verification": 1, "enrolled": 2, "total": 6})
    );
    let employees = value["employees"].as_array().unwrap();
    assert_eq!(employees.len(), 6);
    assert_eq!(
        employees[5],
        json!({
            "user_id": "u3",
            "display_name": "carol",
            "email": "carol@example.com",
            "account_kind": "partner_employee",
            "status": {
                "state": "enrolled",
                "methods": ["authenticator_app", "sms"],
                "since": "2026-01-05T08:30:00Z"
            },
            "last_second_factor": "2026-02-28T17:45:12Z",
            "phone": "•••• 4567",
            "trusted_networks": "apply"
        })
    );
    assert_eq!(
        employees[3]["status"],
        json!({"state": "pending_verification", "method": "voice_call", "since": "2026-03-01T08:58:00Z", "deferrals_used": 1})
    );
    assert_eq!(employees[0]["trusted_networks"], json!("do_not_apply"));
    assert_eq!(employees[0]["phone"], Value::Null);
}

#[test]
fn settings_round_trip_and_invalid_records_are_refused() {
    for settings in [not_enforced(), enforced()] {
        let text = serde_json::to_string(&settings).unwrap();
        assert_eq!(
            serde_json::from_str::<CompanySettings>(&text).unwrap(),
            settings
        );
    }
    assert_eq!(
        serde_json::to_value(enforced()).unwrap(),
        json!({"company": "acme", "enforcement": {"state": "enforced", "by": "alice", "at": "2026-03-01T09:00:00Z"}})
    );
    for bad in [
        // Enforced without who or when.
        r#"{"company":"acme","enforcement":{"state":"enforced"}}"#,
        // An unknown state.
        r#"{"company":"acme","enforcement":{"state":"disabled"}}"#,
        // An invalid identifier.
        r#"{"company":"","enforcement":{"state":"not_enforced"}}"#,
        r#"{"company":"acme","enforcement":{"state":"enforced","by":"a\nb","at":"2026-03-01T09:00:00Z"}}"#,
        // Fields that would smuggle in another meaning.
        r#"{"company":"acme","enforcement":{"state":"not_enforced"},"enforced":false}"#,
        r#"{"company":"acme","enforcement":{"state":"not_enforced","by":"alice"}}"#,
    ] {
        assert!(
            serde_json::from_str::<CompanySettings>(bad).is_err(),
            "{bad}"
        );
    }
    // A record that decodes fine may still go back: the load check refuses it.
    let loaded: CompanySettings =
        serde_json::from_str(r#"{"company":"acme","enforcement":{"state":"not_enforced"}}"#)
            .unwrap();
    assert_eq!(
        CompanySettings::accept_loaded(&enforced(), loaded),
        Err(LoadError::EnforcementReverted)
    );
}

#[test]
fn audit_event_has_a_stable_name() {
    let event = CompanyEvent::EnforcementEnabled {
        company: acme(),
        actor: user("alice"),
        at: t0(),
    };
    assert_eq!(
        serde_json::to_value(&event).unwrap(),
        json!({"event": "company.2fa_enforced", "company": "acme", "actor": "alice", "at": "2026-03-01T09:00:00Z"})
    );
}

#[test]
fn policy_records_are_validated_when_read() {
    let policy = CompanyPolicy::default();
    let value = serde_json::to_value(policy).unwrap();
    assert_eq!(
        value,
        json!({
            "allowed_methods": ["authenticator_app", "push_app", "sms", "voice_call", "passkey"],
            "resend_channels": ["sms", "voice_call", "email"],
            "deferral_length_secs": 172_800,
            "deferral_cap": {"at_most": 3},
            "trusted_network_reprompt_secs": 1_814_400,
            "out_of_band_code_lifetime_secs": 600,
            "pending_setup_lifetime_secs": 1800,
            "attempts_per_challenge": 5
        })
    );
    assert_eq!(
        serde_json::from_value::<CompanyPolicy>(value.clone()).unwrap(),
        policy
    );
    for (field, bad) in [
        ("allowed_methods", json!([])),
        ("deferral_length_secs", json!(0)),
        ("out_of_band_code_lifetime_secs", json!(601)),
        ("attempts_per_challenge", json!(0)),
        ("deferral_length_secs", json!(i64::MAX)),
        ("deferral_cap", json!("sometimes")),
        ("phishing_resistant", json!("sometimes")),
    ] {
        let mut record = value.clone();
        record[field] = bad;
        assert!(
            serde_json::from_value::<CompanyPolicy>(record).is_err(),
            "{field}"
        );
    }
    let mut admins = value.clone();
    admins["phishing_resistant"] = json!("for_admins");
    let read = serde_json::from_value::<CompanyPolicy>(admins.clone()).unwrap();
    assert_eq!(read.phishing_resistant(), PhishingResistance::ForAdmins);
    assert_eq!(serde_json::to_value(read).unwrap(), admins);
    // A requirement no allowed method can meet is refused when read.
    admins["allowed_methods"] = json!(["sms"]);
    admins["resend_channels"] = json!(["sms"]);
    assert!(serde_json::from_value::<CompanyPolicy>(admins).is_err());
    let mut unlimited = value;
    unlimited["deferral_cap"] = json!("unlimited");
    assert_eq!(
        serde_json::from_value::<CompanyPolicy>(unlimited)
            .unwrap()
            .deferral_cap(),
        DeferralCap::Unlimited
    );
}

#[test]
fn user_status_round_trips() {
    for status in [
        EnrollmentStatus::NotEnrolled { deferrals_used: 2 },
        EnrollmentStatus::Deferred {
            until: t0(),
            deferrals_used: 1,
        },
        EnrollmentStatus::Pending {
            method: Method::Sms,
            since: t0(),
            deferrals_used: 0,
        },
        EnrollmentStatus::Enrolled {
            methods: all_methods(),
            since: t0(),
        },
    ] {
        let text = serde_json::to_string(&status).unwrap();
        assert_eq!(
            serde_json::from_str::<EnrollmentStatus>(&text).unwrap(),
            status
        );
    }
}
