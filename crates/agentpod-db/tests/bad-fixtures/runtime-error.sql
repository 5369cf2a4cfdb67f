create table ledger (id integer primary key, amount integer not null);
insert into ledger values (1, 10);
insert into ledger values (2, 20);

-- No position from Postgres here: the error must point at the statement's first line.
insert into ledger
values (1, 30);
