-- Expenses relative to remuneration by department in the latest year: CAD of expenses per 100 CAD paid
select
    department,
    round(sum(expenses), 2) as total_expenses,
    round(sum(remuneration), 2) as total_remuneration,
    round(100 * (cast(sum(expenses) as double) / sum(remuneration)), 3) as expenses_per_100
from remuneration
where year = (select max(year) from remuneration)
group by department
order by expenses_per_100 desc, department asc
