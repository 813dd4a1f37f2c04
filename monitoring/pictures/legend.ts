// A series' name as Grafana's Prometheus data source writes it in a legend, so that a picture's
// legend reads like the dashboard's.

/**
 * `legendFormat` with each `{{label}}` (spaces inside the braces allowed) replaced by that label's
 * value. A label the series does not have leaves its `{{label}}` as written, as Grafana does. An
 * empty format (or Grafana's `__auto`) gives Grafana's default name: the metric name, if any, then
 * every other label as `{a="b", c="d"}`, sorted by name.
 */
export function formatLegend(legendFormat: string, metric: Record<string, string>): string {
  if (legendFormat.trim() === "" || legendFormat === "__auto") return formatLabels(metric);
  return legendFormat.replace(/\{\{\s*([^{}]*?)\s*\}\}/g, (written, name: string) => metric[name] ?? written);
}

function formatLabels(metric: Record<string, string>): string {
  const { __name__: name = "", ...labels } = metric;
  const pairs = Object.keys(labels)
    .sort()
    .map((key) => `${key}="${labels[key] ?? ""}"`);
  return `${name}{${pairs.join(", ")}}`;
}
