"""A small file in the public CRM case's two layouts, written for the tests (the case itself is never
committed). Every known quirk of the case is placed on a known customer id."""

from __future__ import annotations

import random
from datetime import date, timedelta
from pathlib import Path

from bronze.crm_case import CASE_COLUMNS
from tests.conftest import deliver

QUIRKS = {
    "blank_income": 101,
    "extreme_income": 102,
    "impossible_birth_year": 103,
    "absurd_marital_status": 104,
    "alone": 105,
    "duplicate_of_106": 107,
    "unparseable_amount": 108,
}
MALFORMED_LINE = "999,1970,Graduation"


def customers(n: int = 120, seed: int = 5) -> list[dict[str, object]]:
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        wealth = rng.random()
        accepted = [int(rng.random() < 0.05 + 0.25 * wealth) for _ in range(5)]
        response = int(rng.random() < 0.05 + 0.2 * sum(accepted) + 0.2 * wealth)
        rows.append(
            {
                "ID": i + 100,
                "Year_Birth": rng.randint(1945, 1995),
                "Education": rng.choice(["Basic", "2n Cycle", "Graduation", "Master", "PhD"]),
                "Marital_Status": rng.choice(["Single", "Together", "Married", "Divorced", "Widow"]),
                "Income": int(20_000 + 80_000 * wealth),
                "Kidhome": rng.randint(0, 2),
                "Teenhome": rng.randint(0, 2),
                "Dt_Customer": date(2012, 7, 30) + timedelta(days=rng.randint(0, 699)),
                "Recency": rng.randint(0, 99),
                "MntWines": int(1000 * wealth * rng.random()),
                "MntFruits": rng.randint(0, 100),
                "MntMeatProducts": int(800 * wealth * rng.random()),
                "MntFishProducts": rng.randint(0, 150),
                "MntSweetProducts": rng.randint(0, 100),
                "MntGoldProds": rng.randint(0, 150),
                "NumDealsPurchases": rng.randint(0, 6),
                "NumWebPurchases": rng.randint(0, 10),
                "NumCatalogPurchases": rng.randint(0, 8),
                "NumStorePurchases": rng.randint(2, 12),
                "NumWebVisitsMonth": rng.randint(1, 9),
                **{f"AcceptedCmp{k}": accepted[k - 1] for k in range(1, 6)},
                "Complain": int(rng.random() < 0.02),
                "Z_CostContact": 3,
                "Z_Revenue": 11,
                "Response": response,
            }
        )
    by_id = {r["ID"]: r for r in rows}
    by_id[QUIRKS["blank_income"]]["Income"] = ""
    by_id[QUIRKS["extreme_income"]]["Income"] = 666666
    by_id[QUIRKS["impossible_birth_year"]]["Year_Birth"] = 1893
    by_id[QUIRKS["absurd_marital_status"]]["Marital_Status"] = "YOLO"
    by_id[QUIRKS["alone"]]["Marital_Status"] = "Alone"
    twin = dict(by_id[106], ID=QUIRKS["duplicate_of_106"], Response=1 - int(by_id[106]["Response"]))
    by_id[QUIRKS["duplicate_of_106"]].update(twin)
    by_id[QUIRKS["unparseable_amount"]]["MntWines"] = "n/a"
    # an enrolment on a day <= 12 (DD-MM ambiguous) and the last enrolment, which sets the snapshot date
    by_id[110]["Dt_Customer"] = date(2013, 3, 4)
    by_id[111]["Dt_Customer"] = date(2014, 6, 29)
    return rows


def write(path: Path, rows: list[dict[str, object]], *, tab: bool, malformed: bool = True) -> Path:
    """``tab=False``: comma-separated, ISO dates, no trailing newline; ``tab=True``: tab-separated with
    DD-MM-YYYY dates (the two published layouts)."""
    sep = "\t" if tab else ","

    def cell(column: str, value: object) -> str:
        if isinstance(value, date):
            return value.strftime("%d-%m-%Y") if tab else value.isoformat()
        return str(value)

    lines = [sep.join(CASE_COLUMNS)]
    lines += [sep.join(cell(c, row[c]) for c in CASE_COLUMNS) for row in rows]
    if malformed:
        lines.append(MALFORMED_LINE.replace(",", sep))
    return deliver(path, "\n".join(lines))
