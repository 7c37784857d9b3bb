import { AppError } from '@ate/contracts';
import { toErrorResponse } from './error-filter';

describe('toErrorResponse: what an error may tell the client', () => {
  it.each([
    [
      'a 5xx drops internal text from its details',
      new AppError('SERVICE_UNAVAILABLE', 'The engine is recovering.', {
        reason: 'deadlock detected on relation 16384',
      }),
      { code: 'SERVICE_UNAVAILABLE', message: 'The engine is recovering.' },
    ],
    [
      'a 5xx keeps what the client acts on (outcome)',
      new AppError('SERVICE_UNAVAILABLE', 'No engine node is attached; nothing was done.', { outcome: 'not_executed', reason: 'x' }),
      {
        code: 'SERVICE_UNAVAILABLE',
        message: 'No engine node is attached; nothing was done.',
        details: { outcome: 'not_executed' },
      },
    ],
    [
      'a 4xx keeps its details',
      new AppError('NOT_FOUND', 'No such agent.', { agentId: 'agt_x' }),
      {
        code: 'NOT_FOUND',
        message: 'No such agent.',
        details: { agentId: 'agt_x' },
      },
    ],
    [
      'an unknown error is INTERNAL with the request id only',
      new Error('password authentication failed for user "postgres"'),
      {
        code: 'INTERNAL',
        message: 'Internal error.',
        details: { requestId: 'r-1' },
      },
    ],
    [
      'long text is cut',
      new AppError('NOT_FOUND', 'x'.repeat(5000), { id: 'y'.repeat(5000) }),
      {
        code: 'NOT_FOUND',
        message: `${'x'.repeat(300)}...`,
        details: { id: `${'y'.repeat(256)}...` },
      },
    ],
  ])('%s', (_name, err, error) => {
    expect(toErrorResponse(err, 'r-1').body).toEqual({ error });
  });
});
