"""The contract (the README's function reference), written here by hand, for the tests of every layer.

Nothing here is read from the registry: these tables check the registry and the code
against the contract's text.
"""

from __future__ import annotations

# Excel name -> [(argument, optional)], in contract order (the reference's headings).
SIGNATURES = {
    "CLV": [
        ("arpu", False),
        ("churn", False),
        ("margin", True),
        ("discount", True),
        ("periods", True),
        ("type", True),
    ],
    "LTV_CAC": [("ltv", False), ("cac", False)],
    "ARPU": [("revenue", False), ("customers", False)],
    "PAYBACK": [
        ("cac", False),
        ("arpu", False),
        ("margin", True),
        ("churn", True),
        ("discount", True),
        ("type", True),
    ],
    "CAC": [("spend", False), ("new_customers", False)],
    "RETENTION_COST": [("spend", False), ("customers", False)],
    "ONBOARDING_ROI": [("value_with", False), ("value_without", False), ("cost", False)],
    "NET_MRR": [
        ("new", False),
        ("expansion", False),
        ("contraction", False),
        ("churned", False),
        ("reactivation", True),
    ],
    "MRR_MOVEMENTS": [("mrr", False)],
    "CHURN_RATE": [("lost", False), ("at_start", False), ("new", True)],
    "NRR": [
        ("start_mrr", False),
        ("expansion", False),
        ("contraction", False),
        ("churned", False),
        ("reactivation", True),
    ],
    "GRR": [("start_mrr", False), ("contraction", False), ("churned", False)],
    "QUICK_RATIO": [
        ("new", False),
        ("expansion", False),
        ("contraction", False),
        ("churned", False),
        ("reactivation", True),
    ],
    "TTFV": [("start", False), ("first_value", False)],
    "HEALTH_SCORE": [("scores", False), ("weights", False)],
    "HEALTH_STATUS": [("score", False), ("red_below", True), ("green_from", True)],
    "SEGMENT": [("mrr", False), ("potential_mrr", False), ("vip_mrr", False), ("core_mrr", False)],
    "MRR_FROM_SUBS": [
        ("customer", False),
        ("start", False),
        ("end", False),
        ("amount", False),
        ("interval", True),
        ("first_month", True),
        ("months", True),
    ],
    "CUSTOMER_COUNTS": [("mrr", False)],
    "COHORT_RETENTION": [("mrr", False), ("measure", True)],
    "SBG_FIT": [("survivors", False)],
    "SBG_SURVIVAL": [("alpha", False), ("beta", False), ("t", False)],
    "SBG_CLV": [
        ("arpu", False),
        ("alpha", False),
        ("beta", False),
        ("margin", True),
        ("discount", True),
        ("renewals", True),
    ],
    "NPS": [("responses", False)],
    "CSAT": [("responses", False), ("scale", True)],
}

# (Excel name, arguments, expected): the contract's worked examples and the errors its
# definitions state. A list of lists is a range (or an array constant such as {280, 320});
# None is an empty cell.
MOVEMENTS_IN = [[100, 150, 150, 0], [0, 200, 100, 100], [50, 0, 0, 80], [0, 0, 0, 60]]
MOVEMENTS_OUT = [
    [200, 50, 0, 0, -50, 200],
    [0, 0, 0, -100, 0, -100],
    [60, 0, 80, 0, -150, -10],
]


class About(float):
    """A result the contract gives to fewer digits ("about {0.668088, 3.806095}")."""

    rel = 1e-6


