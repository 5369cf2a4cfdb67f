CREATE TABLE accounts (id integer PRIMARY KEY, name text NOT NULL);
CREATE TABLE ledger (id integer PRIMARY KEY, account_id integer REFERENCES accounts, cents integer NOT NULL);
