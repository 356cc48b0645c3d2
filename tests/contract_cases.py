"""The contract (FUNCTIONS.md), written here by hand, for the tests of every layer.

Nothing here is read from the registry: these tables check the registry and the code
against the contract's text.
"""

from __future__ import annotations

# Excel name -> [(argument, optional)], in contract order (FUNCTIONS.md headings).
SIGNATURES = {
    "CLV": [("arpu", False), ("churn", False), ("margin", True), ("discount", True), ("periods", True)],
    "LTV_CAC": [("ltv", False), ("cac", False)],
    "ARPU": [("revenue", False), ("customers", False)],
    "PAYBACK": [("cac", False), ("arpu", False), ("margin", True), ("churn", True), ("discount", True)],
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
    "CHURN_RATE": [("lost", False), ("at_start", False)],
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
CONTRACT = [
    ("CLV", (35, 0.05), 700),
    ("CLV", (100, 0.02, 0.8), 4000),
    ("CLV", (35, 0, 1, 0, 12), 420),
    ("CLV", (100, 0.05, 1, 0.01), 1683.3333333333),
    ("CLV", (100, 0.05, 1, 0.01, 36), 1497.7023532574),
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
    ("PAYBACK", (1000, 100, 1, 0.1), "#NUM!"),
    ("PAYBACK", (1000, 0), "#DIV/0!"),
    ("CAC", (5000, 0), "#DIV/0!"),
    ("ONBOARDING_ROI", (1000, 400, 0), "#DIV/0!"),
    ("ONBOARDING_ROI", (1000, 400, -5), "#NUM!"),
    ("NET_MRR", (1000, 500, 200, 300), 1000),
    ("NET_MRR", (1000, 500, -200, -300, 100), 1100),
    ("MRR_MOVEMENTS", (MOVEMENTS_IN,), MOVEMENTS_OUT),
    ("MRR_MOVEMENTS", ([[100], [200]],), "#VALUE!"),
    ("CHURN_RATE", (5, 0), "#DIV/0!"),
    ("CHURN_RATE", (-5, 100), "#NUM!"),
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
]
