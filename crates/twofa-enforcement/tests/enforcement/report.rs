//! The enrollment report: ordering and counts, deferrals, duplicates, and the
//! CSV export (quoted, neutralised, masked).

use super::*;

#[test]
fn report_sorts_by_status_then_name_then_id_and_counts() {
    let report = EnrollmentReport::build(&enforced(), roster(), t0()).unwrap();
    let order: Vec<&str> = report.rows().iter().map(|r| r.user_id().as_str()).collect();
    assert_eq!(order, ["u1", "u6", "u2", "u5", "u4", "u3"]);
    let kinds: Vec<StatusKind> = report.rows().iter().map(|r| r.kind()).collect();
    assert_eq!(
        kinds,
        [
            StatusKind::NotEnrolled,
            StatusKind::NotEnrolled,
            StatusKind::Deferred,
            StatusKind::PendingVerification,
            StatusKind::Enrolled,
            StatusKind::Enrolled,
        ]
    );
    let totals = report.totals();
    assert_eq!(
        (
            totals.not_enrolled,
            totals.deferred,
            totals.pending_verification,
            totals.enrolled,
            totals.total
        ),
        (2, 1, 1, 2, 6)
    );
    assert_eq!(totals.of(StatusKind::Enrolled), 2);
    assert_eq!(
        report.rows()[1].status(),
        &EnrollmentStatus::NotEnrolled { deferrals_used: 3 }
    );
    assert_eq!(
        report.rows()[0].trusted_networks(),
        TrustedNetworks::DoNotApply
    );
    assert_eq!(report.rows()[5].trusted_networks(), TrustedNetworks::Apply);
    assert_eq!(report.enforcement(), enforced().enforcement());
    assert_eq!(report.company(), &acme());
    assert_eq!(report.generated_at(), t0());
}

#[test]
fn deferral_in_the_report_ends_at_its_until_second() {
    let row = |now| {
        let employee = EmployeeRecord::new(
            user("u"),
            "x",
            "x@example.com",
            AccountKind::PartnerEmployee,
            networks(AccountKind::PartnerEmployee),
            EnrollmentStatus::Deferred {
                until: t0(),
                deferrals_used: 1,
            },
        );
        EnrollmentReport::build(&not_enforced(), [employee], now)
            .unwrap()
            .rows()[0]
            .kind()
    };
    assert_eq!(row(t0() - secs(1)), StatusKind::Deferred);
    assert_eq!(row(t0()), StatusKind::NotEnrolled);
    assert_eq!(row(t0() + secs(1)), StatusKind::NotEnrolled);
}

#[test]
fn duplicate_users_are_refused() {
    let mut employees = roster();
    employees.push(EmployeeRecord::new(
        user("u2"),
        "Someone else",
        "else@example.com",
        AccountKind::PartnerEmployee,
        networks(AccountKind::PartnerEmployee),
        EnrollmentStatus::NotEnrolled { deferrals_used: 0 },
    ));
    assert_eq!(
        EnrollmentReport::build(&enforced(), employees, t0()),
        Err(ReportError::DuplicateUser {
            user_id: user("u2")
        })
    );
}

