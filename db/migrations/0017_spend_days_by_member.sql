-- A member's spend over any run of kept days in two index seeks, however
-- many days: each member-day row also holds the member's running total
-- through the end of that day (through), so what they spent in
-- [a, b) is their last through before b minus their last through before a.
-- The overview picks its top spenders over 90 days, and sums every
-- member's month, from 2 x 200 seeks instead of adding up 18,000 (or
-- 5,000) day rows. The trigger keeps through with credits in the same
-- statement as the charge; a charge dated before a member's later days
-- (a clock set back) moves those days' totals too.
ALTER TABLE spend_by_day_member ADD COLUMN through INTEGER NOT NULL DEFAULT 0;

UPDATE spend_by_day_member AS s SET through = c.through
FROM (SELECT day, user_id, SUM(credits) OVER (PARTITION BY user_id ORDER BY day) AS through FROM spend_by_day_member) AS c
WHERE c.day = s.day AND c.user_id = s.user_id;

-- One member's days, newest first from any day: the seek above, and
-- their days for a chart.
CREATE INDEX spend_by_day_member_user ON spend_by_day_member (user_id, day, through, credits);

DROP TRIGGER spend_by_day_charge;

CREATE TRIGGER spend_by_day_charge AFTER INSERT ON ledger WHEN NEW.kind = 'charge' AND NEW.amount <> 0
BEGIN
    INSERT INTO spend_by_day_resolution (day, resolution, credits)
        SELECT d.start, COALESCE((SELECT resolution FROM jobs WHERE id = NEW.job_id), ''), -NEW.amount
        FROM spend_days d
        WHERE d.start = (SELECT MAX(start) FROM spend_days WHERE start <= NEW.created_at) AND d.end > NEW.created_at
        ON CONFLICT (day, resolution) DO UPDATE SET credits = credits + excluded.credits;
    INSERT INTO spend_by_day_member (day, user_id, credits, through)
        SELECT d.start, NEW.user_id, -NEW.amount, -NEW.amount + COALESCE((SELECT p.through FROM spend_by_day_member p
            WHERE p.user_id = NEW.user_id AND p.day < d.start ORDER BY p.day DESC LIMIT 1), 0)
        FROM spend_days d
        WHERE d.start = (SELECT MAX(start) FROM spend_days WHERE start <= NEW.created_at) AND d.end > NEW.created_at
        ON CONFLICT (day, user_id) DO UPDATE SET credits = credits + excluded.credits, through = through + excluded.credits;
    -- The member's later days, if any (none unless the charge is dated
    -- before them): only for a charge summed above, in a kept day.
    UPDATE spend_by_day_member SET through = through - NEW.amount
        WHERE user_id = NEW.user_id
          AND day > (SELECT d.start FROM spend_days d
                     WHERE d.start = (SELECT MAX(start) FROM spend_days WHERE start <= NEW.created_at) AND d.end > NEW.created_at);
END;
