-- Committed blocks (DESIGN §5): a superset of the seed's schema. `tx_count` lets the feed and the
-- HTTP API serve a block's summary without decoding `payload_data` on the supervisor thread.
CREATE TABLE payloads (
  block_number  BIGINT PRIMARY KEY,
  block_hash    TEXT UNIQUE NOT NULL,
  parent_hash   TEXT NOT NULL,
  payload_data  BYTEA NOT NULL,
  requests_data BYTEA NOT NULL,
  timestamp     BIGINT NOT NULL,
  tx_count      INTEGER NOT NULL CHECK (tx_count >= 0),
  epoch         BIGINT NOT NULL,
  leader        TEXT NOT NULL,
  created_at    TIMESTAMPTZ DEFAULT now()
);
