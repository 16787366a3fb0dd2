import parsePrometheusTextFormat, { type PrometheusFamily, type PrometheusSample } from 'parse-prometheus-text-format';

/** One scrape of a /metrics endpoint, parsed with a port of Prometheus' own text parser. */
export interface Scrape {
  status: number;
  contentType: string | null;
  text: string;
  families: PrometheusFamily[];
  /**
   * The same text parsed without its histograms' TYPE lines, so every `_bucket`, `_sum` and
   * `_count` series keeps its labels: the parser folds a labelled histogram into one sample
   * without labels or count (prom2json's old flattening).
   */
  series: PrometheusFamily[];
}

export async function scrape(url: string, token?: string): Promise<Scrape> {
  const res = await fetch(url, token ? { headers: { Authorization: `Bearer ${token}` } } : {});
  const text = await res.text();
  const ok = res.status === 200;
  return {
    status: res.status, contentType: res.headers.get('content-type'), text,
    families: ok ? parsePrometheusTextFormat(text) : [],
    series: ok ? parsePrometheusTextFormat(text.replace(/^# TYPE \S+ histogram$/gm, '')) : [],
  };
}

function samples(scraped: Scrape, name: string, labels: Record<string, string>, from: 'families' | 'series' = 'families'): PrometheusSample[] {
  return scraped[from].filter((f) => f.name === name).flatMap((f) => f.metrics)
    .filter((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v));
}

/** The sum of a counter's or gauge's samples whose labels include `labels`. */
export function total(scraped: Scrape, name: string, labels: Record<string, string> = {}): number {
  return samples(scraped, name, labels).reduce((sum, m) => sum + Number(m.value), 0);
}

/** The summed observation count of a histogram's series whose labels include `labels`. */
export function observations(scraped: Scrape, name: string, labels: Record<string, string> = {}): number {
  return samples(scraped, `${name}_count`, labels, 'series').reduce((sum, m) => sum + Number(m.value), 0);
}

/** Observations at most `le` (a bucket bound as the exposition writes it, e.g. "5"). */
export function observationsAtMost(scraped: Scrape, name: string, le: string, labels: Record<string, string> = {}): number {
  return samples(scraped, `${name}_bucket`, { ...labels, le }, 'series').reduce((sum, m) => sum + Number(m.value), 0);
}

/** Every label value of every sample. */
export function labelValues(scraped: Scrape): string[] {
  return scraped.series.flatMap((f) => f.metrics.flatMap((m) => Object.values(m.labels ?? {})));
}
