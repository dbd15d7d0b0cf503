-- Account recovery and mail (issue #20): verified addresses, one-time mailed tokens, and
-- the transactional outbox of mail jobs.

-- When the account's current address was proven (a verification or email-change link
-- used, or a password reset through it); NULL: never.
ALTER TABLE accounts ADD COLUMN email_verified_at TIMESTAMPTZ;

-- Tokens mailed to an address: password reset, email verification, email change. Only
-- their keyed hash is stored (HMAC-SHA256 with a key derived from the app keys), so
-- this table, its backups and the replica hold nothing a link could be made from. A
-- token is used at most once: the UPDATE that sets used_at is conditional on it being
-- NULL, and a new token of a purpose retires the account's older ones.
CREATE TABLE email_tokens (
    token_hash BYTEA PRIMARY KEY,
    purpose    TEXT NOT NULL,
    account_id BIGINT NOT NULL REFERENCES accounts (id),
    -- The address the token was sent to: the account's address when it was issued, or
    -- the new address of an email change. A token for an address the account no longer
    -- has is void.
    email      TEXT NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    used_at    TIMESTAMPTZ,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT email_tokens_purpose CHECK (purpose IN ('password_reset', 'email_verification', 'email_change')),
    CONSTRAINT email_tokens_hash_length CHECK (octet_length(token_hash) = 32)
);
CREATE INDEX email_tokens_open_idx ON email_tokens (account_id, purpose) WHERE used_at IS NULL;

-- Mail jobs written in the transaction of the change that causes them, so a rolled-back
-- change leaves none and a committed one cannot lose its mail. After the commit the
-- request sends its rows to SQS and deletes them; the outbox-relay function sends what
-- is left (a failed send, a crash between commit and send) every minute. `body` is the
-- job as the mailer reads it; any token in it is sealed (AES-256-GCM).
CREATE TABLE mail_outbox (
    id         TEXT PRIMARY KEY,
    body       JSONB NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX mail_outbox_created_at_idx ON mail_outbox (created_at);
