-- Every gallery page lists the team's members for its member filter, 50
-- rows read and sorted on every request for a list that changes when a
-- member is added. users_version counts the changes to what that list
-- shows (a user added or removed, a name or email changed), kept by
-- triggers in the same transaction as the change, whichever process makes
-- it; db.GalleryMembers reads this one row and reuses its list until the
-- count moves.
CREATE TABLE users_version (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    n  INTEGER NOT NULL
) STRICT;

INSERT INTO users_version (id, n) VALUES (1, 0);

CREATE TRIGGER users_version_insert AFTER INSERT ON users
BEGIN
    UPDATE users_version SET n = n + 1 WHERE id = 1;
END;

CREATE TRIGGER users_version_update AFTER UPDATE OF id, name, email ON users
BEGIN
    UPDATE users_version SET n = n + 1 WHERE id = 1;
END;

CREATE TRIGGER users_version_delete AFTER DELETE ON users
BEGIN
    UPDATE users_version SET n = n + 1 WHERE id = 1;
END;
