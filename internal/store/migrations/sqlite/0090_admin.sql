-- Administration and dashboards (issue 7).
--
-- stat_open counts tickets by their current organisation, status, channel,
-- service and queue; stat_daily counts, per day (Europe/Rome calendar day as
-- YYYYMMDD) and per organisation, channel, service and queue, the tickets
-- opened, taken in charge (left "new") and resolved, with the sums of the
-- seconds those took. Both are maintained by the store in the same
-- transaction as the ticket change, so dashboards never count tickets.
-- shard spreads hot rows on PostgreSQL; SQLite always writes shard 0.
CREATE TABLE stat_open (
    org_id      INTEGER NOT NULL,
    status      TEXT NOT NULL,
    channel     TEXT NOT NULL,
    service_id  INTEGER NOT NULL,
    queue_id    INTEGER NOT NULL,
    shard       INTEGER NOT NULL,
    n           BIGINT NOT NULL,
    PRIMARY KEY (org_id, status, channel, service_id, queue_id, shard)
);

CREATE TABLE stat_daily (
    org_id          INTEGER NOT NULL,
    day             INTEGER NOT NULL,
    channel         TEXT NOT NULL,
    service_id      INTEGER NOT NULL,
    queue_id        INTEGER NOT NULL,
    shard           INTEGER NOT NULL,
    opened          BIGINT NOT NULL DEFAULT 0,
    responded       BIGINT NOT NULL DEFAULT 0,
    resolved        BIGINT NOT NULL DEFAULT 0,
    response_secs   BIGINT NOT NULL DEFAULT 0,
    resolution_secs BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (org_id, day, channel, service_id, queue_id, shard)
);
-- Installation-wide dashboards read a range of days across organisations.
CREATE INDEX stat_daily_day ON stat_daily(day);

-- Canned answers: ready-made replies agents start from, per organisation.
CREATE TABLE canned_answers (
    id          INTEGER PRIMARY KEY,
    org_id      INTEGER NOT NULL REFERENCES orgs(id),
    code        TEXT NOT NULL,
    title       TEXT NOT NULL,
    body        TEXT NOT NULL,
    updated_at  BIGINT NOT NULL,
    UNIQUE (org_id, code)
);

-- Back-fill from the tickets already registered. SQLite has no time zones:
-- days of past tickets are taken at UTC+1 (new changes use Europe/Rome).
INSERT INTO stat_open (org_id, status, channel, service_id, queue_id, shard, n)
SELECT org_id, status, channel, COALESCE(service_id, 0), COALESCE(queue_id, 0), 0, COUNT(*)
FROM tickets GROUP BY org_id, status, channel, COALESCE(service_id, 0), COALESCE(queue_id, 0);

INSERT INTO stat_daily (org_id, day, channel, service_id, queue_id, shard, opened)
SELECT org_id, CAST(strftime('%Y%m%d', created_at / 1000000, 'unixepoch', '+1 hours') AS INTEGER), channel,
       COALESCE(service_id, 0), COALESCE(queue_id, 0), 0, COUNT(*)
FROM tickets GROUP BY 1, 2, 3, 4, 5;

INSERT INTO stat_daily (org_id, day, channel, service_id, queue_id, shard, resolved, resolution_secs)
SELECT org_id, CAST(strftime('%Y%m%d', resolved_at / 1000000, 'unixepoch', '+1 hours') AS INTEGER), channel,
       COALESCE(service_id, 0), COALESCE(queue_id, 0), 0, COUNT(*), SUM(MAX(resolved_at - created_at, 0) / 1000000)
FROM tickets WHERE resolved_at <> 0 GROUP BY 1, 2, 3, 4, 5
ON CONFLICT (org_id, day, channel, service_id, queue_id, shard)
DO UPDATE SET resolved = excluded.resolved, resolution_secs = excluded.resolution_secs;

INSERT INTO stat_daily (org_id, day, channel, service_id, queue_id, shard, responded, response_secs)
SELECT t.org_id, CAST(strftime('%Y%m%d', e.at / 1000000, 'unixepoch', '+1 hours') AS INTEGER), t.channel,
       COALESCE(t.service_id, 0), COALESCE(t.queue_id, 0), 0, COUNT(*), SUM(MAX(e.at - t.created_at, 0) / 1000000)
FROM events e JOIN tickets t ON t.id = e.ticket_id
WHERE e.field = 'status' AND e.old_value = 'new' GROUP BY 1, 2, 3, 4, 5
ON CONFLICT (org_id, day, channel, service_id, queue_id, shard)
DO UPDATE SET responded = excluded.responded, response_secs = excluded.response_secs;
