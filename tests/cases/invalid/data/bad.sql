-- A fixture with a mistake on line 7.
CREATE TABLE accounts (
    id   integer PRIMARY KEY,
    name text NOT NULL
);

INSERT INTO acounts (id, name) VALUES (1, 'first');
