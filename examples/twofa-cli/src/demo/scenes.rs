//! The scenes of the walkthrough, in the order the portal's help article
//! tells them, and the ways to play them: all in order, one alone (the
//! scenes before it run silently first, so it starts from the same state),
//! or one at a time at a person's pace.

use super::{Cast, Portal, StepFailed, account, company, fail, login, passkey, push, setup};

/// One scene of the walkthrough.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scene {
    SetUpPrompt,
    ScanQrCode,
    ActivateApp,
    ReplayedCode,
    Push,
    SmsThenCall,
    NotMobile,
    RemindMeLater,
    EmailResend,
    ChangeDetails,
    Enforce,
    TrustedNetwork,
    ClientAccount,
    RecoveryCode,
    StatusReport,
    MethodSwitchedOff,
    AnotherMethod,
    Passkey,
}

impl Scene {
    /// Every scene, in the order they play.
    pub(crate) const ALL: [Self; 18] = [
        Self::SetUpPrompt,
        Self::ScanQrCode,
        Self::ActivateApp,
        Self::ReplayedCode,
        Self::Push,
        Self::SmsThenCall,
        Self::NotMobile,
        Self::RemindMeLater,
        Self::EmailResend,
        Self::ChangeDetails,
        Self::Enforce,
        Self::TrustedNetwork,
        Self::ClientAccount,
        Self::RecoveryCode,
        Self::StatusReport,
        Self::MethodSwitchedOff,
        Self::AnotherMethod,
        Self::Passkey,
    ];

    /// The name `--scene` takes.
    pub(crate) const fn name(self) -> &'static str {
        match self {
            Self::SetUpPrompt => "set-up-prompt",
            Self::ScanQrCode => "qr-code",
            Self::ActivateApp => "activate-app",
            Self::ReplayedCode => "replayed-code",
            Self::Push => "push",
            Self::SmsThenCall => "sms-and-call",
            Self::NotMobile => "not-a-mobile",
            Self::RemindMeLater => "remind-me-later",
            Self::EmailResend => "email-resend",
            Self::ChangeDetails => "change-details",
            Self::Enforce => "enforce",
            Self::TrustedNetwork => "trusted-network",
            Self::ClientAccount => "client-account",
            Self::RecoveryCode => "recovery-code",
            Self::StatusReport => "status-report",
            Self::MethodSwitchedOff => "method-switched-off",
            Self::AnotherMethod => "another-method",
            Self::Passkey => "passkey",
        }
    }

    /// The scene's heading.
    pub(crate) const fn title(self) -> &'static str {
        match self {
            Self::SetUpPrompt => "Bob logs in: the portal asks him to set up 2FA",
            Self::ScanQrCode => "Bob chooses the authenticator app and scans the QR code",
            Self::ActivateApp => "Bob types the code from his phone: 2FA is active",
            Self::ReplayedCode => "Someone replays the code Bob just used",
            Self::Push => {
                "Hana sets up Authy: a push approved by number matching, one denied, the token offline"
            }
            Self::SmsThenCall => "Carol sets up SMS, then asks for a phone call instead",
            Self::NotMobile => "Numbers that are not (known to be) mobiles get the dialog",
            Self::RemindMeLater => "Frank chooses \"Remind me in 48 hours\"",
            Self::EmailResend => "Carol's text message does not arrive: she clicks Email",
            Self::ChangeDetails => "Carol changes the name and the phone number used for 2FA",
            Self::Enforce => "Alice, the company admin, requires 2FA for everyone",
            Self::TrustedNetwork => "Alice adds the office network as a trusted network",
            Self::ClientAccount => "Grace, an end-user client, always answers the prompt",
            Self::RecoveryCode => "Bob lost his phone: he uses a recovery code",
            Self::StatusReport => "Alice reads the employees' enrollment status",
            Self::MethodSwitchedOff => {
                "Alice switches off authenticator apps: Bob proves it is him, then sets up SMS"
            }
            Self::AnotherMethod => "Alice allows apps again: Bob picks SMS instead of the app",
            Self::Passkey => {
                "Iris logs in with a passkey: a replayed answer and look-alike pages get nowhere"
            }
        }
    }

    /// The scene's number in the walkthrough, from 1.
    pub(crate) fn number(self) -> usize {
        Self::ALL
            .iter()
            .position(|scene| *scene == self)
            .map_or(0, |index| index.saturating_add(1))
    }

    /// The scene with this name or number.
    pub(crate) fn named(text: &str) -> Option<Self> {
        let text = text.trim();
        Self::ALL.into_iter().find(|scene| {
            scene.name().eq_ignore_ascii_case(text) || scene.number().to_string() == text
        })
    }

    /// The scenes that play before this one.
    fn before(self) -> impl Iterator<Item = Self> {
        Self::ALL
            .into_iter()
            .take_while(move |scene| *scene != self)
    }

    async fn run(self, p: &mut Portal<'_>, cast: &mut Cast) -> Result<(), StepFailed> {
        match self {
            Self::SetUpPrompt => setup::set_up_prompt(p, cast).await,
            Self::ScanQrCode => setup::scan_qr_code(p, cast).await,
            Self::ActivateApp => setup::activate_app(p, cast).await,
            Self::ReplayedCode => login::replayed_code(p, cast).await,
            Self::Push => push::push(p, cast).await,
            Self::SmsThenCall => setup::sms_then_call(p, cast).await,
            Self::NotMobile => setup::not_mobile(p, cast).await,
            Self::RemindMeLater => setup::remind_me_later(p, cast).await,
            Self::EmailResend => login::email_resend(p, cast).await,
            Self::ChangeDetails => account::change_details(p, cast).await,
            Self::Enforce => company::enforce(p, cast).await,
            Self::TrustedNetwork => company::trusted_network(p, cast).await,
            Self::ClientAccount => company::client_account(p, cast).await,
            Self::RecoveryCode => login::recovery_code(p, cast).await,
            Self::StatusReport => company::status_report(p, cast).await,
            Self::MethodSwitchedOff => company::method_switched_off(p, cast).await,
            Self::AnotherMethod => login::another_method(p, cast).await,
            Self::Passkey => passkey::passkey(p, cast).await,
        }
    }
}

