-- The X-Ray trace header passed to StartExecution (the X-Amzn-Trace-Id header or the
-- body's traceHeader), shown by DescribeExecution; NULL when none was passed.
ALTER TABLE executions ADD COLUMN trace_header TEXT;
