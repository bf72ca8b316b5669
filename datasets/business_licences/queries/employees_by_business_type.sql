-- Average number of employees by business type, largest first
select
    coalesce(business_type, '(unknown)') as business_type,
    count(*) as licences,
    round(avg(number_of_employees), 1) as avg_employees,
    max(number_of_employees) as max_employees
from licences
group by coalesce(business_type, '(unknown)')
order by avg_employees desc, business_type asc
