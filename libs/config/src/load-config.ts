import { z } from 'zod';

/** One bad environment variable and what is wrong with it. */
export interface ConfigIssue {
  /** The variable name (or a dotted path for nested schemas). */
  variable: string;
  /** What was expected, followed by what was found: "expected nats://host:port, got 'localhost'". */
  reason: string;
}

/** Thrown by `loadConfig` at start-up; lists every bad variable, not just the first. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';

  constructor(
    readonly service: string,
    readonly issues: readonly ConfigIssue[],
  ) {
    super(
      [
        `${service}: invalid configuration (${issues.length} problem${issues.length === 1 ? '' : 's'})`,
        ...issues.map((i) => `${service}: ${i.variable}: ${i.reason}`),
      ].join('\n'),
    );
  }
}

/**
 * Reads and validates a service's configuration from the environment, once, at start-up.
 *
 * Empty variables (`FOO=`) count as unset, so defaults apply. Unknown variables are ignored.
 * The result is frozen: configuration does not change while the service runs.
 *
 * @throws ConfigError naming every bad variable with its reason.
 */
export function loadConfig<T extends z.ZodTypeAny>(service: string, schema: T, env: NodeJS.ProcessEnv = process.env): z.infer<T> {
  const input: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) {
    if (value !== undefined && value !== '') input[key] = value;
  }
  const result = schema.safeParse(input, { errorMap: configErrorMap });
  if (!result.success) {
    throw new ConfigError(service, uniqueIssues(result.error.issues.map((issue) => toConfigIssue(issue, input))));
  }
  const config: z.infer<T> = result.data;
  return typeof config === 'object' && config !== null ? Object.freeze(config) : config;
}

/** Phrases zod's generic messages the way the rest of our messages read; schema-specific messages win. */
const configErrorMap: z.ZodErrorMap = (issue, ctx) => {
  if (issue.code === z.ZodIssueCode.invalid_type && issue.received === z.ZodParsedType.undefined) {
    return { message: 'required, not set' };
  }
  if (issue.code === z.ZodIssueCode.invalid_enum_value) {
    return { message: `expected one of ${issue.options.map(String).join('|')}` };
  }
  return { message: ctx.defaultError };
};

function toConfigIssue(issue: z.ZodIssue, input: Readonly<Record<string, string>>): ConfigIssue {
  const variable = issue.path.length > 0 ? issue.path.map(String).join('.') : '(configuration)';
  const raw = issue.path.length === 1 ? input[String(issue.path[0])] : undefined;
  const reason = raw === undefined ? issue.message : `${issue.message}, got '${displayValue(variable, raw)}'`;
  return { variable, reason };
}

function uniqueIssues(issues: ConfigIssue[]): ConfigIssue[] {
  const seen = new Set<string>();
  return issues.filter((i) => {
    const key = `${i.variable}\u0000${i.reason}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

const SECRET_NAME = /PASSWORD|PASSWD|SECRET|TOKEN|PRIVATE|CREDENTIAL|API_KEY/i;

/** Error messages end up in logs: never echo a secret, and hide the password part of URLs. */
function displayValue(variable: string, raw: string): string {
  if (SECRET_NAME.test(variable)) return '<redacted>';
  return raw.replace(/(\/\/[^/@:\s]*:)[^/@\s]*@/g, '$1***@');
}
