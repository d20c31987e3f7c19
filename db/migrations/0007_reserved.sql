-- Placeholder for migration 0007, which another branch (sign-in lockout)
-- adds. The migration runner requires versions 1, 2, 3... without a gap, so
-- 0008 cannot be applied without a 0007. Drop this file when that branch's
-- 0007 is merged; never ship it: a database that recorded this version
-- would skip the real 0007.
SELECT 1;
