"""The dbt-labs MRR playbook's models as DuckDB SQL: an independent oracle for the billing functions.

Transcribed from https://github.com/dbt-labs/mrr-playbook at commit
f7921cf7f67e57e8eb1ce86dc16fa3a9e03cee94 (files ``models/utils/util_months.sql``,
``models/customer_revenue_by_month.sql``, ``models/customer_churn_month.sql`` and
``models/mrr.sql``), with the date spine macro of dbt_utils 0.8.0 (the version the
playbook's ``packages.yml`` pins: ``macros/datetime/date_spine.sql``). The SQL is kept as
written; only what DuckDB cannot read is changed, each change marked ``-- DuckDB:``:
``{{ ref('x') }}`` is the view ``x``; Snowflake's ``dateadd(month, 1, d)`` is
``d + interval 1 month``; ``dbt_utils.surrogate_key`` is the md5 it expands to; the date
spine's ``generate_series`` and ``dateadd`` macros are DuckDB's own. DuckDB, like
Snowflake, lets a select list use the aliases defined before it (``is_active`` in the
window functions, ``previous_month_mrr`` in ``mrr_change``).

The playbook's conventions, and how :func:`playbook_periods` maps our contract onto them
(the test transforms the *input*; neither side's logic is changed):

* *Active in a month*: the playbook takes a subscription as active in month M when
  ``start_date <= first day of M < end_date``, and its seed checks that every date is a
  first of month. Our contract asks for the *last* day of M. For any start and end,
  ``start <= last day of M < end`` holds exactly for the months from month(start) to
  month(end) - 1, which is the playbook's rule on the first days of those months: so each
  date goes in truncated to its month's first day.
* *One subscription at a time*: the playbook's ``mutually_exclusive_ranges`` test requires
  a customer's periods not to overlap (its left join would otherwise give two rows for one
  customer and month). Our contract sums overlapping subscriptions, so a customer's months
  are cut at every start and end, and each piece becomes one period whose monthly_amount is
  the sum of the subscriptions covering it (``amount / interval`` each). Pieces of 0 are
  left out: the playbook's customer spine runs to the month of the last end date, and a
  trailing period of 0 would stretch it past the month after the last active one, where
  ``customer_churn_month`` adds its churn row a second time.
* *Date spine and running subscriptions*: the playbook's ``util_months`` runs from a fixed
  first month to the current month (exclusive), and a customer's months run from its first
  start to the month of its last end; an empty end_date is ignored by ``max(end_date)``.
  Our table is a window of ``months`` months from ``first_month``. So the spine is the
  window, and every period is clipped to it, a running one ending on the first day after
  the window: the playbook's churn rows for the month after the window are then dropped.
* *First month and reactivation*: the playbook calls a customer's first active month ever
  "new" and later returns "reactivation"; our table knows only the window, so a customer
  who paid before the window and returns inside it is new there. Clipping the periods to
  the window gives the playbook the same history. The playbook's rows of the window's
  first month (everyone there is "new") have no step in ``MRR_MOVEMENTS``: the steps are
  compared from the second month on.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

EXCEL_EPOCH = dt.date(1899, 12, 30)

# models/utils/util_months.sql: dbt_utils.date_spine(datepart="month", start_date=..., end_date=...)
# expanded as dbt_utils 0.8.0 default__date_spine; {start} and {end} are SQL expressions.
UTIL_MONTHS = """
with rawdata as (

    -- DuckDB: dbt_utils.generate_series(get_intervals_between(start, end, 'month')) gives 1 .. n
    select generate_series as generated_number
    from generate_series(1, datediff('month', {start}, {end}))

),

all_periods as (

    select (
        -- DuckDB: dbt_utils.dateadd(month, row_number() over (order by 1) - 1, start_date)
        {start} + to_months(cast(row_number() over (order by 1) - 1 as integer))
    )::date as date_month
    from rawdata

),

