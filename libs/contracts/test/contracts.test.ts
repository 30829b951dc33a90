import * as path from 'node:path';
import * as protobuf from 'protobufjs';
import {
  BlobRef,
  CentreHeartbeat,
  ComputeDevice,
  ExperimentCompleted,
  ExperimentOutcome,
  fedledger,
  ModelUpdate,
  RejectReason,
  RoundAggregated,
  RoundCompleted,
  RoundStarted,
  StrategyKind,
  streams,
  subjects,
  SubjectTokenError,
  TaskKind,
  TrainingTask,
  UpdateRejected,
  type IBlobRef,
  type ICentreResult,
  type IStrategy,
} from '../src';

const weightsRef = (blobId: string): IBlobRef => ({
  blobId,
  sha256: 'a3f1c2d4e5b6a7980112233445566778899aabbccddeeff00112233445566778',
  sizeBytes: 5_368_709_120, // 5 GiB: above 2^32, so the 64-bit path is exercised
  mediaType: 'application/vnd.fedledger.weights.flw1',
});
const fedprox: IStrategy = { kind: StrategyKind.STRATEGY_KIND_FEDPROX, proximalMu: 0.01 };
const nowMs = 1_767_225_600_123;
const results: ICentreResult[] = [
  { centreId: 'bcdr', taskId: 't-1', numExamples: 1200, metrics: [{ name: 'loss', value: 0.41 }], weights: weightsRef('exp-7/r3/bcdr'), trainDurationMs: 5400 },
  { centreId: 'stg', taskId: 't-2', numExamples: 800, metrics: [{ name: 'loss', value: 0.52 }], weights: weightsRef('exp-7/r3/stg'), trainDurationMs: 6100 },
];

/** Minimal view of a generated message class, enough to round-trip any of them. */
interface MessageClass<P extends object> {
  name: string;
  encode(message: P): protobuf.Writer;
  decode(bytes: Uint8Array): object;
  verify(message: P): string | null;
  toObject(message: never, options: protobuf.IConversionOptions): Record<string, unknown>;
}

const examples: Array<[MessageClass<object>, object]> = [
  [BlobRef, weightsRef('exp-7/r0/init')],
  [
    TrainingTask,
    {
      experimentId: 'exp-7',
      round: 3,
      centreId: 'bcdr',
      taskId: 'exp-7-r3-bcdr-1',
      globalWeights: weightsRef('exp-7/r2/aggregate'),
      epochs: 2,
      batchSize: 32,
      learningRate: 0.001,
      strategy: fedprox,
      deadlineUnixMs: nowMs + 600_000,
      issuedAtUnixMs: nowMs,
      kind: TaskKind.TASK_KIND_TRAIN,
      modelArchitecture: 'cnn-chest-xray-v1',
      datasetId: 'bcdr-cxr-2024',
    },
  ],
  [
    ModelUpdate,
    {
      experimentId: 'exp-7',
      round: 3,
      centreId: 'bcdr',
      taskId: 'exp-7-r3-bcdr-1',
      weights: weightsRef('exp-7/r3/bcdr'),
      numExamples: 1200,
      metrics: [
        { name: 'accuracy', value: 0.87 },
        { name: 'loss', value: 0.41 },
      ],
      trainDurationMs: 5400,
      signature: new Uint8Array([1, 2, 3, 254, 255]),
      signerCertFingerprint: 'ff00ee11',
      sentAtUnixMs: nowMs + 6000,
    },
  ],
  [
    RoundStarted,
    {
      experimentId: 'exp-7',
      round: 3,
      centreIds: ['bcdr', 'stg', 'ucl'],
      globalWeights: weightsRef('exp-7/r2/aggregate'),
      strategy: fedprox,
      minCentres: 2,
      deadlineUnixMs: nowMs + 600_000,
      startedAtUnixMs: nowMs,
    },
  ],
  [
    RoundAggregated,
    {
      experimentId: 'exp-7',
      round: 3,
      aggregate: weightsRef('exp-7/r3/aggregate'),
      results,
      aggregatedMetrics: [{ name: 'loss', value: 0.454 }],
      strategy: fedprox,
      aggregationDurationMs: 850,
      aggregatedAtUnixMs: nowMs + 7000,
    },
  ],
  [
    RoundCompleted,
    {
      experimentId: 'exp-7',
      round: 3,
      results,
      aggregatedMetrics: [{ name: 'loss', value: 0.454 }],
      aggregate: weightsRef('exp-7/r3/aggregate'),
      durationMs: 7200,
      missingCentres: ['ucl'],
      strategy: { kind: StrategyKind.STRATEGY_KIND_TRIMMED_MEAN, trimRatio: 0.1 },
      completedAtUnixMs: nowMs + 7200,
    },
  ],
  [
    UpdateRejected,
    {
      experimentId: 'exp-7',
      round: 3,
      centreId: 'ucl',
      taskId: 'exp-7-r3-ucl-1',
      code: RejectReason.REJECT_REASON_SHAPE_MISMATCH,
      reason: 'tensor conv1/kernel has shape [3,3,1,8], expected [3,3,1,16]',
      rejectedAtUnixMs: nowMs + 6500,
    },
  ],
  [
    ExperimentCompleted,
    {
      experimentId: 'exp-7',
      outcome: ExperimentOutcome.EXPERIMENT_OUTCOME_FAILED,
      reason: 'round 4: 1 of 3 centres answered, quorum is 2',
      roundsCompleted: 3,
      finalWeights: weightsRef('exp-7/r3/aggregate'),
      finalMetrics: [{ name: 'loss', value: 0.454 }],
      durationMs: 3_600_000,
      completedAtUnixMs: nowMs + 3_600_000,
    },
  ],
  [
    CentreHeartbeat,
    {
      centreId: 'bcdr',
      agentVersion: '0.1.0',
      capabilities: {
        backend: 'wasm',
        device: ComputeDevice.COMPUTE_DEVICE_CPU,
        cpuCores: 2,
        gpuCount: 0,
        freeMemoryBytes: 6_442_450_944,
        datasetIds: ['bcdr-cxr-2024', 'bcdr-ct-2023'],
      },
      activeTaskId: 'exp-7-r3-bcdr-1',
      sentAtUnixMs: nowMs,
    },
  ],
];

