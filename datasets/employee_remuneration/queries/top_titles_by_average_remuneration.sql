-- The ten titles with the highest average remuneration (CAD) in the latest year
select
    title,
    count(*) as headcount,
    round(avg(cast(remuneration as decimal(12, 2))), 2) as avg_remuneration
from remuneration
where year = (select max(year) from remuneration)
group by title
order by avg_remuneration desc, title asc
limit 10
