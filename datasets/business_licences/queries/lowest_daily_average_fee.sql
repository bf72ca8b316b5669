-- The lowest daily average fee (CAD) in the summary, with its issue date (earliest day on a tie)
select
    issue_date,
    round(avg_fee_paid, 2) as avg_fee_paid,
    licence_count
from licence_summary
where avg_fee_paid is not null
order by avg_fee_paid asc, issue_date asc
limit 1
