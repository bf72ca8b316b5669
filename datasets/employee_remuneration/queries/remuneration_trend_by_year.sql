-- Headcount and average remuneration (CAD) by year, oldest first
select
    year,
    count(*) as headcount,
    round(avg(cast(remuneration as decimal(12, 2))), 2) as avg_remuneration
from remuneration
group by year
order by year asc
