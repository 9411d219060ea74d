-- RedriveExecution: how often an execution was redriven, and when last. The engine state
-- of a FAILED, TIMED_OUT or ABORTED execution is kept (not NULLed) so it can be redriven.
ALTER TABLE executions ADD COLUMN redrive_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE executions ADD COLUMN redrive_date REAL;
