-- Average remuneration (CAD) and headcount by department in the latest year, highest first
select
    year,
    department,
    count(*) as headcount,
    round(avg(cast(remuneration as decimal(12, 2))), 2) as avg_remuneration
from remuneration
where year = (select max(year) from remuneration)
group by year, department
order by avg_remuneration desc, department asc
