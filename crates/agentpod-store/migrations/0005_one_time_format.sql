-- One time format in every time column: RFC 3339 in UTC with exactly six fractional digits and a
-- `Z` (`2026-11-25T12:00:01.250000Z`; see `src/stored_time.rs`). Earlier versions wrote runs and
-- outcomes as `+00:00` with 0, 3, 6 or 9 fractional digits, model calls likewise, tool calls with
-- six digits and `Z`, and spans with nine: compared as text, such times do not sort as times.
--
-- Each distinct time text is rewritten once: its seconds in UTC (`strftime` applies any offset;
-- it is given the text without its fraction, which it would round to milliseconds and so could
-- carry into the next second), then its first six fractional digits (zeros added, further digits
-- dropped), then `Z`. A text SQLite cannot read as a time is left as it was: the store reports it
-- when read, as it did before.
CREATE TEMP TABLE old_times AS
    SELECT started_at AS old FROM runs
    UNION SELECT finished_at FROM runs WHERE finished_at IS NOT NULL
    UNION SELECT started_at FROM outcomes
    UNION SELECT started_at FROM steps WHERE started_at IS NOT NULL;

-- `rest`: what follows the seconds (`.123456789+00:00`, `Z`, ...); `zone`: the offset after the
-- fraction's digits.
CREATE TEMP TABLE time_parts AS
    SELECT old, rest,
        CASE WHEN substr(rest, 1, 1) = '.' THEN ltrim(substr(rest, 2), '0123456789')
             ELSE rest END AS zone
    FROM (SELECT old, substr(old, 20) AS rest FROM old_times);

CREATE TEMP TABLE new_times AS
    SELECT old, coalesce(
        strftime('%Y-%m-%dT%H:%M:%S', substr(old, 1, 19) || zone) || '.'
            || substr(CASE WHEN substr(rest, 1, 1) = '.'
                           THEN substr(rest, 2, length(rest) - 1 - length(zone))
                           ELSE '' END || '000000', 1, 6)
            || 'Z',
        old) AS new
    FROM time_parts;
-- Each row's lookup below must not scan the table: a store of a million steps would take hours.
CREATE INDEX new_times_old ON new_times(old);

UPDATE runs SET started_at = (SELECT new FROM new_times WHERE old = runs.started_at);
UPDATE runs SET finished_at = (SELECT new FROM new_times WHERE old = runs.finished_at)
    WHERE finished_at IS NOT NULL;
UPDATE outcomes SET started_at = (SELECT new FROM new_times WHERE old = outcomes.started_at);
UPDATE steps SET started_at = (SELECT new FROM new_times WHERE old = steps.started_at)
    WHERE started_at IS NOT NULL;

DROP TABLE new_times;
DROP TABLE time_parts;
DROP TABLE old_times;
