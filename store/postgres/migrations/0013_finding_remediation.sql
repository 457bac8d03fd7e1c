-- The remediation of a finding's latest raise
-- (meridian.FindingRecord.Remediation): live findings are raised by audits,
-- not plans, so the plan cannot supply it; the findings API, the dashboard
-- and finding alerts read it from the record.
ALTER TABLE finding_records ADD COLUMN remediation TEXT NOT NULL DEFAULT '';
