-- Ticket tags: the set is kept on the ticket (space-separated, sorted) for
-- display, and one row per tag in ticket_tags so that a list filtered by
-- tag walks an index instead of the tickets table.
ALTER TABLE tickets ADD COLUMN tags TEXT NOT NULL DEFAULT '';
CREATE TABLE ticket_tags (
    tag        TEXT NOT NULL,
    ticket_id  BIGINT NOT NULL REFERENCES tickets(id) ON DELETE CASCADE,
    PRIMARY KEY (tag, ticket_id)
);
CREATE INDEX ticket_tags_ticket ON ticket_tags(ticket_id);

-- Mailboxes: the folder processed mail is moved to after its ticket change
-- commits ('' keeps it in the folder read, marked \Seen).
ALTER TABLE mailboxes ADD COLUMN move_to TEXT NOT NULL DEFAULT '';
