-- Issued licences per month of issue (Vancouver local date), with their average fee (CAD)
select
    year(issue_date) as issue_year,
    month(issue_date) as issue_month,
    count(*) as issued_licences,
    round(avg(fee_paid), 2) as avg_fee_paid,
    round(avg(number_of_employees), 1) as avg_employees
from licences
where status = 'Issued' and issue_date is not null
group by year(issue_date), month(issue_date)
order by issue_year asc, issue_month asc
