-- Meetings, their participants' history, waiting rooms, removed users and API keys.
-- Kept in step with ../sqlite (same tables, columns and index names; a test compares them).

CREATE TABLE meetings (
    id            TEXT        NOT NULL PRIMARY KEY CHECK (length(id) BETWEEN 1 AND 64),
    title         TEXT        NOT NULL,
    host_user_id  TEXT        NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL,
    -- The first join; NULL until someone joins.
    started_at    TIMESTAMPTZ,
    -- Set once by end_meeting; an ended meeting takes no joins or changes.
    ended_at      TIMESTAMPTZ,
    locked        BOOLEAN     NOT NULL DEFAULT FALSE,
    waiting_room  BOOLEAN     NOT NULL DEFAULT FALSE,
    e2ee_required BOOLEAN     NOT NULL DEFAULT FALSE
);

-- One row per session that joined a meeting. left_at is NULL while the session is in it.
CREATE TABLE participants (
    meeting_id   TEXT        NOT NULL REFERENCES meetings (id) ON DELETE CASCADE,
    -- The relay's u64 session id, bit-cast to a signed 64-bit integer.
    session_id   BIGINT      NOT NULL,
    user_id      TEXT        NOT NULL,
    display_name TEXT        NOT NULL CHECK (length(display_name) <= 64),
    is_host      BOOLEAN     NOT NULL DEFAULT FALSE,
    -- The server instance that holds the session, to close its rows if it dies.
    instance     TEXT        NOT NULL,
    joined_at    TIMESTAMPTZ NOT NULL,
    left_at      TIMESTAMPTZ,
    -- TRUE when the holding instance stopped without recording the leave: left_at is when a
    -- restart noticed, not when the session really ended.
    abandoned    BOOLEAN     NOT NULL DEFAULT FALSE,
    PRIMARY KEY (meeting_id, session_id)
);

CREATE INDEX participants_open_by_instance ON participants (instance) WHERE left_at IS NULL;

CREATE TABLE waiting_entries (
    id           BIGINT      NOT NULL GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    meeting_id   TEXT        NOT NULL REFERENCES meetings (id) ON DELETE CASCADE,
    user_id      TEXT        NOT NULL,
    display_name TEXT        NOT NULL CHECK (length(display_name) <= 64),
    requested_at TIMESTAMPTZ NOT NULL,
    decision     TEXT        NOT NULL DEFAULT 'pending'
                             CHECK (decision IN ('pending', 'admitted', 'rejected')),
    decided_at   TIMESTAMPTZ,
    CHECK ((decision = 'pending') = (decided_at IS NULL))
);

-- A user waits at most once per meeting at a time; also serves the pending list.
CREATE UNIQUE INDEX waiting_entries_one_pending ON waiting_entries (meeting_id, user_id)
    WHERE decision = 'pending';

-- Users a host removed: they stay out of the meeting while it is locked.
CREATE TABLE removed_users (
    meeting_id TEXT        NOT NULL REFERENCES meetings (id) ON DELETE CASCADE,
    user_id    TEXT        NOT NULL,
    removed_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (meeting_id, user_id)
);

-- Keys for the REST API. Only the SHA-256 of the secret is kept.
CREATE TABLE api_keys (
    id          BIGINT      NOT NULL GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name        TEXT        NOT NULL,
    secret_hash BYTEA       NOT NULL UNIQUE CHECK (octet_length(secret_hash) = 32),
    created_at  TIMESTAMPTZ NOT NULL,
    revoked_at  TIMESTAMPTZ
);
