-- Step Functions Local's mock test case an execution was started with
-- ("stateMachineArn#TestCase"): kept so that after a restart its remaining Tasks are
-- still answered from the mock configuration, never by the real services.
ALTER TABLE executions ADD COLUMN test_case TEXT;
