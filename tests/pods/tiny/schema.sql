-- A tiny database for the end-to-end tests: a table the agent can count.
CREATE TABLE items (
    id   integer PRIMARY KEY,
    name text NOT NULL
);