filtered as (

    select *
    from all_periods
    where date_month <= {end}

)

select * from filtered
"""

CUSTOMER_REVENUE_BY_MONTH = """
with subscription_periods as (

    select * from subscription_periods -- DuckDB: {{ ref('subscription_periods') }}

),

months as (

    select * from util_months -- DuckDB: {{ ref('util_months') }}

),

-- determine when a given account had its first and last (or most recent) month
customers as (

    select
        customer_id,
        date_trunc('month', min(start_date)) as date_month_start,
        date_trunc('month', max(end_date)) as date_month_end

    from subscription_periods

    group by 1

),

-- create one record per month between a customer's first and last month
-- (example of a date spine)
customer_months as (

    select
        customers.customer_id,
        months.date_month

    from customers

    inner join months
        -- all months after start date
        on  months.date_month >= customers.date_month_start
        -- and before end date
        and months.date_month < customers.date_month_end

),

-- join the account-month spine to MRR base model, pulling through most recent dates
-- and plan info for month rows that have no invoices (i.e. churns)
joined as (

    select
        customer_months.date_month,
        customer_months.customer_id,
        coalesce(subscription_periods.monthly_amount, 0) as mrr

    from customer_months

    left join subscription_periods
        on customer_months.customer_id = subscription_periods.customer_id
        -- month is after a subscription start date
        and customer_months.date_month >= subscription_periods.start_date
        -- month is before a subscription end date (and handle null case)
        and (customer_months.date_month < subscription_periods.end_date
                or subscription_periods.end_date is null)

),

final as (

    select
        date_month,
        customer_id,
        mrr,

        mrr > 0 as is_active,

        -- calculate first and last months
        min(case when is_active then date_month end) over (
            partition by customer_id
        ) as first_active_month,

        max(case when is_active then date_month end) over (
            partition by customer_id
        ) as last_active_month,

        -- calculate if this record is the first or last month
        first_active_month = date_month as is_first_month,
        last_active_month = date_month as is_last_month

    from joined

)

select * from final
"""

CUSTOMER_CHURN_MONTH = """
with mrr as (

    select * from customer_revenue_by_month -- DuckDB: {{ ref('customer_revenue_by_month') }}

),

-- row for month *after* last month of activity
joined as (

    select
        (date_month + interval 1 month)::date as date_month, -- DuckDB: dateadd(month, 1, date_month)::date
        customer_id,
        0::float as mrr,
        false as is_active,
        first_active_month,
        last_active_month,
        false as is_first_month,
        false as is_last_month

    from mrr

    where is_last_month

)

select * from joined
"""

MRR = """
with unioned as (

    select * from customer_revenue_by_month -- DuckDB: {{ ref('customer_revenue_by_month') }}

    union all

    select * from customer_churn_month -- DuckDB: {{ ref('customer_churn_month') }}

),

-- get prior month MRR and calculate MRR change
mrr_with_changes as (

    select
        *,

        coalesce(
            lag(is_active) over (partition by customer_id order by date_month),
            false
        ) as previous_month_is_active,

        coalesce(
            lag(mrr) over (partition by customer_id order by date_month),
            0
        ) as previous_month_mrr,

        mrr - previous_month_mrr as mrr_change

    from unioned

),

-- classify months as new, churn, reactivation, upgrade, downgrade (or null)
-- also add an ID column
final as (

    select
        -- DuckDB: {{ dbt_utils.surrogate_key('date_month', 'customer_id') }}
        md5(cast(coalesce(cast(date_month as varchar), '') || '-' || coalesce(cast(customer_id as varchar), '') as varchar)) as id,

        *,

        case
            when is_first_month
                then 'new'
            when not(is_active) and previous_month_is_active
                then 'churn'
            when is_active and not(previous_month_is_active)
                then 'reactivation'
            when mrr_change > 0 then 'upgrade'
            when mrr_change < 0 then 'downgrade'
        end as change_category,

        least(mrr, previous_month_mrr) as renewal_amount

    from mrr_with_changes

)

