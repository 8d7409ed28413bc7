-- Meetings, their participants' history, waiting rooms, removed users and API keys.
-- Kept in step with ../postgres (same tables, columns and index names; a test compares them).
-- Times are UTC as fixed-width RFC 3339 text (YYYY-MM-DDTHH:MM:SS.ffffffZ, so they sort);
-- booleans are 0/1. STRICT makes SQLite refuse values of the wrong type.

CREATE TABLE meetings (
    id            TEXT    NOT NULL PRIMARY KEY CHECK (length(id) BETWEEN 1 AND 64),
    title         TEXT    NOT NULL,
    host_user_id  TEXT    NOT NULL,
    created_at    TEXT    NOT NULL,
    -- The first join; NULL until someone joins.
    started_at    TEXT,
    -- Set once by end_meeting; an ended meeting takes no joins or changes.
    ended_at      TEXT,
    locked        INTEGER NOT NULL DEFAULT 0 CHECK (locked IN (0, 1)),
    waiting_room  INTEGER NOT NULL DEFAULT 0 CHECK (waiting_room IN (0, 1)),
    e2ee_required INTEGER NOT NULL DEFAULT 0 CHECK (e2ee_required IN (0, 1))
) STRICT;

-- One row per session that joined a meeting. left_at is NULL while the session is in it.
CREATE TABLE participants (
    meeting_id   TEXT    NOT NULL REFERENCES meetings (id) ON DELETE CASCADE,
    -- The relay's u64 session id, bit-cast to a signed 64-bit integer.
    session_id   INTEGER NOT NULL,
    user_id      TEXT    NOT NULL,
    display_name TEXT    NOT NULL CHECK (length(display_name) <= 64),
    is_host      INTEGER NOT NULL DEFAULT 0 CHECK (is_host IN (0, 1)),
    -- The server instance that holds the session, to close its rows if it dies.
    instance     TEXT    NOT NULL,
    joined_at    TEXT    NOT NULL,
    left_at      TEXT,
    -- 1 when the holding instance stopped without recording the leave: left_at is when a
    -- restart noticed, not when the session really ended.
    abandoned    INTEGER NOT NULL DEFAULT 0 CHECK (abandoned IN (0, 1)),
    PRIMARY KEY (meeting_id, session_id)
) STRICT;

CREATE INDEX participants_open_by_instance ON participants (instance) WHERE left_at IS NULL;

CREATE TABLE waiting_entries (
    id           INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    meeting_id   TEXT    NOT NULL REFERENCES meetings (id) ON DELETE CASCADE,
    user_id      TEXT    NOT NULL,
    display_name TEXT    NOT NULL CHECK (length(display_name) <= 64),
    requested_at TEXT    NOT NULL,
    decision     TEXT    NOT NULL DEFAULT 'pending'
                         CHECK (decision IN ('pending', 'admitted', 'rejected')),
    decided_at   TEXT,
    CHECK ((decision = 'pending') = (decided_at IS NULL))
) STRICT;

-- A user waits at most once per meeting at a time; also serves the pending list.
CREATE UNIQUE INDEX waiting_entries_one_pending ON waiting_entries (meeting_id, user_id)
    WHERE decision = 'pending';

-- Users a host removed: they stay out of the meeting while it is locked.
CREATE TABLE removed_users (
    meeting_id TEXT NOT NULL REFERENCES meetings (id) ON DELETE CASCADE,
    user_id    TEXT NOT NULL,
    removed_at TEXT NOT NULL,
    PRIMARY KEY (meeting_id, user_id)
) STRICT;

-- Keys for the REST API. Only the SHA-256 of the secret is kept.
CREATE TABLE api_keys (
    id          INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    name        TEXT    NOT NULL,
    secret_hash BLOB    NOT NULL UNIQUE CHECK (length(secret_hash) = 32),
    created_at  TEXT    NOT NULL,
    revoked_at  TEXT
) STRICT;
