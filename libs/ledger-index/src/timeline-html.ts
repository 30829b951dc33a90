import type { Timeline } from './queries';

const escape = (v: unknown) =>
  String(v ?? '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;');

const row = (cells: unknown[], tag = 'td') => `<tr>${cells.map((c) => `<${tag}>${escape(c)}</${tag}>`).join('')}</tr>`;
const table = (head: string[], rows: unknown[][]) => (rows.length ? `<table><thead>${row(head, 'th')}</thead><tbody>${rows.map((r) => row(r)).join('')}</tbody></table>` : '<p class="none">none</p>');

/** The passport's timeline as one self-contained HTML page (no script, no external resource). */
export function timelineHtml(t: Timeline): string {
  const p = t.passport;
  const model = (p.model ?? {}) as Record<string, unknown>;
  const owner = (p.owner ?? {}) as Record<string, unknown>;
  const metrics = (p.metrics ?? []) as Record<string, unknown>[];
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>AI passport ${escape(p.id)}</title>
<style>
body{font:14px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:72rem;padding:0 1rem;color:#1d2733}
h1{font-size:1.5rem;margin-bottom:.2rem} h2{font-size:1.1rem;margin-top:2rem;border-bottom:1px solid #d5dbe3}
table{border-collapse:collapse;width:100%;margin:.5rem 0} th,td{text-align:left;padding:.3rem .5rem;border-bottom:1px solid #eef1f5;vertical-align:top}
th{background:#f5f7fa} code,.digest{font-family:ui-monospace,monospace;font-size:12px;word-break:break-all} .none{color:#7a8594}
.status{display:inline-block;padding:.1rem .5rem;border-radius:.8rem;background:#e8f0fe}
</style></head><body>
<h1>AI passport <code>${escape(p.id)}</code> <span class="status">${escape(p.status)}</span></h1>
<p>${escape(p.description)}</p>
<table><tbody>
${row(['owner', `${owner.mspId}/${owner.commonName}`])}
${row(['model', `${model.name} ${model.version} (${model.architecture}; ${model.task}; ${model.modality}; ${model.framework}; licence ${model.licence})`])}
${row(['training type', p.trainingType])}
${row(['version', p.version])}
${row(['rounds', `${p.roundCount}, chain ending ${p.lastRoundDigest ?? '-'}`])}
${row(['released model', p.artifactDigest ?? 'not recorded'])}
${row(['created', `${p.createdAt} (tx ${p.createdTxId})`])}
${row(['updated', `${p.updatedAt} (tx ${p.updatedTxId})`])}
</tbody></table>
<h2>Timeline</h2>
${table(['time', 'what', 'transaction'], t.entries.map((e) => [e.at, e.summary, e.txId]))}
<h2>Datasets</h2>
${table(['dataset', 'role', 'centre'], ((p.datasets ?? []) as Record<string, unknown>[]).map((d) => [d.datasetId, d.role, d.centre]))}
<h2>Grants used</h2>
${table(['dataset', 'purpose', 'status', 'granted by', 'until'], t.grants.map((g) => [g.datasetId, g.purpose, g.status, g.grantedBy, g.expiresAt]))}
<h2>Federated rounds</h2>
${table(['round', 'participants', 'aggregate', 'previous round', 'round digest', 'metrics'], t.rounds.map((r) => [r.roundNumber, ((r.participants ?? []) as Record<string, unknown>[]).map((x) => `${x.centre} (${x.numExamples})`).join(', '), r.aggregateDigest, r.previousRoundDigest ?? '-', r.roundDigest, ((r.metrics ?? []) as Record<string, unknown>[]).map((m) => `${m.name} ${m.value}`).join(', ')]))}
<h2>Metrics</h2>
${table(['name', 'value', 'dataset', 'subgroup', 'recorded'], metrics.map((m) => [m.name, m.value, m.dataset, m.subgroup ?? '', m.recordedAt]))}
<h2>Flagged biases</h2>
${table(['bias', 'type', 'affected group', 'severity', 'status', 'flagged by', 'resolution'], t.biases.map((b) => [b.biasId, b.type, b.affectedGroup, b.severity, b.status, b.flaggedBy, b.resolution ?? '']))}
<p class="none">From the ledger-indexer's cache; \`fedledger index verify\` checks it against the ledger.</p>
</body></html>
`;
}
