// Options of the `hostmetrics` receiver, as in the Collector's hostmetricsreceiver: a collection
// interval, an initial delay, `root_path` (the host's / when Sonde runs in a container with it
// mounted, e.g. /hostfs) and one entry per scraper. Each scraper accepts `metrics:` to switch
// single metrics on or off, plus the filters the Collector's scraper of that name has.
import { parseDuration } from '../../internal/duration.js';
import { validateMetricToggles } from './metadata.js';

export type MatchType = 'strict' | 'regexp';
export type NameFilterConfig = { match_type?: MatchType } & Record<string, unknown>;

export interface ScraperConfig {
  metrics?: Record<string, { enabled?: boolean } | null>;
  include?: NameFilterConfig;
  exclude?: NameFilterConfig;
  include_devices?: NameFilterConfig;
  exclude_devices?: NameFilterConfig;
  include_fs_types?: NameFilterConfig;
  exclude_fs_types?: NameFilterConfig;
  include_mount_points?: NameFilterConfig;
  exclude_mount_points?: NameFilterConfig;
  include_virtual_filesystems?: boolean;
  cpu_average?: boolean;
}

export interface HostMetricsConfig {
  collection_interval: string;
  initial_delay: string;
  root_path: string;
  scrapers: Record<string, ScraperConfig | null>;
}

export const createDefaultHostMetricsConfig = (): HostMetricsConfig => ({
  collection_interval: '1m',
  initial_delay: '1s',
  root_path: '',
  scrapers: {},
});

/** Per scraper: its filter options and the list key each filter holds. */
export const scraperOptions: Record<string, Record<string, string | 'boolean'>> = {
  cpu: {},
  memory: {},
  load: { cpu_average: 'boolean' },
  disk: { include: 'devices', exclude: 'devices' },
  network: { include: 'interfaces', exclude: 'interfaces' },
  filesystem: {
    include_devices: 'devices', exclude_devices: 'devices',
    include_fs_types: 'fs_types', exclude_fs_types: 'fs_types',
    include_mount_points: 'mount_points', exclude_mount_points: 'mount_points',
    include_virtual_filesystems: 'boolean',
  },
  paging: {},
  processes: {},
};

/** A compiled include or exclude list: does `name` match one of its entries? */
export type NameMatcher = (name: string) => boolean;

export function compileFilter(cfg: NameFilterConfig | undefined, listKey: string, what: string): NameMatcher | undefined {
  if (cfg === undefined || cfg === null) return undefined;
  const list = cfg[listKey];
  if (!Array.isArray(list) || list.some((x) => typeof x !== 'string')) {
    throw new Error(`${what}.${listKey}: expected a list of strings, got ${JSON.stringify(list)}`);
  }
  const matchType = cfg.match_type ?? 'strict';
  for (const key of Object.keys(cfg)) {
    if (key !== listKey && key !== 'match_type') throw new Error(`${what}: unknown key "${key}" (allowed: ${listKey}, match_type)`);
  }
  if (matchType === 'strict') {
    const set = new Set(list as string[]);
    return (name) => set.has(name);
  }
  if (matchType !== 'regexp') throw new Error(`${what}.match_type: must be "strict" or "regexp", got "${String(matchType)}"`);
  const res = (list as string[]).map((src) => {
    try {
      return new RegExp(src);
    } catch (err) {
      throw new Error(`${what}.${listKey}: invalid regexp "${src}": ${(err as Error).message}`);
    }
  });
  return (name) => res.some((re) => re.test(name));
}

/** include (when given) must match and exclude (when given) must not. */
export function compileIncludeExclude(include: NameMatcher | undefined, exclude: NameMatcher | undefined): NameMatcher {
  return (name) => (include === undefined || include(name)) && !(exclude !== undefined && exclude(name));
}

export function validateHostMetricsConfig(cfg: HostMetricsConfig): void {
  if (parseDuration(cfg.collection_interval, 'collection_interval') <= 0) {
    throw new Error(`collection_interval: must be positive, got "${cfg.collection_interval}"`);
  }
  parseDuration(cfg.initial_delay, 'initial_delay');
  const names = Object.keys(cfg.scrapers ?? {});
  if (names.length === 0) {
    throw new Error(`scrapers: must specify at least one scraper (available: ${Object.keys(scraperOptions).join(', ')})`);
  }
  for (const name of names) {
    const options = scraperOptions[name];
    if (!options) throw new Error(`scrapers: unknown scraper "${name}" (available: ${Object.keys(scraperOptions).join(', ')})`);
    const sc = cfg.scrapers[name] ?? {};
    validateMetricToggles(name, sc.metrics);
    for (const [key, value] of Object.entries(sc)) {
      if (key === 'metrics') continue;
      const kind = options[key];
      if (kind === undefined) throw new Error(`scrapers::${name}: unknown key "${key}"`);
      if (kind === 'boolean') {
        if (typeof value !== 'boolean') throw new Error(`scrapers::${name}::${key}: must be true or false`);
      } else {
        compileFilter(value as NameFilterConfig, kind, `scrapers::${name}::${key}`);
      }
    }
  }
}
