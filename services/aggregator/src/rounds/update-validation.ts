import { RejectReason, type ExperimentState } from '@fedledger/contracts';
import type { WeightTensor } from '@fedledger/fl-core';

/** Why an update does not count, in words a centre's operator can act on. */
export class UpdateRejection extends Error {
  constructor(
    readonly code: RejectReason,
    message: string,
  ) {
    super(message);
    this.name = 'UpdateRejection';
  }
}

/** What the experiment state says about an update for `round` from `centreId`: count it, it was counted, or reject it. */
export type UpdateStanding = { kind: 'open' } | { kind: 'already-counted' };

export function standingOf(state: ExperimentState, round: number, centreId: string, taskId: string, receivedAtMs: number): UpdateStanding {
  const exp = state.plan.id;
  const past = state.completedRounds.find((r) => r.round === round);
  if (past?.centres.includes(centreId)) return { kind: 'already-counted' };
  const c = state.current;
  if (state.status !== 'running' || !c) {
    throw new UpdateRejection(RejectReason.REJECT_REASON_ROUND_CLOSED, `update from centre ${centreId} for experiment ${exp} round ${round}: the experiment is ${state.status}`);
  }
  if (c.round !== round) {
    throw new UpdateRejection(RejectReason.REJECT_REASON_ROUND_CLOSED, `update from centre ${centreId} is for round ${round}, but experiment ${exp} is in round ${c.round}`);
  }
  if (!c.selected.includes(centreId)) {
    throw new UpdateRejection(RejectReason.REJECT_REASON_UNKNOWN_CENTRE, `centre ${centreId} was not given a task in round ${round} of experiment ${exp} (tasked: ${c.selected.join(', ')})`);
  }
  const prefix = `${exp}-r${round}-a`;
  if (!taskId.startsWith(prefix) || !taskId.endsWith(`-${centreId}`)) {
    throw new UpdateRejection(RejectReason.REJECT_REASON_MALFORMED, `update from centre ${centreId} answers task '${taskId}', which is not a task of round ${round} of experiment ${exp}`);
  }
  if (c.phase === 'training' && receivedAtMs > c.deadlineMs) {
    throw new UpdateRejection(RejectReason.REJECT_REASON_ROUND_CLOSED, `update from centre ${centreId} arrived ${receivedAtMs - c.deadlineMs} ms after the round ${round} deadline`);
  }
  return { kind: 'open' };
}

/** Same tensor names, shapes and dtype as the global model, every value finite. */
export function checkAgainstGlobal(centreId: string, update: readonly WeightTensor[], global: readonly WeightTensor[]): void {
  const who = `update from centre ${centreId} rejected`;
  if (update.length !== global.length) {
    throw new UpdateRejection(RejectReason.REJECT_REASON_SHAPE_MISMATCH, `${who}: it has ${update.length} tensors, the global model has ${global.length}`);
  }
  for (let t = 0; t < global.length; t++) {
    const g = global[t]!;
    const u = update[t]!;
    if (u.name !== g.name) throw new UpdateRejection(RejectReason.REJECT_REASON_SHAPE_MISMATCH, `${who}: tensor #${t} is ${u.name}, expected ${g.name}`);
    if (u.shape.length !== g.shape.length || u.shape.some((d, i) => d !== g.shape[i])) {
      throw new UpdateRejection(RejectReason.REJECT_REASON_SHAPE_MISMATCH, `${who}: tensor ${g.name} has shape [${u.shape.join(',')}], expected [${g.shape.join(',')}]`);
    }
    const data = u.data;
    for (let i = 0; i < data.length; i++) {
      const v = data[i]!;
      // v - v is NaN for NaN and ±Infinity, 0 otherwise: one cheap test per value.
      if (v - v !== 0) throw new UpdateRejection(RejectReason.REJECT_REASON_NON_FINITE, `${who}: tensor ${g.name} has ${v} at index ${i}`);
    }
  }
}