describe('generated contracts', () => {
  it.each(examples.map(([type, message]) => [type.name, type, message] as const))(
    '%s survives an encode/decode round trip unchanged',
    (_name, type, message) => {
      expect(type.verify(message)).toBeNull();
      const bytes = type.encode(message).finish();
      const decoded = type.decode(bytes);
      const plain = type.toObject(decoded as never, { defaults: false, arrays: true });
      expect(plain).toEqual(message);
    },
  );

  it('decodes 64-bit fields as plain numbers, not Long objects', () => {
    const decoded = BlobRef.decode(BlobRef.encode(weightsRef('x')).finish());
    expect(typeof decoded.sizeBytes).toBe('number');
    expect(decoded.sizeBytes).toBe(5_368_709_120);
  });

  it('reads unset fields as proto3 defaults', () => {
    const decoded = ModelUpdate.decode(ModelUpdate.encode({ experimentId: 'exp-7' }).finish());
    expect(decoded.round).toBe(0);
    expect(decoded.metrics).toEqual([]);
    expect(decoded.weights).toBeNull();
  });

  it('exposes the versioned namespace next to the short names', () => {
    expect(fedledger.fl.v1.TrainingTask).toBe(TrainingTask);
    expect(fedledger.common.v1.BlobRef).toBe(BlobRef);
  });

  it('never carries weights: no float arrays, and bytes only for signatures', () => {
    const protoDir = path.join(__dirname, '..', '..', '..', 'proto');
    const root = new protobuf.Root();
    root.resolvePath = (_origin, target) => path.join(protoDir, target);
    root.loadSync(['fedledger/common/v1/common.proto', 'fedledger/fl/v1/fl.proto']).resolveAll();
    // A dozen numbers of the experiment's definition (the histogram-matching landmarks), not weights.
    const allowed = new Set(['.fedledger.fl.v1.Landmarks.percentiles', '.fedledger.fl.v1.Landmarks.standard']);
    const offending: string[] = [];
    const checked: string[] = [];
    const visit = (ns: protobuf.NamespaceBase): void => {
      for (const nested of ns.nestedArray) {
        if (nested instanceof protobuf.Type) {
          checked.push(nested.name);
          for (const field of nested.fieldsArray) {
            const floatArray = field.repeated && ['float', 'double'].includes(field.type);
            const rawBytes = field.type === 'bytes' && field.name !== 'signature';
            if ((floatArray || rawBytes) && !allowed.has(`${nested.fullName}.${field.name}`)) offending.push(`${nested.fullName}.${field.name}`);
          }
        }
        if (nested instanceof protobuf.Namespace) visit(nested);
      }
    };
    visit(root);
    expect(checked).toEqual(expect.arrayContaining(['TrainingTask', 'ModelUpdate', 'RoundCompleted', 'CentreHeartbeat', 'Landmarks']));
    expect(offending).toEqual([]);
  });
});

