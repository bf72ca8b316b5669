-- Expenses relative to remuneration by department in the latest year: CAD of expenses per 1,000 CAD paid
select
    department,
    sum(cast(expenses as decimal(12, 2))) as total_expenses,
    sum(cast(remuneration as decimal(12, 2))) as total_remuneration,
    round(
        1000 * (
            cast(sum(cast(expenses as decimal(12, 2))) as double)
            / cast(sum(cast(remuneration as decimal(12, 2))) as double)
        ),
        2
    ) as expenses_per_1000
from remuneration
where year = (select max(year) from remuneration)
group by department
order by expenses_per_1000 desc, department asc
