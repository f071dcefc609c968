-- PEC channel (issue 4): the certification data of every PEC message and
-- receipt received (the raw signed bytes stay in mail_in, unchanged, with
-- their SHA-256), the per-recipient delivery state of mail sent through a
-- PEC mailbox, the alerts raised when it is not accepted or not delivered,
-- and the protocol number of a ticket. Times are Unix microseconds (UTC).

-- Certification data of a received PEC message: a transport envelope, an
-- anomaly envelope or a provider receipt. daticert is the whole
-- daticert.xml as JSON (the date keeps its zone). For receipts, out_id is
-- the sent message certified.
CREATE TABLE pec_messages (
    in_id        INTEGER PRIMARY KEY REFERENCES mail_in(id),
    ticket_id    INTEGER REFERENCES tickets(id),
    message_ref  INTEGER REFERENCES messages(id),
    out_id       INTEGER REFERENCES mail_out(id),
    kind         TEXT NOT NULL,
    tipo         TEXT NOT NULL DEFAULT '',
    sender       TEXT NOT NULL DEFAULT '',
    daticert     TEXT NOT NULL DEFAULT '',
    signed       BOOLEAN NOT NULL DEFAULT FALSE,
    sig_status   TEXT NOT NULL DEFAULT '',
    sig_signer   TEXT NOT NULL DEFAULT '',
    sig_error    TEXT NOT NULL DEFAULT '',
    sha256       TEXT NOT NULL,
    received_at  BIGINT NOT NULL
);
CREATE INDEX pec_messages_ticket ON pec_messages(ticket_id) WHERE ticket_id IS NOT NULL;
CREATE INDEX pec_messages_out ON pec_messages(out_id) WHERE out_id IS NOT NULL;

-- Delivery state of a message sent through a PEC mailbox, per recipient:
-- sent, accepted, delivered, warned (preavviso) or failed. in_id is the
-- receipt that last changed it.
CREATE TABLE pec_delivery (
    out_id      INTEGER NOT NULL REFERENCES mail_out(id),
    recipient   TEXT NOT NULL,
    state       TEXT NOT NULL,
    detail      TEXT NOT NULL DEFAULT '',
    in_id       INTEGER REFERENCES mail_in(id),
    updated_at  BIGINT NOT NULL,
    PRIMARY KEY (out_id, recipient)
);

-- Alerts to the assignee: a sent PEC message not accepted, not delivered,
-- or still undelivered after 24 hours. One per (message, kind, recipient).
CREATE TABLE pec_alerts (
    id           INTEGER PRIMARY KEY,
    ticket_id    INTEGER NOT NULL REFERENCES tickets(id),
    out_id       INTEGER NOT NULL REFERENCES mail_out(id),
    assignee_id  INTEGER REFERENCES users(id),
    kind         TEXT NOT NULL,
    recipient    TEXT NOT NULL DEFAULT '',
    detail       TEXT NOT NULL DEFAULT '',
    created_at   BIGINT NOT NULL,
    UNIQUE (out_id, kind, recipient)
);
CREATE INDEX pec_alerts_ticket ON pec_alerts(ticket_id);
CREATE INDEX pec_alerts_assignee ON pec_alerts(assignee_id, id);

-- The protocol number a ticket was registered under in the organisation's
-- protocol register (set by staff or by an integration), kept apart from
-- personal data.
CREATE TABLE ticket_protocol (
    ticket_id   INTEGER PRIMARY KEY REFERENCES tickets(id),
    protocol    TEXT NOT NULL,
    updated_at  BIGINT NOT NULL
);
CREATE INDEX ticket_protocol_value ON ticket_protocol(protocol);
