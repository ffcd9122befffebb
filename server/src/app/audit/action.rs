//! The typed vocabulary of the audit log: what happened ([`AuditAction`]) and
//! how it ended ([`AuditOutcome`]). Both are stored by their snake_case names,
//! which are part of the hash chain and of `/audit/v1/events`: never rename one.

use std::fmt;

/// What an audit event records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AuditAction {
    /// The account was created (its first device).
    AccountCreated,
    /// A device signed in (a challenge answered).
    SignIn,
    /// A refresh token was presented again after it had been used.
    RefreshTokenReuse,
    /// A device issued a pairing code for a new device.
    PairingCodeIssued,
    /// A new device joined with a pairing code.
    DeviceJoined,
    /// A device was removed from the account.
    DeviceRemoved,
    /// The sealed key backup was stored or replaced.
    KeyBackupStored,
    /// The sealed key backup was fetched (recovery; unauthenticated, counted).
    KeyBackupFetched,
    /// A recovery challenge was issued (unauthenticated).
    RecoveryChallengeIssued,
    /// A device was added by recovery with the account key.
    DeviceRecovered,
    /// A consent grant was created.
    GrantCreated,
    /// A grant was read (its details and keys).
    GrantRead,
    /// Record keys were added to a grant.
    GrantKeysAdded,
    /// A grant was revoked.
    GrantRevoked,
    /// Records were read by id through a grant (FHIR read).
    FhirRead,
    /// Records were found by a FHIR search through a grant.
    FhirSearch,
    /// Records were read by a FHIR `$everything` through a grant.
    FhirEverything,
    /// A record was written through a grant (FHIR create, update, transaction).
    FhirWrite,
    /// Records went into a research export through a grant.
    ResearchExport,
    /// An emergency card (a SMART Health Link to a summary) was created.
    EmergencyCardCreated,
    /// An emergency card's encrypted summary was replaced (refreshed).
    EmergencyCardUpdated,
    /// An emergency card got a new link and key (the old QR code is dead).
    EmergencyCardRotated,
    /// An emergency card was withdrawn.
    EmergencyCardWithdrawn,
    /// An emergency card was read (its manifest fetched by a recipient), or the attempt refused.
    EmergencyCardAccessed,
    /// The family replaced the identifiers an emergency department may find its members by.
    EmergencyIdentifiersRegistered,
    /// An emergency department read a member's emergency summary by break-glass
    /// (`Patient/$summary` with a reason), or the attempt was refused.
    BreakGlassSummary,
    /// A care-team portal staff member found patients by an identifier the family shared
    /// (the records behind each patient listed).
    PortalSearch,
    /// A care-team portal staff member opened a patient's page (the records shown).
    PortalView,
    /// A care-team portal staff member entered results: a new record of the family, sealed
    /// as a FHIR write is.
    PortalWrite,
}

/// How the FHIR `AuditEvent.action` codes an audited action
/// (`http://hl7.org/fhir/audit-event-action`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FhirAuditAction {
    /// C: create.
    Create,
    /// R: read, view or search.
    Read,
    /// E: execute (any other operation).
    Execute,
}

impl FhirAuditAction {
    /// The code: `C`, `R` or `E`.
    pub const fn code(self) -> &'static str {
        match self {
            FhirAuditAction::Create => "C",
            FhirAuditAction::Read => "R",
            FhirAuditAction::Execute => "E",
        }
    }
}

impl AuditAction {
    /// Every action, in declaration order.
    pub const ALL: [AuditAction; 29] = [
        AuditAction::AccountCreated,
        AuditAction::SignIn,
        AuditAction::RefreshTokenReuse,
        AuditAction::PairingCodeIssued,
        AuditAction::DeviceJoined,
        AuditAction::DeviceRemoved,
        AuditAction::KeyBackupStored,
        AuditAction::KeyBackupFetched,
        AuditAction::RecoveryChallengeIssued,
        AuditAction::DeviceRecovered,
        AuditAction::GrantCreated,
        AuditAction::GrantRead,
        AuditAction::GrantKeysAdded,
        AuditAction::GrantRevoked,
        AuditAction::FhirRead,
        AuditAction::FhirSearch,
        AuditAction::FhirEverything,
        AuditAction::FhirWrite,
        AuditAction::ResearchExport,
        AuditAction::EmergencyCardCreated,
        AuditAction::EmergencyCardUpdated,
        AuditAction::EmergencyCardRotated,
        AuditAction::EmergencyCardWithdrawn,
        AuditAction::EmergencyCardAccessed,
        AuditAction::EmergencyIdentifiersRegistered,
        AuditAction::BreakGlassSummary,
        AuditAction::PortalSearch,
        AuditAction::PortalView,
        AuditAction::PortalWrite,
    ];

