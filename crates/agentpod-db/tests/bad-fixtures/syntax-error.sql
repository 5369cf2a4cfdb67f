-- Three good statements, then a typo on line 10.
create table notes (id integer primary key, body text);

insert into notes values (1, 'first; with a semicolon');
insert into notes values (2, $$dollar
quoted; body$$);

select id
  from notes where id in (
    selec 1
  );
