/**
 * Limits shared by the parties of a round: the coordinator's experiment plans stay within them, and a centre-agent
 * refuses a task beyond them (it came from a broken or hostile sender), so every task a real experiment sends passes.
 */
export const TASK_LIMITS = {
  /** Local epochs per round. */
  epochs: 10_000,
  batchSize: 1_000_000,
  /** Largest learning rate; it must also be finite and > 0. */
  learningRate: 10,
} as const;

/**
 * A passport or dataset id as the chaincode takes it (its `identifier` rule in chaincode/ai-passport validate.ts):
 * a letter or digit, then letters, digits, '.', '_' or '-'; at most 128 characters.
 */
export const LEDGER_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
