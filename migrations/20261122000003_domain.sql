-- The domain functions (accounts, profiles, posts, comments, reports, settings).

INSERT INTO post_types (id, name) VALUES (4, 'event');

-- Keyset pagination walks (created_at, id) newest first.
CREATE INDEX posts_keyset_idx ON posts (created_at DESC, id DESC) WHERE deleted = FALSE;
CREATE INDEX comments_keyset_idx ON comments (post_id, created_at DESC, id DESC) WHERE deleted = FALSE;
CREATE INDEX profiles_keyset_idx ON profiles (created_at DESC, id DESC) WHERE deleted = FALSE;
CREATE INDEX accounts_keyset_idx ON accounts (created_at DESC, id DESC) WHERE deleted = FALSE;
CREATE INDEX authors_profile_idx ON authors (profile_id);

-- Full-text search on title and body (?q=); the expression must match the query's.
CREATE INDEX posts_search_idx ON posts USING GIN (
    to_tsvector('simple', coalesce(content ->> 'title', '') || ' ' || coalesce(content ->> 'body', ''))
) WHERE deleted = FALSE;

-- Reports: a reason from a fixed list, free-text details, and how they were resolved.
ALTER TABLE reports DROP CONSTRAINT reports_reason_check;
ALTER TABLE reports
    ADD CONSTRAINT reports_reason CHECK (reason IN ('spam', 'abuse', 'harassment', 'illegal', 'other')),
    ADD COLUMN details TEXT CHECK (char_length(details) <= 2000),
    ADD COLUMN resolution_note TEXT CHECK (char_length(resolution_note) <= 2000),
    ADD COLUMN resolved_at TIMESTAMPTZ,
    ADD COLUMN deleted BOOLEAN NOT NULL DEFAULT FALSE,
    ADD COLUMN deleted_at TIMESTAMPTZ;
CREATE INDEX reports_keyset_idx ON reports (created_at DESC, id DESC) WHERE deleted = FALSE;
