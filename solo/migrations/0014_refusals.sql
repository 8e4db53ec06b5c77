-- The last incoming activities refused at the inbox or ignored by the ingress worker, with why,
-- for `solo queue` (a few hundred rows at most: the oldest go as new ones come).
CREATE TABLE refusals (
    id          INTEGER PRIMARY KEY,
    at          REAL NOT NULL,
    sender      TEXT NOT NULL,     -- the activity's actor, else the keyId, else the client address
    type        TEXT NOT NULL,     -- the activity's type, '' when the body could not be read
    status      INTEGER,           -- the inbox's answer (400, 401, 403…); NULL: ignored by the worker
    reason      TEXT NOT NULL
);
