//! The login flow after the password: begin, set up, answer, defer. This
//! file holds what its steps share: the checks of a ticket, the re-send
//! options of a method, and the audited rejection of a failed step.

mod answer;

pub(crate) use answer::{Answer, counted_refusal};
mod begin;
mod setup;

use chrono::{DateTime, Utc};
use twofa_delivery::{ResendOption, TransactionId};
use twofa_enrollment::{Effect, Enrollment, EnrollmentState, MethodId};
use twofa_types::{CodeChannel, Method, UserId};

use crate::audit::RejectionDetail;
use crate::failure::Failure;
use crate::records::{CompanyRecord, LoginStage, LoginTicket, PendingLogin, UserRecord};
use crate::service::Twofa;
use crate::steps::{Rejected, SetUpProgress};
use crate::store::{LoadedLogin, Versioned};
use crate::update::Updated;

/// A loaded pending login that `user` may still use at `now`: it exists,
/// is theirs, is not completed and has not expired.
pub(crate) fn usable_ticket(
    loaded: Option<Versioned<PendingLogin>>,
    user: &UserId,
    now: DateTime<Utc>,
) -> Result<Versioned<PendingLogin>, Failure> {
    let loaded = loaded.ok_or(Failure::start_over(RejectionDetail::UnknownTicket))?;
    if loaded.record.user() != user {
        return Err(Failure::start_over(RejectionDetail::TicketUserMismatch));
    }
    if matches!(loaded.record.stage(), LoginStage::Completed { .. }) {
        return Err(Failure::start_over(RejectionDetail::TicketAlreadyUsed));
    }
    if now >= loaded.record.expires_at() {
        return Err(Failure::start_over(RejectionDetail::TicketExpired));
    }
    Ok(loaded)
}

/// The records of a login read together (see
/// [`UnitOfWork::load_login`](crate::UnitOfWork::load_login)), if `user`
/// may still use the pending login at `now`: the ticket is known, belongs
/// to `user`, is not completed and has not expired; then the user and the
/// company exist. The checks and their order are those of
/// [`usable_ticket`], so that every step of the login refuses a ticket for
/// the same reasons.
#[expect(
    clippy::type_complexity,
    reason = "the three records the flow goes on with, named by their types"
)]
pub(crate) fn usable_login(
    loaded: LoadedLogin,
    user: &UserId,
    now: DateTime<Utc>,
) -> Result<
    (
        Versioned<PendingLogin>,
        Versioned<UserRecord>,
        Versioned<CompanyRecord>,
    ),
    Failure,
> {
    let pending = usable_ticket(loaded.pending, user, now)?;
    let record = loaded
        .user
        .ok_or(Failure::start_over(RejectionDetail::UnknownUser))?;
    let company = loaded
        .company
        .filter(|company| company.record.company() == pending.record.company())
        .ok_or(Failure::start_over(RejectionDetail::UnknownCompany))?;
    Ok((pending, record, company))
}

pub(crate) fn transaction(ticket: &LoginTicket) -> Result<TransactionId, Failure> {
    TransactionId::new(&ticket.to_string())
        .map_err(|_| Failure::start_over(RejectionDetail::InconsistentRecord))
}

/// The screen after a set-up step: the code sent, the QR code or the
/// dialog.
pub(crate) fn progress(updated: Updated) -> Result<SetUpProgress, Failure> {
    if let Some(sent) = updated.sent {
        return Ok(SetUpProgress::CodeSent(sent));
    }
    for effect in updated.effects {
        match effect {
            Effect::ShowKeyUri(uri) => return Ok(SetUpProgress::ScanQrCode(uri)),
            Effect::ShowNotMobileDialog(dialog) => return Ok(SetUpProgress::NotMobile(dialog)),
            Effect::ShowPasskeyCreation(options) => {
                return Ok(SetUpProgress::CreatePasskey(options));
            }
            _ => {}
        }
    }
    Err(Failure::start_over(RejectionDetail::InconsistentRecord))
}

fn method_kind(enrollment: &Enrollment, id: MethodId) -> Option<Method> {
    match enrollment.state() {
        EnrollmentState::Enrolled(enrolled) => enrolled.method(id).map(|m| m.kind()),
        _ => None,
    }
}

impl Twofa {
    /// The re-send buttons for a method, as the company's policy allows.
    fn resend_options(
        company: &CompanyRecord,
        record: &UserRecord,
        kind: Method,
    ) -> Vec<ResendOption> {
        match kind {
            Method::AuthenticatorApp | Method::PushApp => return vec![ResendOption::App],
            Method::Sms | Method::VoiceCall => {}
            // A passkey has no code to send again: a new ceremony starts
            // with "use another method" on the same passkey.
            _ => return Vec::new(),
        }
        let allowed = company.policy().resend_channels();
        let mut options = Vec::new();
        // A number set up for calls may be a landline: no SMS re-send.
        if allowed.contains(CodeChannel::Sms) && kind == Method::Sms {
            options.push(ResendOption::Sms);
        }
        if allowed.contains(CodeChannel::VoiceCall) {
            options.push(ResendOption::Voice);
        }
        if allowed.contains(CodeChannel::Email) && record.email().is_some() {
            options.push(ResendOption::Email);
        }
        options
    }

