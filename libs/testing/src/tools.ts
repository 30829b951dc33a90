import { ensureTools, missingTools } from '@fedledger/local-stack';

/** Builds missing binaries first (the bootstrap prints its progress to stderr). */
export async function ensureToolsForTests(): Promise<void> {
  const missing = missingTools();
  if (missing.length === 0) return;
  process.stderr.write(`[@fedledger/testing] ${missing.join(', ')} missing; running npm run tools...\n`);
  await ensureTools();
}
