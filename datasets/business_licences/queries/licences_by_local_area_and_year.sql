-- Licences per local area and year, with how many are issued and their average fee (CAD)
select
    coalesce(local_area, '(unknown)') as local_area,
    year,
    count(*) as licences,
    count_if(status = 'Issued') as issued_licences,
    round(avg(fee_paid), 2) as avg_fee_paid
from licences
group by coalesce(local_area, '(unknown)'), year
order by local_area asc, year asc
