import { credentials, makeGenericClientConstructor, type Client, type ServiceError } from '@grpc/grpc-js';
import { service as healthService } from 'grpc-health-check';

/** A grpc.health.v1.Health client class (check and watch). */
export const HealthClient = makeGenericClientConstructor(healthService as never, 'grpc.health.v1.Health');

type HealthCheck = (request: { service: string }, callback: (error: ServiceError | null, response?: { status: string | number }) => void) => void;

/** Asks grpc.health.v1 once; resolves the status name ("SERVING", "NOT_SERVING", ...). */
export function checkHealth(address: string, service = '', timeoutMs = 2000): Promise<string> {
  const client = new HealthClient(address, credentials.createInsecure()) as unknown as Client & { check: HealthCheck };
  return new Promise<string>((resolve, reject) => {
    client.waitForReady(Date.now() + timeoutMs, (readyError) => {
      if (readyError) {
        client.close();
        reject(readyError);
        return;
      }
      client.check({ service }, (error, response) => {
        client.close();
        if (error) reject(error);
        else resolve(typeof response?.status === 'number' ? ['UNKNOWN', 'SERVING', 'NOT_SERVING', 'SERVICE_UNKNOWN'][response.status] : String(response?.status));
      });
    });
  });
}

/** Polls health until SERVING or `timeoutMs` passes (then throws with the last answer). */
export async function waitForServing(address: string, timeoutMs: number, service = ''): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer';
  while (Date.now() < deadline) {
    try {
      last = await checkHealth(address, service, Math.max(200, Math.min(2000, deadline - Date.now())));
      if (last === 'SERVING') return;
    } catch (error) {
      last = (error as Error).message;
    }
    await new Promise((resolve) => setTimeout(resolve, 150));
  }
  throw new Error(`${address} did not become SERVING within ${timeoutMs} ms (last: ${last})`);
}
