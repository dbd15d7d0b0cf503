-- The whole domain schema. Later migrations only add to it.
-- Constraint names are part of the API: the store layer maps them to 409 responses.

CREATE TABLE roles (
    id   SMALLINT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE
);
INSERT INTO roles (id, name) VALUES (1, 'user'), (2, 'admin'), (3, 'moderator');

CREATE TABLE accounts (
    id                    BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    username              TEXT NOT NULL,
    email                 TEXT NOT NULL,
    password_hash         TEXT NOT NULL,
    role_id               SMALLINT NOT NULL DEFAULT 1 REFERENCES roles (id),
    first_name            TEXT,
    last_name             TEXT,
    -- TOTP: the secret is AES-GCM ciphertext (nonce || ciphertext || tag), never clear.
    two_factor_enabled    BOOLEAN NOT NULL DEFAULT FALSE,
    two_factor_secret     BYTEA,
    two_factor_last_step  BIGINT,
    failed_login_count    INTEGER NOT NULL DEFAULT 0,
    locked_until          TIMESTAMPTZ,
    password_changed_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    deleted               BOOLEAN NOT NULL DEFAULT FALSE,
    deleted_at            TIMESTAMPTZ,
    created_at            TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at            TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT accounts_username_format CHECK (username ~ '^[A-Za-z0-9_-]{3,50}$'),
    CONSTRAINT accounts_email_format CHECK (char_length(email) BETWEEN 3 AND 100 AND email = lower(email)),
    CONSTRAINT accounts_first_name_length CHECK (char_length(first_name) BETWEEN 1 AND 50),
    CONSTRAINT accounts_last_name_length CHECK (char_length(last_name) BETWEEN 1 AND 50),
    CONSTRAINT accounts_two_factor_secret CHECK (NOT two_factor_enabled OR two_factor_secret IS NOT NULL)
);
-- Case-insensitive and kept after soft delete, so a deleted name cannot be taken over.
CREATE UNIQUE INDEX accounts_username_key ON accounts (lower(username));
CREATE UNIQUE INDEX accounts_email_key ON accounts (email);

CREATE TABLE backup_codes (
    account_id BIGINT NOT NULL REFERENCES accounts (id),
    code_hash  TEXT NOT NULL,
    used_at    TIMESTAMPTZ,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, code_hash)
);

