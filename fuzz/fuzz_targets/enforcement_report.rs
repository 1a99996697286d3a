//! The enrollment report's CSV export and phone masking on arbitrary input:
//! no panic, the CSV parses back to the same cells (formula-looking cells
//! gain exactly one leading `'`), rows are sorted and counted, and a phone
//! hint never holds more than 4 digits or half the number.

#![no_main]

use arbitrary::Arbitrary;
use chrono::{DateTime, TimeDelta, Utc};
use libfuzzer_sys::fuzz_target;
use twofa_enforcement::{CSV_HEADER, CompanySettings, EmployeeRecord, EnrollmentReport, PhoneHint};
use twofa_types::{AccountKind, CompanyId, EnrollmentStatus, Method, MethodSet, UserId};

#[derive(Debug, Arbitrary)]
struct Employee {
    name: String,
    email: String,
    status: u8,
    offset: i32,
    client: bool,
}

#[derive(Debug, Arbitrary)]
struct Input {
    employees: Vec<Employee>,
    phone: String,
}

const FORMULA_START: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

fn neutralised(s: &str) -> String {
    if s.starts_with(FORMULA_START) {
        format!("'{s}")
    } else {
        s.to_owned()
    }
}

/// Parses RFC 4180 text in which every field is quoted; `None` if it is not.
fn parse(text: &str) -> Option<Vec<Vec<String>>> {
    let mut records = Vec::new();
    let mut record = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                let mut field = String::new();
                loop {
                    match chars.next()? {
                        '"' if chars.peek() == Some(&'"') => {
                            chars.next();
                            field.push('"');
                        }
                        '"' => break,
                        other => field.push(other),
                    }
                }
                record.push(field);
                match chars.next()? {
                    ',' => {}
                    '\r' if chars.next()? == '\n' => records.push(std::mem::take(&mut record)),
                    _ => return None,
                }
            }
            _ => return None,
        }
    }
    record.is_empty().then_some(records)
}

fuzz_target!(|input: Input| {
    let phone_digits: Vec<u8> = input.phone.bytes().filter(u8::is_ascii_digit).collect();
    if let Ok(hint) = PhoneHint::from_number(&input.phone) {
        let shown = hint.digits().as_bytes();
        assert!((2..=4).contains(&shown.len()));
        assert!(shown.len() * 2 <= phone_digits.len());
        assert!(phone_digits.ends_with(shown));
        assert_eq!(hint.to_string(), format!("•••• {}", hint.digits()));
    }

    let Some(now) = DateTime::<Utc>::from_timestamp(1_800_000_000, 0) else {
        return;
    };
    let Ok(company) = CompanyId::new("acme") else {
        return;
    };
    let settings = CompanySettings::new(company);
    let mut records = Vec::new();
    for (i, e) in input.employees.iter().take(64).enumerate() {
        let Ok(id) = UserId::new(format!("u{i}")) else {
            return;
        };
        let at = now + TimeDelta::seconds(i64::from(e.offset));
        let status = match e.status % 4 {
            0 => EnrollmentStatus::NotEnrolled {
                deferrals_used: u32::from(e.status),
            },
            1 => EnrollmentStatus::Deferred {
                until: at,
                deferrals_used: 1,
            },
            2 => EnrollmentStatus::Pending {
                method: Method::Sms,
                since: at,
                deferrals_used: 0,
            },
            _ => EnrollmentStatus::Enrolled {
                methods: MethodSet::of(&[Method::AuthenticatorApp]),
                since: at,
            },
        };
        let kind = if e.client {
            AccountKind::EndUserClient
        } else {
            AccountKind::PartnerEmployee
        };
        records.push(EmployeeRecord::new(
            id,
            e.name.clone(),
            e.email.clone(),
            kind,
            twofa_trusted_network::eligibility(kind),
            status,
        ));
    }
    let count = records.len();
    let Ok(report) = EnrollmentReport::build(&settings, records, now) else {
        panic!("unique ids must build");
    };
    let totals = report.totals();
    assert_eq!(totals.total, count);
    assert_eq!(
        totals.not_enrolled + totals.deferred + totals.pending_verification + totals.enrolled,
        count
    );
    assert!(report.rows().windows(2).all(|w| w[0].kind() <= w[1].kind()));

    let csv = report.to_csv();
    let parsed = parse(&csv).expect("export is RFC 4180 with every field quoted");
    assert_eq!(parsed.len(), count + 1);
    assert_eq!(parsed[0], CSV_HEADER);
    for (row, cells) in report.rows().iter().zip(&parsed[1..]) {
        assert_eq!(cells.len(), CSV_HEADER.len());
        assert!(cells.iter().all(|c| !c.starts_with(FORMULA_START)));
        assert_eq!(cells[1], neutralised(row.display_name()));
        assert_eq!(cells[2], row.user_id().as_str());
        assert_eq!(cells[3], neutralised(row.email()));
    }
});
