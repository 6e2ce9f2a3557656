"""silver.crm_customers: one row per customer_id of the public CRM case, conformed and checked.

The case is a snapshot of aggregates (two years of spend per category, purchases per channel, five past
campaigns and the pilot campaign's response). Its known quirks each have a named rule: impossible birth
years, marital statuses outside the vocabulary, blank and extreme incomes, and customers duplicated under
another ID. Those rows are kept (the rule warns, the value is set unknown for the models to impute), so
no customer is dropped; unparseable values are quarantined.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from bronze import crm_case
from pipelines.config import Vocabulary
from pipelines.contract import Contract
from pipelines.declare import Table
from pipelines.frames import BRONZE_RECORD, LINEAGE, blank_to_null, keep_latest, parsed_or_blank, well_formed
from pipelines.quality import Check

CATEGORIES = {  # the case's spend columns, by the project's category names
    "wines": "MntWines",
    "fruits": "MntFruits",
    "meat": "MntMeatProducts",
    "fish": "MntFishProducts",
    "sweets": "MntSweetProducts",
    "gold": "MntGoldProds",
}
CHANNELS = {"web": "NumWebPurchases", "catalog": "NumCatalogPurchases", "store": "NumStorePurchases"}
PAST_CAMPAIGNS = tuple(f"accepted_cmp{i}" for i in range(1, 6))  # in the order they ran
EDUCATION = ("Basic", "2n Cycle", "Graduation", "Master", "PhD")
MARITAL_STATUS = ("Single", "Together", "Married", "Divorced", "Widow")
MARITAL_SYNONYMS = {"Alone": "Single"}
MAX_INCOME = 200_000.0  # the case's 666,666 is a placeholder, not an income
MIN_AGE, MAX_AGE = 16, 100  # at enrolment

COUNTS = {
    "recency_days": "Recency",
    **{f"spend_{c}": raw for c, raw in CATEGORIES.items()},
    "deal_orders": "NumDealsPurchases",
    **{f"orders_{c}": raw for c, raw in CHANNELS.items()},
    "web_visits_month": "NumWebVisitsMonth",
}
FLAGS = {
    **{f"accepted_cmp{i}": f"AcceptedCmp{i}" for i in range(1, 6)},
    "complained": "Complain",
    "response": "Response",
}
PROFILE = (  # every column but ID and Response: equal profiles under two IDs are one customer twice
    "birth_year", "education", "marital_status", "income", "kids_at_home", "teens_at_home", "signup_date",
    *COUNTS, *PAST_CAMPAIGNS, "complained",
)  # fmt: skip

CONTRACT = Contract(
    name="silver.crm_customers",
    ddl=(
        "customer_id BIGINT NOT NULL, birth_year INT, education STRING, marital_status STRING, income DOUBLE, "
        "kids_at_home INT NOT NULL, teens_at_home INT NOT NULL, signup_date DATE NOT NULL, "
        "recency_days INT NOT NULL, "
        + ", ".join(f"spend_{c} DOUBLE NOT NULL" for c in CATEGORIES)
        + ", deal_orders INT NOT NULL, "
        + ", ".join(f"orders_{c} INT NOT NULL" for c in CHANNELS)
        + ", web_visits_month INT NOT NULL, "
        + ", ".join(f"{c} BOOLEAN NOT NULL" for c in PAST_CAMPAIGNS)
        + ", complained BOOLEAN NOT NULL, response BOOLEAN NOT NULL, duplicate_of BIGINT, "
        "_source_file STRING, _ingested_at TIMESTAMP, _run_id STRING"
    ),
    grain="one row per customer_id of the CRM case, latest delivery",
    primary_key=("customer_id",),
    comments={
        "birth_year": f"null when the case's value is impossible (age at enrolment outside {MIN_AGE}-{MAX_AGE})",
        "marital_status": f"one of {', '.join(MARITAL_STATUS)}; 'Alone' conformed to Single, nonsense to null",
        "income": f"yearly household income; null when blank or above {MAX_INCOME:,.0f} (a placeholder)",
        "signup_date": "enrolment date (Dt_Customer), ISO or DD-MM-YYYY as delivered",
        "recency_days": "days from the last purchase to the snapshot",
        "response": "the customer accepted the pilot (sixth) campaign: the label",
        "duplicate_of": "the lowest customer_id with the same profile on every column but ID and Response",
    },
)


def _date(raw: str) -> Column:
    """Both published date layouts, each with its explicit format (DD-MM is ambiguous for days <= 12)."""
    value = blank_to_null(raw)
    return F.when(value.rlike(r"^\d{4}-\d{2}-\d{2}$"), F.try_to_date(value, "yyyy-MM-dd")).when(
        value.rlike(r"^\d{2}-\d{2}-\d{4}$"), F.try_to_date(value, "dd-MM-yyyy")
    )


def _flag(raw: str) -> Column:
    value = blank_to_null(raw)
    return F.when(value == "1", F.lit(True)).when(value == "0", F.lit(False))


def _all(conditions: list[Column]) -> Column:
    combined = conditions[0]
    for condition in conditions[1:]:
        combined = combined & condition
    return F.coalesce(combined, F.lit(False))


def birth_year_plausible() -> Column:
    age = F.year("signup_date") - F.col("birth_year")
    return F.col("birth_year").isNull() | F.col("signup_date").isNull() | age.between(MIN_AGE, MAX_AGE)


def income_plausible() -> Column:
    return F.col("income").isNull() | (F.col("income") <= MAX_INCOME)


def marital_status_known() -> Column:
    return F.col("marital_status").isNull() | F.col("marital_status").isin(*MARITAL_STATUS, *MARITAL_SYNONYMS)


def education_known() -> Column:
    return F.col("education").isNull() | F.col("education").isin(*EDUCATION)


def checks(vocabulary: Vocabulary) -> list[Check]:
    """What quarantines a line (it cannot be read), then the case's quirks, which warn and keep the customer."""
    return [*_unreadable(), *_quirks()]


