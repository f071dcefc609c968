-- E-mail channel (issue 3): the desk addresses of each organisation,
-- connected mailboxes, leases for work that must run in one process at a
-- time, every message received (raw bytes kept, de-duplication key) and
-- sent (the outbox), routing rules and the directory of competent offices.
-- Times are Unix microseconds (UTC).

-- Addresses a desk answers on: its own (desk, pec) and retired ones, which
-- get an automatic answer and never open a ticket.
CREATE TABLE mail_addresses (
    address     TEXT PRIMARY KEY,
    org_id      INTEGER NOT NULL REFERENCES orgs(id),
    kind        TEXT NOT NULL,
    retired_at  BIGINT NOT NULL DEFAULT 0,
    created_at  BIGINT NOT NULL
);
CREATE INDEX mail_addresses_org ON mail_addresses(org_id);

-- Connected mailboxes. URLs are stored without password; the password is
-- sealed with the secret key (AES-GCM) or names an environment variable.
-- version changes with the configuration so that readers restart.
CREATE TABLE mailboxes (
    id             INTEGER PRIMARY KEY,
    org_id         INTEGER NOT NULL REFERENCES orgs(id),
    address        TEXT NOT NULL UNIQUE,
    imap_url       TEXT NOT NULL,
    imap_secret    TEXT NOT NULL DEFAULT '',
    smtp_url       TEXT NOT NULL,
    smtp_secret    TEXT NOT NULL DEFAULT '',
    folder         TEXT NOT NULL DEFAULT 'INBOX',
    pec            BOOLEAN NOT NULL DEFAULT FALSE,
    closed_reply   TEXT NOT NULL DEFAULT 'followup',
    active         BOOLEAN NOT NULL DEFAULT TRUE,
    version        BIGINT NOT NULL DEFAULT 1,
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL,
    last_ok_at     BIGINT NOT NULL DEFAULT 0,
    last_error     TEXT NOT NULL DEFAULT '',
    last_error_at  BIGINT NOT NULL DEFAULT 0,
    uid_validity   BIGINT NOT NULL DEFAULT 0,
    uid_watermark  BIGINT NOT NULL DEFAULT 0
);

-- Leases: work held by one process at a time across replicas.
CREATE TABLE leases (
    name        TEXT PRIMARY KEY,
    holder      TEXT NOT NULL,
    expires_at  BIGINT NOT NULL
);

-- Every message taken from a mailbox, exactly once per (mailbox,
-- UIDVALIDITY, UID), with its raw bytes and what became of it. Quarantined
-- messages are rows with outcome 'quarantined'.
CREATE TABLE mail_in (
    id            INTEGER PRIMARY KEY,
    mailbox_id    INTEGER NOT NULL REFERENCES mailboxes(id),
    uid_validity  BIGINT NOT NULL,
    uid           BIGINT NOT NULL,
    message_id    TEXT NOT NULL DEFAULT '',
    sha256        TEXT NOT NULL,
    size          BIGINT NOT NULL,
    raw           BLOB NOT NULL,
    from_addr     TEXT NOT NULL DEFAULT '',
    recipient     TEXT NOT NULL DEFAULT '',
    subject       TEXT NOT NULL DEFAULT '',
    outcome       TEXT NOT NULL,
    detail        TEXT NOT NULL DEFAULT '',
    ticket_id     INTEGER REFERENCES tickets(id),
    message_ref   INTEGER REFERENCES messages(id),
    html          TEXT NOT NULL DEFAULT '',
    received_at   BIGINT NOT NULL,
    UNIQUE (mailbox_id, uid_validity, uid)
);
CREATE INDEX mail_in_message_id ON mail_in(message_id) WHERE message_id <> '';
CREATE INDEX mail_in_ticket ON mail_in(ticket_id) WHERE ticket_id IS NOT NULL;
CREATE INDEX mail_in_outcome ON mail_in(outcome, id);

-- The outbox: every message the desk sends, written in the transaction of
-- the change that caused it, with its final bytes and fixed Message-ID.
CREATE TABLE mail_out (
    id           INTEGER PRIMARY KEY,
    mailbox_id   INTEGER NOT NULL REFERENCES mailboxes(id),
    ticket_id    INTEGER REFERENCES tickets(id),
    message_ref  INTEGER REFERENCES messages(id),
    kind         TEXT NOT NULL,
    auto         BOOLEAN NOT NULL DEFAULT FALSE,
    message_id   TEXT NOT NULL UNIQUE,
    mail_from    TEXT NOT NULL,
    rcpt_to      TEXT NOT NULL,
    subject      TEXT NOT NULL DEFAULT '',
    raw          BLOB NOT NULL,
    state        TEXT NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    next_at      BIGINT NOT NULL,
    claimed_by   TEXT NOT NULL DEFAULT '',
    last_error   TEXT NOT NULL DEFAULT '',
    created_at   BIGINT NOT NULL,
    sent_at      BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX mail_out_due ON mail_out(state, next_at);
CREATE INDEX mail_out_ticket ON mail_out(ticket_id) WHERE ticket_id IS NOT NULL;
CREATE INDEX mail_out_rcpt ON mail_out(rcpt_to, created_at);

-- What happened to a sent message afterwards: bounces, PEC receipts.
CREATE TABLE mail_out_events (
    id       INTEGER PRIMARY KEY,
    out_id   INTEGER NOT NULL REFERENCES mail_out(id),
    in_id    INTEGER REFERENCES mail_in(id),
    kind     TEXT NOT NULL,
    detail   TEXT NOT NULL DEFAULT '',
    at       BIGINT NOT NULL
);
CREATE INDEX mail_out_events_out ON mail_out_events(out_id);

-- Which mailbox and desk address a ticket's conversation uses.
CREATE TABLE mail_threads (
    ticket_id   INTEGER PRIMARY KEY REFERENCES tickets(id),
    mailbox_id  INTEGER NOT NULL REFERENCES mailboxes(id),
    address     TEXT NOT NULL
);

-- Ordered routing rules of an organisation (route.Rule as JSON).
CREATE TABLE mail_rules (
    id          INTEGER PRIMARY KEY,
    org_id      INTEGER NOT NULL REFERENCES orgs(id),
    position    INTEGER NOT NULL,
    name        TEXT NOT NULL,
    rule        TEXT NOT NULL,
    updated_at  BIGINT NOT NULL
);
CREATE INDEX mail_rules_org ON mail_rules(org_id, position);

-- Directory of offices requests may be redirected to (such as the
-- Prefectures competent for certificate renewals), importable from IPA CSV.
CREATE TABLE office_directory (
    id          INTEGER PRIMARY KEY,
    code        TEXT NOT NULL UNIQUE,
    kind        TEXT NOT NULL,
    province    TEXT NOT NULL DEFAULT '',
    name        TEXT NOT NULL,
    pec         TEXT NOT NULL DEFAULT '',
    email       TEXT NOT NULL DEFAULT '',
    updated_at  BIGINT NOT NULL
);
CREATE INDEX office_directory_province ON office_directory(kind, province);
