"""gold.customer_features: one row per (customer_id, as_of_date), from events before as_of_date only."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from pipelines.config import Config, Vocabulary
from pipelines.contract import Contract
from pipelines.declare import Table
from pipelines.quality import Check, unique
from silver import campaign_contacts, complaints, customer_history, orders, web_visits
from silver import crm_customers as crm
from silver.customer_history import valid_on

DataFrameTransform = Callable[[DataFrame], DataFrame]
GRAIN = "one row per customer_id and as_of_date; events strictly before as_of_date only"
CATEGORICAL = ("education", "marital_status")


def spend_column(category: str) -> str:
    return f"spend_{category}"


def orders_column(channel: str) -> str:
    return f"orders_{channel}"


def count_columns(vocabulary: Vocabulary) -> list[str]:
    """Spend and event counts: zero, not null, for a customer without such events."""
    return [
        *[spend_column(c) for c in vocabulary.categories],
        "spend_total",
        *[orders_column(c) for c in vocabulary.channels],
        "orders_total",
        "deal_orders",
        "web_visits_30d",
        "campaigns_contacted",
        "campaigns_accepted",
        "complaints_2y",
    ]


def numeric_columns(vocabulary: Vocabulary) -> list[str]:
    """The numeric features, in a fixed order (the ML stages assemble them in this order)."""
    demographics = ["age_years", "income", "kids_at_home", "teens_at_home", "tenure_days", "recency_days"]
    return [*demographics, *count_columns(vocabulary)]


def contract(vocabulary: Vocabulary) -> Contract:
    """The contract depends on the configured categories and channels (one spend/orders column each)."""
    spend = ", ".join(f"{spend_column(c)} DOUBLE NOT NULL" for c in vocabulary.categories)
    orders = ", ".join(f"{orders_column(c)} BIGINT NOT NULL" for c in vocabulary.channels)
    comments = {
        "as_of_date": "the features use events strictly before this date",
        "recency_days": "days since the last order before as_of_date; the lookback window length when none",
        "spend_total": "amount spent over the lookback window (default two years)",
        "web_visits_30d": "web visits in the 30 days before as_of_date",
        "campaigns_accepted": "campaigns contacted before as_of_date whose offer the customer accepted",
        "income": "yearly household income; null when unknown (the models impute it)",
        "age_years": "age in years on as_of_date (from the birth year valid on that date); null when unknown",
        "education": "education level valid on as_of_date (Basic, 2n Cycle, Graduation, Master, PhD)",
        "marital_status": "marital status valid on as_of_date; null when unknown",
        "kids_at_home": "children at home, valid on as_of_date",
        "teens_at_home": "teenagers at home, valid on as_of_date",
        "tenure_days": "days from sign-up to as_of_date",
        "orders_total": "orders over the lookback window, every channel",
        "deal_orders": "orders over the lookback window made with a discount",
        "campaigns_contacted": "campaigns the customer was contacted by before as_of_date",
        "complaints_2y": "complaints over the lookback window",
    }
    comments |= {
        spend_column(c): f"amount spent on {c} over the lookback window" for c in vocabulary.categories
    }
    comments |= {
        orders_column(c): f"orders through the {c} channel over the lookback window"
        for c in vocabulary.channels
    }
    return Contract(
        name="gold.customer_features",
        ddl=(
            "customer_id BIGINT NOT NULL, as_of_date DATE NOT NULL, age_years INT, education STRING, "
            "marital_status STRING, income DOUBLE, kids_at_home INT, teens_at_home INT, tenure_days INT NOT NULL, "
            f"recency_days INT NOT NULL, {spend}, spend_total DOUBLE NOT NULL, {orders}, "
            "orders_total BIGINT NOT NULL, deal_orders BIGINT NOT NULL, web_visits_30d BIGINT NOT NULL, "
            "campaigns_contacted BIGINT NOT NULL, campaigns_accepted BIGINT NOT NULL, complaints_2y BIGINT NOT NULL"
        ),
        grain=GRAIN,
        primary_key=("customer_id", "as_of_date"),
        partition_by=("as_of_date",),
        comments=comments,
    )


AS_OF = "as_of_date"


def _dates(dates: Sequence[date]) -> Column:
    return F.array(*[F.lit(d) for d in sorted(set(dates))])


def on_dates(dates: Sequence[date], ts: str, days: int | None = None) -> DataFrameTransform:
    """DataFrame transform: each event once for every date it counts for (``as_of_date``): strictly before
    that date, and within ``days`` of it when given. Every date's features come from one pass."""

    def counts_for(day: Column) -> Column:
        start = day.cast("timestamp")
        inside = F.col(ts) < start
        if days is not None:
            inside = inside & (F.col(ts) >= start - F.make_interval(days=F.lit(days)))
        return inside

    def explode(events: DataFrame) -> DataFrame:
        return events.select("*", F.explode(F.filter(_dates(dates), counts_for)).alias(AS_OF))

    return explode