    /// The stored name.
    pub const fn as_str(self) -> &'static str {
        match self {
            AuditAction::AccountCreated => "account_created",
            AuditAction::SignIn => "sign_in",
            AuditAction::RefreshTokenReuse => "refresh_token_reuse",
            AuditAction::PairingCodeIssued => "pairing_code_issued",
            AuditAction::DeviceJoined => "device_joined",
            AuditAction::DeviceRemoved => "device_removed",
            AuditAction::KeyBackupStored => "key_backup_stored",
            AuditAction::KeyBackupFetched => "key_backup_fetched",
            AuditAction::RecoveryChallengeIssued => "recovery_challenge_issued",
            AuditAction::DeviceRecovered => "device_recovered",
            AuditAction::GrantCreated => "grant_created",
            AuditAction::GrantRead => "grant_read",
            AuditAction::GrantKeysAdded => "grant_keys_added",
            AuditAction::GrantRevoked => "grant_revoked",
            AuditAction::FhirRead => "fhir_read",
            AuditAction::FhirSearch => "fhir_search",
            AuditAction::FhirEverything => "fhir_everything",
            AuditAction::FhirWrite => "fhir_write",
            AuditAction::ResearchExport => "research_export",
            AuditAction::EmergencyCardCreated => "emergency_card_created",
            AuditAction::EmergencyCardUpdated => "emergency_card_updated",
            AuditAction::EmergencyCardRotated => "emergency_card_rotated",
            AuditAction::EmergencyCardWithdrawn => "emergency_card_withdrawn",
            AuditAction::EmergencyCardAccessed => "emergency_card_accessed",
            AuditAction::EmergencyIdentifiersRegistered => "emergency_identifiers_registered",
            AuditAction::BreakGlassSummary => "break_glass_summary",
            AuditAction::PortalSearch => "portal_search",
            AuditAction::PortalView => "portal_view",
            AuditAction::PortalWrite => "portal_write",
        }
    }

    /// The action of a stored name; `None` for a name this server does not know.
    pub fn parse(name: &str) -> Option<AuditAction> {
        AuditAction::ALL.into_iter().find(|a| a.as_str() == name)
    }

    /// The FHIR `AuditEvent.action` of this action.
    pub const fn fhir_action(self) -> FhirAuditAction {
        match self {
            AuditAction::GrantCreated
            | AuditAction::GrantKeysAdded
            | AuditAction::FhirWrite
            | AuditAction::PortalWrite
            | AuditAction::EmergencyCardCreated => FhirAuditAction::Create,
            AuditAction::GrantRead
            | AuditAction::FhirRead
            | AuditAction::FhirSearch
            | AuditAction::FhirEverything
            | AuditAction::EmergencyCardAccessed
            | AuditAction::BreakGlassSummary
            | AuditAction::PortalSearch
            | AuditAction::PortalView => FhirAuditAction::Read,
            AuditAction::AccountCreated
            | AuditAction::SignIn
            | AuditAction::RefreshTokenReuse
            | AuditAction::PairingCodeIssued
            | AuditAction::DeviceJoined
            | AuditAction::DeviceRemoved
            | AuditAction::KeyBackupStored
            | AuditAction::KeyBackupFetched
            | AuditAction::RecoveryChallengeIssued
            | AuditAction::DeviceRecovered
            | AuditAction::GrantRevoked
            | AuditAction::ResearchExport
            | AuditAction::EmergencyCardUpdated
            | AuditAction::EmergencyCardRotated
            | AuditAction::EmergencyCardWithdrawn
            | AuditAction::EmergencyIdentifiersRegistered => FhirAuditAction::Execute,
        }
    }
}

impl fmt::Display for AuditAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How an audited action ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AuditOutcome {
    /// It happened.
    Success,
    /// It was refused (consent, credentials, limits).
    Denied,
}

impl AuditOutcome {
    /// The stored name.
    pub const fn as_str(self) -> &'static str {
        match self {
            AuditOutcome::Success => "success",
            AuditOutcome::Denied => "denied",
        }
    }

    /// The outcome of a stored name; `None` for a name this server does not know.
    pub fn parse(name: &str) -> Option<AuditOutcome> {
        [AuditOutcome::Success, AuditOutcome::Denied].into_iter().find(|o| o.as_str() == name)
    }
}

impl fmt::Display for AuditOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_action_parses_back_from_its_stored_name_and_names_are_unique() {
        let mut names = std::collections::HashSet::new();
        for action in AuditAction::ALL {
            assert_eq!(AuditAction::parse(action.as_str()), Some(action));
            assert!(names.insert(action.as_str()), "{action} twice");
        }
        assert_eq!(AuditAction::parse("no_such_action"), None);
    }

    #[test]
    fn fhir_action_is_create_for_writes_and_read_for_reads() {
        assert_eq!(AuditAction::FhirWrite.fhir_action(), FhirAuditAction::Create);
        assert_eq!(AuditAction::GrantCreated.fhir_action(), FhirAuditAction::Create);
        assert_eq!(AuditAction::FhirSearch.fhir_action(), FhirAuditAction::Read);
        assert_eq!(AuditAction::GrantRead.fhir_action(), FhirAuditAction::Read);
        assert_eq!(AuditAction::SignIn.fhir_action().code(), "E");
    }

    #[test]
    fn outcomes_parse_back_from_their_stored_names() {
        for o in [AuditOutcome::Success, AuditOutcome::Denied] {
            assert_eq!(AuditOutcome::parse(o.as_str()), Some(o));
        }
    }
}
