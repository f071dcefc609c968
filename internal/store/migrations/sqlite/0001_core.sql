-- Core schema: organisations, people, queues, services, tickets and their
-- history. Times are Unix microseconds (UTC) on both engines.
CREATE TABLE orgs (
    id          INTEGER PRIMARY KEY,
    code        TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    parent_id   INTEGER REFERENCES orgs(id),
    province    TEXT NOT NULL DEFAULT '',
    created_at  BIGINT NOT NULL
);

CREATE TABLE users (
    id                 INTEGER PRIMARY KEY,
    org_id             INTEGER NOT NULL REFERENCES orgs(id),
    email              TEXT NOT NULL UNIQUE,
    name               TEXT NOT NULL,
    phone              TEXT NOT NULL DEFAULT '',
    phone_norm         TEXT NOT NULL DEFAULT '',
    role               TEXT NOT NULL,
    password_hash      TEXT NOT NULL DEFAULT '',
    installation_admin BOOLEAN NOT NULL DEFAULT FALSE,
    active             BOOLEAN NOT NULL DEFAULT TRUE,
    redacted           BOOLEAN NOT NULL DEFAULT FALSE,
    created_at         BIGINT NOT NULL
);
CREATE INDEX users_org ON users(org_id);
CREATE INDEX users_phone ON users(phone_norm) WHERE phone_norm <> '';

CREATE TABLE api_tokens (
    id          INTEGER PRIMARY KEY,
    user_id     INTEGER NOT NULL REFERENCES users(id),
    name        TEXT NOT NULL DEFAULT '',
    hash        TEXT NOT NULL UNIQUE,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL DEFAULT 0,
    revoked_at  BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX api_tokens_user ON api_tokens(user_id);

CREATE TABLE queues (
    id      INTEGER PRIMARY KEY,
    org_id  INTEGER NOT NULL REFERENCES orgs(id),
    code    TEXT NOT NULL,
    name    TEXT NOT NULL,
    UNIQUE (org_id, code)
);

CREATE TABLE services (
    id        INTEGER PRIMARY KEY,
    org_id    INTEGER NOT NULL REFERENCES orgs(id),
    code      TEXT NOT NULL,
    name      TEXT NOT NULL,
    queue_id  INTEGER REFERENCES queues(id),
    active    BOOLEAN NOT NULL DEFAULT TRUE,
    UNIQUE (org_id, code)
);

-- Yearly ticket counters (PostgreSQL uses one sequence per year instead).
CREATE TABLE ticket_seq (
    year   INTEGER PRIMARY KEY,
    value  BIGINT NOT NULL
);

CREATE TABLE tickets (
    id              INTEGER PRIMARY KEY,
    number          TEXT NOT NULL UNIQUE,
    org_id          INTEGER NOT NULL REFERENCES orgs(id),
    subject         TEXT NOT NULL,
    description     TEXT NOT NULL DEFAULT '',
    status          TEXT NOT NULL,
    priority        TEXT NOT NULL,
    channel         TEXT NOT NULL,
    level           INTEGER NOT NULL DEFAULT 1,
    service_id      INTEGER REFERENCES services(id),
    queue_id        INTEGER REFERENCES queues(id),
    requester_id    INTEGER REFERENCES users(id),
    requester_email TEXT NOT NULL DEFAULT '',
    requester_name  TEXT NOT NULL DEFAULT '',
    requester_phone TEXT NOT NULL DEFAULT '',
    assignee_id     INTEGER REFERENCES users(id),
    team            TEXT NOT NULL DEFAULT '',
    cause_category  TEXT NOT NULL DEFAULT '',
    cause_text      TEXT NOT NULL DEFAULT '',
    merged_into     INTEGER REFERENCES tickets(id),
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    resolved_at     BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX tickets_queue ON tickets(queue_id, id);
CREATE INDEX tickets_status ON tickets(status, id);
CREATE INDEX tickets_org ON tickets(org_id, id);
CREATE INDEX tickets_requester ON tickets(requester_id, id);
CREATE INDEX tickets_assignee ON tickets(assignee_id, id);

-- Maintained counters, so that queue counts never scan tickets.
CREATE TABLE ticket_counts (
    org_id    INTEGER NOT NULL,
    queue_id  INTEGER NOT NULL,
    status    TEXT NOT NULL,
    shard     INTEGER NOT NULL,
    n         BIGINT NOT NULL,
    PRIMARY KEY (org_id, queue_id, status, shard)
);

CREATE TABLE messages (
    id            INTEGER PRIMARY KEY,
    ticket_id     INTEGER NOT NULL REFERENCES tickets(id),
    kind          TEXT NOT NULL,
    author_id     INTEGER REFERENCES users(id),
    author_name   TEXT NOT NULL DEFAULT '',
    author_email  TEXT NOT NULL DEFAULT '',
    body          TEXT NOT NULL,
    channel       TEXT NOT NULL,
    internal      BOOLEAN NOT NULL DEFAULT FALSE,
    created_at    BIGINT NOT NULL
);
CREATE INDEX messages_ticket ON messages(ticket_id, id);

-- History is append-only: the triggers below refuse updates and deletes.
CREATE TABLE events (
    id          INTEGER PRIMARY KEY,
    ticket_id   INTEGER NOT NULL REFERENCES tickets(id),
    actor_id    INTEGER REFERENCES users(id),
    at          BIGINT NOT NULL,
    field       TEXT NOT NULL,
    old_value   TEXT NOT NULL DEFAULT '',
    new_value   TEXT NOT NULL DEFAULT ''
);
CREATE INDEX events_ticket ON events(ticket_id, id);
CREATE TRIGGER events_no_update BEFORE UPDATE ON events
BEGIN SELECT RAISE(ABORT, 'ticket history is immutable'); END;
CREATE TRIGGER events_no_delete BEFORE DELETE ON events
BEGIN SELECT RAISE(ABORT, 'ticket history is immutable'); END;

CREATE TABLE blobs (
    sha256  TEXT PRIMARY KEY,
    size    BIGINT NOT NULL,
    data    BLOB NOT NULL
);

CREATE TABLE attachments (
    id            INTEGER PRIMARY KEY,
    ticket_id     INTEGER NOT NULL REFERENCES tickets(id),
    message_id    INTEGER REFERENCES messages(id),
    name          TEXT NOT NULL,
    content_type  TEXT NOT NULL,
    size          BIGINT NOT NULL,
    sha256        TEXT NOT NULL REFERENCES blobs(sha256),
    created_at    BIGINT NOT NULL
);
CREATE INDEX attachments_ticket ON attachments(ticket_id, id);

CREATE TABLE ticket_links (
    from_id     INTEGER NOT NULL REFERENCES tickets(id),
    to_id       INTEGER NOT NULL REFERENCES tickets(id),
    kind        TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (from_id, to_id, kind)
);
CREATE INDEX ticket_links_to ON ticket_links(to_id);

-- Full-text search: one contentless document per ticket (subject, and
-- description plus messages), rebuilt by the application on change.
CREATE VIRTUAL TABLE ticket_fts USING fts5(
    subject, body, content='', contentless_delete=1,
    tokenize='unicode61 remove_diacritics 2'
);

-- Installation-wide settings (such as the default organisation).
CREATE TABLE settings (
    key    TEXT PRIMARY KEY,
    value  TEXT NOT NULL
);
