-- Identity and personal data (issue 9): people who sign in through LDAP /
-- Active Directory or OpenID Connect, and the record of personal-data
-- erasures with what the law made us keep. Times are Unix microseconds (UTC).

-- An identity at an external provider, linked to the desk's user. source is
-- "ldap" or "oidc:<issuer>"; subject is the entry's DN (LDAP) or the "sub"
-- claim (OIDC). department and groups are as last seen at sign-in.
CREATE TABLE external_identities (
    source      TEXT NOT NULL,
    subject     TEXT NOT NULL,
    user_id     INTEGER NOT NULL REFERENCES users(id),
    department  TEXT NOT NULL DEFAULT '',
    groups      TEXT NOT NULL DEFAULT '',
    first_at    BIGINT NOT NULL,
    last_at     BIGINT NOT NULL,
    PRIMARY KEY (source, subject)
);
CREATE INDEX external_identities_user ON external_identities(user_id);

-- Personal-data erasures: who was erased, by whom, when, and a JSON summary
-- of what was redacted.
CREATE TABLE redactions (
    id        INTEGER PRIMARY KEY,
    user_id   INTEGER NOT NULL REFERENCES users(id),
    actor_id  INTEGER REFERENCES users(id),
    at        BIGINT NOT NULL,
    summary   TEXT NOT NULL
);
CREATE INDEX redactions_user ON redactions(user_id);

-- Records an erasure had to keep because the law requires it (PEC evidence,
-- protocol references), with the reason: kind is mail_in, mail_out or
-- attachment, ref_id the row's id.
CREATE TABLE privacy_exempt (
    redaction_id  INTEGER NOT NULL REFERENCES redactions(id),
    kind          TEXT NOT NULL,
    ref_id        BIGINT NOT NULL,
    reason        TEXT NOT NULL,
    PRIMARY KEY (redaction_id, kind, ref_id)
);
CREATE INDEX privacy_exempt_ref ON privacy_exempt(kind, ref_id);
