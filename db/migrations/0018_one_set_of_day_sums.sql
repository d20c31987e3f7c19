-- One set of spend-by-day sums: migration 0014's, in the team's days
-- (spend_days), serves the overview, the members list and each member's
-- month so far. The UTC-day copy of 0013 and the trigger that kept it go.
DROP TRIGGER ledger_spend_days;
DROP TABLE member_spend_days;
