-- The fencing row (DESIGN §4): the highest leader epoch that has ever committed. Every commit
-- locks this single row, so commits are serialised and a stale leader is refused.
CREATE TABLE fence (
  id    SMALLINT PRIMARY KEY CHECK (id = 1),
  epoch BIGINT NOT NULL CHECK (epoch >= 0)
);
INSERT INTO fence (id, epoch) VALUES (1, 0);
