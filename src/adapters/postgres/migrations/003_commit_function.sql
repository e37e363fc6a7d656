-- The fenced commit of DESIGN §4 as one function, so a commit is one statement and one round trip
-- instead of a transaction of four: lock the fence row, refuse a stale epoch, raise the fence,
-- accept an identical row as an idempotent retry, refuse another block at the height or one that
-- does not extend row n-1, insert. A refusal raises, so the statement (and the fence raise with it)
-- rolls back, exactly as the transaction did. The client maps the SQLSTATEs:
--   BT001 stale epoch (DETAIL: the fence's epoch), BT002 height taken (DETAIL: the committed hash),
--   BT003 parent mismatch (DETAIL: the stored hash at n-1, empty if none), 23505 the hash is
--   committed at another height.
-- Returns true when the row was inserted, false for an identical retry.
CREATE FUNCTION baton_commit_block(
  p_number bigint, p_hash text, p_parent text, p_payload bytea, p_requests bytea,
  p_timestamp bigint, p_tx_count integer, p_epoch bigint, p_leader text
) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
  fenced bigint;
  committed text;
  parent text;
BEGIN
  SELECT epoch INTO fenced FROM fence WHERE id = 1 FOR UPDATE;
  IF fenced IS NULL THEN
    RAISE EXCEPTION 'fence row missing: run the migrations first';
  END IF;
  IF fenced > p_epoch THEN
    RAISE EXCEPTION USING ERRCODE = 'BT001', MESSAGE = 'stale epoch', DETAIL = fenced::text;
  END IF;
  IF fenced < p_epoch THEN
    UPDATE fence SET epoch = p_epoch WHERE id = 1;
  END IF;
  SELECT block_hash INTO committed FROM payloads WHERE block_number = p_number;
  IF committed IS NOT NULL THEN
    IF committed = p_hash THEN
      RETURN false;
    END IF;
    RAISE EXCEPTION USING ERRCODE = 'BT002', MESSAGE = 'height taken', DETAIL = committed;
  END IF;
  SELECT block_hash INTO parent FROM payloads WHERE block_number = p_number - 1;
  IF (parent IS NULL AND EXISTS (SELECT 1 FROM payloads)) OR parent <> p_parent THEN
    RAISE EXCEPTION USING ERRCODE = 'BT003', MESSAGE = 'parent mismatch', DETAIL = coalesce(parent, '');
  END IF;
  INSERT INTO payloads (block_number, block_hash, parent_hash, payload_data, requests_data, timestamp, tx_count, epoch, leader)
  VALUES (p_number, p_hash, p_parent, p_payload, p_requests, p_timestamp, p_tx_count, p_epoch, p_leader);
  RETURN true;
END
$$;