CREATE TABLE profiles (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts (id),
    name       TEXT NOT NULL CHECK (char_length(name) BETWEEN 1 AND 100),
    details    JSONB NOT NULL DEFAULT '{}'::jsonb,
    deleted    BOOLEAN NOT NULL DEFAULT FALSE,
    deleted_at TIMESTAMPTZ,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX profiles_account_id_idx ON profiles (account_id) WHERE deleted = FALSE;
CREATE INDEX profiles_details_gin ON profiles USING GIN (details);

CREATE TABLE post_types (
    id   SMALLINT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE
);
INSERT INTO post_types (id, name) VALUES (1, 'text'), (2, 'image'), (3, 'link');

-- Partitioned by month on created_at; the partitions function keeps future months made.
-- A partitioned table's keys must include the partition column, hence (id, created_at).
CREATE TABLE posts (
    id           BIGSERIAL,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    account_id   BIGINT NOT NULL REFERENCES accounts (id),
    post_type_id SMALLINT NOT NULL DEFAULT 1 REFERENCES post_types (id),
    content      JSONB NOT NULL,
    deleted      BOOLEAN NOT NULL DEFAULT FALSE,
    deleted_at   TIMESTAMPTZ,
    updated_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (id, created_at)
) PARTITION BY RANGE (created_at);
CREATE INDEX posts_created_at_idx ON posts (created_at DESC) WHERE deleted = FALSE;
CREATE INDEX posts_account_id_idx ON posts (account_id) WHERE deleted = FALSE;
CREATE INDEX posts_content_gin ON posts USING GIN (content);

CREATE TABLE authors (
    post_id         BIGINT NOT NULL,
    post_created_at TIMESTAMPTZ NOT NULL,
    profile_id      BIGINT NOT NULL REFERENCES profiles (id),
    is_primary      BOOLEAN NOT NULL DEFAULT FALSE,
    PRIMARY KEY (post_id, profile_id),
    FOREIGN KEY (post_id, post_created_at) REFERENCES posts (id, created_at)
);
CREATE INDEX authors_post_profile_idx ON authors (post_id, profile_id);
CREATE UNIQUE INDEX authors_one_primary ON authors (post_id) WHERE is_primary;

CREATE TABLE comments (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    post_id         BIGINT NOT NULL,
    post_created_at TIMESTAMPTZ NOT NULL,
    account_id      BIGINT NOT NULL REFERENCES accounts (id),
    body            TEXT NOT NULL CHECK (char_length(body) BETWEEN 1 AND 10000),
    deleted         BOOLEAN NOT NULL DEFAULT FALSE,
    deleted_at      TIMESTAMPTZ,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    FOREIGN KEY (post_id, post_created_at) REFERENCES posts (id, created_at)
);
CREATE INDEX comments_post_id_idx ON comments (post_id) WHERE deleted = FALSE;

CREATE TABLE reports (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    reporter_id BIGINT NOT NULL REFERENCES accounts (id),
    target_type TEXT NOT NULL CHECK (target_type IN ('account', 'profile', 'post', 'comment')),
    target_id   BIGINT NOT NULL,
    reason      TEXT NOT NULL CHECK (char_length(reason) BETWEEN 1 AND 2000),
    status      TEXT NOT NULL DEFAULT 'open'
                CHECK (status IN ('open', 'reviewing', 'resolved', 'dismissed')),
    resolved_by BIGINT REFERENCES accounts (id),
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX reports_status_idx ON reports (status, created_at DESC);

CREATE TABLE system_settings (
    key        TEXT PRIMARY KEY CHECK (key ~ '^[a-z][a-z0-9_.]{0,99}$'),
    value      JSONB NOT NULL,
    updated_by BIGINT REFERENCES accounts (id),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Append-only security log, partitioned by month like posts.
CREATE TABLE audit_log (
    id         BIGSERIAL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    event_type TEXT NOT NULL,
    severity   TEXT NOT NULL CHECK (severity IN ('info', 'warning', 'critical')),
    account_id BIGINT,
    ip         INET,
    user_agent TEXT,
    request_id TEXT,
    details    JSONB NOT NULL DEFAULT '{}'::jsonb,
    PRIMARY KEY (id, created_at)
) PARTITION BY RANGE (created_at);
CREATE INDEX audit_log_created_at_idx ON audit_log (created_at DESC);
CREATE INDEX audit_log_type_idx ON audit_log (event_type, created_at DESC);
CREATE INDEX audit_log_account_idx ON audit_log (account_id, created_at DESC) WHERE account_id IS NOT NULL;

-- Monthly partitions named <table>_pYYYYMM, from this month through three ahead, and a
-- default partition that catches anything outside them (the partitions function moves
-- such rows once a partition covers them).
DO $$
DECLARE
    parent TEXT;
    month  DATE;
BEGIN
    FOREACH parent IN ARRAY ARRAY['posts', 'audit_log'] LOOP
        FOR i IN 0..3 LOOP
            month := (date_trunc('month', now() AT TIME ZONE 'UTC') + make_interval(months => i))::date;
            EXECUTE format(
                'CREATE TABLE %I PARTITION OF %I FOR VALUES FROM (%L) TO (%L)',
                parent || '_p' || to_char(month, 'YYYYMM'), parent,
                month::timestamp AT TIME ZONE 'UTC',
                (month + interval '1 month')::timestamp AT TIME ZONE 'UTC');
        END LOOP;
        EXECUTE format('CREATE TABLE %I PARTITION OF %I DEFAULT', parent || '_default', parent);
    END LOOP;
END
$$;
