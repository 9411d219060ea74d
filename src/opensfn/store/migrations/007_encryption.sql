-- encryptionConfiguration of a state machine revision and of an activity, as the request
-- gave it (JSON; NULL when none was given). opensfn keeps data on its own disk or
-- database and holds no KMS keys: the configuration is kept and described, not applied.
ALTER TABLE revisions ADD COLUMN encryption TEXT;
ALTER TABLE activities ADD COLUMN encryption TEXT;
