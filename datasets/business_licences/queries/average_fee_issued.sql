-- Average fee paid (CAD) for issued licences, over the licences whose fee is known
select
    round(avg(fee_paid), 2) as avg_fee_paid,
    count(fee_paid) as licences_with_fee,
    count(*) as issued_licences
from licences
where status = 'Issued'
