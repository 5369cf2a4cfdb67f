create table tallies (id integer primary key, total integer);

create function bump(tally integer) returns void
language plpgsql as $$
begin
    update tallies
       set total = total + 1
     wher id = tally;
end;
$$;
