CREATE TABLE t (id int);
CREATE FUNCTION f() RETURNS int AS $body$
  SELECT 1;
-- the closing $body$ never comes
