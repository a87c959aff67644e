#!/usr/bin/python3
"""Draws the chart's Grafana dashboard as a PNG from a Prometheus that scraped a real run.

Not Grafana: this reads the dashboard JSON (charts/gvisor-oom-watcher/dashboards/gvisor-oom-watcher.json),
evaluates every panel target's PromQL with Prometheus's HTTP API (/api/v1/query_range) over the run's
time range, and draws each panel where its gridPos puts it (24 columns, 30 px a row), with matplotlib:
time series as lines (with the legend's max and last values), stat panels as their last value over a
sparkline, as Grafana's stat panel shows its default "lastNotNull".

Grafana's variables are substituted as Grafana would with the data source's scrape interval set to the
one of the run's Prometheus (see substitute()): every variable of the dashboard is "All", and the query
step is the scrape interval. Used by scripts/dashboard-png.sh; run with Debian's python3 and
python3-matplotlib.
"""
import argparse
import json
import math
import re
import sys
import urllib.parse
import urllib.request
from datetime import datetime, timezone

GRID_COLUMNS = 24
ROW_PX = 30
WIDTH_PX = 1600
HEADER_PX = 70
DPI = 100

# Grafana's dark theme, roughly
BACKGROUND = "#111217"
PANEL = "#181b1f"
BORDER = "#2c3235"
TEXT = "#ccccdc"
MUTED = "#8e8e9e"
PALETTE = ["#73bf69", "#f2cc0c", "#8ab8ff", "#ff780a", "#f2495c", "#5794f2", "#b877d9", "#705da0",
           "#37872d", "#fade2a", "#447ebc", "#c15c17", "#890f02", "#0a437c", "#6d1f62", "#584477"]

VARIABLE = re.compile(r"\$(\{[A-Za-z_][A-Za-z0-9_]*(?::[a-z]+)?\}|[A-Za-z_][A-Za-z0-9_]*)")


def grafana_variables(dashboard, start, end, scrape_interval_s):
    """The values Grafana would give the dashboard's variables for this time range.

    - $__interval: the query step; the range over the panel's width is far below the data source's
      scrape interval here, so Grafana would use the scrape interval (its "Min interval" default).
    - $__rate_interval: Grafana's max($__interval + scrape interval, 4 * scrape interval).
    - $__range: the whole time range, in seconds.
    - every templating variable (node, namespace): "All", that is its allValue (".*"); the
      datasource variable is the run's Prometheus itself and appears in no expression.
    """
    interval = scrape_interval_s
    values = {
        "__interval": f"{interval}s",
        "__interval_ms": str(interval * 1000),
        "__rate_interval": f"{max(interval + scrape_interval_s, 4 * scrape_interval_s)}s",
        "__range": f"{int(round(end - start))}s",
        "__range_s": str(int(round(end - start))),
    }
    for variable in dashboard.get("templating", {}).get("list", []):
        if variable.get("type") == "datasource":
            continue
        if not variable.get("includeAll"):
            raise ValueError(f"variable {variable['name']} has no All value: pick one with a flag first")
        values[variable["name"]] = variable.get("allValue") or ".*"
    return values


def substitute(expr, values):
    """Replaces $name and ${name} (${name:format} too) in a PromQL expression; unknown names fail."""

    def replace(match):
        name = match.group(1)
        if name.startswith("{"):
            name = name[1:-1].split(":")[0]
        if name not in values:
            raise ValueError(f"unknown variable ${name} in {expr}")
        return values[name]

    return VARIABLE.sub(replace, expr)


def panel_targets(dashboard):
    """(panel, target) for every target of every panel, rows' nested panels included."""
    for panel in dashboard["panels"]:
        for inner in [panel] + panel.get("panels", []):
            for target in inner.get("targets", []):
                if target.get("expr"):
                    yield inner, target


def query_range(prometheus, expr, start, end, step):
    params = urllib.parse.urlencode({"query": expr, "start": f"{start:.3f}", "end": f"{end:.3f}", "step": f"{step}s"})
    try:
        with urllib.request.urlopen(f"{prometheus}/api/v1/query_range?{params}", timeout=30) as response:
            body = json.load(response)
    except urllib.error.HTTPError as e:
        raise RuntimeError(f"Prometheus refused {expr}: {e.read().decode(errors='replace')}") from e
    if body.get("status") != "success":
        raise RuntimeError(f"Prometheus failed {expr}: {body}")
    return body["data"]["result"]


