//! Table definitions (diesel `table!`), shared by both backends. Every column
//! uses a portable type: ids TEXT, ciphertext BLOB/BYTEA, times and sequence
//! numbers BIGINT. Every account-owned table is keyed by `account_id` first.

diesel::table! {
    server_meta (meta_key) {
        meta_key -> Text,
        meta_value -> Text,
        updated_at -> BigInt,
    }
}

diesel::table! {
    accounts (account_id) {
        account_id -> Text,
        public_key -> Binary,
        change_seq -> BigInt,
        record_count -> BigInt,
        consent_seq -> BigInt,
        audit_seq -> BigInt,
        audit_head -> Text,
        created_at -> BigInt,
    }
}

diesel::table! {
    devices (account_id, device_id) {
        account_id -> Text,
        device_id -> Text,
        public_key -> Binary,
        name -> Text,
        created_at -> BigInt,
        last_seen_at -> BigInt,
    }
}

diesel::table! {
    auth_challenges (account_id, challenge_id) {
        account_id -> Text,
        challenge_id -> Text,
        device_id -> Text,
        nonce -> Binary,
        expires_at -> BigInt,
    }
}

diesel::table! {
    refresh_tokens (account_id, token_hash) {
        account_id -> Text,
        token_hash -> Text,
        device_id -> Text,
        created_at -> BigInt,
        expires_at -> BigInt,
        used_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    pairing_codes (account_id, code_hash) {
        account_id -> Text,
        code_hash -> Text,
        created_by -> Text,
        expires_at -> BigInt,
        used_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    /// PostgreSQL only: which families hold a record id (kept by a trigger on `records`).
    record_owners (record_id, account_id) {
        record_id -> Text,
        account_id -> Text,
    }
}

diesel::table! {
    records (account_id, record_id) {
        account_id -> Text,
        record_id -> Text,
        kind -> Text,
        subject -> Text,
        effective_date -> Nullable<Text>,
        version -> BigInt,
        seq -> BigInt,
        deleted -> Bool,
        envelope -> Binary,
        wrapped_key -> Binary,
        device_id -> Text,
        updated_at -> BigInt,
    }
}

diesel::table! {
    push_batches (account_id, batch_id) {
        account_id -> Text,
        batch_id -> Text,
        device_id -> Text,
        response -> Text,
        created_at -> BigInt,
    }
}

diesel::table! {
    organizations (organization_id) {
        organization_id -> Text,
        name -> Text,
        kind -> Text,
        purposes -> Text,
        jwks -> Nullable<Text>,
        created_at -> BigInt,
        disabled_at -> Nullable<BigInt>,
        jwks_url -> Nullable<Text>,
    }
}

diesel::table! {
    consent_grants (account_id, grant_id) {
        account_id -> Text,
        grant_id -> Text,
        organization_id -> Text,
        grant_json -> Text,
        state -> Text,
        wrapped_grant_key -> Nullable<Binary>,
        view_kid -> Text,
        created_at -> BigInt,
        created_by -> Text,
        revoked_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    grant_record_keys (account_id, grant_id, record_id) {
        account_id -> Text,
        grant_id -> Text,
        record_id -> Text,
        wrapped_key -> Binary,
    }
}

diesel::table! {
    audit_events (account_id, seq) {
        account_id -> Text,
        seq -> BigInt,
        at -> BigInt,
        actor -> Text,
        action -> Text,
        grant_id -> Nullable<Text>,
        record_ids -> Text,
        outcome -> Text,
        prev_hash -> Text,
        hash -> Text,
        occurrences -> Nullable<BigInt>,
        reason -> Nullable<Text>,
        actor_name -> Nullable<Text>,
    }
}

diesel::table! {
    smart_client_assertions (organization_id, jti) {
        organization_id -> Text,
        jti -> Text,
        expires_at -> BigInt,
    }
}

diesel::table! {
    research_exports (export_id) {
        export_id -> Text,
        organization_id -> Text,
        state -> Text,
        request_json -> Text,
        progress -> BigInt,
        records_done -> BigInt,
        manifest_json -> Nullable<Text>,
        error -> Nullable<Text>,
        created_at -> BigInt,
        updated_at -> BigInt,
        expires_at -> Nullable<BigInt>,
        claim -> Nullable<Text>,
        attempts -> BigInt,
    }
}

diesel::table! {
    key_backups (account_id) {
        account_id -> Text,
        kdf -> Text,
        iterations -> BigInt,
        salt -> Binary,
        sealed_key -> Binary,
        updated_at -> BigInt,
    }
}

diesel::table! {
    recovery_challenges (account_id, challenge_id) {
        account_id -> Text,
        challenge_id -> Text,
        nonce_hash -> Text,
        expires_at -> BigInt,
    }
}

diesel::table! {
    tombstone_devices (account_id, device_id) {
        account_id -> Text,
        device_id -> Text,
        public_key -> Binary,
        deleted_at -> BigInt,
        expires_at -> BigInt,
        challenge_id -> Nullable<Text>,
        challenge_nonce -> Nullable<Binary>,
        challenge_expires_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    tombstone_refresh_tokens (account_id, token_hash) {
        account_id -> Text,
        token_hash -> Text,
        expires_at -> BigInt,
    }
}

diesel::table! {
    idempotent_requests (key_hash) {
        key_hash -> Text,
        endpoint -> Text,
        fingerprint -> Text,
        response -> Text,
        created_at -> BigInt,
    }
}

diesel::table! {
    /// One row (`id` 1): bumped with every grant change ([`crate::store::grants::bump_grant_generation`]).
    grant_generation (id) {
        id -> Integer,
        generation -> BigInt,
    }
}

diesel::table! {
    emergency_cards (card_id) {
        card_id -> Text,
        account_id -> Text,
        subject -> Text,
        link_hash -> Binary,
        passcode_salt -> Nullable<Binary>,
        passcode_hash -> Nullable<Binary>,
        attempts_left -> Integer,
        expires_at -> Nullable<BigInt>,
        file_jwe -> Text,
        created_at -> BigInt,
        updated_at -> BigInt,
        accesses -> BigInt,
        last_access_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    emergency_card_tickets (ticket_hash) {
        ticket_hash -> Binary,
        card_id -> Text,
        expires_at -> BigInt,
    }
}

diesel::table! {
    push_subscriptions (subscription_id) {
        subscription_id -> Text,
        account_id -> Text,
        device_id -> Text,
        endpoint -> Text,
        p256dh -> Text,
        auth -> Text,
        created_at -> BigInt,
    }
}

diesel::table! {
    emergency_identifiers (lookup_hash, account_id, subject) {
        lookup_hash -> Text,
        account_id -> Text,
        subject -> Text,
    }
}

diesel::table! {
    break_glass_sessions (organization_id, account_id, subject) {
        organization_id -> Text,
        account_id -> Text,
        subject -> Text,
        opened_at -> BigInt,
        expires_at -> BigInt,
    }
}

diesel::table! {
    notices (notice_id) {
        notice_id -> Text,
        organization_id -> Text,
        version -> BigInt,
        content -> Text,
        valid_until -> Text,
        published_at -> BigInt,
        updated_at -> BigInt,
        withdrawn_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    operator_events (seq) {
        seq -> BigInt,
        at -> BigInt,
        actor -> Text,
        action -> Text,
        target -> Text,
        outcome -> Text,
        prev_hash -> Text,
        hash -> Text,
    }
}

diesel::table! {
    staff (staff_id) {
        staff_id -> Text,
        organization_id -> Text,
        name -> Text,
        role -> Text,
        disabled_at -> Nullable<BigInt>,
        created_at -> BigInt,
    }
}

diesel::table! {
    staff_invites (token_hash) {
        token_hash -> Text,
        staff_id -> Text,
        created_at -> BigInt,
        expires_at -> BigInt,
        used_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    staff_passkeys (credential_id) {
        credential_id -> Text,
        staff_id -> Text,
        passkey -> Text,
        created_at -> BigInt,
        last_used_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    staff_sessions (session_hash) {
        session_hash -> Text,
        staff_id -> Text,
        csrf_token -> Text,
        created_at -> BigInt,
        last_seen_at -> BigInt,
        expires_at -> BigInt,
    }
}

diesel::table! {
    portal_ceremonies (ceremony_id) {
        ceremony_id -> Text,
        kind -> Text,
        invite_hash -> Nullable<Text>,
        state -> Text,
        expires_at -> BigInt,
    }
}

diesel::joinable!(staff -> organizations (organization_id));
diesel::joinable!(staff_sessions -> staff (staff_id));

diesel::allow_tables_to_appear_in_same_query!(
    accounts,
    devices,
    auth_challenges,
    refresh_tokens,
    pairing_codes,
    records,
    push_batches,
    organizations,
    consent_grants,
    grant_record_keys,
    audit_events,
    key_backups,
    recovery_challenges,
    tombstone_devices,
    tombstone_refresh_tokens,
    idempotent_requests,
    grant_generation,
    emergency_cards,
    emergency_card_tickets,
    push_subscriptions,
    emergency_identifiers,
    break_glass_sessions,
    notices,
    operator_events,
    staff,
    staff_invites,
    staff_passkeys,
    staff_sessions,
    portal_ceremonies,
);