impl Portal<'_> {
    /// Plays one scene under its heading; a scene must check something.
    pub(super) async fn play(&mut self, scene: Scene, cast: &mut Cast) -> Result<(), StepFailed> {
        self.heading(scene.number(), scene.title());
        let before = self.checks;
        scene.run(self, cast).await?;
        if self.checks == before {
            return fail(format!("scene {} checked nothing", scene.name()));
        }
        self.scenes_played = self.scenes_played.saturating_add(1);
        Ok(())
    }

    /// Plays the scenes before `scene` without printing them, so that it
    /// starts from the state the whole walkthrough reaches. Returns how
    /// many checks they passed.
    pub(super) async fn catch_up(
        &mut self,
        scene: Scene,
        cast: &mut Cast,
        from: usize,
    ) -> Result<u32, StepFailed> {
        let before = self.checks;
        let quiet = self.quiet;
        self.quiet = true;
        let mut result = Ok(());
        for earlier in scene.before().skip(from) {
            result = self.play(earlier, cast).await;
            if result.is_err() {
                break;
            }
        }
        self.quiet = quiet;
        result.map(|()| self.checks.saturating_sub(before))
    }
}

/// The scene list that `--list` prints: number, name and heading.
pub(crate) fn listing() -> String {
    let width = Scene::ALL
        .iter()
        .map(|scene| scene.name().len())
        .max()
        .unwrap_or(0);
    Scene::ALL
        .iter()
        .map(|scene| {
            format!(
                "{:>2}. {:<width$}  {}\n",
                scene.number(),
                scene.name(),
                scene.title()
            )
        })
        .collect()
}
