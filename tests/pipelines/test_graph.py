"""The table graph is printed from the declarations: every table, its inputs and write mode; docs/tables.md's
diagram is the one the code draws."""

import re
from pathlib import Path

from commands import cli
from gold.tables import EVERY_TABLE, EVERY_VIEW
from pipelines import graph

DIAGRAM = Path(__file__).resolve().parents[2] / "docs" / "tables.md"


def test_every_declared_table_is_printed_with_its_inputs_write_mode_and_checks(capsys):
    assert cli.main(["tables"]) == 0
    out = capsys.readouterr().out
    blocks = dict(re.findall(r"^(\S+)\n((?:  .*\n?)+)", out, flags=re.MULTILINE))
    assert set(blocks) >= {t.name for t in EVERY_TABLE}
    assert "inputs: bronze.orders, silver.customers" in blocks["silver.orders"]
    assert "quarantine: silver.orders_quarantine" in blocks["silver.orders"]
    assert (
        "MERGE on the key" in blocks["silver.orders"]
        and "customer_known (quarantine)" in blocks["silver.orders"]
    )
    marketing = blocks["gold.customer_marketing"]
    assert "inputs: gold.customer_segments, gold.customer_features" in marketing
    assert "overwrite the run date's partition" in marketing and "probability_in_0_1 (fail)" in marketing
    assert "key: customer_id, as_of_date; partitioned by as_of_date" in marketing


def test_the_mermaid_diagram_has_an_edge_per_declared_input_and_the_readme_embeds_it():
    diagram = graph.mermaid(EVERY_TABLE, EVERY_VIEW)
    edges = set(re.findall(r"^  (\S+) -->\|(\w+)\| (\S+)$", diagram, flags=re.MULTILINE))
    expected = {
        (i.name.replace(".", "_"), t.write, t.name.replace(".", "_")) for t in EVERY_TABLE for i in t.inputs
    }
    assert expected <= edges and ("bronze_orders", "merge", "silver_orders") in edges
    assert "gold_customer_features -->|partition| gold_customer_marketing" in diagram
    embedded = re.search(r"```mermaid\n(.*?)\n```", DIAGRAM.read_text(), flags=re.DOTALL)
    assert embedded and embedded.group(1) == diagram, (
        "docs/tables.md's diagram is stale: paste `lakehouse tables --format mermaid`"
    )
