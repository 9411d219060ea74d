-- A Distributed Map's child workflow executions (STANDARD): rows of their own, with
-- their own history, found by their Map Run. They are never resumed on their own (their
-- state lives in the parent's), so they keep no engine state.
ALTER TABLE executions ADD COLUMN map_run_arn TEXT;
ALTER TABLE executions ADD COLUMN item_count INTEGER;
CREATE INDEX executions_map_run ON executions (map_run_arn, id) WHERE map_run_arn IS NOT NULL;
