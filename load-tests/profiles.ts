/**
 * Load profiles: open-model scenarios (a constant arrival rate, whatever the latency — as k6's
 * `constant-arrival-rate` executor and vegeta's attack) with their thresholds. All scenarios of a profile run at the
 * same time against one stack, like the scenarios of one k6 script.
 */
export type ScenarioName = 'registry-create' | 'registry-update' | 'registry-read' | 'registry-history' | 'indexer-query' | 'indexer-timeline';

export interface Scenario {
  /** Requests per second, sent on schedule whether or not earlier ones have answered. */
  rate: number;
  thresholds: {
    /** 95th percentile latency must stay under this. */
    p95Ms: number;
    /** Share of requests that may fail (a non-2xx status or no answer), 0..1. */
    maxErrorRate: number;
  };
}

export interface Profile {
  /** How long every scenario runs, in seconds. */
  durationS: number;
  description: string;
  scenarios: Record<ScenarioName, Scenario>;
}

const writes = { p95Ms: 500, maxErrorRate: 0.01 };
const reads = { p95Ms: 250, maxErrorRate: 0.01 };

/**
 * CI's profile, against a freshly started local stack: every scenario at once, 20 s. The long profile asks for five
 * times the rates for five minutes.
 */
const short: Profile = {
  durationS: 20,
  description: 'CI: 20 s of every scenario against a fresh local stack',
  scenarios: {
    'registry-create': { rate: 5, thresholds: writes },
    'registry-update': { rate: 5, thresholds: writes },
    'registry-read': { rate: 40, thresholds: reads },
    'registry-history': { rate: 20, thresholds: reads },
    'indexer-query': { rate: 6, thresholds: reads },
    'indexer-timeline': { rate: 2, thresholds: reads },
  },
};

/** The same scenarios and thresholds at `factor` times the rates, for `durationS`. */
function scaled(base: Profile, factor: number, durationS: number, description: string): Profile {
  const scenarios = Object.fromEntries(Object.entries(base.scenarios).map(([name, s]) => [name, { ...s, rate: s.rate * factor }])) as Record<ScenarioName, Scenario>;
  return { durationS, description, scenarios };
}

export const PROFILES: Record<'short' | 'long', Profile> = {
  short,
  long: scaled(short, 5, 300, 'capacity: 5 minutes of every scenario at five times the CI rates'),
};
