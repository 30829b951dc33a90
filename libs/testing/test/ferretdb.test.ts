import { MongoClient, MongoServerError } from 'mongodb';
import { startFerret, type FerretFixture } from '../src';

describe('startFerret', () => {
  let ferret: FerretFixture;
  let client: MongoClient;

  beforeAll(async () => {
    ferret = await startFerret();
    client = new MongoClient(ferret.uri, { serverSelectionTimeoutMS: 5000 });
    await client.connect();
  });

  afterAll(async () => {
    await client?.close();
    await ferret?.stop();
  });

  it('round-trips documents through the official mongodb driver', async () => {
    expect(ferret.uri).toBe(`mongodb://127.0.0.1:${ferret.port}/`);
    const passports = client.db('fedledger_test').collection<{ modelId: string; centre: string; round: number }>('passports');

    const inserted = await passports.insertMany([
      { modelId: 'm-1', centre: 'charite', round: 1 },
      { modelId: 'm-2', centre: 'karolinska', round: 1 },
      { modelId: 'm-3', centre: 'charite', round: 2 },
    ]);
    expect(inserted.insertedCount).toBe(3);

    const charite = await passports.find({ centre: 'charite' }, { projection: { _id: 0 } }).sort({ round: 1 }).toArray();
    expect(charite).toEqual([
      { modelId: 'm-1', centre: 'charite', round: 1 },
      { modelId: 'm-3', centre: 'charite', round: 2 },
    ]);

    const updated = await passports.updateOne({ modelId: 'm-2' }, { $set: { round: 5 } });
    expect(updated.modifiedCount).toBe(1);
    expect(await passports.findOne({ modelId: 'm-2' }, { projection: { _id: 0, round: 1 } })).toEqual({ round: 5 });

    await passports.createIndex({ modelId: 1 }, { unique: true });
    const duplicate = await passports.insertOne({ modelId: 'm-1', centre: 'other', round: 9 }).catch((err: unknown) => err);
    expect(duplicate).toBeInstanceOf(MongoServerError);
    expect((duplicate as MongoServerError).code).toBe(11000);

    const deleted = await passports.deleteMany({ centre: 'charite' });
    expect(deleted.deletedCount).toBe(2);
    expect(await passports.countDocuments({})).toBe(1);
  });
});