#[test]
fn csv_export_is_quoted_neutralised_and_masked() {
    let report = EnrollmentReport::build(&enforced(), roster(), t0()).unwrap();
    let expected = concat!(
        "\"status\",\"display_name\",\"user_id\",\"email\",\"account_kind\",\"methods\",\"since\",",
        "\"deferred_until\",\"deferrals_used\",\"last_second_factor\",\"phone\",\"trusted_networks\"\r\n",
        "\"not_enrolled\",\"'=HYPERLINK(\"\"http://x\"\")\",\"u1\",\"'@evil.example\",\"end_user_client\",",
        "\"\",\"\",\"\",\"0\",\"\",\"\",\"do not apply\"\r\n",
        "\"not_enrolled\",\"dave\",\"u6\",\"dave@example.com\",\"partner_employee\",",
        "\"\",\"\",\"\",\"3\",\"\",\"\",\"apply\"\r\n",
        "\"deferred\",\"Bob, Jr.\",\"u2\",\"bob@example.com\",\"partner_employee\",",
        "\"\",\"\",\"2026-03-01T10:00:00Z\",\"2\",\"\",\"\",\"apply\"\r\n",
        "\"pending_verification\",\"alice\",\"u5\",\"alice@example.com\",\"partner_employee\",",
        "\"voice_call\",\"2026-03-01T08:58:00Z\",\"\",\"1\",\"\",\"•••• 89\",\"apply\"\r\n",
        "\"enrolled\",\"Carol\",\"u4\",\"carol2@example.com\",\"end_user_client\",",
        "\"push_app\",\"2025-12-01T00:00:00Z\",\"\",\"\",\"\",\"\",\"do not apply\"\r\n",
        "\"enrolled\",\"carol\",\"u3\",\"carol@example.com\",\"partner_employee\",",
        "\"authenticator_app;sms\",\"2026-01-05T08:30:00Z\",\"\",\"\",\"2026-02-28T17:45:12Z\",",
        "\"•••• 4567\",\"apply\"\r\n",
    );
    assert_eq!(report.to_csv(), expected);
    assert!(!report.to_csv().contains("555"));
}

#[test]
fn report_does_not_depend_on_input_order() {
    let forward = EnrollmentReport::build(&enforced(), roster(), t0()).unwrap();
    let mut reversed_input = roster();
    reversed_input.reverse();
    let reversed = EnrollmentReport::build(&enforced(), reversed_input, t0()).unwrap();
    assert_eq!(forward, reversed);
    assert_eq!(forward.to_csv(), reversed.to_csv());
}

#[test]
fn phone_hints_never_hold_a_full_number() {
    let hint = PhoneHint::from_number("+1 (555) 010-4567").unwrap();
    assert_eq!(hint.to_string(), "•••• 4567");
    assert!(!format!("{hint:?}").contains("555"));
    assert_eq!(
        PhoneHint::from_number("12345").unwrap().to_string(),
        "•••• 45"
    );
    assert!(PhoneHint::from_last_digits("01234").is_err());
}

/// Parses RFC 4180 text whose fields are all quoted, as the export writes it.
fn parse_quoted_csv(text: &str) -> Vec<Vec<String>> {
    let mut records = Vec::new();
    let mut record = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                let mut field = String::new();
                loop {
                    match chars.next().unwrap() {
                        '"' if chars.peek() == Some(&'"') => {
                            chars.next();
                            field.push('"');
                        }
                        '"' => break,
                        other => field.push(other),
                    }
                }
                record.push(field);
            }
            ',' => {}
            '\r' => {
                assert_eq!(chars.next(), Some('\n'));
                records.push(std::mem::take(&mut record));
            }
            other => panic!("unexpected {other:?} outside a quoted field"),
        }
    }
    assert!(record.is_empty());
    records
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Any name and e-mail survive the CSV export, only gaining a `'` when
    /// they start like a formula; no cell ever starts like one.
    #[test]
    fn csv_round_trips_and_neutralises(name in "\\PC{0,12}|[=+\\-@\t\r\n\",;]{1,4}\\PC{0,4}", email in "[=+@a-z\",\r\n]{0,8}") {
        let employee = EmployeeRecord::new(
            user("u"),
            name.clone(),
            email.clone(),
            AccountKind::PartnerEmployee, networks(AccountKind::PartnerEmployee),
            EnrollmentStatus::NotEnrolled { deferrals_used: 0 },
        );
        let report = EnrollmentReport::build(&not_enforced(), [employee], t0()).unwrap();
        let records = parse_quoted_csv(&report.to_csv());
        prop_assert_eq!(records.len(), 2);
        prop_assert_eq!(records[1].len(), 12);
        for record in &records {
            for cell in record {
                prop_assert!(!cell.starts_with(['=', '+', '-', '@', '\t', '\r']), "{:?}", cell);
            }
        }
        let expect = |s: &str| {
            if s.starts_with(['=', '+', '-', '@', '\t', '\r']) { format!("'{s}") } else { s.to_owned() }
        };
        prop_assert_eq!(&records[1][1], &expect(&name));
        prop_assert_eq!(&records[1][3], &expect(&email));
    }
}
