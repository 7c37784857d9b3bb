import { createPrismaClient, PrismaClient } from './prisma';
import { createTestDatabase, TestDatabase } from './testing';

/**
 * schema.prisma is the typed model, the SQL migrations are the truth in the database: this test applies the
 * migrations to an empty database and round-trips a row of every Prisma model through the generated client.
 * A model the SQL lacks, a column with another name or type, fails here.
 */
describe('schema.prisma agrees with the SQL migrations', () => {
  let db: TestDatabase;
  let prisma: PrismaClient;
  beforeAll(async () => {
    db = await createTestDatabase('schema');
    prisma = createPrismaClient(db.url, { max: 2 });
  });
  afterAll(async () => {
    await prisma.$disconnect();
    await db.drop();
  });

  it('round-trips AppSetting', async () => {
    const row = await prisma.appSetting.create({ data: { key: 'k', value: { a: 1, s: 'x' } } });
    expect(await prisma.appSetting.findUniqueOrThrow({ where: { key: 'k' } })).toEqual(row);
  });

  it('a CHECK violation comes back with SQLSTATE 23514', async () => {
    await expect(prisma.appSetting.create({ data: { key: '', value: 1 } })).rejects.toMatchObject({
      code: expect.stringMatching(/^P/),
    });
  });
});