def order_features(orders: DataFrame, channels: Sequence[str]) -> DataFrame:
    """Per customer and date: orders per channel, deals and last order date, in one aggregation."""
    return orders.groupBy("customer_id", AS_OF).agg(
        F.count(F.lit(1)).alias("orders_total"),
        *[F.count_if(F.col("channel") == c).alias(orders_column(c)) for c in channels],
        F.count_if(F.col("is_deal")).alias("deal_orders"),
        F.max("ordered_at").alias("last_ordered_at"),
    )


def spend_features(orders: DataFrame, categories: Sequence[str]) -> DataFrame:
    """Per customer and date: amount per category (one groupBy with conditional sums, not a pivot).

    Money is summed as decimals: a sum of doubles depends on the order Spark adds them in, so a rerun
    could differ in the last digits."""
    items = orders.select("customer_id", AS_OF, F.explode("items").alias("item")).select(
        "customer_id",
        AS_OF,
        F.col("item.category").alias("category"),
        F.col("item.amount").cast("decimal(18,2)").alias("amount"),
    )
    return items.groupBy("customer_id", AS_OF).agg(
        *[F.sum(F.when(F.col("category") == c, F.col("amount"))).alias(spend_column(c)) for c in categories],
        F.sum("amount").alias("spend_total"),
    )


def campaign_features(contacts: DataFrame) -> DataFrame:
    return contacts.groupBy("customer_id", AS_OF).agg(
        F.count(F.lit(1)).alias("campaigns_contacted"),
        F.count_if(F.col("accepted")).alias("campaigns_accepted"),
    )


def count_events(events: DataFrame, name: str) -> DataFrame:
    return events.groupBy("customer_id", AS_OF).agg(F.count(F.lit(1)).alias(name))


def described(customer_history: DataFrame, dates: Sequence[date]) -> DataFrame:
    """The customers the features describe on each of ``dates`` (``as_of_date``), with their attributes in
    force on that date (a later CRM change cannot leak into the features): those signed up before it."""
    day = F.col(AS_OF)
    return customer_history.select("*", F.explode(_dates(dates)).alias(AS_OF)).where(
        valid_on(day) & (F.col("signup_date") < day)
    )


def transform(
    customer_history: DataFrame,
    orders: DataFrame,
    web_visits: DataFrame,
    campaign_contacts: DataFrame,
    complaints: DataFrame,
    *,
    dates: Sequence[date],
    vocabulary: Vocabulary,
    lookback_days: int = 730,
    web_visit_days: int = 30,
) -> DataFrame:
    """Features of every customer known before each of ``dates``: their attributes valid on that date
    (from the customer history) and events strictly before it; every date in one pass."""
    day = F.col(AS_OF)
    known = described(customer_history, dates)
    recent_orders = orders.transform(on_dates(dates, "ordered_at", lookback_days))
    keys = ["customer_id", AS_OF]
    joined = (
        known.join(order_features(recent_orders, vocabulary.channels), keys, how="left")
        .join(spend_features(recent_orders, vocabulary.categories), keys, how="left")
        .join(
            count_events(
                web_visits.transform(on_dates(dates, "visited_at", web_visit_days)), "web_visits_30d"
            ),
            keys,
            how="left",
        )
        .join(
            campaign_features(campaign_contacts.transform(on_dates(dates, "contacted_at"))), keys, how="left"
        )
        .join(
            count_events(
                complaints.transform(on_dates(dates, "complained_at", lookback_days)), "complaints_2y"
            ),
            keys,
            how="left",
        )
    )
    last_order_days = F.datediff(day, F.to_date("last_ordered_at"))
    return (
        joined.fillna(0, subset=count_columns(vocabulary))
        .withColumn("age_years", F.year(day) - F.col("birth_year"))
        .withColumn("tenure_days", F.datediff(day, F.col("signup_date")))
        .withColumn("recency_days", F.coalesce(last_order_days, F.lit(lookback_days)))
        .select(*contract(vocabulary).select())
    )


