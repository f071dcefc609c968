-- Web UI log-in sessions (package web). The key is a keyed hash of the
-- cookie's token, never the token itself; data is the session manager's
-- encoding. Kept in the database so that replicas are stateless.
CREATE TABLE web_sessions (
    key         TEXT PRIMARY KEY,
    data        BYTEA NOT NULL,
    expires_at  BIGINT NOT NULL
);
CREATE INDEX web_sessions_expires ON web_sessions(expires_at);
