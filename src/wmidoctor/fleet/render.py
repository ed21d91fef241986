"""Fleet diagnosis reports as text, JSON data, CSV and one self-contained HTML page with sortable tables."""

from __future__ import annotations

import html
from typing import Any

from wmidoctor.output import csv_table, cut_table

CAUSE_COLUMNS = ("check", "severity", "hosts", "share", "examples", "codes", "fix")


def _cell(value: Any) -> str:
    return ", ".join(map(str, value)) if isinstance(value, list) else str(value)


def table(rows: list[dict[str, Any]], columns: tuple[str, ...], widths: dict[str, int] | None = None) -> str:
    if not rows:
        return "  (none)\n"
    caps = [(widths or {}).get(c, 60) for c in columns]
    cells = ([_cell(row.get(c, "")) for c in columns] for row in rows)
    return "\n".join(cut_table(columns, cells, caps, indent="  ")) + "\n"


def text(data: dict[str, Any]) -> str:
    run = data["run"]
    out = [
        f"fleet diagnosis run {run['id']}: {run['stored']} of {run['entries']} entries stored "
        f"({'finished ' + run['finished_at'] if run['finished_at'] else 'unfinished'})",
        f"hosts with problems: {data['hosts_with_problems']} of {data['hosts']}; unreadable: {data['unreadable']}",
        "",
        "Root causes (most hosts first):",
        table(data["causes"], CAUSE_COLUMNS, {"examples": 50, "fix": 70}),
        "By site:",
        table(data["by_site"], ("site", "hosts", "with_problems", "unreadable", "top_cause")),
        "By OS build:",
        table(data["by_os_build"], ("os_build", "hosts", "with_problems", "unreadable", "top_cause")),
    ]
    if data["unreadable_entries"]:
        out += ["Unreadable entries:", table(data["unreadable_entries"], ("source", "error"), {"error": 100})]
    return "\n".join(out)


def changes_text(data: dict[str, Any]) -> str:
    out = [
        f"runs {data['runs'][0]} -> {data['runs'][1]}: {len(data['new'])} new, {len(data['fixed'])} fixed, "
        f"{len(data['still'])} still failing"
    ]
    for name in ("new", "fixed", "still"):
        out += [f"{name}:", table(data[name], ("host", "check", "severity"))]
    return "\n".join(out)


def csv_text(rows: list[dict[str, Any]], columns: tuple[str, ...]) -> str:
    return csv_table(columns, ([_cell(r.get(c, "")) for c in columns] for r in rows))


_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{{font:14px/1.45 system-ui,sans-serif;margin:2rem;color:#1b1f24;background:#fff}}
h1{{font-size:1.4rem}} h2{{font-size:1.1rem;margin-top:2rem}}
.banner{{padding:.8rem 1rem;border-radius:6px;font-weight:600;margin:1rem 0}}
.bad{{background:#fde2e1;border:1px solid #d1242f}} .good{{background:#dafbe1;border:1px solid #1a7f37}}
table{{border-collapse:collapse;width:100%;margin:.5rem 0}}
th,td{{border-bottom:1px solid #d0d7de;padding:.35rem .5rem;text-align:left;vertical-align:top}}
th{{background:#f6f8fa;cursor:pointer;user-select:none;white-space:nowrap}}
th[aria-sort=ascending]::after{{content:" \\25B2"}} th[aria-sort=descending]::after{{content:" \\25BC"}}
td.num{{text-align:right}} .sev-error,.sev-critical{{color:#d1242f;font-weight:600}} .sev-warning{{color:#9a6700}}
</style></head><body>
<h1>{title}</h1>
<div class="banner {banner_class}" id="verdict">{verdict}</div>
{sections}
<script>
function sortBy(th, descending) {{
  var table = th.closest("table"), body = table.tBodies[0];
  table.querySelectorAll("th").forEach(function (other) {{ other.removeAttribute("aria-sort"); }});
  th.setAttribute("aria-sort", descending ? "descending" : "ascending");
  var column = Array.prototype.indexOf.call(th.parentNode.children, th);
  var rows = Array.prototype.slice.call(body.rows);
  rows.sort(function (a, b) {{
    var x = a.cells[column].dataset.value, y = b.cells[column].dataset.value;
    var nx = parseFloat(x), ny = parseFloat(y);
    var order = (!isNaN(nx) && !isNaN(ny)) ? nx - ny : x.localeCompare(y);
    return descending ? -order : order;
  }});
  rows.forEach(function (row) {{ body.appendChild(row); }});
}}
document.querySelectorAll("table.sortable th").forEach(function (th) {{
  th.addEventListener("click", function () {{ sortBy(th, th.getAttribute("aria-sort") === "ascending"); }});
}});
// A link may open the page sorted: #sort=TABLE:COLUMN:asc|desc (e.g. #sort=causes:hosts:asc).
var wanted = /^#sort=([\\w-]+):([\\w ]+):(asc|desc)$/.exec(decodeURIComponent(location.hash));
if (wanted) {{
  document.querySelectorAll("#" + wanted[1] + " th").forEach(function (th) {{
    if (th.textContent === wanted[2].replace(/_/g, " ")) {{ sortBy(th, wanted[3] === "desc"); }}
  }});
}}
</script>
</body></html>
"""


def _html_table(rows: list[dict[str, Any]], columns: tuple[str, ...], table_id: str) -> str:
    if not rows:
        return "<p>(none)</p>"
    head = "".join(f'<th scope="col">{html.escape(c.replace("_", " "))}</th>' for c in columns)
    body = []
    for row in rows:
        cells = []
        for column in columns:
            value = row.get(column, "")
            shown = html.escape(_cell(value))
            classes = ' class="num"' if isinstance(value, (int, float)) else ""
            if column == "severity":
                classes = f' class="sev-{html.escape(str(value))}"'
            cells.append(f'<td{classes} data-value="{html.escape(_cell(value), quote=True)}">{shown}</td>')
        body.append("<tr>" + "".join(cells) + "</tr>")
    return (
        f'<table class="sortable" id="{table_id}"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'
    )


def page(data: dict[str, Any]) -> str:
    run = data["run"]
    problems = data["hosts_with_problems"]
    sections = [
        f"<h2>Root causes</h2>{_html_table(data['causes'], CAUSE_COLUMNS, 'causes')}",
        "<h2>By site</h2>"
        + _html_table(data["by_site"], ("site", "hosts", "with_problems", "unreadable", "top_cause"), "sites"),
        "<h2>By OS build</h2>"
        + _html_table(data["by_os_build"], ("os_build", "hosts", "with_problems", "unreadable", "top_cause"), "builds"),
    ]
    if data["unreadable_entries"]:
        sections.append(
            "<h2>Unreadable entries</h2>" + _html_table(data["unreadable_entries"], ("source", "error"), "unreadable")
        )
    verdict = (
        f"{problems} of {data['hosts']} hosts have problems; {len(data['causes'])} distinct causes"
        if problems
        else f"no problems found on {data['hosts']} hosts"
    )
    return _PAGE.format(
        title=html.escape(f"wmidoctor fleet diagnosis, run {run['id']}"),
        banner_class="bad" if problems else "good",
        verdict=html.escape(verdict),
        sections="\n".join(sections),
    )
