-- Tenancy: memberships give users access beyond their home organisation
-- (an agent assigned to queues, or to an organisation and its
-- descendants; a requester allowed to see their organisation's requests;
-- an approver's services; an administrator of further organisations).
-- See desk/policy.go for what each kind of row means.
CREATE TABLE memberships (
    id          INTEGER PRIMARY KEY,
    user_id     INTEGER NOT NULL REFERENCES users(id),
    org_id      INTEGER NOT NULL REFERENCES orgs(id),
    queue_id    INTEGER REFERENCES queues(id),
    service_id  INTEGER REFERENCES services(id),
    subtree     BOOLEAN NOT NULL DEFAULT FALSE,
    created_at  BIGINT NOT NULL
);
CREATE UNIQUE INDEX memberships_unique ON memberships(user_id, org_id, COALESCE(queue_id, 0), COALESCE(service_id, 0));
CREATE INDEX memberships_org ON memberships(org_id);

-- Descendants of an organisation are found by walking parent_id.
CREATE INDEX orgs_parent ON orgs(parent_id);

-- API tokens carry scopes (space-separated: read, write, admin); tokens
-- made before scopes existed keep every scope.
ALTER TABLE api_tokens ADD COLUMN scopes TEXT NOT NULL DEFAULT 'read write admin';
