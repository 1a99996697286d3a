#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod budget;
mod challenge;
mod channel;
mod destination;
mod ids;
mod line_type;
mod message;
mod notice;
mod policy;
mod push;
mod receipt;
mod secret;
mod template;

pub use budget::{
    BudgetDecision, BudgetExhausted, BudgetPolicyError, BudgetScope, BudgetWindow, Charges,
    Counter, CounterKey, GeoPermissions, GeoRefused, HIGH_COST_COUNTRY_CODES, MAX_BUDGET_LIMIT,
    SendBudgetPolicy, SendKind, SendRequest, high_cost_country_codes,
};
pub use challenge::{
    AuditReason, ChallengeRequest, ChallengeStatus, CheckRejected, EndUserReason, IssueError,
    OobChallenge, PreparedSend, Purpose, ResendError, ResendOption, ResendPlan, Verified,
};
pub use channel::{
    EmailSender, FailureCause, NoticeSender, Outbox, PushSender, SendError, SentMessage, SmsSender,
    VoiceCaller,
};
pub use destination::{Destination, DestinationError, EmailAddress, PhoneNumber, Region};
pub use ids::{ChallengeId, IdentifierError, MAX_IDENTIFIER_LEN, TransactionId};
pub use line_type::{
    CarrierLookup, InMemoryCarrierLookup, LineType, LookupError, NotMobileKind, UnknownReason,
    classify_offline, resolve,
};
pub use message::{EmailMessage, MessageTemplates, OutboundMessage, SmsMessage, VoiceMessage};
pub use notice::{
    EmailNotice, Notice, NoticeKind, NoticeMessage, NoticeTemplate, NoticeTemplates, SmsNotice,
};
pub use policy::{ChallengePolicy, CodeLength, DeliveryPolicyError, PushPolicy};
pub use push::{
    DenyReason, MatchNumber, MatchNumberOutOfRange, MatchNumberSyntax, PreparedPush, PushApproved,
    PushError, PushMessage, PushNotApproved, PushOrigin, PushPrepareError, PushRequest,
    PushResponse, PushSendLog, PushStatus,
};
pub use rand_core::CryptoRng;
pub use receipt::{DeliveryReceipt, DeliveryStatus};
pub use secret::{
    MAX_SERVER_KEY_LEN, MIN_SERVER_KEY_LEN, MessageText, OobCode, ServerKey, ServerKeyError,
};
pub use template::{Issuer, MAX_ISSUER_LEN, MAX_TEMPLATE_LEN, OriginHost, Template, TemplateError};