    /// Loads a ticket that `user` may still use at `now`.
    pub(crate) async fn load_ticket_for(
        &self,
        user: &UserId,
        ticket: &LoginTicket,
        now: DateTime<Utc>,
    ) -> Result<Versioned<PendingLogin>, Failure> {
        usable_ticket(self.stores.pending_logins.load(ticket).await?, user, now)
    }

    /// Runs `operation` and turns its failure into the audited rejection.
    async fn answer<T>(
        &self,
        user: &UserId,
        now: DateTime<Utc>,
        operation: impl Future<Output = Result<T, Failure>>,
    ) -> Result<T, Rejected> {
        match operation.await {
            Ok(value) => Ok(value),
            Err(failure) => Err(self.reject(now, Some(user), failure).await),
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::{TimeDelta, TimeZone};

    use twofa_types::{AccountKind, CompanyId, MethodSet};

    use super::*;
    use crate::store::Version;

    fn at(seconds: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 2, 8, 0, 0).unwrap() + TimeDelta::seconds(seconds)
    }

    fn bob() -> UserId {
        UserId::new("bob").unwrap()
    }

    fn acme() -> CompanyId {
        CompanyId::new("acme").unwrap()
    }

    fn versioned<T>(record: T) -> Option<Versioned<T>> {
        Some(Versioned {
            record,
            version: Version::FIRST,
        })
    }

    /// Bob's pending login of `company`, expiring at second 600.
    fn pending(company: CompanyId, stage: LoginStage) -> PendingLogin {
        PendingLogin::new(bob(), company, at(0), at(600), None, stage)
    }

    fn set_up() -> LoginStage {
        LoginStage::SetUp {
            methods: MethodSet::all(),
            deferral_until: None,
        }
    }

    fn loaded(pending: Option<PendingLogin>) -> LoadedLogin {
        LoadedLogin::new(
            pending.and_then(versioned),
            versioned(UserRecord::new(
                bob(),
                acme(),
                AccountKind::PartnerEmployee,
                "Bob",
            )),
            versioned(CompanyRecord::new(acme())),
        )
    }

    fn refusal(result: Result<impl Sized, Failure>) -> Option<RejectionDetail> {
        result.err().map(|failure| failure.detail)
    }

    #[test]
    fn a_ticket_is_usable_until_the_second_before_its_expiry() {
        let login = loaded(Some(pending(acme(), set_up())));
        let (ticket, user, company) = usable_login(login.clone(), &bob(), at(599)).unwrap();
        assert_eq!(ticket.record.expires_at(), at(600));
        assert_eq!(user.record.user(), &bob());
        assert_eq!(company.record.company(), &acme());
        assert_eq!(
            refusal(usable_login(login.clone(), &bob(), at(600))),
            Some(RejectionDetail::TicketExpired)
        );
        assert_eq!(
            refusal(usable_login(login, &bob(), at(601))),
            Some(RejectionDetail::TicketExpired)
        );
    }

    #[test]
    fn every_refusal_names_what_was_wrong_in_the_order_of_the_ticket_checks() {
        let eve = UserId::new("eve").unwrap();
        let cases = [
            (loaded(None), &bob(), RejectionDetail::UnknownTicket),
            (
                loaded(Some(pending(acme(), set_up()))),
                &eve,
                RejectionDetail::TicketUserMismatch,
            ),
            (
                loaded(Some(pending(acme(), LoginStage::Completed { at: at(10) }))),
                &bob(),
                RejectionDetail::TicketAlreadyUsed,
            ),
            (
                LoadedLogin {
                    user: None,
                    ..loaded(Some(pending(acme(), set_up())))
                },
                &bob(),
                RejectionDetail::UnknownUser,
            ),
            (
                LoadedLogin {
                    company: None,
                    ..loaded(Some(pending(acme(), set_up())))
                },
                &bob(),
                RejectionDetail::UnknownCompany,
            ),
            // A company record that is not the one the login names.
            (
                loaded(Some(pending(CompanyId::new("globex").unwrap(), set_up()))),
                &bob(),
                RejectionDetail::UnknownCompany,
            ),
        ];
        for (login, user, detail) in cases {
            assert_eq!(refusal(usable_login(login, user, at(1))), Some(detail));
        }
        // A ticket that is wrong in several ways is refused for the first.
        let everything_wrong = LoadedLogin {
            user: None,
            company: None,
            ..loaded(Some(pending(acme(), LoginStage::Completed { at: at(10) })))
        };
        assert_eq!(
            refusal(usable_login(everything_wrong, &eve, at(700))),
            Some(RejectionDetail::TicketUserMismatch)
        );
    }
}
