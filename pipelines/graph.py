"""The declared table graph as text or as a Mermaid diagram, read from the declarations themselves."""

from __future__ import annotations

from collections.abc import Sequence

from pipelines.config import Vocabulary
from pipelines.declare import WRITE_MODES, Table, View


def _quarantine(table: Table) -> str | None:
    return f"{table.name}_quarantine" if table.parse is not None else None


def _writer(stage: str) -> str:
    return "every stage that runs checks" if stage == "any" else f"the {stage} stage"


def describe(tables: Sequence[Table], views: Sequence[View], vocabulary: Vocabulary) -> str:
    """Every table with its layer, stage, grain, key, inputs, write mode and checks; then the views."""
    lines = []
    for table in tables:
        contract = table.contract_for(vocabulary)
        checks = [f"{c.name} ({c.action})" for c in table.checks(vocabulary)]
        lines += [
            f"{table.name}",
            f"  layer {table.layer}, written by {_writer(table.stage)}: {WRITE_MODES[table.write]}",
            f"  grain: {contract.grain}",
            f"  key: {', '.join(contract.primary_key) or '-'}"
            + (f"; partitioned by {', '.join(contract.partition_by)}" if contract.partition_by else ""),
            f"  inputs: {', '.join(t.name for t in table.inputs) or (table.source and 'landing/' + table.source.folder) or '-'}",
            f"  checks: {', '.join(checks) or '-'}",
        ]
        if _quarantine(table):
            lines.append(f"  quarantine: {_quarantine(table)}")
        if table.description:
            lines.append(f"  note: {table.description}")
    for view in views:
        lines += [f"{view.name} (view)", f"  inputs: {', '.join(t.name for t in view.inputs)}"]
    return "\n".join(lines)


def _node(name: str) -> str:
    return name.replace(".", "_")


def mermaid(tables: Sequence[Table], views: Sequence[View]) -> str:
    """``flowchart LR``: landing folders, tables by layer, views; edges labelled with the write mode."""
    lines = ["flowchart LR"]
    layers: dict[str, list[str]] = {}
    for table in tables:
        layers.setdefault(table.layer, []).append(table.name)
        if table.source is not None:
            lines.append(
                f'  landing_{table.source.folder}[/"landing/{table.source.folder}"/] -->|{table.write}| {_node(table.name)}'
            )
        for source in table.inputs:
            lines.append(f"  {_node(source.name)} -->|{table.write}| {_node(table.name)}")
        if _quarantine(table):
            lines.append(f"  {_node(table.name)} -.->|quarantine| {_node(str(_quarantine(table)))}")
            layers[table.layer].append(str(_quarantine(table)))
    for view in views:
        lines += [f"  {_node(t.name)} --> {_node(view.name)}" for t in view.inputs]
        layers.setdefault(view.name.split(".")[0], []).append(view.name)
    for layer, names in layers.items():
        lines.append(f"  subgraph {layer}")
        for name in names:
            shape = f'(["{name}"])' if any(v.name == name for v in views) else f'["{name}"]'
            lines.append(f"    {_node(name)}{shape}")
        lines.append("  end")
    return "\n".join(lines)