def _unreadable() -> list[Check]:
    return [
        Check("well_formed", well_formed, "quarantine", description="the line has the case's 29 fields"),
        Check("customer_id_valid", lambda: F.col("customer_id").isNotNull(), "quarantine"),
        Check(
            "signup_date_valid",
            lambda: F.col("signup_date").isNotNull(),
            "quarantine",
            description="Dt_Customer is a date as YYYY-MM-DD or DD-MM-YYYY",
        ),
        Check(
            "counts_valid",
            lambda: _all([F.col(c) >= 0 for c in COUNTS]),
            "quarantine",
            description="recency, amounts, purchases and visits are non-negative numbers",
        ),
        Check(
            "household_counts_valid",
            lambda: _all([F.col(c).between(0, 10) for c in ("kids_at_home", "teens_at_home")]),
            "quarantine",
        ),
        Check(
            "flags_are_0_or_1",
            lambda: _all([F.col(c).isNotNull() for c in FLAGS]),
            "quarantine",
            description="AcceptedCmp1-5, Complain and Response are 0 or 1",
        ),
        Check("birth_year_parses", lambda: parsed_or_blank("birth_year", "Year_Birth"), "quarantine"),
        Check("income_parses", lambda: parsed_or_blank("income", "Income"), "quarantine"),
    ]


def _quirks() -> list[Check]:
    return [
        Check(
            "income_present",
            lambda: F.col("income").isNotNull(),
            "warn",
            description="blank incomes are kept as unknown; the models impute them",
        ),
        Check(
            "income_plausible",
            income_plausible,
            "warn",
            description=f"incomes above {MAX_INCOME:,.0f} are placeholders: kept as unknown",
        ),
        Check(
            "birth_year_plausible",
            birth_year_plausible,
            "warn",
            description=f"an age at enrolment outside {MIN_AGE}-{MAX_AGE} is impossible: kept as unknown",
        ),
        Check(
            "education_known",
            education_known,
            "warn",
            description=f"education outside {', '.join(EDUCATION)} is kept as unknown",
        ),
        Check(
            "marital_status_known",
            marital_status_known,
            "warn",
            description="'Alone' is conformed to Single; 'Absurd', 'YOLO' and others are kept as unknown",
        ),
        Check(
            "profile_unique",
            lambda: F.col("duplicate_of").isNull(),
            "warn",
            description="a customer repeated under another ID on every column but ID and Response: kept, "
            "with duplicate_of naming the first",
        ),
    ]


def parse(bronze: DataFrame) -> DataFrame:
    typed = lambda raw, type_name: blank_to_null(raw).try_cast(type_name)  # noqa: E731
    parsed = bronze.select(
        typed("ID", "bigint").alias("customer_id"),
        typed("Year_Birth", "int").alias("birth_year"),
        blank_to_null("Education").alias("education"),
        F.initcap(blank_to_null("Marital_Status")).alias("marital_status"),
        typed("Income", "double").alias("income"),
        typed("Kidhome", "int").alias("kids_at_home"),
        typed("Teenhome", "int").alias("teens_at_home"),
        _date("Dt_Customer").alias("signup_date"),
        *[typed(raw, "double" if c.startswith("spend_") else "int").alias(c) for c, raw in COUNTS.items()],
        *[_flag(raw).alias(c) for c, raw in FLAGS.items()],
        *LINEAGE,
        BRONZE_RECORD,
    )
    # Frame over the whole profile group: the lowest other ID with an identical profile, if any.
    profile = Window.partitionBy(*[F.col(c) for c in PROFILE]).rowsBetween(
        Window.unboundedPreceding, Window.unboundedFollowing
    )
    first = F.min("customer_id").over(profile)
    return parsed.withColumn("duplicate_of", F.when(F.col("customer_id") != first, first))


def transform(customers: DataFrame) -> DataFrame:
    """Latest delivery per customer; values the warn rules call unknown become null."""
    newest_first = [F.col("_ingested_at").desc(), F.col("_source_file").desc()]
    status = F.col("marital_status")
    conformed = F.when(status.isin(*MARITAL_STATUS), status)
    for synonym, value in MARITAL_SYNONYMS.items():
        conformed = conformed.when(status == synonym, F.lit(value))
    return (
        customers.transform(keep_latest(["customer_id"], newest_first))
        .withColumn("birth_year", F.when(birth_year_plausible(), F.col("birth_year")))
        .withColumn("income", F.when(income_plausible(), F.col("income")))
        .withColumn("education", F.when(F.col("education").isin(*EDUCATION), F.col("education")))
        .withColumn("marital_status", conformed)
        .select(*CONTRACT.select())
    )


TABLE = Table(
    CONTRACT,
    stage="silver",
    write="merge",
    inputs=(crm_case.TABLE,),
    checks=checks,
    parse=parse,
    transform=transform,
)


def snapshot_date(customers: DataFrame) -> DataFrame:
    """One row, ``snapshot_date``: the case gives none, so the day after the last enrolment (2014-06-30 for
    the public file); null when there is no customer."""
    return customers.agg(F.date_add(F.max("signup_date"), 1).alias("snapshot_date"))