COUNTS_OUT = [[2, 1, 0, -1, 2], [2, 0, 0, 0, 2], [2, 1, 1, -1, 3]]
NA_ = "#N/A"
COHORT_CUSTOMERS = [[1, 0.5, 0.5, 0.5], [1, 1, 1, NA_], [NA_, NA_, NA_, NA_], [1, NA_, NA_, NA_]]
COHORT_REVENUE = [[1, 1, 1, 0.5333333333], [1, 0.5, 0.5, NA_], [NA_, NA_, NA_, NA_], [1, NA_, NA_, NA_]]
# MRR_FROM_SUBS's example export: customer, start, end (exclusive, empty = running), amount, interval.
SUBS = (
    [["A"], ["B"], ["A"], ["C"]],
    [[45292], [45337], [45352], [45311]],  # 2024-01-01, 2024-02-15, 2024-03-01, 2024-01-20
    [[45383], [""], [None], [45332]],  # 2024-04-01, running, running, 2024-02-10
    [[100], [1200], [50], [30]],
    [[1], [12], [1], [1]],
)
SUBS_MRR = [[100, 100, 150], [0, 100, 100], [30, 0, 0]]
SUBS_MRR_5 = [[100, 100, 150, 50, 50], [0, 100, 100, 100, 100], [30, 0, 0, 0, 0]]
CONTRACT = [
    ("CLV", (35, 0.05), 700),
    ("CLV", (100, 0.02, 0.8), 4000),
    ("CLV", (35, 0, 1, 0, 12), 420),
    ("CLV", (100, 0.05, 1, 0.01), 1683.3333333333),
    ("CLV", (100, 0.05, 1, 0.01, 36), 1497.7023532574),
    ("CLV", (100, 0.05, 1, 0.01, None, 0), 1583.3333333333),
    ("CLV", (100, 0.05, 1, 0.01, 36, 0), 1408.7299362322),
    ("CLV", (35, 0.05, 1, 0, None, 2), "#NUM!"),  # a type other than 0 or 1
    ("CLV", (35, 0), "#DIV/0!"),
    ("CLV", (35, 1.2), "#NUM!"),
    ("LTV_CAC", (1500, 500), 3),
    ("LTV_CAC", (1500, 0), "#DIV/0!"),
    ("LTV_CAC", (-1500, 500), "#NUM!"),
    ("ARPU", (10500, [[280, 320]]), 35),
    ("PAYBACK", (420, 35), 12),
    ("PAYBACK", (1000, 100, 0.8), 12.5),
    ("PAYBACK", (1000, 100, 1, 0.05), 13.5134073340),
    ("PAYBACK", (1000, 100, 1, 0.05, 0.01), 14.7206904652),
    ("PAYBACK", (1000, 100, 1, 0.05, 0.01, 0), 16.3042084166),
    ("PAYBACK", (50, 100, 1, 1), 0.5),  # churn 1: one payment at the start covers it
    ("PAYBACK", (150, 100, 1, 1), "#NUM!"),  # ... or never
    ("PAYBACK", (50, 100, 1, 1, 0, 0), "#NUM!"),  # at the end: no payment ever comes
    ("PAYBACK", (0, 100, 1, 1, 0, 0), 0),
    ("PAYBACK", (1000, 100, 1, 0.1), "#NUM!"),
    ("PAYBACK", (1000, 0), "#DIV/0!"),
    ("CAC", (5000, 0), "#DIV/0!"),
    ("RETENTION_COST", (12000, 400), 30),
    ("RETENTION_COST", (12000, 0), "#DIV/0!"),
    ("RETENTION_COST", (12000, [[400, -1]]), "#NUM!"),  # a negative count
    ("ONBOARDING_ROI", (1000, 400, 0), "#DIV/0!"),
    ("ONBOARDING_ROI", (1000, 400, -5), "#NUM!"),
    ("NET_MRR", (1000, 500, 200, 300), 1000),
    ("NET_MRR", (1000, 500, -200, -300, 100), 1100),
    ("MRR_MOVEMENTS", (MOVEMENTS_IN,), MOVEMENTS_OUT),
    ("MRR_MOVEMENTS", ([[100], [200]],), "#VALUE!"),
    ("CHURN_RATE", (-1, 2), 0.5),
    ("CHURN_RATE", (4, 80), 0.05),
    ("CHURN_RATE", (4, 80, 20), 0.04),
    ("CHURN_RATE", (5, 0), "#DIV/0!"),
    ("CHURN_RATE", (5, -100), "#NUM!"),
    ("CHURN_RATE", (5, 100, -1), "#NUM!"),
    ("NRR", (10000, 1500, 300, 700), 1.05),
    ("NRR", (0, 1500, 300, 700), "#DIV/0!"),
    ("NRR", (-10000, 1500, 300, 700), "#NUM!"),
    ("GRR", (10000, 300, 700), 0.9),
    ("GRR", (0, 300, 700), "#DIV/0!"),
    ("GRR", (-10000, 300, 700), "#NUM!"),
    ("QUICK_RATIO", (1000, 500, 0, 0), "#DIV/0!"),
    ("TTFV", (46000, None), "#N/A"),
    ("TTFV", (46000, 45999), "#NUM!"),
    ("HEALTH_SCORE", ([[80, 200]], [[1, 1]]), "#NUM!"),
    ("HEALTH_SCORE", ([[80, 40]], [[1, -1]]), "#NUM!"),
    ("HEALTH_SCORE", ([[80, 40]], [[0, 0]]), "#DIV/0!"),
    ("HEALTH_SCORE", ([[80, 40]], [[1], [1]]), "#VALUE!"),
    ("HEALTH_STATUS", (49.9,), "red"),
    ("HEALTH_STATUS", (50,), "yellow"),
    ("HEALTH_STATUS", (74.9,), "yellow"),
    ("HEALTH_STATUS", (75,), "green"),
    ("HEALTH_STATUS", (60, 80, 70), "#NUM!"),
    ("SEGMENT", (800, 0, 800, 200), "VIP"),
    ("SEGMENT", (100, 800, 800, 200), "potential"),
    ("SEGMENT", (200, 0, 800, 200), "core"),
    ("SEGMENT", (199, 0, 800, 200), "non-core"),
    ("SEGMENT", (1, 0, 100, 200), "#NUM!"),
    # From billing data to cohorts: the export of the contract (2024-01-01 is 45292).
    ("MRR_FROM_SUBS", SUBS, SUBS_MRR),
    ("MRR_FROM_SUBS", (*SUBS, None, 5), SUBS_MRR_5),
    ("MRR_FROM_SUBS", ([["A"]], [[45292]], [[45200]], [[100]]), "#NUM!"),  # end before start
    ("MRR_FROM_SUBS", ([["A"]], [[45292]], [[None]], [[-100]]), "#NUM!"),  # negative amount
    ("MRR_FROM_SUBS", ([["A"]], [[45292]], [[None]], [[100]], 0), "#NUM!"),  # interval 0
    ("MRR_FROM_SUBS", ([["A"]], [["soon"]], [[None]], [[100]]), "#VALUE!"),  # text for a date
    ("MRR_FROM_SUBS", ([[None]], [[45292]], [[None]], [[100]]), "#VALUE!"),  # no customer
    ("MRR_FROM_SUBS", ([["A"], ["B"]], [[45292]], [[None]], [[100], [5]]), "#VALUE!"),  # lengths differ
    ("MRR_FROM_SUBS", ([["A"]], [["#N/A"]], [[None]], [[100]]), "#N/A"),
    ("MRR_FROM_SUBS", ([["A"]], [[45292]], [[None]], [[100]], 1, None, 0), "#NUM!"),  # months < 1
    ("CUSTOMER_COUNTS", (MOVEMENTS_IN,), COUNTS_OUT),
    ("CUSTOMER_COUNTS", ([[100], [200]],), "#VALUE!"),
    ("COHORT_RETENTION", (MOVEMENTS_IN,), COHORT_CUSTOMERS),
    ("COHORT_RETENTION", (MOVEMENTS_IN, "Revenue"), COHORT_REVENUE),
    ("COHORT_RETENTION", (MOVEMENTS_IN, "share"), "#VALUE!"),
    ("SBG_FIT", ([[1000, 869, 743, 653, 593, 551, 517, 491]],), [[About(0.668088), About(3.806095)]]),
    ("SBG_FIT", ([[1000, 1100, 743]],), "#NUM!"),  # a row rises
    ("SBG_FIT", ([[1000, 869]],), "#NUM!"),  # no row has 3 values
    ("SBG_SURVIVAL", (2, 3, 1), 0.6),
    ("SBG_SURVIVAL", (2, 3, 3), 0.2857142857),
    ("SBG_SURVIVAL", (2, 3, -1), "#NUM!"),
    ("SBG_SURVIVAL", (0, 3, 1), "#NUM!"),
    ("SBG_CLV", (100, 2, 3, 0.8), 320),
    ("SBG_CLV", (100, 2, 3, 0.8, 0.05), 244.948066225),
    ("SBG_CLV", (100, 2, 3, 1, 0.05, 1), 360.823894868),
    ("SBG_CLV", (100, 0.5, 3), "#NUM!"),  # alpha <= 1 without a discount
    ("NPS", ([[10, 9, 8, 7, 6, 0, 10, 9, 3, 10]],), 20),
    ("NPS", ([[10, 9.5]],), "#NUM!"),
    ("NPS", ([[None, "n/a"]],), "#DIV/0!"),
    ("CSAT", ([[5, 4, 3, 5, 1]],), 0.6),
    ("CSAT", ([[5, 6]],), "#NUM!"),
    ("CSAT", ([[5, 4]], 1), "#NUM!"),
    ("CSAT", ([[None]],), "#DIV/0!"),
]
