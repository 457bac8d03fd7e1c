-- A live finding's resource ID or ARN (meridian.FindingRecord.Resource):
-- the findings API shows it, and the server's plans read the open live
-- findings back from these records to hold their workloads.
ALTER TABLE finding_records ADD COLUMN resource TEXT NOT NULL DEFAULT '';