def from_crm(crm_customers: DataFrame, *, as_of: date, vocabulary: Vocabulary) -> DataFrame:
    """The same features from the public CRM case's snapshot aggregates (``as_of`` = the snapshot date).

    The case has exactly the default categories and channels; five past campaigns were offered to everyone.
    """
    unknown = [c for c in vocabulary.categories if c not in crm.CATEGORIES] + [
        c for c in vocabulary.channels if c not in crm.CHANNELS
    ]
    if unknown:
        raise ValueError(
            f"the CRM case has categories {sorted(crm.CATEGORIES)} and channels {sorted(crm.CHANNELS)}; "
            f"the configured vocabulary also has {unknown}, which the case cannot fill"
        )
    spend = [F.col(spend_column(c)) for c in vocabulary.categories]
    orders = [F.col(orders_column(c)) for c in vocabulary.channels]
    accepted = [F.col(c).cast("int") for c in crm.PAST_CAMPAIGNS]
    return (
        crm_customers.where(F.col("signup_date") < F.lit(as_of))
        .withColumn("as_of_date", F.lit(as_of))
        .withColumn("age_years", F.lit(as_of.year) - F.col("birth_year"))
        .withColumn("tenure_days", F.datediff(F.lit(as_of), F.col("signup_date")))
        .withColumn("spend_total", sum(spend[1:], spend[0]))
        .withColumn("orders_total", sum(orders[1:], orders[0]))
        .withColumns(
            {
                "web_visits_30d": F.col("web_visits_month"),
                "campaigns_contacted": F.lit(len(crm.PAST_CAMPAIGNS)),
                "campaigns_accepted": sum(accepted[1:], accepted[0]),
                "complaints_2y": F.col("complained").cast("int"),
            }
        )
        .select(*contract(vocabulary).select())
    )


def checks(vocabulary: Vocabulary) -> list[Check]:
    return [
        unique("customer_id", "as_of_date"),
        Check(
            "counts_non_negative",
            lambda: F.least(*[F.col(c) for c in count_columns(vocabulary)]) >= 0,
            "fail",
            description="spend, orders, visits, campaigns and complaints are never negative",
        ),
    ]


def explain_empty(inputs: Sequence[DataFrame], as_of: date, config: Config) -> DataFrame:
    """One row, ``cause``: why no customer has features on ``as_of``: every customer signs up later, or
    (with the updated_at policy) every customer's first known version starts later."""
    first = inputs[0].agg(
        F.countDistinct("customer_id").alias("customers"),
        F.min("valid_from").alias("valid_from"),
        F.min("signup_date").alias("signup"),
    )
    policy = config.features.customer_history_valid_from
    later_signup = F.format_string(
        f"0 of %,d customers signed up before {as_of}: the first signs up on %s",
        "customers",
        F.date_format("signup", "yyyy-MM-dd"),
    )
    later_version = F.format_string(
        f"0 of %,d customers are known on {as_of}: their first versions start on %s ({policy}); "
        "see features.customer_history_valid_from",
        "customers",
        F.date_format("valid_from", "yyyy-MM-dd"),
    )
    signed_up_later = F.col("signup").isNotNull() & (F.col("signup") >= F.lit(as_of))
    return first.select(F.when(signed_up_later, later_signup).otherwise(later_version).alias("cause"))


def params(config: Config) -> dict[str, object]:
    return {
        "vocabulary": config.vocabulary,
        "lookback_days": config.features.lookback_days,
        "web_visit_days": config.features.web_visit_days,
    }


TABLE = Table(
    contract,
    stage="features",
    write="partition",
    inputs=(
        customer_history.TABLE,
        orders.TABLE,
        web_visits.TABLE,
        campaign_contacts.TABLE,
        complaints.TABLE,
    ),
    checks=checks,
    transform=transform,
    params=params,
    explain_empty=explain_empty,
    description="computed for the run date and for each completed campaign's contact date",
)

# The public CRM case builds the same table from its snapshot aggregates (`lakehouse import-crm`).
FROM_CRM = Table(
    contract,
    stage="features",
    write="partition",
    inputs=(crm.TABLE,),
    checks=checks,
    transform=from_crm,
    params=lambda config: {"vocabulary": config.vocabulary},
    description="gold.customer_features from the public CRM case's snapshot (lakehouse import-crm)",
)