def legend(fmt, labels):
    if not fmt:
        return "{" + ", ".join(f'{k}="{v}"' for k, v in sorted(labels.items())) + "}"
    return re.sub(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}", lambda m: labels.get(m.group(1), ""), fmt)


def series_of(panel, prometheus, values, start, end, step):
    """[(name, [times], [values])] of a panel, target by target, in Prometheus's order."""
    out = []
    for target in panel.get("targets", []):
        expr = substitute(target["expr"], values)
        grid = [start + k * step for k in range(int((end - start) // step) + 1)]
        for result in query_range(prometheus, expr, start, end, step):
            # Prometheus leaves out the steps without a value; Grafana draws those as gaps: NaN here
            by_step = {round((float(t) - start) / step): float(v) for t, v in result["values"]}
            out.append((legend(target.get("legendFormat"), result["metric"]), grid,
                        [by_step.get(k, float("nan")) for k in range(len(grid))]))
    return out


def fmt_value(value, unit):
    if value is None or math.isnan(value):
        return "–"
    if unit == "percentunit":
        return f"{value * 100:.0f}%"
    if unit == "bytes":
        for factor, suffix in ((1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")):
            if abs(value) >= factor:
                return f"{value / factor:.1f} {suffix}".replace(".0 ", " ")
        return f"{value:.0f} B"
    if unit == "s":
        if value == 0:
            return "0 s"
        return f"{value * 1000:.0f} ms" if abs(value) < 1 else f"{value:.2f} s"
    if value == int(value):
        return f"{int(value)}"
    return f"{value:.2f}"


def last_not_null(values):
    for v in reversed(values):
        if not math.isnan(v):
            return v
    return float("nan")


def draw(dashboard, panels_data, start, end, step, caption, out):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.dates import DateFormatter
    from matplotlib.ticker import FuncFormatter, MaxNLocator, MultipleLocator

    rows = max(p["gridPos"]["y"] + p["gridPos"]["h"] for p, _ in panels_data)
    height_px = HEADER_PX + rows * ROW_PX + 10
    fig = plt.figure(figsize=(WIDTH_PX / DPI, height_px / DPI), dpi=DPI, facecolor=BACKGROUND)
    plt.rcParams.update({"font.size": 7, "text.color": TEXT, "axes.labelcolor": TEXT,
                         "xtick.color": MUTED, "ytick.color": MUTED, "font.family": "DejaVu Sans"})
    col_px = WIDTH_PX / GRID_COLUMNS
    fig.text(8 / WIDTH_PX, 1 - 22 / height_px, dashboard["title"], fontsize=14, color=TEXT, weight="bold")
    fig.text(8 / WIDTH_PX, 1 - 44 / height_px, caption, fontsize=8, color=MUTED)
    span = (f"{datetime.fromtimestamp(start, timezone.utc):%Y-%m-%d %H:%M:%S} to "
            f"{datetime.fromtimestamp(end, timezone.utc):%H:%M:%S} UTC, step {step} s; Node: All, Namespace: All")
    fig.text(8 / WIDTH_PX, 1 - 60 / height_px, span, fontsize=8, color=MUTED)

    def box(grid, pad=4):
        """Figure coordinates [left, bottom, width, height] of a grid position, in pixels padded."""
        left = grid["x"] * col_px + pad
        top = HEADER_PX + grid["y"] * ROW_PX + pad
        w = grid["w"] * col_px - 2 * pad
        h = grid["h"] * ROW_PX - 2 * pad
        return left, top, w, h

    def to_fig(left, top, w, h):
        return [left / WIDTH_PX, 1 - (top + h) / height_px, w / WIDTH_PX, h / height_px]

    times = lambda ts: [datetime.fromtimestamp(t, timezone.utc) for t in ts]
    for panel, series in panels_data:
        left, top, w, h = box(panel["gridPos"])
        frame = fig.add_axes(to_fig(left, top, w, h))
        frame.set_facecolor(PANEL)
        frame.set_xticks([])
        frame.set_yticks([])
        for spine in frame.spines.values():
            spine.set_color(BORDER)
        frame.text(8 / w, 1 - 14 / h, panel["title"], transform=frame.transAxes, fontsize=8.5, color=TEXT,
                   weight="bold", va="center")
        unit = panel.get("fieldConfig", {}).get("defaults", {}).get("unit")
        if not series:
            frame.text(0.5, 0.5, "No data", transform=frame.transAxes, ha="center", va="center", color=MUTED,
                       fontsize=10)
            continue
        if panel["type"] == "stat":
            n = len(series)
            for i, (name, ts, vs) in enumerate(series):
                color = PALETTE[i % len(PALETTE)]
                cell_w = (w - 16) / n
                spark = fig.add_axes(to_fig(left + 8 + i * cell_w, top + h * 0.55, cell_w - 8, h * 0.4))
                spark.set_axis_off()
                spark.fill_between(times(ts), vs, alpha=0.25, color=color, step="post", linewidth=0)
                spark.plot(times(ts), vs, color=color, linewidth=1, drawstyle="steps-post")
                spark.set_xlim(times([start, end]))
                low = min((v for v in vs if not math.isnan(v)), default=0)
                spark.set_ylim(min(0, low), max(1, max((v for v in vs if not math.isnan(v)), default=1)) * 1.15)
                x = (8 + i * cell_w + cell_w / 2) / w
                frame.text(x, 0.52, fmt_value(last_not_null(vs), unit), transform=frame.transAxes, ha="center",
                           va="center", fontsize=20 if n <= 2 else 14, color=color, weight="bold")
                if n > 1:
                    frame.text(x, 0.18, name, transform=frame.transAxes, ha="center", va="center", fontsize=7.5,
                               color=TEXT)
            continue
        # time series: plot on the left, the legend table (name, max, last) on the right
        legend_w = w * 0.40
        plot = fig.add_axes(to_fig(left + 46, top + 24, w - legend_w - 56, h - 46))
        plot.set_facecolor(PANEL)
        for spine in plot.spines.values():
            spine.set_visible(False)
        plot.grid(True, color=BORDER, linewidth=0.5)
        step_style = panel.get("fieldConfig", {}).get("defaults", {}).get("custom", {}).get(
            "lineInterpolation") == "stepAfter"
        rows_text = []
        for i, (name, ts, vs) in enumerate(series):
            color = PALETTE[i % len(PALETTE)]
            plot.plot(times(ts), vs, color=color, linewidth=1.2, drawstyle="steps-post" if step_style else "default")
            # a value with no neighbour (a rate over one kill's window) is no line: mark it, as Grafana does
            lonely = [i for i in range(len(vs)) if not math.isnan(vs[i])
                      and (i == 0 or math.isnan(vs[i - 1])) and (i == len(vs) - 1 or math.isnan(vs[i + 1]))]
            plot.plot(times([ts[i] for i in lonely]), [vs[i] for i in lonely], color=color, linestyle="none",
                      marker="o", markersize=2.5)
            finite = [v for v in vs if not math.isnan(v)]
            rows_text.append((color, name, max(finite) if finite else float("nan"), last_not_null(vs)))
        plot.set_xlim(times([start, end]))
        plot.xaxis.set_major_formatter(DateFormatter("%H:%M:%S"))
        plot.xaxis.set_major_locator(MaxNLocator(5))
        plot.yaxis.set_major_formatter(FuncFormatter(lambda v, _, unit=unit: fmt_value(v, unit)))
        low, high = plot.get_ylim()
        every = [v for _, _, vs in series for v in vs if not math.isnan(v)]
        plot.set_ylim(0 if min(every, default=0) >= 0 else low, high if max(every, default=0) > 0 else 1)
        if unit == "bytes":
            # binary steps: 16 MiB, 32 MiB, ... rather than 30000000
            base = 1 << 20
            while plot.get_ylim()[1] / base > 5:
                base *= 2
            plot.yaxis.set_major_locator(MultipleLocator(base))
        else:
            plot.yaxis.set_major_locator(MaxNLocator(5, integer=unit in (None, "short")))
        plot.tick_params(length=0, labelsize=6.5)
        legend_left = (w - legend_w) / w
        line_h = 11 / h
        y = 1 - 30 / h
        frame.text(legend_left + 0.65 * legend_w / w, y, "Max", transform=frame.transAxes, fontsize=6.5,
                   color=MUTED, ha="right")
        frame.text(legend_left + 0.95 * legend_w / w, y, "Last", transform=frame.transAxes, fontsize=6.5,
                   color=MUTED, ha="right")
        max_rows = int((h - 40) / 11)
        shown = rows_text if len(rows_text) <= max_rows else rows_text[:max_rows - 1]
        for color, name, mx, last in shown:
            y -= line_h
            frame.text(legend_left, y, "▬", transform=frame.transAxes, fontsize=6.5, color=color)
            short = name if len(name) <= 38 else name[:37] + "…"
            frame.text(legend_left + 12 / w, y, short, transform=frame.transAxes, fontsize=6.5, color=TEXT)
            frame.text(legend_left + 0.65 * legend_w / w, y, fmt_value(mx, unit), transform=frame.transAxes,
                       fontsize=6.5, color=TEXT, ha="right")
            frame.text(legend_left + 0.95 * legend_w / w, y, fmt_value(last, unit), transform=frame.transAxes,
                       fontsize=6.5, color=TEXT, ha="right")
        if len(shown) < len(rows_text):
            frame.text(legend_left + 12 / w, y - line_h, f"… and {len(rows_text) - len(shown)} more series",
                       transform=frame.transAxes, fontsize=6.5, color=MUTED)
    # a palette of 128 colours (Pillow, which matplotlib needs anyway) keeps the PNG small for a README
    import io
    from PIL import Image
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI, facecolor=BACKGROUND)
    buffer.seek(0)
    image = Image.open(buffer).convert("RGB").quantize(colors=128, method=Image.Quantize.MEDIANCUT)
    image.save(out, optimize=True)


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dashboard", required=True)
    parser.add_argument("--prometheus", help="base URL of the Prometheus that scraped the run")
    parser.add_argument("--summary", help="the scenario's summary JSON (start, end in epoch seconds)")
    parser.add_argument("--scrape-interval", type=int, default=2, help="seconds (default 2)")
    parser.add_argument("--out", help="the PNG to write")
    parser.add_argument("--print-queries", action="store_true",
                        help="print every target substituted (one JSON string a line) for a 150 s range, and exit")
    args = parser.parse_args(argv)
    with open(args.dashboard) as f:
        dashboard = json.load(f)
    if args.print_queries:
        values = grafana_variables(dashboard, 0, 150, args.scrape_interval)
        print(json.dumps([substitute(t["expr"], values) for _, t in panel_targets(dashboard)]))
        return 0
    with open(args.summary) as f:
        summary = json.load(f)
    start, end = summary["start"], summary["end"]
    values = grafana_variables(dashboard, start, end, args.scrape_interval)
    panels_data = []
    empty = []
    for panel in dashboard["panels"]:
        if "gridPos" not in panel or panel.get("type") == "row":
            continue
        series = series_of(panel, args.prometheus, values, start, end, args.scrape_interval)
        if not series:
            empty.append(panel["title"])
        panels_data.append((panel, series))
    nodes = ", ".join(f"{n['node']} ({'kernel log' if n['kernelLog'] else 'cgroup-only'})" for n in summary["nodes"])
    caption = (f"Not Grafana: the dashboard's own PromQL, evaluated by Prometheus over a real run "
               f"(scripts/dashboard-png.sh: {summary['kills']} real runsc OOM kills, {len(summary['pods'])} gVisor "
               f"pods on two nodes' agents: {nodes}; API stand-in), drawn with matplotlib.")
    draw(dashboard, panels_data, start, end, args.scrape_interval, caption, args.out)
    print(f"wrote {args.out}: {len(panels_data)} panels"
          + (f"; no data in: {', '.join(empty)}" if empty else "; every panel has data"))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
