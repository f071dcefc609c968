-- Web UI I (issue 6): the values of a ticket's service fields, and the
-- agents' saved views of the ticket list.

-- The values of a ticket's service fields (a JSON list of desk.FieldValue,
-- with the labels they were entered under), written once at registration.
CREATE TABLE ticket_fields (
    ticket_id  INTEGER PRIMARY KEY REFERENCES tickets(id),
    data       TEXT NOT NULL
);

-- Saved views: a named filter of the workspace list (its query string).
-- owner_id NULL: shared with the whole organisation.
CREATE TABLE saved_views (
    id          INTEGER PRIMARY KEY,
    org_id      INTEGER NOT NULL REFERENCES orgs(id),
    owner_id    INTEGER REFERENCES users(id),
    name        TEXT NOT NULL,
    query       TEXT NOT NULL,
    created_by  INTEGER REFERENCES users(id),
    created_at  BIGINT NOT NULL
);
CREATE INDEX saved_views_org ON saved_views(org_id, owner_id);

-- The approval gates waiting for a decision, for the approvers' list: only
-- active gates are in the index, however many tickets there are.
CREATE INDEX ticket_phases_gates ON ticket_phases(started_at, ticket_id) WHERE state = 'active' AND requires_approval;

-- Maintained counters of tickets by organisation, queue, service, assignee
-- and status (0: none), so that the counts of the agents' saved views never
-- scan tickets. Written beside ticket_counts (same sharding); filled here
-- from the tickets already registered.
CREATE TABLE ticket_view_counts (
    org_id       INTEGER NOT NULL,
    queue_id     INTEGER NOT NULL,
    service_id   INTEGER NOT NULL,
    assignee_id  INTEGER NOT NULL,
    status       TEXT NOT NULL,
    shard        INTEGER NOT NULL,
    n            BIGINT NOT NULL,
    PRIMARY KEY (org_id, queue_id, service_id, assignee_id, status, shard)
);
CREATE INDEX ticket_view_counts_assignee ON ticket_view_counts(org_id, assignee_id, status);
CREATE INDEX ticket_view_counts_service ON ticket_view_counts(org_id, service_id, status);
INSERT INTO ticket_view_counts (org_id, queue_id, service_id, assignee_id, status, shard, n)
    SELECT org_id, COALESCE(queue_id, 0), COALESCE(service_id, 0), COALESCE(assignee_id, 0), status, 0, COUNT(*)
    FROM tickets GROUP BY org_id, COALESCE(queue_id, 0), COALESCE(service_id, 0), COALESCE(assignee_id, 0), status;

-- The ticket list sorted by last update: within an organisation (the
-- agents' scope), and across them (installation administrators).
CREATE INDEX tickets_org_updated ON tickets(org_id, updated_at, id);
CREATE INDEX tickets_updated ON tickets(updated_at, id);

-- The ticket list sorted by priority: one range per priority, newest first
-- (and per status when the list filters several, such as the open ones).
CREATE INDEX tickets_priority ON tickets(priority, id);
CREATE INDEX tickets_priority_status ON tickets(priority, status, id);
