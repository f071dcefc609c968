-- Service catalogue (issue 5): the full art. 35 record of each service and
-- its versions, what each organisation publishes about itself, and the
-- phases, approvals and supplier calls of tickets. The desk's `services`
-- row stays the identity of a service; service_details adds the rest.
-- Times are Unix microseconds (UTC); JSON columns hold the catalog
-- package's types.

-- An organisation's publication data (catalog.OrgInfo) and smart-working
-- criteria (a JSON list of catalog.Criterion; '' means the default a–g).
CREATE TABLE catalogue_orgs (
    org_id      INTEGER PRIMARY KEY REFERENCES orgs(id),
    version     INTEGER NOT NULL,
    info        TEXT NOT NULL,
    criteria    TEXT NOT NULL DEFAULT '',
    updated_at  BIGINT NOT NULL,
    updated_by  INTEGER REFERENCES users(id)
);

-- Every version of catalogue_orgs, append-only.
CREATE TABLE catalogue_org_versions (
    org_id      INTEGER NOT NULL REFERENCES orgs(id),
    version     INTEGER NOT NULL,
    info        TEXT NOT NULL,
    criteria    TEXT NOT NULL DEFAULT '',
    changed_at  BIGINT NOT NULL,
    changed_by  INTEGER REFERENCES users(id),
    PRIMARY KEY (org_id, version)
);

-- The current full record of a service (catalog.Service as JSON) and its
-- place in the published catalogue.
CREATE TABLE service_details (
    service_id  INTEGER PRIMARY KEY REFERENCES services(id),
    position    INTEGER NOT NULL,
    version     INTEGER NOT NULL,
    data        TEXT NOT NULL,
    updated_at  BIGINT NOT NULL,
    updated_by  INTEGER REFERENCES users(id)
);

-- Every version of a service, append-only: who changed what, when.
-- `changed` lists the file-format keys that changed (comma-separated; empty
-- for the first version).
CREATE TABLE service_versions (
    service_id  INTEGER NOT NULL REFERENCES services(id),
    version     INTEGER NOT NULL,
    data        TEXT NOT NULL,
    changed     TEXT NOT NULL DEFAULT '',
    changed_at  BIGINT NOT NULL,
    changed_by  INTEGER REFERENCES users(id),
    PRIMARY KEY (service_id, version)
);

-- The phases of a ticket, copied from its service when they start, so that
-- later catalogue changes do not rewrite work in progress.
CREATE TABLE ticket_phases (
    ticket_id          INTEGER NOT NULL REFERENCES tickets(id),
    seq                INTEGER NOT NULL,
    code               TEXT NOT NULL,
    name               TEXT NOT NULL,
    kind               TEXT NOT NULL,
    requires_approval  BOOLEAN NOT NULL DEFAULT FALSE,
    supplier           BOOLEAN NOT NULL DEFAULT FALSE,
    state              TEXT NOT NULL CHECK (state IN ('pending', 'active', 'done', 'skipped', 'rejected')),
    started_at         BIGINT NOT NULL DEFAULT 0,
    done_at            BIGINT NOT NULL DEFAULT 0,
    done_by            INTEGER REFERENCES users(id),
    note               TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (ticket_id, seq),
    UNIQUE (ticket_id, code)
);

-- Approvers' decisions on approval gates, append-only (the audit trail).
CREATE TABLE approvals (
    id           INTEGER PRIMARY KEY,
    ticket_id    INTEGER NOT NULL REFERENCES tickets(id),
    phase_code   TEXT NOT NULL,
    decision     TEXT NOT NULL CHECK (decision IN ('approve', 'reject')),
    reason       TEXT NOT NULL DEFAULT '',
    approver_id  INTEGER REFERENCES users(id),
    decided_at   BIGINT NOT NULL
);
CREATE INDEX approvals_ticket ON approvals(ticket_id, id);

-- Calls to external suppliers: who, their reference, when called and
-- when resolved.
CREATE TABLE supplier_calls (
    id           INTEGER PRIMARY KEY,
    ticket_id    INTEGER NOT NULL REFERENCES tickets(id),
    phase_code   TEXT NOT NULL DEFAULT '',
    supplier     TEXT NOT NULL,
    contact      TEXT NOT NULL DEFAULT '',
    reference    TEXT NOT NULL DEFAULT '',
    notes        TEXT NOT NULL DEFAULT '',
    called_at    BIGINT NOT NULL,
    resolved_at  BIGINT NOT NULL DEFAULT 0,
    resolution   TEXT NOT NULL DEFAULT '',
    created_by   INTEGER REFERENCES users(id),
    resolved_by  INTEGER REFERENCES users(id)
);
CREATE INDEX supplier_calls_ticket ON supplier_calls(ticket_id, id);

CREATE TRIGGER service_versions_no_update BEFORE UPDATE ON service_versions
BEGIN SELECT RAISE(ABORT, 'service versions are immutable'); END;
CREATE TRIGGER service_versions_no_delete BEFORE DELETE ON service_versions
BEGIN SELECT RAISE(ABORT, 'service versions are immutable'); END;
CREATE TRIGGER catalogue_org_versions_no_update BEFORE UPDATE ON catalogue_org_versions
BEGIN SELECT RAISE(ABORT, 'catalogue versions are immutable'); END;
CREATE TRIGGER catalogue_org_versions_no_delete BEFORE DELETE ON catalogue_org_versions
BEGIN SELECT RAISE(ABORT, 'catalogue versions are immutable'); END;
CREATE TRIGGER approvals_no_update BEFORE UPDATE ON approvals
BEGIN SELECT RAISE(ABORT, 'approvals are immutable'); END;
CREATE TRIGGER approvals_no_delete BEFORE DELETE ON approvals
BEGIN SELECT RAISE(ABORT, 'approvals are immutable'); END;