describe('subjects', () => {
  it('builds the documented subjects', () => {
    expect(subjects.task('exp-7', 'bcdr')).toBe('fl.tasks.exp-7.bcdr');
    expect(subjects.tasksForCentre('bcdr')).toBe('fl.tasks.*.bcdr');
    expect(subjects.update('exp-7', 3, 'bcdr')).toBe('fl.updates.exp-7.3.bcdr');
    expect(subjects.updatesForRound('exp-7', 3)).toBe('fl.updates.exp-7.3.*');
    expect(subjects.aggregate('exp-7', 3)).toBe('fl.aggregates.exp-7.3');
    expect(subjects.roundStarted('exp-7')).toBe('fl.events.exp-7.round.started');
    expect(subjects.roundCompleted('exp-7')).toBe('fl.events.exp-7.round.completed');
    expect(subjects.updateRejected('exp-7')).toBe('fl.events.exp-7.update.rejected');
    expect(subjects.experimentCompleted('exp-7')).toBe('fl.events.exp-7.experiment.completed');
    expect(subjects.experimentEvents('exp-7')).toBe('fl.events.exp-7.>');
    expect(subjects.eventsOfKind('round.completed')).toBe('fl.events.*.round.completed');
    expect(subjects.heartbeat('bcdr')).toBe('fl.heartbeats.bcdr');
    expect(subjects.deadLetter('FL_UPDATES', 'aggregator_updates')).toBe('fl.dlq.FL_UPDATES.aggregator_updates');
  });

  it('puts every subject it builds inside the stream that owns it', () => {
    const owner = (subject: string) =>
      Object.values(streams).filter((s) => s.subjects.some((pattern) => subject.startsWith(pattern.slice(0, -1))));
    const built = [
      subjects.task('e', 'c'),
      subjects.update('e', 1, 'c'),
      subjects.aggregate('e', 1),
      subjects.roundCompleted('e'),
      subjects.heartbeat('c'),
      subjects.deadLetter('FL_TASKS', 'd'),
    ];
    for (const subject of built) expect(owner(subject)).toHaveLength(1);
    for (const stream of Object.values(streams)) expect(subjects.deadLetter(stream.name, 'x')).toBe(`fl.dlq.${stream.name}.x`);
  });

  it.each([
    ['a space', 'st thomas'],
    ['a dot', 'exp.7'],
    ['a star wildcard', '*'],
    ['a tail wildcard', '>'],
    ['an empty string', ''],
    ['a tab', 'a\tb'],
    ['a slash', 'a/b'],
    ['non-ASCII', 'zürich'],
    ['too many characters', 'x'.repeat(129)],
  ])('rejects an id with %s', (_what, bad) => {
    expect(() => subjects.task(bad, 'bcdr')).toThrow(SubjectTokenError);
    expect(() => subjects.task('exp-7', bad)).toThrow(SubjectTokenError);
    expect(() => subjects.heartbeat(bad)).toThrow(SubjectTokenError);
    expect(() => subjects.deadLetter('FL_TASKS', bad)).toThrow(SubjectTokenError);
  });

  it('says which id is wrong and why', () => {
    expect(() => subjects.update('exp-7', 3, 'st thomas')).toThrow(
      "invalid centreId 'st thomas' for fl.updates.<experimentId>.<round>.<centreId>: ids used in subjects must be 1..128 letters, digits, '_' or '-'",
    );
  });

  it.each([-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY])('rejects round %p', (round) => {
    expect(() => subjects.update('exp-7', round, 'bcdr')).toThrow(`invalid round ${round}`);
    expect(() => subjects.aggregate('exp-7', round)).toThrow(SubjectTokenError);
  });
});