select * from final
"""

# The playbook's categories in the column order of MRR_MOVEMENTS.
CATEGORIES = ("new", "upgrade", "reactivation", "downgrade", "churn")


def load_periods(con, frame: pd.DataFrame) -> None:
    """The seed table ``subscription_periods``, typed as dbt seeds it (an empty one too)."""
    con.execute(
        """
        create or replace table subscription_periods (
            subscription_id integer, customer_id varchar, start_date date, end_date date, monthly_amount double
        )
        """
    )
    con.register("periods_frame", frame)
    con.execute("insert into subscription_periods select * from periods_frame")
    con.unregister("periods_frame")


def create_models(con, spine_start: str, spine_end: str) -> None:
    """Create the playbook's models as views over the table ``subscription_periods``.

    ``spine_start`` and ``spine_end`` are SQL expressions for the date spine's
    ``start_date`` and ``end_date`` (the playbook's are ``'2018-01-01'`` and
    ``date_trunc('month', current_date)``).
    """
    con.execute("create or replace temp view util_months as " + UTIL_MONTHS.format(start=spine_start, end=spine_end))
    con.execute("create or replace temp view customer_revenue_by_month as " + CUSTOMER_REVENUE_BY_MONTH)
    con.execute("create or replace temp view customer_churn_month as " + CUSTOMER_CHURN_MONTH)
    con.execute("create or replace temp view mrr as " + MRR)


def month_number(day: dt.date) -> int:
    return day.year * 12 + day.month - 1


def month_day(number: int) -> dt.date:
    return dt.date(number // 12, number % 12 + 1, 1)


def serial_day(serial: float) -> dt.date:
    """The day of an Excel serial from 61 (1900-03-01) on, time of day dropped."""
    return EXCEL_EPOCH + dt.timedelta(days=int(serial // 1))


def customer_key(customer) -> str:
    """One key per customer as the contract defines them: text ignoring case, numbers apart."""
    return f"text:{customer.casefold()}" if isinstance(customer, str) else f"number:{float(customer)!r}"


def playbook_periods(rows, first: int, last: int) -> pd.DataFrame:
    """Our billing rows as the playbook's ``subscription_periods`` over months first .. last.

    ``rows`` are (customer, start serial, end serial or None, amount, interval); months are
    :func:`month_number` values. See the module docstring for each step.
    """
    pieces: dict[str, list[tuple[int, int, float]]] = {}
    for customer, start, end, amount, interval in rows:
        begin = max(month_number(serial_day(start)), first)  # first of its first month, clipped
        stop = last + 1 if end is None else min(month_number(serial_day(end)), last + 1)
        if begin < stop:
            pieces.setdefault(customer_key(customer), []).append((begin, stop, amount / interval))
    periods = []
    for key, subscriptions in pieces.items():
        cuts = sorted({m for begin, stop, _ in subscriptions for m in (begin, stop)})
        for lo, hi in zip(cuts, cuts[1:]):
            monthly = sum(rate for begin, stop, rate in subscriptions if begin <= lo and hi <= stop)
            if monthly > 0:
                periods.append((key, month_day(lo), month_day(hi), monthly))
    frame = pd.DataFrame(periods, columns=["customer_id", "start_date", "end_date", "monthly_amount"])
    frame.insert(0, "subscription_id", range(1, len(frame) + 1))
    return frame.astype({"customer_id": str, "monthly_amount": float})


def movements_by_month(con, first_day: dt.date, last_day: dt.date) -> pd.DataFrame:
    """Sum of mrr_change and number of rows per month and change_category, months in the window."""
    return con.execute(
        """
        select date_month, change_category, sum(mrr_change) as amount, count(*) as customers
        from mrr
        where change_category is not null and date_month between ? and ?
        group by all
        """,
        [first_day, last_day],
    ).df()
